"""The Flows pane: live `hubble observe` lines plus top talkers, drops, DNS and HTTP views.

`tick` (10 Hz, from the app) drains the source's buffer into the `FlowStore` every time, so counting
never stops; it renders only when the pane is visible and not paused. The list is a Line-API view over
the ring (`FlowList`), the aggregate views are keyed tables (`AggregateTable`) refreshed once a second.
Keys: `p` pause, `/` filter what the view shows as you type (Esc clears), Enter detail, `f` flows,
Left/Right scroll the lines sideways (`0` back to column 0), `w` narrow/wide lines, `t` top talkers,
`x` drops, `n` DNS, `h` HTTP, `s`/`r` sort a table.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import ContentSwitcher, DataTable, Input, Static

from tui.model.flows import FlowRecord, FlowStore, RecordKind, marker
from tui.model.hubble_nodes import NodeTable
from tui.model.join import FlowJoiner
from tui.model.talker_processes import TalkerProcesses
from tui.panes import flow_process
from tui.panes.base import FrameGovernor, LivePane
from tui.panes.flow_connect import ConnectTable
from tui.panes.flow_drill import DRILL_FIELDS, Drill, drill_for
from tui.panes.flow_list import FlowList
from tui.panes.flow_map import FlowMapView
from tui.panes.flow_nodes import NodesView
from tui.panes.flow_policies import PoliciesView
from tui.panes.flow_views import VIEWS, AggregateTable
from tui.panes.no_source import HUBBLE, NoSourceNotice
from tui.render.flow_fit import fit_pieces, line_styles
from tui.render.glyphs import glyphs
from tui.render.hubble_compact import (
    CompactOptions,
    drop_date,
    flow_pieces,
    lost_events_pieces,
    node_status_text,
)
from tui.render.numbers import count_text
from tui.render.safe import escape_control
from tui.sources.base import Source, SourceState

MAX_DRAIN_PER_TICK = 10_000
VIEW_REFRESH_SECONDS = 1.0
FILTER_SECONDS_PER_TICK = 0.02  # time spent per tick making records searchable while filtering
FILTER_FIRST_SECONDS = 0.1  # … and on the keystroke that changes the filter


EXTRA_VIEWS: dict[str, type[FlowMapView] | type[PoliciesView] | type[ConnectTable]] = {
    "map": FlowMapView, "policies": PoliciesView, "connect": ConnectTable}

EXTRA_VIEWS["nodes"] = NodesView  # type: ignore[assignment] - Relay's nodes (a)


class FlowsPane(LivePane):
    """Hubble flows: list, detail and aggregates over one source."""

    tab_title = "Flows"
    DEFAULT_CSS = """
    FlowsPane { height: 1fr; }
    FlowsPane #flows-header { height: 1; background: $boost; padding: 0 1; }
    FlowsPane #flows-filter { dock: bottom; height: 3; display: none; }
    FlowsPane #flows-filter.-open { display: block; }
    FlowsPane ContentSwitcher { height: 1fr; }
    FlowsPane AggregateTable { height: 1fr; }
    """
    BINDINGS = [
        Binding("p", "toggle_pause", "Pause"),
        Binding("o", "toggle_process", "Process column; in Talkers, the processes behind the row", show=False),
        # Priority: the app runs it as the key arrives, so the keys queued behind `/` (a paste, fast
        # typing: one terminal read) reach the box; a plain binding ran only when the focused view got
        # to the key, after the app had already handed it the rest (they were lost or ran as commands).
        Binding("slash", "open_filter", "Filter", priority=True),
        Binding("escape", "back", "Back: leave a drill-down, then the view, then clear the filter", show=False),
        Binding("v", "step_view(1)", "Next view", show=False),
        Binding("V", "step_view(-1)", "Previous view", show=False),
        Binding("f", "show_view('list')", "Flows"),
        Binding("t", "show_view('talkers')", "Talkers"),
        Binding("x", "show_view('drops')", "Drops"),
        Binding("n", "show_view('dns')", "DNS"),
        Binding("h", "show_view('http')", "HTTP"),
        Binding("m", "show_view('map')", "Map"),
        Binding("y", "show_view('policies')", "Policies"),
        Binding("l", "show_view('connect')", "Connect"),
        Binding("a", "show_view('nodes')", "Nodes (agents behind Relay)"),
    ]

    drain_limit = MAX_DRAIN_PER_TICK
    joiner: FlowJoiner | None = None  # the run's flow/process join (tui/wiring/join.py), shared with Processes
    show_process = False
    _socket_events_seen = 0
    _rescan_pending = False  # the filter changed in another view: the list's first redraw scans longer

    def __init__(self, store: FlowStore, source: Source[FlowRecord] | None, *,
                 options: CompactOptions | None = None, filters: str = "", problem: str = "",
                 id: str = "flows", clock: Any = time.monotonic, nodes_source: Source[Any] | None = None) -> None:
        super().__init__(id=id, sources=[s for s in (source, nodes_source) if s is not None])
        self.nodes = NodeTable()  # Relay's nodes: GetNodes polls and the stream's node events
        self.nodes_source = nodes_source
        self.store = store
        # Talkers by process (o on a row), and each flow's join kept while the ring holds it
        self.talker_processes = TalkerProcesses(store.aggregates.window, remember=store.capacity)
        self.source = source
        self.options = options or CompactOptions()
        self.filters = filters
        self.problem = problem
        self.filter_text = ""
        self.drill: Drill | None = None  # a drill-down from a view row (Enter), left with Esc
        self._drill_from: tuple[str, int | None, str] = ("list", None, "")  # view, row, its `/` filter
        self.view = "list"
        self.start_view = "list"  # --view: the view shown first (list or map)
        self._clock = clock
        self._filtered: list[FlowRecord] = []
        self._filtered_upto = -1
        self._backfill_from = 0
        self._views_refreshed = float("-inf")
        self._list_frames = FrameGovernor(rows_per_second_at_fastest=100.0)  # the list redraws less often as flows pour in
        self._header = ""
        if problem:
            store.add(marker(RecordKind.NOTE, f"cannot start the Hubble source: {problem}"))

    # -- composition -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static("", id="flows-header", markup=False)
        with Vertical():
            yield NoSourceNotice(HUBBLE, id="flows-no-source")
            with ContentSwitcher(initial="list"):
                yield FlowList(self.line_pieces, id="list")
                for name, spec in VIEWS.items():
                    yield AggregateTable(spec, id=name)
                for name, view in EXTRA_VIEWS.items():
                    yield view(self, id=name)
            yield Input(placeholder="filter visible lines (Enter keeps it, Esc clears)", id="flows-filter")

    def on_mount(self) -> None:
        self._update_header()
        if self.start_view != "list":
            self.call_after_refresh(self.action_show_view, self.start_view)
        self.call_after_refresh(self._focus_view)

    def on_show(self) -> None:
        self.call_after_refresh(self._focus_view)

    def _focus_view(self) -> None:
        """Keys go to the pane's content, not to the tab strip."""
        if self.is_mounted and self.in_shown_tab():
            self.query_one(f"#{self.view}").focus()

    @property
    def flow_list(self) -> FlowList:
        return self.query_one(FlowList)

    # -- the template's hooks (tui/panes/base.py drains, pauses and starts) -------------------------
    def ingest(self, source: Source[FlowRecord], items: list[FlowRecord]) -> None:
        if source is not None and source is self.nodes_source:
            for snapshot in items:
                if getattr(snapshot, "unsupported", False):
                    self.nodes.unsupported = True
                else:
                    self.nodes.apply_nodes(snapshot.nodes, snapshot.when)  # type: ignore[attr-defined]
            return
        self.talker_processes.add(items, self._clock())  # joined after a lag: socket events may come later
        self.store.add_many(items)
        if self.show_process and self.joiner is not None and self.joiner.socket_events != self._socket_events_seen:
            self._socket_events_seen = self.joiner.socket_events  # lines drawn before their process was known
            self.flow_list.clear_cache()
        for record in items:
            if record.kind is RecordKind.NODE:  # a peer changed state: show it before the next poll
                self.nodes.apply_status(record.response().node_status, time.time())

    def after_drain(self) -> None:
        """Join the flows that waited for their socket events: count them by process, feed verdicts back."""
        self.talker_processes.settle(self.joiner, self._clock())

    def render_paused(self) -> None:
        self._update_header()

    def render_view(self, drained: int) -> None:
        self._update_header()
        self._update_notice()
        now = self._clock()
        if self.view == "list":
            if self._list_frames.due(drained, now) or self._filter_filling():
                self._refresh_list()
        elif now - self._views_refreshed >= VIEW_REFRESH_SECONDS:
            self._views_refreshed = now
            self.refresh_view()

    def redraw(self) -> None:
        self._update_header()
        self._update_notice()
        if self.view == "list":
            self._refresh_list()
        else:
            self.refresh_view()

    def refresh_view(self) -> None:
        """Update the visible aggregate table in place."""
        if self.view != "list":
            with self.app.batch_update():
                if self.view in EXTRA_VIEWS:  # the map, policies and connect views read the store themselves
                    self.query_one(f"#{self.view}", EXTRA_VIEWS[self.view]).update_store(self.store)
                    self._update_header()
                else:
                    self.query_one(f"#{self.view}", AggregateTable).update_rows(self.store.aggregates)

    def _refresh_list(self) -> None:
        self._list_frames.drawn(self._clock())
        budget = FILTER_FIRST_SECONDS if self._rescan_pending else 0.0  # a filter typed in another view
        self._rescan_pending = False
        self.flow_list.set_rows(self._visible_rows(budget))

    def _filter_filling(self) -> bool:
        """A new filter or drill-down still has records to scan (no new data must not freeze the fill-in)."""
        if not self.filter_text and self.drill is None:
            return False
        return self._backfill_from > self.store.first_seq or self._filtered_upto < self.store.seq - 1

    def _visible_rows(self, budget: float = 0.0) -> list[FlowRecord]:
        """The ring, or the records matching the `/` filter.

        Matching needs each record's text, which costs a render; so a new filter scans from the
        newest record backwards and new arrivals forwards, each tick for at most
        FILTER_SECONDS_PER_TICK: the newest matches show at once, older ones fill in above them.
        """
        ring = self.store.ring
        if not self.filter_text and self.drill is None:
            return list(ring)
        first = self.store.first_seq
        filtered = self._filtered
        if filtered and filtered[0].seq < first:
            self._filtered = filtered = [r for r in filtered if r.seq >= first]
        needle = self.filter_text.lower()
        deadline = time.perf_counter() + (budget or FILTER_SECONDS_PER_TICK)
        start = max(self._filtered_upto + 1, first)
        for count, record in enumerate(_records_from(ring, start, first), 1):
            if self._matches(record, needle):
                filtered.append(record)
            self._filtered_upto = record.seq
            if count % 64 == 0 and time.perf_counter() > deadline:
                return list(filtered)  # the rest next tick: a filter must not stall the UI at high rates
        older: list[FlowRecord] = []
        index = self._backfill_from - first - 1
        count = 0
        while index >= 0:
            record = ring[index]
            if self._matches(record, needle):
                older.append(record)
            self._backfill_from = record.seq
            index -= 1
            count += 1
            if count % 64 == 0 and time.perf_counter() > deadline:
                break
        if older:
            older.reverse()
            self._filtered = filtered = older + filtered
        return list(filtered)

    # -- rendering ---------------------------------------------------------------------------------
    def line_pieces(self, record: FlowRecord, width: int = 0) -> list[tuple[str, str]]:
        """One line as (text, Rich style) pieces: flows coloured by verdict, drops marked, markers highlighted.

        Every piece is literal text with control characters escaped; the list widget turns the
        pieces straight into segments (no Rich markup, no Text layout per line). A `width` fits the
        line into that many cells with its verdict kept (`fit_pieces`); 0 gives hubble's full line.
        """
        kind = record.kind
        if kind is RecordKind.FLOW or kind is RecordKind.LOST:
            response = record.response()
            pieces = (flow_pieces(response.flow, self.options, escape_control) if kind is RecordKind.FLOW
                      else lost_events_pieces(response))
            if width:
                pieces = fit_pieces(pieces, width - flow_process.COLUMN_WIDTH if self.show_process else width)
            styled = line_styles(pieces)
            if self.show_process and kind is RecordKind.FLOW:
                process = self.process_of(record)
                styled.insert(0, (flow_process.column_text(process), "cyan" if process else "dim"))
            return styled
        if kind is RecordKind.NODE:
            text = node_status_text(record.response(), escape_control)
            return [(drop_date(text) if width else text, "yellow")]
        if kind is RecordKind.GAP:
            return [(escape_control(record.text), "bold yellow")]
        return [(escape_control(record.text), "dim")]

    def render_record(self, record: FlowRecord) -> Text:
        """The line as a Rich Text (detail view headline, filtering)."""
        text = Text(no_wrap=True)
        for chunk, style in self.line_pieces(record):
            text.append(chunk, style or None)
        return text

    def searchable(self, record: FlowRecord) -> str:
        """Lower-cased line text, cached on the record, for `/` filtering."""
        if record.plain is None:
            record.plain = self.render_record(record).plain.lower()
        return record.plain

    def _update_notice(self) -> None:
        """Explain in the body, until the first flow, why there are none (tui/panes/no_source.py)."""
        if self.source is not None:
            self.query_one(NoSourceNotice).show_for([self.source], self.source.buffer.received)

    def _update_header(self) -> None:
        parts = [{"list": "Flows", **{k: v.title for k, v in VIEWS.items()},
                  **{k: v.title for k, v in EXTRA_VIEWS.items()}}[self.view]]
        if self.view == "list":
            flow_list = self.flow_list
            parts.append("follow" if flow_list.follow else "scrolled (End follows)")
            parts.append("fitted (w: full lines)" if flow_list.narrow else "full lines (w: fit)")
            if flow_list.scroll_column:
                parts.append(f"{glyphs().arrow} +{flow_list.scroll_column} cols (0 resets)")
            if self.drill is not None:
                parts.append(f"drill: {escape_control(self.drill.title)} (Esc back)")
            if self.filter_text:
                parts.append(f"/{escape_control(self.filter_text)}")
            if self.filter_text or self.drill is not None:
                parts.append(f"{len(flow_list.rows):,} lines")
            if self.show_process:
                tp = self.talker_processes
                parts.append(flow_process.header_note(self.joiner, tp.joined, tp.joined + tp.unknown))
        else:
            view = self._view_widget()
            if isinstance(view, AggregateTable) and self.view in VIEWS:
                parts.append(f"last {self.store.aggregates.window}s {glyphs().dot} sort {view.sort_label()} (s, r)")
            else:
                parts.append(view.header_text())
            if self.filter_text:
                parts.append(f"/{escape_control(self.filter_text)} {view.filter_count()}")
        if self.paused:
            parts.append(self.pause_text())
        header = f" {glyphs().dot} ".join(parts)
        if header != self._header:
            self._header = header
            self.query_one("#flows-header", Static).update(Text(header, style="bold"), layout=False)

    def alarm_parts(self) -> list[str]:
        """A failed source, lost events, ebtop's drops and gaps: first on the status line when there are any."""
        parts = [f"hubble: failed: {self.problem}"] if self.problem else []
        store = self.store
        if store.lost_events or store.lost_responses:
            parts.append(self._lost_text())
        if self.dropped_by_ebtop():
            parts.append(f"dropped by ebtop {count_text(self.dropped_by_ebtop())}")
        if store.gaps:
            parts.append(f"gaps {store.gaps}")
        if self.source is not None:
            parts += self.source_alarms(self.source)
        return parts

    def _lost_text(self) -> str:
        store = self.store
        lost = f"lost {count_text(store.lost_events)}"
        if store.lost_responses:  # how many lost-events notices the server sent (each a burst)
            lost += f" in {count_text(store.lost_responses)} notice{'s' if store.lost_responses != 1 else ''}"
        return lost

    def status_parts(self) -> list[str]:
        """Flows/s, lost events and ebtop drops (when none: the alarms come first), source state and facts, filters."""
        store = self.store
        parts = [f"{store.flows_per_second():.1f} flows/s", f"{count_text(store.flows)} flows",
                 self._lost_text(), f"dropped by ebtop {count_text(self.dropped_by_ebtop())}"]
        if self.source is not None and not self.problem:
            first, *rest = self.source_parts(self.source)
            parts += [f"hubble {first}", *rest]
        if self.filters:
            parts.append(f"filters: {self.filters}")
        return parts

    def source_state(self) -> SourceState | None:
        return None if self.source is None else self.source.status.get().state

    # -- actions -----------------------------------------------------------------------------------

    def _view_widget(self) -> Any:
        """The visible view other than the list: an aggregate table or one of EXTRA_VIEWS.

        Each has `set_filter(text)` (`/` narrows what it shows) and `filter_count()` (for the header).
        """
        return self.query_one(f"#{self.view}", EXTRA_VIEWS.get(self.view, AggregateTable))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`/` typed in the box is text (the priority binding steps aside)."""
        in_box = action == "open_filter" and self.is_mounted and self.screen.focused is self.query_one("#flows-filter")
        return not in_box

    def action_open_filter(self) -> None:
        """`/`: the box at the bottom; every view filters what it shows (the list its lines, the tables
        their rows, the map its nodes), live as you type."""
        box = self.query_one("#flows-filter", Input)
        box.add_class("-open")
        box.value = self.filter_text
        # At once, not on the next message: the keys typed or pasted right after `/` are already
        # queued and must reach the box (a deferred focus let `/drop` pause the list on `p`).
        self.screen.set_focus(box)

    def action_clear_filter(self) -> None:
        box = self.query_one("#flows-filter", Input)
        box.remove_class("-open")
        self._set_filter("")
        self.screen.set_focus(self.query_one(f"#{self.view}"))

    def action_back(self) -> None:
        """Esc: leave a drill-down (back where it started), else leave a view, else clear the filter."""
        if self.screen.focused is self.query_one("#flows-filter", Input):
            self.action_clear_filter()  # Esc in the box: the box goes first
        elif self.drill is not None:
            self.leave_drill()
        elif self.view != "list":
            self.action_show_view("list")
        else:
            self.action_clear_filter()

    def action_step_view(self, step: int) -> None:
        """v / V: the next or previous view, the same way in every pane."""
        names = ["list", *VIEWS, *EXTRA_VIEWS]
        self.action_show_view(names[(names.index(self.view) + step) % len(names)])

    # -- drill-down ------------------------------------------------------------------------------
    def drill_down(self, title: str, match: Callable[[FlowRecord], bool]) -> None:
        """Show the flow list narrowed to `match` (Esc returns to the view and row it came from).

        The `/` filter still applies on top. Views call this from their Enter handler (talkers, drops,
        DNS, HTTP rows here; service-map edges and policy rows in the map and policies views).
        """
        if self.drill is None:
            self._drill_from = (self.view, self._cursor_row(self.view), self.filter_text)
        self.drill = Drill(title, match)
        if self.view != "list":  # the view's filter chose the row (a policy name matches no flow line):
            self._show_filter("")  # the row's flows are shown whole; Esc gives the view its filter back
        self._restart_filter()
        self.action_show_view("list")

    def leave_drill(self) -> None:
        view, row, view_filter = self._drill_from
        self.drill = None
        if view != "list":
            self._show_filter(view_filter)
        self._restart_filter()
        self.action_show_view(view)
        if row is not None and view in VIEWS:
            self.query_one(f"#{view}", AggregateTable).move_cursor(row=row, animate=False)

    def _cursor_row(self, view: str) -> int | None:
        widget = self.query_one(f"#{view}")
        return widget.cursor_row if isinstance(widget, AggregateTable) else None

    def _matches(self, record: FlowRecord, needle: str) -> bool:
        if self.drill is not None and not self.drill.match(record):
            return False
        return not needle or self.searchable(record).find(needle) >= 0

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a talkers, drops, DNS or HTTP row: the flows behind it."""
        table = event.data_table
        if not isinstance(table, AggregateTable) or table.spec.name not in DRILL_FIELDS or event.row_key.value is None:
            return
        event.stop()
        drill = drill_for(table.spec.name, event.row_key.value)
        if drill is not None:
            self.drill_down(*drill)

    @on(Input.Changed, "#flows-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._set_filter(event.value)

    @on(Input.Submitted, "#flows-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        box = self.query_one("#flows-filter", Input)
        box.remove_class("-open")
        self.query_one(f"#{self.view}").focus()

    def _show_filter(self, value: str) -> None:
        """Put `value` in the box and in `filter_text` without a rescan (the caller restarts it)."""
        self.filter_text = value
        box = self.query_one("#flows-filter", Input)
        box.value = value
        if not value:
            box.remove_class("-open")

    def _set_filter(self, value: str) -> None:
        if value == self.filter_text:
            return
        self.filter_text = value
        if self.view != "list":
            self._view_widget().set_filter(value)
        self._restart_filter(draw=self.view == "list")

    def _restart_filter(self, draw: bool = True) -> None:
        """Match again from the newest record backwards (the filter or the drill-down changed).

        With another view on screen (`draw` False) the list only forgets its matches: a keystroke there
        must not pay for scanning lines nobody sees; showing the list scans them.
        """
        self._filtered = []
        self._filtered_upto = self.store.seq - 1  # scan backwards from the newest record
        self._backfill_from = self.store.seq
        self.flow_list.clear_cache()
        self._rescan_pending = not draw
        if draw:
            self.flow_list.set_rows(self._visible_rows(budget=FILTER_FIRST_SECONDS))
        self._update_header()

    def action_show_view(self, name: str) -> None:
        self.view = name
        self.query_one(ContentSwitcher).current = name
        widget = self.query_one(f"#{name}")
        self.screen.set_focus(widget)  # at once: keys already queued go to the new view
        if name == "list":
            self._refresh_list()
        else:
            self._view_widget().set_filter(self.filter_text)
            self._views_refreshed = self._clock()
            self.refresh_view()
        self._update_header()

    @on(FlowList.Open)
    def _open_detail(self, event: FlowList.Open) -> None:
        record = event.record
        self.app.push_screen(flow_process.detail_screen(record, self.render_record(record), self.joiner,
                                                        getattr(self.joiner, "forest", None),
                                                        self.talker_processes.join_of(record)))

    def process_of(self, record: FlowRecord) -> Any:
        """The flow's process: the one it was joined to (kept), else what the index knows now."""
        return flow_process.process_of_record(self.joiner, record, self.talker_processes.join_of(record))

    def action_toggle_process(self) -> None:
        """Show or hide the process column (pid and binary of the flow's process, from the join).

        In Talkers, `o` breaks the selected row down by process instead (tui/panes/talker_breakdown.py).
        """
        if self.view == "talkers":
            self.show_talker_processes()
            return
        self.show_process = not self.show_process
        self.flow_list.clear_cache()
        self.flow_list.refresh()
        self._update_header()


    def show_talker_processes(self) -> None:
        from tui.panes.flow_drill import talker_of_key
        from tui.panes.talker_breakdown import TalkerBreakdown

        table = self.query_one("#talkers", AggregateTable)
        if not table.row_count or not 0 <= table.cursor_row < table.row_count:
            return
        talker = talker_of_key(table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value or "")
        if talker is None:
            self.app.notify("this row has no single talker (the folded (other) row)", severity="information")
            return
        self.app.push_screen(TalkerBreakdown(talker, self.talker_processes, self.joiner))


def _records_from(ring: Any, start_seq: int, first_seq: int) -> Any:
    """Records of the ring with seq >= start_seq, oldest first (the ring is in sequence order)."""
    offset = start_seq - first_seq
    length = len(ring)
    if offset >= length:
        return iter(())
    if offset <= 0:
        return iter(ring)
    # deque slicing from the right end is cheap for the few new records of a tick.
    return (ring[i] for i in range(offset, length))
