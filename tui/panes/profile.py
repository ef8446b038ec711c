"""Profile pane (tab 4): on-CPU stacks sampled by the kernel, as top functions, a call tree, an icicle.

Written on the `LivePane` template: the profile source's intervals go into `StackCounts` in
`ingest`, and the visible view is drawn from the counts in `render_view`. Views, scope (all, a
process, a container, a pod), the `/` filter and the zoom stack (Enter on a frame, Esc back) only
change what is selected from the counts, so switching is instant and nothing is re-sampled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static

from tui.model.probes import CostReport, ProgramCost
from tui.model.stacks import (
    Cell,
    FunctionRow,
    Node,
    ProfileInterval,
    Scope,
    StackCounts,
    StackSample,
    call_tree,
    hot_path,
    icicle,
    top_functions,
    total_of,
    tree_rows,
)
from tui.panes.base import LivePane
from tui.render.glyphs import Glyphs, glyphs
from tui.render.profile_text import (
    FUNCTION_HEADER,
    TREE_HEADER,
    fit,
    function_line,
    icicle_line,
    tree_line,
)
from tui.render.safe import escape_control, safe_text

if TYPE_CHECKING:
    from tui.sources.profile import ProfileSource

VIEWS = ("functions", "tree", "flame")
VIEW_TITLES = {"functions": "top functions", "tree": "call tree", "flame": "flame (icicle)"}
SCOPES = ("all", "pid", "container", "pod")
FRAME_POINTER_NOTE = ("of frames unnamed (shown as module+offset): frame pointers are often missing "
                      "(gcc -O2 omits them) and cut stacks short")
NO_PERF_HINT = "no samples: this kernel or VM gives no perf events (see the line above)"


class ProfileBody(Static, can_focus=True):
    """The drawing area; focusable so the pane's keys reach it."""


