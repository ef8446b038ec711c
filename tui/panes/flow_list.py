"""The live flow list: a Line-API ScrollView over records, rendering only the lines on screen.

Rows are a list of `FlowRecord`s handed over by the pane (the ring, or the filtered part of it); each
visible line is rendered once into a Strip and cached by the record's sequence number, so a tick that
appends thousands of flows costs a list copy, not thousands of renders (toolong's log_lines model).
Follow mode keeps the newest line in view; scrolling or moving the cursor up stops it, reaching the
bottom (End) resumes it. When old rows leave the ring, the view stays on the lines the user reads.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from tui.model.flows import FlowRecord

# Lines are fitted to the width by default (the verdict stays on screen, `tui.render.flow_fit`);
# `w` switches to hubble's full lines, scrolled sideways with Left/Right.


class FlowList(ScrollView, can_focus=True):
    """Compact flow lines, newest at the bottom, with a keyboard cursor for the detail view."""

    DEFAULT_CSS = """
    FlowList { height: 1fr; scrollbar-size-vertical: 1; }
    """
    COMPONENT_CLASSES = {"flow-list--cursor"}
    BINDINGS = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first", "Oldest", show=False),
        Binding("end", "last", "Follow", show=False),
        Binding("enter", "open", "Detail"),
        Binding("left", "scroll_columns(-1)", "Scroll full lines left", show=False),
        Binding("right", "scroll_columns(1)", "Scroll full lines right", show=False),
        Binding("0,shift+left", "first_column", "Back to column 0", show=False),
        Binding("w", "toggle_narrow", "Lines fitted to the width (verdict kept) / hubble's full lines", show=False),
    ]

    class Open(Message):
        """The user asked for the detail of one record."""

        def __init__(self, record: FlowRecord) -> None:
            super().__init__()
            self.record = record

    def __init__(self, line_pieces: Callable[[FlowRecord, int], list[tuple[str, str]]], *,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self._line_pieces = line_pieces  # (record, width to fit, 0 for the full line)
        self.narrow_override: bool | None = None  # None: fitted lines
        self._base_style: Style | None = None
        self._styles: dict[tuple[str, bool], Style] = {}
        self.rows: list[FlowRecord] = []
        self.follow = True
        self.cursor_seq: int | None = None
        self._widths = {False: 0, True: 0}  # longest line seen per mode: the virtual width
        # Strips per (seq, cursor, fitted width or 0): the horizontal offset is a crop at paint time, so
        # scrolling sideways or switching modes back reuses them.
        self._cache: LRUCache[tuple[int, bool, int], Strip] = LRUCache(512)
        self._anchoring = False

    # -- data --------------------------------------------------------------------------------------
    def set_rows(self, rows: list[FlowRecord]) -> None:
        """Show `rows` (oldest first); keeps the reading position when not following."""
        old_rows = self.rows
        top_seq = None
        if not self.follow and old_rows:
            top_index = min(int(self.scroll_y), len(old_rows) - 1)
            top_seq = old_rows[top_index].seq
        self.rows = rows
        self._check_base_style()
        self._update_virtual_size()
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
            self.call_after_refresh(self._follow_end)
        elif top_seq is not None:
            new_top = self.index_of_seq(top_seq)
            self._anchoring = True
            try:
                self.set_scroll(None, max(0, new_top))
            finally:
                self._anchoring = False
        self.refresh()

    @property
    def narrow(self) -> bool:
        """Lines fitted to the width (the default), or hubble's full lines after `w`."""
        if self.narrow_override is not None:
            return self.narrow_override
        return True

    @property
    def fit_width(self) -> int:
        """The width lines are fitted to, 0 for full lines."""
        return max(1, self.scrollable_content_region.width) if self.narrow else 0

    @property
    def scroll_column(self) -> int:
        return int(self.scroll_x)

    def _update_virtual_size(self) -> None:
        size = Size(max(self._widths[self.narrow], self.size.width), len(self.rows))
        old = self.virtual_size
        if size == old:
            return
        screen_rows = self.scrollable_content_region.height
        if old.width == size.width and min(old.height, size.height) > screen_rows > 0:
            # Only the row count moved, and it was and stays beyond one screen: the scrollbars stay
            # as they are. Assigning `virtual_size` (a layout reactive) would make every tick a full
            # layout pass while the ring fills (most of the UI's CPU, bench/README.md UI cost).
            self.set_reactive(Widget.virtual_size, size)
            self._scroll_update(size)
            return
        self.virtual_size = size

    def action_toggle_narrow(self) -> None:
        self.narrow_override = not self.narrow
        self.scroll_to(x=0, animate=False, immediate=True)
        self._update_virtual_size()
        self.refresh()

    def action_scroll_columns(self, direction: int) -> None:
        step = max(1, self.size.width // 2)
        self.scroll_to(x=max(0, self.scroll_x + direction * step), animate=False, immediate=True)

    def action_first_column(self) -> None:
        self.scroll_to(x=0, animate=False, immediate=True)

    def clear_cache(self) -> None:
        self._cache.clear()
        self.refresh()

    def _check_base_style(self) -> None:
        """`rich_style` is costly (CSS lookups): read it once per update, not once per line."""
        base = self.rich_style
        if base != self._base_style:
            self._base_style = base
            self._styles.clear()
            self._cache.clear()

    def _style(self, name: str, cursor: bool) -> Style:
        key = (name, cursor)
        style = self._styles.get(key)
        if style is None:
            base = self._base_style or Style()
            style = base + Style.parse(name) if name else base
            if cursor:
                style = style + (self.get_component_rich_style("flow-list--cursor", partial=True)
                                 or Style(reverse=True))
            self._styles[key] = style
        return style

    def index_of_seq(self, seq: int) -> int:
        """Index of the first row with sequence >= seq (rows are in sequence order)."""
        return bisect.bisect_left(self.rows, seq, key=lambda record: record.seq)

    @property
    def cursor_index(self) -> int | None:
        if self.cursor_seq is None:
            return None
        index = self.index_of_seq(self.cursor_seq)
        return index if index < len(self.rows) else None

    def selected(self) -> FlowRecord | None:
        """The cursor's record, or the newest one."""
        index = self.cursor_index
        if index is not None:
            return self.rows[index]
        return self.rows[-1] if self.rows else None

    # -- follow ------------------------------------------------------------------------------------
    def on_resize(self) -> None:
        """Rows may arrive before the first layout; keep following once the size is known."""
        self._update_virtual_size()  # the automatic mode may have changed with the width
        if self.follow:
            self.call_after_refresh(self._follow_end)

    def _follow_end(self) -> None:
        if self.follow and self.scroll_y != self.max_scroll_y:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if not self._anchoring:
            self.follow = new_value >= self.max_scroll_y
            if self.follow:
                self._set_cursor(None)

    def _set_cursor(self, seq: int | None) -> None:
        if seq != self.cursor_seq:
            self.cursor_seq = seq
            self.refresh()

    def _move_cursor(self, delta: int) -> None:
        if not self.rows:
            return
        index = self.cursor_index
        if index is None:
            bottom = min(len(self.rows) - 1, int(self.scroll_y) + self.scrollable_content_region.height - 1)
            index = bottom + (1 if delta < 0 else 0)
        index = max(0, min(len(self.rows) - 1, index + delta))
        self.follow = False
        self._set_cursor(self.rows[index].seq)
        top = int(self.scroll_y)
        height = max(1, self.scrollable_content_region.height)
        self._anchoring = True
        try:
            if index < top:
                self.set_scroll(None, index)
            elif index >= top + height:
                self.set_scroll(None, index - height + 1)
        finally:
            self._anchoring = False

    def action_cursor_up(self) -> None:
        self._move_cursor(-1)

    def action_cursor_down(self) -> None:
        index = self.cursor_index
        if index is not None and index >= len(self.rows) - 1:
            self.action_last()
            return
        self._move_cursor(1)

    def action_page_up(self) -> None:
        self._move_cursor(-max(1, self.scrollable_content_region.height - 1))

    def action_page_down(self) -> None:
        self._move_cursor(max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        if self.rows:
            self._move_cursor(-len(self.rows))

    def action_last(self) -> None:
        self._set_cursor(None)
        self.follow = True
        self.scroll_end(animate=False, immediate=True, x_axis=False)

    def on_click(self, event: events.Click) -> None:
        """A click selects the line under the pointer (and leaves follow, as moving the cursor does);
        a second click on the selected line opens its detail, as Enter."""
        if not self.rows or event.y < 0:
            return
        index = int(self.scroll_y) + event.y
        if index >= len(self.rows):
            return
        if self.cursor_seq == self.rows[index].seq:
            self.action_open()
            return
        self.follow = False
        self._set_cursor(self.rows[index].seq)

    def action_open(self) -> None:
        record = self.selected()
        if record is not None:
            self.post_message(self.Open(record))

    # -- rendering ---------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        if self._base_style is None:
            self._check_base_style()
        base = self._base_style
        if index >= len(self.rows):
            return Strip.blank(width, base)
        record = self.rows[index]
        is_cursor = record.seq == self.cursor_seq
        narrow = self.narrow
        fit = self.fit_width
        key = (record.seq, is_cursor, fit)
        strip = self._cache.get(key)
        if strip is None:
            style = self._style
            segments = [Segment(text, style(name, is_cursor))
                        for text, name in self._line_pieces(record, fit) if text]
            strip = Strip(segments)
            if strip.cell_length > self._widths[narrow]:
                self._widths[narrow] = strip.cell_length
                self.call_after_refresh(self._update_virtual_size)
            self._cache[key] = strip
        # No `apply_offsets`: it rebuilt every segment's style with mouse metadata on each frame (a third
        # of the list's render cost at 500 flows/s); clicks map rows from `event.y` (`on_click`).
        return strip.crop_extend(scroll_x, scroll_x + width, base)
