"""ASCII stand-ins for the glyphs Textual's own widgets draw (the tab underline, scrollbars, tree
arrows and guides, the footer's `⏎` and separator, the log's rule), for LANG=C and TERM=linux.

ebtop's own glyphs come from `tui.render.glyphs`; this covers what Textual draws, decided by the
same test (`unicode_supported`), once per process before the app starts.
"""

from __future__ import annotations

from textual.renderables.bar import Bar
from textual.scrollbar import ScrollBarRender
from textual.widgets import Tree

# Rules and borders drawn with box characters become Textual's `ascii` border; the footer's
# separator before the palette key goes.
ASCII_CSS = """
ProcessesPane #process-log { border-top: ascii $panel-lighten-2; }
FooterKey.-command-palette { border-left: none; }
"""
TREE_LINES = ("  ", "| ", "`-", "|-")


def use_ascii_widgets() -> None:
    """Swap the class-level glyphs of Textual's widgets for ASCII (every instance, this process)."""
    Bar.HALF_BAR_LEFT = Bar.BAR = Bar.HALF_BAR_RIGHT = "="
    ScrollBarRender.VERTICAL_BARS = [" "] * 8
    ScrollBarRender.HORIZONTAL_BARS = [" "] * 8
    Tree.ICON_NODE = "+ "
    Tree.ICON_NODE_EXPANDED = "- "
    Tree.LINES = {name: TREE_LINES for name in Tree.LINES}


def ascii_key(display: str, key: str) -> str:
    """A key's footer label in ASCII: `⏎` -> `Enter` (the name tui.keys gives it)."""
    if display.isascii():
        return display
    from tui.keys import key_name

    return key_name(key.split(",")[0].strip())


def strip_leading_emoji(text: str) -> int:
    """How many characters of a log line's leading emoji (and its space) to drop in ASCII (0: none)."""
    head = text.split(" ", 1)[0]
    if head and not head.isascii():
        return len(head) + 1
    return 0


def ascii_text(text: str) -> str:
    """`text` with each non-ASCII character as `*` (the same length, so a Rich Text keeps its styles)."""
    return text if text.isascii() else "".join(char if char.isascii() else "*" for char in text)