class ProfilePane(LivePane):
    """On-CPU profile of the node: where the CPUs spend their time, per process, container or pod."""

    tab_title = "Profile"
    DEFAULT_CSS = """
    ProfilePane { height: 1fr; }
    ProfilePane #pf-header { height: 1; padding: 0 1; background: $boost; }
    ProfilePane #pf-notes { height: auto; max-height: 4; padding: 0 1; color: $warning; }
    ProfilePane #pf-body { height: 1fr; padding: 0 1; }
    ProfilePane #pf-filter { dock: bottom; height: 3; display: none; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("v", "cycle_view(1)", "View"),
        Binding("V", "cycle_view(-1)", "Previous view", show=False),
        Binding("g", "cycle_scope", "Scope"),
        Binding("j", "next_in_scope", "Next process, container or pod in the scope", show=False),
        # Priority: the keys queued behind `/` reach the box (see SyscallsPane); not while the box has focus.
        Binding("slash", "start_filter", "Filter", key_display="/", priority=True),
        Binding("enter", "zoom", "Zoom"),
        Binding("escape", "zoom_out", "Back", key_display="Esc"),
        Binding("s", "sort", "Sort", show=False),
        Binding("r", "reverse", "Reverse", show=False),
        Binding("c", "clear", "Clear"),
        Binding("p", "toggle_pause", "Pause"),
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "move(-10)", "Page up", show=False),
        Binding("pagedown", "move(10)", "Page down", show=False),
        Binding("home", "move(-1000000)", "First", show=False),
        Binding("end", "move(1000000)", "Last", show=False),
        Binding("left", "side(-1)", "Fold / left", show=False),
        Binding("right", "side(1)", "Unfold / right", show=False),
        Binding("space", "fold", "Fold", show=False),
    ]

    def __init__(self, source: ProfileSource | None = None, *, pid: int | None = None, chars: Glyphs | None = None,
                 max_stacks: int | None = None, start_now: bool = False) -> None:
        """`start_now`: sample from the start (the pane asked for with --pane profile); else when shown."""
        super().__init__(id="profile", sources=[source] if source is not None else [])
        self.start_now = start_now
        self.source = source
        self.counts = StackCounts(max_stacks) if max_stacks else StackCounts()
        self.chars = chars
        self.view = "functions"
        self.sort_by = "self"
        self.reverse = False
        self.scope = Scope("pid", pid) if pid else Scope()
        self.filter_text = ""
        self.zooms: list[str] = []
        self.cursor = 0
        self.top_row = 0
        self.expanded: set[tuple[str, ...]] = set()
        self._auto_expand = True
        self.flame_path: tuple[str, ...] = ()
        self.cost: ProgramCost | None = None
        self._selection: list[StackSample] | None = None
        self._rows: list[Any] = []
        self._tree: Node | None = None
        self._notes: tuple[str, ...] = ()

    # -- layout ---------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static("", id="pf-header", markup=False)
        yield Static("", id="pf-notes", markup=False)
        yield ProfileBody("", id="pf-body", markup=False)
        yield Input(placeholder="filter: function or binary name (Enter keeps it, Esc clears)", id="pf-filter")

    def on_mount(self) -> None:
        self.redraw()

    def start(self) -> None:
        """Sampling starts when the tab is first shown (an unwatched profile costs nothing)."""
        if self.start_now:
            super().start()

    def on_show(self) -> None:
        self.focus_default()

    def focus_default(self) -> None:
        self.query_one("#pf-body", ProfileBody).focus()

    def on_resize(self, _event: events.Resize) -> None:
        self.redraw()

    # -- the template's hooks ---------------------------------------------------------------------
    def tick(self, visible: bool) -> None:
        if visible and not self.start_now:  # the tab is shown for the first time: start sampling
            self.start_now = True
            super().start()
        if self.source is not None:
            self.source.set_cost(visible)  # the sampler's own cost, measured while someone looks
        super().tick(visible)

    def ingest(self, source: object, items: list[object]) -> None:
        for item in items:
            self.add(item)

    def add(self, item: object) -> None:
        """Feed one source item (tests feed fixed intervals the same way)."""
        if isinstance(item, ProfileInterval):
            self.counts.add_interval(item)
            self._selection = None
        elif isinstance(item, CostReport):
            costs = [c for c in item.costs if c.runs or c.seconds]
            if costs:
                self.cost = ProgramCost("profile", sum(c.runs for c in costs), sum(c.run_ns for c in costs),
                                        max(c.seconds for c in costs))

    def render_view(self, drained: Any = 0) -> None:
        if not self.is_mounted:
            return
        self._render_header()
        self._render_notes()
        self._render_body()

    def render_paused(self) -> None:
        self._render_header()

    def redraw(self) -> None:
        if self.is_mounted:
            self.render_view(0)

    def action_toggle_pause(self) -> None:
        self.toggle_pause()

    def status_parts(self) -> list[str]:
        if self.source is None:
            return [f"Profile: {self.counts.total:,} samples"]
        first, *rest = self.source_parts(self.source)
        return [f"Profile: {first}", *rest]

    # -- selection ------------------------------------------------------------------------------
    def selection(self) -> list[StackSample]:
        if self._selection is None:
            zoom = self.zooms[-1] if self.zooms else ""
            self._selection = self.counts.samples(self.scope, self.filter_text, zoom)
            self._tree = None
        return self._selection

    def tree(self) -> Node:
        samples = self.selection()
        if self._tree is None:
            self._tree = call_tree(samples, by_comm=not self.zooms)
            if self._auto_expand and self._tree.count:
                self.expanded |= hot_path(self._tree)
                self._auto_expand = False
        return self._tree

    def _changed(self, reset_cursor: bool = True) -> None:
        self._selection = None
        if reset_cursor:
            self.cursor = self.top_row = 0
            self.flame_path = ()
            self._auto_expand = True
        self.redraw()

    # -- actions ----------------------------------------------------------------------------------
    def action_cycle_view(self, step: int = 1) -> None:
        """v / V: the next or previous view (the one way to switch views in every pane)."""
        self.action_show_view(VIEWS[(VIEWS.index(self.view) + step) % len(VIEWS)])

    def action_sort(self) -> None:
        """s: the functions view ranks by self or by total samples."""
        self.sort_by = "total" if self.sort_by == "self" else "self"
        self.cursor = self.top_row = 0
        self.redraw()

    def action_reverse(self) -> None:
        self.reverse = not self.reverse
        self.cursor = self.top_row = 0
        self.redraw()

    def action_show_view(self, view: str) -> None:
        if view in VIEWS:
            self.view = view
            self.cursor = self.top_row = 0
            self.redraw()

    def action_cycle_scope(self) -> None:
        kind = SCOPES[(SCOPES.index(self.scope.kind) + 1) % len(SCOPES)]
        self.scope = self._first_of(kind)
        self._changed()

    def action_next_in_scope(self) -> None:
        if self.scope.kind == "all":
            return
        values = self._values(self.scope.kind)
        if values:
            index = values.index(self.scope.value) + 1 if self.scope.value in values else 0
            self.scope = Scope(self.scope.kind, values[index % len(values)])
            self._changed()

    def _values(self, kind: str) -> list[Any]:
        if kind == "pid":
            return [pid for pid, _comm, _n in self.counts.processes()]
        return [value for value, _n in self.counts.groups(kind)]

    def _first_of(self, kind: str) -> Scope:
        """The scope of `kind` for the row under the cursor when it says, else the busiest one."""
        if kind == "all":
            return Scope()
        values = self._values(kind)
        while not values and kind != "all":  # no container or pod seen: skip to the next kind
            kind = SCOPES[(SCOPES.index(kind) + 1) % len(SCOPES)]
            values = self._values(kind) if kind != "all" else []
        return Scope(kind, values[0]) if values else Scope()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`/` typed in the box is text (the priority binding steps aside)."""
        return not (action == "start_filter" and self.is_mounted
                    and self.screen.focused is self.query_one("#pf-filter", Input))

    def action_start_filter(self) -> None:
        box = self.query_one("#pf-filter", Input)
        box.display = True
        box.value = self.filter_text
        self.screen.set_focus(box)  # at once: the keys typed or pasted right after `/` go in

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "pf-filter":
            self.filter_text = event.value.strip()
            self._changed()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "pf-filter":
            self._close_filter()

    def _close_filter(self) -> None:
        box = self.query_one("#pf-filter", Input)
        box.display = False
        self.focus_default()

    def on_key(self, event: events.Key) -> None:
        box = self.query_one("#pf-filter", Input)
        if event.key == "escape" and box.has_focus:
            box.value = ""
            self.filter_text = ""
            self._close_filter()
            self._changed()
            event.stop()

    def action_zoom(self) -> None:
        name = self._frame_under_cursor()
        if name and (not self.zooms or self.zooms[-1] != name):
            self.zooms.append(name)
            self._changed()

    def action_zoom_out(self) -> None:
        if self.zooms:
            self.zooms.pop()
            self._changed()
        elif self.filter_text:
            self.filter_text = ""
            self._changed()

    def action_clear(self) -> None:
        self.counts.clear()
        self.expanded.clear()
        self._changed()

    def action_move(self, step: int) -> None:
        if self.view == "flame":
            self._flame_move_depth(step)
        else:
            self.cursor = max(0, min(len(self._rows) - 1, self.cursor + step))
        self._render_body()

    def action_side(self, step: int) -> None:
        if self.view == "flame":
            self._flame_move_side(step)
        elif self.view == "tree":
            self._fold(open_it=step > 0)
        self._render_body()

    def action_fold(self) -> None:
        if self.view == "tree":
            self._fold(None)
            self._render_body()

    def _fold(self, open_it: bool | None) -> None:
        if not self._rows or self.cursor >= len(self._rows):
            return
        _depth, path, _node = self._rows[self.cursor]
        is_open = path in self.expanded
        if open_it is None:
            open_it = not is_open
        if open_it:
            self.expanded.add(path)
        elif is_open:
            self.expanded.discard(path)
        elif len(path) > 1:  # left on a closed row goes to its parent
            parent = path[:-1]
            self.cursor = next((i for i, row in enumerate(self._rows) if row[1] == parent), self.cursor)

    def _frame_under_cursor(self) -> str:
        if self.view == "functions" and self._rows and self.cursor < len(self._rows):
            return self._rows[self.cursor].name
        if self.view == "tree" and self._rows and self.cursor < len(self._rows):
            _depth, path, _node = self._rows[self.cursor]
            return path[-1] if len(path) > 1 or self.zooms else ""  # depth 0 without zoom is a comm
        if self.view == "flame" and self.flame_path:
            return self.flame_path[-1] if len(self.flame_path) > 1 or self.zooms else ""
        return ""

    # -- flame cursor -----------------------------------------------------------------------------
    def _flame_cells(self) -> list[list[Cell]]:
        return self._rows if self.view == "flame" else []

    def _flame_move_depth(self, step: int) -> None:
        rows = self._flame_cells()
        if not rows:
            return
        current = self._cell_of(self.flame_path)
        depth = max(0, min(len(rows) - 1, len(self.flame_path) + step))
        target_x = current.x if current is not None else 0
        candidates = [c for c in rows[depth]]
        if not candidates:
            return
        if step > 0:  # down: a callee of the current frame when there is one
            inside = [c for c in candidates if c.path[: len(self.flame_path)] == self.flame_path]
            candidates = inside or candidates
        best = min(candidates, key=lambda c: (not (c.x <= target_x < c.x + c.width), abs(c.x - target_x)))
        self.flame_path = best.path

    def _flame_move_side(self, step: int) -> None:
        rows = self._flame_cells()
        depth = len(self.flame_path)
        if not rows or depth >= len(rows) or not rows[depth]:
            return
        cells = rows[depth]
        index = next((i for i, c in enumerate(cells) if c.path == self.flame_path), 0)
        self.flame_path = cells[max(0, min(len(cells) - 1, index + step))].path

    def _cell_of(self, path: tuple[str, ...]) -> Cell | None:
        rows = self._flame_cells()
        if len(path) < len(rows):
            return next((c for c in rows[len(path)] if c.path == path), None)
        return None

    # -- drawing ----------------------------------------------------------------------------------
    def _chars(self) -> Glyphs:
        return self.chars or glyphs()

    def _header_text(self, width: int = 0) -> str:
        """The view, scope, filter, zoom, counts and own cost; the least needed parts give way first."""
        dot = f" {self._chars().dot} "
        parts: list[tuple[int, str]] = [(0, VIEW_TITLES[self.view]), (0, self._scope_label())]
        if self.filter_text:
            parts.append((1, f"filter {escape_control(self.filter_text)}"))
        if self.zooms:
            parts.append((1, "zoom " + " > ".join(escape_control(z) for z in self.zooms)))
        counts = self.counts
        shown = total_of(self.selection())
        parts.append((1, f"{shown:,} of {counts.total:,} samples" if shown != counts.total
                      else f"{counts.total:,} samples"))
        if counts.seconds:
            parts.append((3, f"{counts.seconds:.0f}s"))
        if self.cost is not None and self.cost.runs:
            parts.append((2, f"cost {self.cost.ns_per_run / 1000:.1f} us/sample "
                             f"{100 * self.cost.cpu_share:.2f}% CPU"))
        if self.paused:
            parts.insert(0, (0, self.pause_text()))
        while width and len(dot.join(t for _p, t in parts)) > width and any(p for p, _t in parts):
            worst = max(range(len(parts)), key=lambda i: (parts[i][0], i))
            del parts[worst]
        return dot.join(text for _p, text in parts)

    def _scope_label(self) -> str:
        scope = self.scope
        if scope.kind == "pid":
            comm = next((c for p, c, _n in self.counts.processes() if p == scope.value), "")
            return f"pid {scope.value} {escape_control(comm)}".rstrip()
        if scope.kind == "pod":
            return f"pod {str(scope.value)[:13]}"
        return scope.label()

    def _render_header(self) -> None:
        header = self.query_one("#pf-header", Static)
        header.update(Text(self._header_text(max(0, (header.size.width or self.size.width) - 2))))

    def _render_notes(self) -> None:
        lines = list(self.source.problems) if self.source is not None else []
        counts = self.counts
        if counts.unnamed_share >= 0.005:
            lines.append(f"{counts.unnamed_share:.0%} {FRAME_POINTER_NOTE}")
        if counts.lost_stacks:
            lines.append(f"{counts.lost_stacks:,} stacks lost (stack map full or collided): shown as [lost stack]")
        if counts.folded_away:
            lines.append(f"{counts.folded_away:,} samples of new stacks counted under [other stacks] "
                         f"(more than {counts.max_stacks:,} distinct stacks; c clears)")
        if counts.map_full:
            lines.append(f"{counts.map_full:,} samples not counted: the kernel's count map was full")
        notes = tuple(lines)
        widget = self.query_one("#pf-notes", Static)
        if notes != self._notes or widget.display != bool(notes):
            self._notes = notes
            widget.display = bool(notes)
            widget.update(Text("\n").join(safe_text(line) for line in notes))

    def _body_size(self) -> tuple[int, int]:
        body = self.query_one("#pf-body", ProfileBody)
        width = max(20, body.size.width or (self.size.width - 2))
        height = max(3, body.size.height or (self.size.height - 2))
        return width, height

    def _render_body(self) -> None:
        if not self.is_mounted:
            return
        width, height = self._body_size()
        samples = self.selection()
        total = total_of(samples)
        if not self.counts.total:
            lines = [Text(self._empty_text())]
        elif not samples:
            lines = [Text("no samples match the scope, filter or zoom (Esc zooms out, g changes the scope)")]
        else:
            lines = getattr(self, f"_lines_{self.view}")(total, width, height)
        self.query_one("#pf-body", ProfileBody).update(Text("\n").join(lines))

    def _empty_text(self) -> str:
        if self.source is None:
            return "no samples"
        if self.source.problems:
            return NO_PERF_HINT if any("perf event" in p for p in self.source.problems) else "no samples"
        if not self.start_now:
            return "sampling starts when this tab is shown"
        return f"sampling every CPU ({self.source.describe()}); the first counts come within a second"

    def _window(self, count: int, height: int) -> range:
        self.cursor = max(0, min(self.cursor, count - 1))
        if self.cursor < self.top_row:
            self.top_row = self.cursor
        elif self.cursor >= self.top_row + height:
            self.top_row = self.cursor - height + 1
        self.top_row = max(0, min(self.top_row, max(0, count - height)))
        return range(self.top_row, min(count, self.top_row + height))

    def _lines_functions(self, total: int, width: int, height: int) -> list[Text]:
        rows: list[FunctionRow] = top_functions(self.selection())
        if self.sort_by == "total":
            rows.sort(key=lambda r: (-r.total_count, -r.self_count, r.name))
        if self.reverse:
            rows.reverse()
        self._rows = rows
        chars = self._chars()
        lines = [Text(fit(FUNCTION_HEADER, width, chars), style="bold")]
        for index in self._window(len(rows), height - 1):
            lines.append(function_line(rows[index], total, width, chars, cursor=index == self.cursor))
        return lines

    def _lines_tree(self, total: int, width: int, height: int) -> list[Text]:
        root = self.tree()
        rows = tree_rows(root, self.expanded)
        self._rows = rows
        chars = self._chars()
        lines = [Text(fit(TREE_HEADER, width, chars), style="bold")]
        for index in self._window(len(rows), height - 1):
            depth, path, node = rows[index]
            lines.append(tree_line(depth, node, path in self.expanded, total, width, chars,
                                   cursor=index == self.cursor))
        return lines

    def _lines_flame(self, total: int, width: int, height: int) -> list[Text]:
        root = self.tree()
        root.name = self.zooms[-1] if self.zooms else "all"
        depth_rows = icicle(root, width, max(1, height - 1))
        while depth_rows and not depth_rows[-1]:
            depth_rows.pop()
        self._rows = depth_rows
        if self._cell_of(self.flame_path) is None:
            self.flame_path = ()
        chars = self._chars()
        cursor = self._cell_of(self.flame_path)
        selected = cursor.node if cursor is not None else root
        caption = (f"{escape_control(selected.name)}: {selected.count:,} samples "
                   f"({100 * selected.count / total:.1f}%), self {selected.self_count:,}")
        lines = [Text(fit(caption, width, chars), style="bold")]
        lines += [icicle_line(cells, width, chars, cursor) for cells in depth_rows]
        return lines
