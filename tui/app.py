"""EbtopApp: the three tabs, global bindings, and the one drain timer that feeds every pane."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static, TabbedContent, TabPane

from tui import __version__
from tui.panes.base import LivePane

TICK_SECONDS = 0.1


class EbtopApp(App[int]):
    """A top-style monitor with one tab per pane; see `tui.cli` for how panes are built."""

    TITLE = "ebtop"
    CSS = """
    #status { height: 1; background: $panel; color: $text; padding: 0 1; }
    TabPane { padding: 0; }
    """
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("1", "show_tab('flows')", "Flows", show=False),
        Binding("2", "show_tab('processes')", "Processes", show=False),
        Binding("3", "show_tab('syscalls')", "Syscalls", show=False),
    ]

    def __init__(self, panes: Sequence[LivePane], initial: str = "flows") -> None:
        super().__init__()
        self.panes = list(panes)
        self.initial = initial
        self.sub_title = f"v{__version__}"

    def compose(self) -> ComposeResult:
        with TabbedContent(initial=self.initial, id="tabs"):
            for pane in self.panes:
                with TabPane(pane.tab_title, id=pane.id or pane.tab_title.lower()):
                    yield pane
        yield Static("", id="status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        for pane in self.panes:
            pane.start()
        self.set_interval(TICK_SECONDS, self._tick)

    def on_unmount(self) -> None:
        for pane in self.panes:
            pane.stop()

    def active_pane(self) -> LivePane | None:
        active = self.query_one(TabbedContent).active
        return next((pane for pane in self.panes if pane.id == active), None)

    def _tick(self) -> None:
        active = self.active_pane()
        for pane in self.panes:
            pane.tick(pane is active)
        if active is not None:
            self.query_one("#status", Static).update(active.status_line())

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
