"""`o` on a Talkers row: the processes behind that row's flows (pid, binary, pod) with their counts.

A modal over the Flows pane with one sortable table (the aggregate table of the other views, fed by
`TalkerProcesses.shares`), refreshed once a second like the Talkers view. The counts cover the same
window as the row, so they add up to it; flows no socket explains get one "no process known" line.
Enter (or `j`) on a process row jumps to it in the Processes tree; Esc closes; q quits.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from tui.model.talker_processes import ProcessShare, Talker, TalkerProcesses
from tui.panes.flow_views import PORT_PROTOCOLS, AggregateTable, Column, Name, ViewSpec
from tui.render.glyphs import glyphs
from tui.render.safe import escape_control

UNKNOWN_LABEL = "(no process known)"
REFRESH_SECONDS = 1.0


def talker_title(talker: Talker) -> str:
    source, destination, port, protocol = talker
    where = f"{destination}:{port}/{protocol}" if protocol in PORT_PROTOCOLS else f"{destination} {protocol}"
    return f"{source} -> {where}"


def breakdown_spec(talker: Talker) -> ViewSpec:
    """The table: counts first, then who (an 80-column terminal keeps the counts and the binary)."""
    return ViewSpec(
        "talker-processes", "Processes behind the row",
        (Column("Flows", 7, True), Column("Drop", 5, True), Column("Fwd", 7, True), Column("Pid", 7, True, "d"),
         Name("Binary", 30), Name("Pod", 28)),
        lambda processes: processes.shares(talker),
        lambda s: f"{s.pid}\x1f{s.binary}\x1f{s.pod}\x1f{s.exec_id}",
        lambda s: (s.flows, s.dropped, s.forwarded, s.pid if s.known else None,
                   s.binary if s.known else UNKNOWN_LABEL, s.pod or "-"),
        lambda s: "red" if s.dropped else "" if s.known else "dim",
        default_sort=0)


class TalkerBreakdown(ModalScreen[None]):
    """The processes of one talker row; Enter or j jumps to the selected one in the Processes tree."""

    DEFAULT_CSS = """
    TalkerBreakdown { align: center middle; }
    TalkerBreakdown > Vertical { width: 100%; height: 100%; border: round $accent; background: $surface; }
    TalkerBreakdown #breakdown-note { height: auto; padding: 0 1; }
    TalkerBreakdown AggregateTable { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("j", "jump_process", "Jump to process"),
        Binding("q", "app.quit", "Quit", show=False),  # a modal hides the app's keys: q quits from here too
    ]

    def __init__(self, talker: Talker, processes: TalkerProcesses, joiner: Any = None) -> None:
        super().__init__()
        self.talker = talker
        self.processes = processes
        self.joiner = joiner
        self.spec = breakdown_spec(talker)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("", id="breakdown-note", markup=False)
            yield AggregateTable(self.spec, id="breakdown")

    @property
    def table(self) -> AggregateTable:
        return self.query_one(AggregateTable)

    def on_mount(self) -> None:
        box = self.query_one(Vertical)
        box.border_title = f"processes behind {escape_control(talker_title(self.talker))} {glyphs().dot} Esc closes"
        self.refresh_rows()
        self.set_interval(REFRESH_SECONDS, self.refresh_rows)
        self.table.focus()

    def refresh_rows(self) -> None:
        self.table.update_rows(self.processes)  # type: ignore[arg-type] - the spec reads TalkerProcesses
        self.query_one("#breakdown-note", Static).update(self.note())

    def shares(self) -> list[ProcessShare]:
        return self.processes.shares(self.talker)

    def note(self) -> Text:
        """What the counts cover, and why a process may be missing."""
        shares = self.shares()
        known = sum(s.flows for s in shares if s.known)
        total = sum(s.flows for s in shares)
        count = sum(1 for s in shares if s.known)
        text = Text(f"last {self.processes.counter.window}s: {known:,} of {total:,} flows joined to "
                    f"{count:,} process{'' if count == 1 else 'es'} · Enter/j: to the Processes tree", style="bold")
        if self.joiner is None:
            text.append("\nno process source in this run (the Processes pane feeds the join)", style="dim")
        elif not self.joiner.socket_events:
            text.append("\nno socket events yet (Tetragon needs deploy/tracingpolicy-join.yaml)", style="dim")
        return text

    def selected(self) -> ProcessShare | None:
        table = self.table
        if not table.row_count or not 0 <= table.cursor_row < table.row_count:
            return None
        key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        return next((s for s in self.shares() if self.spec.key(s) == key), None)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_jump_process(self) -> None:
        from tui.panes.flow_process import jump_to_process

        share = self.selected()
        if share is None or not share.exec_id:
            self.app.notify("no process known for this row", severity="information")
            return
        self.dismiss(None)
        jump_to_process(self.app, share.exec_id)

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_jump_process()


__all__ = ["TalkerBreakdown", "breakdown_spec", "talker_title"]
