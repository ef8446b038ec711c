"""Syscalls pane: a bpftrace-style top-10 updated in place, plus the seed's kernel probe views.

The pane only renders `SyscallTop` and `ProbeModel`; the kernel source fills them on its worker
thread. Rows are keyed and updated in place inside `batch_update`, with fixed column widths and no
`update_width`, so a tick costs the same however the numbers change.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import ContentSwitcher, DataTable, Input, Static
from textual.widgets.data_table import ColumnKey

from tui.model.probes import BlockEvent, ConnectEvent, OpenEvent, ProbeModel
from tui.model.syscalls import (
    BY_CHOICES,
    KERNEL_MODE,
    SORT_CHOICES,
    SyscallInterval,
    SyscallSample,
    SyscallTop,
    TopRow,
)
from tui.panes.base import LivePane
from tui.panes.jumps import jump
from tui.panes.latency_views import LATENCY_VIEWS, LatencyModel, LatencyView, open_view
from tui.render.glyphs import Glyphs, bar, glyphs
from tui.render.netaddr import host_port
from tui.render.numbers import count_text
from tui.render.safe import safe_text
from tui.render.trim import trim_middle
from tui.sources.kernel import KernelSource, step_interval
from tui.sources.notes import SeenNotes

VIEWS = ("top", "opens", "retrans", "connect", "slowio", "cost", *LATENCY_VIEWS)
VIEW_TITLES = {"top": "top syscalls", "opens": "file opens", "retrans": "TCP retransmits",
               "connect": "TCP connect latency", "slowio": "slow block I/O", "cost": "ebtop's BPF cost",
               **LATENCY_VIEWS}
TOP_COLUMNS = (("key", "key", 22), ("count", "count", 9), ("rate", "rate/s", 9), ("change", "change", 8),
               ("failed", "failed", 7), ("bar", "", 12))
LIST_ROWS = 50
DEFAULT_INTERVAL = 5.0
VIEW_PROBES = {"opens": "opens", "retrans": "tcp", "connect": "tcp", "slowio": "blockio"}
EVENT_VIEWS = {"OpenEvent": "opens", "RetransEvent": "retrans", "ConnectEvent": "connect",
               "BlockEvent": "slowio", "BlockHistDelta": "slowio", "CostReport": "cost"}


def fmt_count(value: float) -> str:
    """A count in at most 9 cells: exact with separators below ten million, then scaled."""
    if value < 10_000_000:
        return f"{value:,.0f}"
    if value < 10_000_000_000:
        return f"{value / 1e6:,.1f}M"
    return f"{value / 1e9:,.1f}G"


def fmt_change(change: int | None) -> str:
    if change is None:
        return "new"
    return f"{change:+,}" if abs(change) < 1_000_000 else f"{change / 1e6:+.1f}M"


OPENS_REFRESH_SECONDS = 1.0  # the file opens table while opens pour in (htop redraws at 1.5 s)
OPENS_FIXED_CELLS = 12 + 7 + 15 + 7 + 7 + 6 * 2 + 2  # TIME, PID, COMM, FD/ERR, CALL with cell padding, scrollbar
CONNECT_LINES = 30  # per-connection lines in the connect view, newest first
SLOWIO_LINES = 20
SIDE_BY_SIDE = 115  # cells the connect view needs for its connections beside the histogram (47 + 3 + 61 + 4)


def open_result(ret: int) -> str:
    """An open's result as opensnoop shows it: the fd, or the errno's name (`ENOENT`)."""
    if ret >= 0:
        return str(ret)
    return errno.errorcode.get(-ret, str(ret))


def own_comms() -> frozenset[str]:
    """The kernel names of ebtop's threads (`ebtop-ui`, `hubble-reader`, …, see tui/threads.py)."""
    now = time.monotonic()
    if now - _OWN_COMMS[0] > 5.0:
        names = set()
        for task in Path("/proc/self/task").glob("*/comm"):
            with contextlib.suppress(OSError):
                names.add(task.read_text().strip())
        _OWN_COMMS[:] = [now, frozenset(names)]
    return _OWN_COMMS[1]


