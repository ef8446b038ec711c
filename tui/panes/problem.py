"""The pane shown in a tab whose sources could not be built: it says what is wrong, in the pane.

A bad flag or config value for one pane (an invalid `--event-types`, a TLS file that does not exist)
must not take the other panes down, and must not hide behind a generic message: the tab shows the
problem as given, and the status line repeats it.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from tui.panes.base import LivePane
from tui.render.safe import escape_control

HINT = "Correct the flag, config key or environment variable and start ebtop again (ebtop --help)."


class ProblemPane(LivePane):
    """A tab with no sources and one problem text."""

    DEFAULT_CSS = """
    ProblemPane { height: 1fr; padding: 1 2; }
    ProblemPane #problem-text { color: $warning; }
    """

    def __init__(self, title: str, pane_id: str, problem: str) -> None:
        super().__init__(id=pane_id)
        self.tab_title = title
        self.problem = problem

    def compose(self) -> ComposeResult:
        text = Text(f"{self.tab_title} cannot start:\n\n", style="bold")
        text.append(escape_control(self.problem), style="")
        text.append(f"\n\n{HINT}", style="dim")
        yield Static(text, id="problem-text", markup=False)

    def status_parts(self) -> list[str]:
        return [f"{self.tab_title}: {self.problem}"]
