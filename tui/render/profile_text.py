"""The Profile pane's three drawings as Rich text: top functions, a foldable call tree, an icicle.

No widgets here (the pane places the lines); every function or binary name is data, escaped and
never parsed as markup. Widths are exact cell counts, so the drawings fit 80 columns.
"""

from __future__ import annotations

from rich.text import Text

from tui.model.stacks import Cell, FunctionRow, Node
from tui.render.glyphs import Glyphs
from tui.render.safe import escape_control

# Warm flame-graph colours that stay readable in 16 colours; the name picks one, so a frame keeps
# its colour from one redraw to the next.
FLAME_STYLES = ("black on red", "black on yellow", "black on dark_orange", "black on bright_red",
                "black on bright_yellow")
KERNEL_STYLE = "black on cyan"
UNNAMED_STYLE = "dim"
CURSOR_STYLE = "reverse"


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "    -%"


def fold_marks(chars: Glyphs) -> tuple[str, str, str]:
    """(closed, open, leaf) markers: triangles in Unicode, `+`/`-` in ASCII."""
    if chars.ellipsis == "…":
        return "▸", "▾", " "
    return "+", "-", " "


def bracketed(module: str) -> str:
    """`[libc.so.6]`; `[kernel]` and kernel modules already carry their brackets."""
    return module if module.startswith("[") else f"[{module}]"


def fit(text: str, width: int, chars: Glyphs) -> str:
    """Cut to `width` cells, keeping the head (a function name's start says most)."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    if width <= len(chars.ellipsis):
        return text[:width]
    return text[: width - len(chars.ellipsis)] + chars.ellipsis


FUNCTION_HEADER = "  SELF%    SELF  TOTAL%   TOTAL  FUNCTION"


def function_line(row: FunctionRow, total: int, width: int, chars: Glyphs, cursor: bool = False) -> Text:
    numbers = f"{percent(row.self_count, total)} {row.self_count:>7,} {percent(row.total_count, total)} " \
              f"{row.total_count:>7,}  "
    name = escape_control(row.name)
    module = escape_control(row.module)
    rest = width - len(numbers)
    label = f"{name}  {bracketed(module)}" if row.named and len(name) + len(module) + 4 <= rest else name
    line = Text(numbers)
    line.append(fit(label, rest, chars), style="" if row.named else UNNAMED_STYLE)
    if cursor:
        line.stylize(CURSOR_STYLE)
    return line


TREE_HEADER = " TOTAL%   SELF%  CALLERS -> CALLEES"


def tree_line(depth: int, node: Node, expanded: bool, total: int, width: int, chars: Glyphs,
              cursor: bool = False) -> Text:
    closed, opened, leaf = fold_marks(chars)
    mark = leaf if not node.children else opened if expanded else closed
    numbers = f"{percent(node.count, total)} {percent(node.self_count, total)}  "
    indent = "  " * min(depth, 30)
    name = escape_control(node.name)
    module = escape_control(node.module)
    label = f"{indent}{mark} {name}"
    if module and not module.startswith("[comm") and node.named:
        label += f"  {bracketed(module)}"
    line = Text(numbers)
    line.append(fit(label, width - len(numbers), chars), style="" if node.named else UNNAMED_STYLE)
    if cursor:
        line.stylize(CURSOR_STYLE)
    return line


def flame_style(node: Node) -> str:
    if not node.named:
        return UNNAMED_STYLE + " reverse"
    if node.module.startswith("[") and node.module not in ("[comm]", "[ebtop]", "[unknown]", "[anon]"):
        return KERNEL_STYLE  # [kernel] and kernel modules
    return FLAME_STYLES[sum(node.name.encode()) % len(FLAME_STYLES)]


def icicle_line(cells: list[Cell], width: int, chars: Glyphs, cursor: Cell | None = None,
                color: bool = True) -> Text:
    """One depth of the icicle: each frame as wide as its samples, `|` at its left edge (so widths
    read without colour), its name cut to fit."""
    line = Text()
    x = 0
    for cell in cells:
        if cell.x > x:
            line.append(" " * (cell.x - x))
        body = fit(escape_control(cell.node.name), cell.width - 1, chars)
        text = ("|" + body.ljust(cell.width - 1))[: cell.width]
        style = flame_style(cell.node) if color else ""
        if cursor is not None and cell.path == cursor.path:
            style = CURSOR_STYLE + " bold"
        line.append(text, style=style)
        x = cell.x + cell.width
    if x < width:
        line.append(" " * (width - x))
    return line
