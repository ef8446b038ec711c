"""The `?`/F1 help screen: shows the rows tui/keys.py makes from the live bindings (README's table too)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    """Every key the app and the active pane answer to, with what it does."""

    BINDINGS = [
        Binding("escape,q,question_mark,f1", "dismiss", "Close help"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 80; height: 90%; border: round $accent;
                                  background: $surface; padding: 0 1; }
    """

    def __init__(self, rows: list[tuple[str, str, str]], about: str) -> None:
        super().__init__()
        self.rows = rows
        self.about = about

    def compose(self) -> ComposeResult:
        table = Table(box=None, expand=True, show_header=True, header_style="bold")
        table.add_column("keys", no_wrap=True)
        table.add_column("action")
        group = None
        for row_group, keys, description in self.rows:
            if row_group != group:
                table.add_row(Text(row_group, style="bold underline"), "")
                group = row_group
            table.add_row(Text(keys), Text(description))
        with VerticalScroll():
            yield Static(Text("Keys (Esc, q, ? or F1 closes)", style="bold"), markup=False)
            yield Static(table)
            yield Static(Text(self.about), markup=False)
