"""The one detail screen: one item in full over its pane, scrolled by keys, closed by the same keys.

Flows (every field of a flow) and Processes (arguments, ids, parent chain, events) both open it; a
pane adds keys of its own by subclassing (`j` jumps from a flow to its process).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.render.glyphs import glyphs

CLOSE_KEYS = "escape,enter"  # the same in every pane's detail; q quits ebtop from anywhere


class DetailScreen(ModalScreen[None]):
    """A modal with a title and untrusted text (a Rich `Text`, never markup); arrows/PgUp/PgDn scroll."""

    DEFAULT_CSS = """
    DetailScreen { align: center middle; }
    DetailScreen > VerticalScroll {
        width: 100%; height: 100%; border: round $accent; background: $surface; padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("enter", "close", "Close", show=False),
        Binding("q", "app.quit", "Quit", show=False),  # a modal hides the app's keys: q quits from here too
    ]

    def __init__(self, title: str, body: Text) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail"):
            yield Static(self.body, markup=False, id="detail-body")

    def on_mount(self) -> None:
        scroller = self.query_one(VerticalScroll)
        scroller.border_title = f"{self.title_text} {glyphs().dot} Esc closes"
        scroller.focus()

    def action_close(self) -> None:
        self.dismiss(None)
