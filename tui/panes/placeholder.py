"""A pane that says it is not built yet: keeps the app whole while panes are developed."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from tui.panes.base import LivePane


class PlaceholderPane(LivePane):
    def __init__(self, title: str, pane_id: str) -> None:
        super().__init__(id=pane_id)
        self.tab_title = title

    def compose(self) -> ComposeResult:
        yield Static(f"The {self.tab_title} pane is not built yet.", markup=False)

    def status_line(self) -> str:
        return f"{self.tab_title}: not built yet"