_OWN_COMMS: list = [float("-inf"), frozenset()]


def is_own_sample(sample: SyscallSample) -> bool:
    """A count of ebtop itself: its process id when counted by pid, else one of its thread names."""
    if sample.pid:
        return sample.pid == os.getpid()
    return sample.comm in own_comms()


def is_own_key(key: tuple) -> bool:
    """A top-10 row key (`(comm,)` or `(pid, comm)`) that is ebtop's."""
    if len(key) == 2 and isinstance(key[0], int):
        return key[0] == os.getpid()
    return len(key) == 1 and key[0] in own_comms()


def fmt_ms(ns: int) -> str:
    return f"{ns / 1e6:,.3f}"


def clock(at: float) -> str:
    """Wall time as opensnoop -T would want it readable: `HH:MM:SS.mmm`, `-` when unknown."""
    if at <= 0:
        return "-"
    return time.strftime("%H:%M:%S", time.localtime(at)) + f".{int(at * 1000) % 1000:03d}"


def side_by_side(left: list[str], right: list[str], gap: int = 3) -> list[str]:
    """Two blocks of lines as two columns (the left one padded to its widest line)."""
    width = max((len(line) for line in left), default=0) + gap
    rows = max(len(left), len(right))
    return [(left[i] if i < len(left) else "").ljust(width) + (right[i] if i < len(right) else "")
            for i in range(rows)]


def lines_text(lines: list[str] | tuple[str, ...]) -> Text:
    """Several lines of untrusted text: each escaped on its own, joined by real newlines."""
    return Text("\n").join(safe_text(line) for line in lines)


def is_note_line(line: str) -> bool:
    """A precondition line that turns nothing off (Problem.line() ends it with `(note)`)."""
    return line.endswith("(note)")


def program_label(name: str) -> str:
    """`opens:tracepoint__syscalls__sys_exit_openat` -> `opens tp/syscalls/sys_exit_openat`."""
    family, _, function = name.rpartition(":")
    for prefix, short in (("raw_tracepoint__", "raw_tp/"), ("tracepoint__", "tp/")):
        if function.startswith(prefix):
            function = short + function[len(prefix):].replace("__", "/")
            break
    return f"{family or 'syscalls'} {function}"


class SyscallsPane(LivePane):
    """Top-10 syscall counts by comm, pid or syscall, and views for opens, TCP, block I/O, own cost."""

    tab_title = "Syscalls"
    DEFAULT_CSS = """
    SyscallsPane { height: 1fr; }
    SyscallsPane #sc-header { height: 1; padding: 0 1; background: $boost; }
    SyscallsPane #sc-problems { height: auto; max-height: 6; padding: 0 1; color: $warning; }
    SyscallsPane #sc-views { height: 1fr; }
    SyscallsPane DataTable { height: 1fr; }
    SyscallsPane .sc-text { height: auto; padding: 0 1; }
    SyscallsPane #sc-filter { dock: bottom; height: 3; display: none; }
    SyscallsPane #sc-filter.-open { display: block; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("v", "cycle_view", "View"),
        Binding("V", "step_view(-1)", "Previous view", show=False),
        Binding("b", "cycle_by", "By comm/pid/syscall/container/pod"),
        Binding("x", "toggle_failed", "Failed calls only"),
        Binding("s", "cycle_sort", "Sort: count, rate, failures", show=False),
        Binding("r", "reverse_sort", "Reverse the order", show=False),
        Binding("p", "toggle_pause", "Pause"),
        Binding("plus,equals_sign", "interval(1)", "Longer interval", key_display="+", show=False),
        Binding("minus", "interval(-1)", "Shorter interval", key_display="-", show=False),
        Binding("o", "toggle_own", "Hide or show ebtop's own syscalls", show=False),
        Binding("n", "dismiss_notes", "Dismiss the notes above the table (remembered; see --help)", show=False),
        # Priority: run as the key arrives, so the keys queued behind `/` (a paste, fast typing) reach the
        # box instead of the table; `check_action` steps aside while the box has focus (`/` is text there).
        Binding("slash", "open_filter", "Filter", key_display="/", priority=True),
        Binding("escape", "back", "Back: close the filter box, leave the view, clear the filter", show=False),
    ]

    def __init__(self, source: KernelSource | None = None, *, by: str = "comm", sort: str = "count",
                 failed_only: bool = False, chars: Glyphs | None = None, notes: SeenNotes | None = None) -> None:
        """`notes` remembers dismissed notes across runs (None: dismissed for this run only)."""
        super().__init__(id="syscalls", sources=[source] if source is not None else [])
        self.source = source
        self.top = SyscallTop()
        self.probes = ProbeModel()
        self.latency = LatencyModel()  # run-queue, block I/O, syscall latency, custom counters (issue 14)
        self.by = by if by in BY_CHOICES else "comm"
        self.sort = sort if sort in SORT_CHOICES else "count"
        self.failed_only = failed_only
        self._interval = DEFAULT_INTERVAL  # used only without a source (tests, fixed data)
        if source is not None:  # the slow I/O label follows --slow-io-ms, which the kernel filters by
            self.probes.block.threshold_ns = int(source.slow_ms * 1e6)
        self.view = "top"
        self.chars = chars
        self._dirty: set[str] = {"header", *VIEWS}  # what changed since it was last drawn
        self._problem_lines: tuple[str, ...] = ()
        self._all_problems: tuple[str, ...] = ()  # before dismissed notes are taken out
        self.notes = notes
        self._dismissed: set[str] = set()
        self._time_shown = False
        self._opens_drawn = float("-inf")
        self._opens_room = 0
        self._open_cells: dict[OpenEvent, tuple[object, ...]] = {}  # the rows of the kept events
        self.reverse = False
        self.hide_own = False
        self.filter_text = ""

    # -- layout ---------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static("", id="sc-header", markup=False)
        yield Static("", id="sc-problems", markup=False)
        with ContentSwitcher(initial="top", id="sc-views"):
            yield DataTable(id="top", cursor_type="row", zebra_stripes=True)
            yield DataTable(id="opens", cursor_type="row")
            yield DataTable(id="retrans", cursor_type="row")
            with VerticalScroll(id="connect"):
                yield Static("", id="connect-text", classes="sc-text", markup=False)
            with VerticalScroll(id="slowio"):
                yield Static("", id="slowio-text", classes="sc-text", markup=False)
            yield DataTable(id="cost", cursor_type="row")
            for view in LATENCY_VIEWS:
                yield LatencyView(view, self.latency, id=view)
        yield Input(placeholder="filter rows (Enter keeps it, Esc clears)", id="sc-filter")

    def on_mount(self) -> None:
        top = self.query_one("#top", DataTable)
        for key, label, width in TOP_COLUMNS:
            top.add_column(Text(label, justify="left" if key in ("key", "bar") else "right"), key=key, width=width)
        opens = self.query_one("#opens", DataTable)
        # The path takes the width it needs (it was cut at 40 cells with no ellipsis); errors by name.
        for key, label, width in (("time", "TIME", 12), ("pid", "PID", 7), ("comm", "COMM", 15), ("fd", "FD/ERR", 7),
                                  ("call", "CALL", 7), ("path", "PATH", None)):
            opens.add_column(label, key=key, width=width)
        retrans = self.query_one("#retrans", DataTable)
        # Addresses take the width they need (an IPv6 address and port is up to 47 cells): a fixed
        # width cut the last digit of `[::ffff:127.0.0.1]:34845`'s port.
        for key, label, width in (("pid", "PID", 7), ("comm", "COMM", 15), ("local", "LOCAL", None),
                                  ("remote", "REMOTE", None), ("count", "COUNT", 6)):
            retrans.add_column(label, key=key, width=width)
        cost = self.query_one("#cost", DataTable)
        for key, label, width in (("prog", "PROGRAM", 38), ("runs", "RUNS/S", 10), ("ns", "NS/RUN", 8),
                                  ("cpu", "%CPU", 6)):
            cost.add_column(label, key=key, width=width)
        self.query_one("#sc-problems", Static).display = False
        self._render_all()

    def on_show(self) -> None:
        """Give the keys to this pane when its tab is shown (the tab bar has focus otherwise)."""
        self._focus_view()

    def _focus_view(self) -> None:
        target = self.query_one("#sc-views", ContentSwitcher).visible_content
        if target is not None and target.can_focus:
            target.focus()

    # -- the template's hooks (tui/panes/base.py drains, pauses and starts) ---------------------------
    def tick(self, visible: bool) -> None:
        """Tell the kernel source what is on screen: its rings are drained at 10 Hz only while a
        view drawn from them is shown (else once a second; issue 11, idle cost)."""
        if self.source is not None:
            self.source.watch(visible and not self.paused, self.view)
        super().tick(visible)

    def ingest(self, source: object, items: list[object]) -> None:
        for item in items:
            if self.latency.accepts(item):
                self._dirty.add(self.latency.add(item))
            elif isinstance(item, SyscallInterval):
                self.add_interval(item)
            else:
                self.add_event(item)

    def after_drain(self) -> None:
        if self.source is not None:
            lines = tuple(p.line() for p in self.source.problems)
            if lines != self._all_problems:
                self._all_problems = lines
                self._show_problems()

    def _show_problems(self) -> None:
        """The problem lines without the notes dismissed now or on an earlier run."""
        lines = tuple(line for line in self._all_problems
                      if not (is_note_line(line) and (line in self._dismissed
                                                      or (self.notes is not None and self.notes.seen(line)))))
        if lines != self._problem_lines:
            self._problem_lines = lines
            self._dirty.add("header")

    def render_view(self, drained: int) -> None:
        if self.view == "opens" and "header" not in self._dirty and \
                time.monotonic() - self._opens_drawn < OPENS_REFRESH_SECONDS:
            return  # drawn on a later tick (the slow idle tick included); keys draw at once
        if "header" in self._dirty or self.view in self._dirty:
            self._render_all()

    def render_paused(self) -> None:
        self._render_header()  # only the PAUSED count moves; the tables stay frozen

    def redraw(self) -> None:
        self._refresh_now()

    def status_parts(self) -> list[str]:
        if self.source is None:
            return [f"Syscalls: {self.top.intervals} intervals"]
        first, *rest = self.source_parts(self.source)
        return [f"Syscalls: {first}", *rest]

    def alarm_parts(self) -> list[str]:
        """ebtop's own drops first, as in every pane, so 80 columns show them."""
        dropped = self.dropped_by_ebtop()
        lost = [f"{count_text(dropped)} events dropped by ebtop"] if dropped else []
        return [*lost, *super().alarm_parts()]

    # -- feeding (the source on ticks, or tests directly) ----------------------------------------
    def add_interval(self, interval: SyscallInterval) -> None:
        self.top.add(interval)
        self._dirty.update(("header", "top"))

    def add_event(self, event: object) -> None:
        self.probes.add(event)
        self._dirty.add(EVENT_VIEWS.get(type(event).__name__, "header"))

    def set_problems(self, lines: list[str]) -> None:
        """Show precondition lines (tests without a source use this)."""
        self._all_problems = tuple(lines)
        self._show_problems()

    # -- actions -----------------------------------------------------------------------------------
    def action_cycle_by(self) -> None:
        self.by = BY_CHOICES[(BY_CHOICES.index(self.by) + 1) % len(BY_CHOICES)]
        if self.source is not None:
            wanted = KERNEL_MODE.get(self.by, "comm")
            if self.source.mode != wanted:
                self.source.configure(mode=wanted)
                self.source.read_now()
        self._refresh_now()

    def action_toggle_failed(self) -> None:
        self.failed_only = not self.failed_only
        if self.failed_only:
            self._want_failures()
        self._refresh_now()

    def action_cycle_sort(self) -> None:
        self.sort = SORT_CHOICES[(SORT_CHOICES.index(self.sort) + 1) % len(SORT_CHOICES)]
        if self.sort == "failures":
            self._want_failures()
        self._refresh_now()

    @property
    def interval(self) -> float:
        """Seconds per counting interval: the source's setting (its one owner)."""
        return self.source.interval if self.source is not None else self._interval

    def action_interval(self, direction: int) -> None:
        wanted = step_interval(self.interval, direction)
        if self.source is not None:
            self.source.set_interval(wanted)
        else:
            self._interval = wanted
        self._refresh_now()

    def action_cycle_view(self) -> None:
        self.action_step_view(1)

    def action_step_view(self, step: int) -> None:
        """v / V: the next or previous view, the same way in every pane."""
        self.action_show_view(VIEWS[(VIEWS.index(self.view) + step) % len(VIEWS)])

    def action_reverse_sort(self) -> None:
        self.reverse = not self.reverse
        self._refresh_now()

    def action_toggle_own(self) -> None:
        """`o`: ebtop's own syscalls (its threads, marked `(ebtop)`) out of the counts, or back in."""
        self.hide_own = not self.hide_own
        self._refresh_now()

    def action_dismiss_notes(self) -> None:
        """`n`: the notes (lines that turn nothing off) go, for good when `notes` keeps them."""
        notes = [line for line in self._problem_lines if is_note_line(line)]
        if not notes:
            self.notify("no notes to dismiss", severity="information")
            return
        self._dismissed.update(notes)
        if self.notes is not None:
            self.notes.remember(notes)
        self._show_problems()
        self._refresh_now()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`/` typed in the box is text (the priority binding steps aside)."""
        return not (action == "open_filter" and self.is_mounted
                    and self.screen.focused is self.query_one("#sc-filter", Input))

    def action_open_filter(self) -> None:
        box = self.query_one("#sc-filter", Input)
        box.add_class("-open")
        box.display = True  # now, not at the next style update: a hidden box refuses focus, and the
        # keys typed with `/` in one go (`/dd` from a fast typist or a paste) were lost
        box.value = self.filter_text
        self.screen.set_focus(box)  # at once: keys typed or pasted right after `/` go in

    def action_back(self) -> None:
        """Esc: close the filter box, else back to the top-10, else clear the filter."""
        box = self.query_one("#sc-filter", Input)
        if self.screen.focused is box:
            box.remove_class("-open")
            box.display = False
            self._set_filter("")
            self._focus_view()
        elif self.view != "top":
            self.action_show_view("top")
        elif self.filter_text:
            self._set_filter("")

    @on(Input.Changed, "#sc-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._set_filter(event.value)

    @on(Input.Submitted, "#sc-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.input.remove_class("-open")
        event.input.display = False
        self._focus_view()

    def _set_filter(self, value: str) -> None:
        self.filter_text = value
        self._refresh_now()

    def _kept(self, *texts: object) -> bool:
        """Whether a row with these cells passes the `/` filter (case-insensitive substring)."""
        needle = self.filter_text.lower()
        return not needle or any(needle in str(text).lower() for text in texts)

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row with a pid (top-10 by pid, opens, retransmits): that process in Processes."""
        event.stop()
        table = event.data_table
        if table.id == "top":
            if self.by != "pid":
                self.notify(f"rows counted by {self.by} have no pid: press b until 'by pid'",
                            severity="information")
                return
            pid_text = str(event.row_key.value).split("\x1f", 1)[0]
        elif table.id in ("opens", "retrans"):
            pid_text = str(table.get_cell(event.row_key, "pid"))
        else:
            return
        if pid_text.isdigit():
            self.open_process(int(pid_text))

    def open_process(self, pid: int) -> bool:
        """Switch to the Processes tab with `pid` selected; stay here and say so when it is unknown there."""
        for pane in getattr(self.app, "panes", []):
            select = getattr(pane, "select_pid", None)
            if select is None or not pane.id:
                continue
            if select(pid):  # selected in its (hidden) tree first: an unknown pid leaves focus here
                jump(self.app, pane)  # Esc there comes back here
                return True
            self.notify(f"pid {pid} is not in the Processes pane (exited, or its exec was not seen)",
                        severity="warning")
            return False
        self.notify("no Processes pane in this run", severity="warning")
        return False

    def action_show_view(self, view: str) -> None:
        if view in VIEWS:
            self.view = view
            if self.source is not None:
                self.source.set_cost(view == "cost")
                self.source.watch(True, view)  # a view drawn from the rings is filled at once
            self.query_one("#sc-views", ContentSwitcher).current = view
            open_view(self.sources, view)
            self._refresh_now()
            self._focus_view()

    def _want_failures(self) -> None:
        if self.source is not None and not self.source.failed:
            self.source.configure(failed=True)

    def _refresh_now(self) -> None:
        self._dirty.update(("header", *VIEWS))
        if self.is_mounted:
            if self.paused:
                self._render_header()
            else:
                self._render_all()

    # -- rendering ---------------------------------------------------------------------------------
    def _render_all(self) -> None:
        self._dirty.difference_update(("header", self.view))
        with self.app.batch_update():
            self._render_header()
            self._render_problems()
            render = getattr(self, f"_render_{self.view}", None)
            if render is None:
                view = self.query_one(f"#{self.view}", LatencyView)
                view.filter_text = self.filter_text
                render = view.show
            render()

    def _render_header(self) -> None:
        parts = [VIEW_TITLES[self.view]]
        if self.view == "top":
            parts.append(f"by {self.by}")
            parts.append(f"sort {self.sort}{' reversed' if self.reverse else ''} (s, r)")
            if self.failed_only:
                parts.append("failed only")
            parts.append("ebtop's own hidden (o)" if self.hide_own else "ebtop's own shown (o)")
        if self.filter_text:
            parts.append(f"/{self.filter_text}")
        parts.append(f"every {self.interval:g}s")
        latest = self.top.latest
        if self.view == "top" and latest is not None and not self.paused:
            totals = self.top.totals(self.by)
            parts.append(f"{fmt_count(totals.calls)} calls")
            if not latest.failed_counted:
                parts.append("failures not counted (x)")
            if latest.lost:
                parts.append(f"{latest.lost} not counted (map full)")
        probe = VIEW_PROBES.get(self.view)
        if probe is not None and self.probes.drops.get(probe):
            parts.append(f"{self.probes.drops[probe]:,} events lost (ring buffer full)")
        if self.view == "opens":
            parts.append(f"{self.probes.opens.total:,} opens, {self.probes.opens.failed:,} failed")
        elif self.view == "cost":
            parts.append("BPF run-time stats are on while this view is shown")
        elif self.view == "retrans":
            parts.append(f"{self.probes.retrans.total:,} retransmits")
        if self.paused:
            parts.insert(0, self.pause_text())
        sep = f" {self._chars().dot} "
        self.query_one("#sc-header", Static).update(Text(sep.join(parts)))

    def _render_problems(self) -> None:
        widget = self.query_one("#sc-problems", Static)
        widget.display = bool(self._problem_lines)
        lines = list(self._problem_lines)
        if any(is_note_line(line) for line in lines):
            lines.append("n dismisses the notes")
        widget.update(lines_text(lines))

    def _chars(self) -> Glyphs:
        return self.chars or glyphs()

    def _render_top(self) -> None:
        table = self.query_one("#top", DataTable)
        rows = self.top.top(by=self.by, sort=self.sort, failed_only=self.failed_only,
                            hide=is_own_sample if self.hide_own else None)
        if self.reverse:
            rows.reverse()
        rows = [row for row in rows if self._kept(row.label)]
        failures_known = self.top.latest is not None and self.top.latest.failed_counted
        self._show_time(self.top.latest is not None and self.top.latest.latency_counted)
        wanted = {self._row_key(row): row for row in rows}
        for key in [k.value for k in list(table.rows) if k.value not in wanted]:
            table.remove_row(key)
        existing = {k.value for k in table.rows}
        for key, row in wanted.items():
            cells = self._cells(row, failures_known)
            if key in existing:
                for (column, _, _), value in zip(TOP_COLUMNS, cells, strict=True):
                    table.update_cell(key, column, value)
            else:
                table.add_row(*cells, key=key)
        order = {self._row_key(row): index for index, row in enumerate(rows)}
        labels = {self._label(row).plain: order[self._row_key(row)] for row in rows}
        if len(table.rows) > 1:
            table.sort("key", key=lambda cell: labels.get(str(cell), len(labels)))

    @staticmethod
    def _row_key(row: TopRow) -> str:
        return "\x1f".join(str(part) for part in row.key)

    def _cells(self, row: TopRow, failures_known: bool) -> tuple:
        failed = fmt_count(row.failed) if failures_known else "-"
        return (
            self._label(row),
            Text(fmt_count(row.count), justify="right"),
            Text(fmt_count(row.rate), justify="right"),
            Text(fmt_change(row.change), justify="right"),
            Text(failed, justify="right"),
            Text(f"{row.ns / 1e6:,.1f}", justify="right") if self._time_shown
            else Text(bar(row.share, 12, self._chars()), style="green"),
        )

    def _label(self, row: TopRow) -> Text:
        """The row's name; ebtop's own threads (by comm) or process (by pid) say so."""
        label = trim_middle(row.label, TOP_COLUMNS[0][2]) if self.by in ("container", "pod") else row.label
        text = safe_text(label)
        if self.by != "syscall" and is_own_key(row.key):
            text.append(" (ebtop)", style="dim")
        return text

    def _show_time(self, shown: bool) -> None:
        """With --syscall-latency the last column holds total time in ms (as syscount -L), not a bar."""
        if shown == self._time_shown:
            return
        self._time_shown = shown
        column = self.query_one("#top", DataTable).columns.get(ColumnKey("bar"))
        if column is not None:
            column.label = Text("time ms" if shown else "", justify="right")

    def _render_opens(self) -> None:
        table = self.query_one("#opens", DataTable)
        table.clear()
        self._opens_drawn = time.monotonic()
        # Every kept event (the model keeps the last 200): the table scrolls back through them. The
        # path gets the width the other columns leave and loses its middle only when it must.
        room = max(20, (table.size.width or self.size.width) - OPENS_FIXED_CELLS)
        if room != self._opens_room:
            self._opens_room, self._open_cells = room, {}
        # Each event's cells are made once: re-making 200 rows of texts on every redraw grew Python's
        # arenas by ~30 MiB while the view showed (bench/README.md, RSS per probe family).
        cells = {}
        for event in reversed(self.probes.opens.recent):
            if not self._kept(event.comm, event.path, event.pid, open_result(event.ret)):
                continue
            row = cells[event] = self._open_cells.get(event) or self._open_row(event, room)
            table.add_row(*row)
        self._open_cells = cells

    @staticmethod
    def _open_row(event: OpenEvent, room: int) -> tuple[object, ...]:
        return (clock(event.at), str(event.pid), safe_text(event.comm),
                Text(open_result(event.ret), justify="right", style="bold" if event.ret < 0 else ""),
                event.syscall, safe_text(trim_middle(event.path, room)))

    def _render_retrans(self) -> None:
        table = self.query_one("#retrans", DataTable)
        table.clear()
        for (pid, comm, saddr, sport, daddr, dport), count in self.probes.retrans.flows.most_common(LIST_ROWS):
            if not self._kept(pid, comm, host_port(saddr, sport), host_port(daddr, dport)):
                continue
            table.add_row(str(pid), safe_text(comm), host_port(saddr, sport), host_port(daddr, dport),
                          Text(str(count), justify="right"))

    def _render_connect(self) -> None:
        """The histogram and, beside it when there is room (below it otherwise), one line per
        connect as tcpconnlat prints them; `/` filters the connection lines."""
        stats = self.probes.connects
        beside = (self.size.width or self.app.size.width) >= SIDE_BY_SIDE
        left = stats.hist.lines("usecs", width=10 if beside else 24) if stats.hist.total \
            else ["no established connects yet"]
        head = f"  {'PID':>7} {'COMM':<15} {'DESTINATION':<24} {'LAT(ms)':>10}"
        recent = [line for line in map(self._connect_line, reversed(stats.recent)) if self._kept(line)]
        right = ["connections, newest first:", head]
        right += recent[:CONNECT_LINES] or ["  none yet" if not self.filter_text else "  none match the filter"]
        lines = [f"connects: {stats.ok} established, {stats.failed} failed (closed before ESTABLISHED)", ""]
        lines += side_by_side(left, right) if beside else [*left, "", *right]
        lines += ["", "slowest:", head]
        lines += [line for line in map(self._connect_line, stats.slowest()) if self._kept(line)]
        self.query_one("#connect-text", Static).update(lines_text(lines))

    @staticmethod
    def _connect_line(event: ConnectEvent) -> str:
        result = fmt_ms(event.latency_ns) if event.ok else "failed"
        return f"  {event.pid:>7} {event.comm:<15} {host_port(event.daddr, event.dport):<24} {result:>10}"

    def _render_slowio(self) -> None:
        block = self.probes.block
        lines = [f"block I/O completions: {block.hist.total}; slower than {block.threshold_ns / 1e6:g} ms: "
                 f"{block.slow_total}", ""]
        lines += block.hist.lines("usecs", width=24) if block.hist.total else ["no completions yet"]
        head = f"  {'COMM':<15} {'PID':>7} {'DISK':<9} {'T':<3} {'SECTOR':>12} {'BYTES':>8} {'LAT(ms)':>10}"
        lines += ["", "slowest (as biosnoop):", head]
        lines += [line for line in map(self._block_line, block.slowest()) if self._kept(line)]
        lines += ["", "recent slow, newest first:", head]
        lines += [line for line in map(self._block_line, reversed(block.slow)) if self._kept(line)][:SLOWIO_LINES]
        self.query_one("#slowio-text", Static).update(lines_text(lines))

    @staticmethod
    def _block_line(e: BlockEvent) -> str:
        return (f"  {e.comm or '?':<15} {e.pid:>7} {e.disk or e.dev:<9} {e.rwbs:<3} {e.sector:>12} {e.nbytes:>8} "
                f"{fmt_ms(e.latency_ns):>10}")

    def _render_cost(self) -> None:
        table = self.query_one("#cost", DataTable)
        table.clear()
        total_share = 0.0
        for cost in sorted(self.probes.costs, key=lambda c: -c.run_ns):
            total_share += cost.cpu_share
            if not self._kept(program_label(cost.name)):
                continue
            table.add_row(program_label(cost.name), Text(fmt_count(cost.runs_per_second), justify="right"),
                          Text(f"{cost.ns_per_run:,.0f}", justify="right"),
                          Text(f"{100 * cost.cpu_share:.2f}", justify="right"))
        if self.probes.costs:
            table.add_row("all ebtop programs", "", "", Text(f"{100 * total_share:.2f}", justify="right"))
