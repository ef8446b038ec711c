"""The contract between the app and a pane: start sources, stop them, render on the drain tick."""

from __future__ import annotations

from textual.widget import Widget


class LivePane(Widget):
    """A tab's content, fed by its own sources.

    The app calls `start` once mounted, `tick` from its single drain timer (about 10 Hz) and `stop` on
    exit. `tick` drains the sources' buffers into the model every time, and renders only when the pane
    is visible and not paused, so hidden panes keep counting but cost no rendering.
    """

    tab_title: str = "pane"

    def start(self) -> None:
        """Start the pane's sources without blocking the event loop."""

    def stop(self) -> None:
        """Stop the pane's sources and release what they hold (streams, BPF programs)."""

    def tick(self, visible: bool) -> None:
        """Drain sources into the model; refresh widgets when `visible`."""

    def focus_default(self) -> None:
        """Give the keyboard to the pane's main widget (the first focusable one by default)."""
        for widget in self.query("*"):
            if widget.focusable:
                widget.focus()
                return

    def status_line(self) -> str:
        """One line for the app's status bar when this pane is active."""
        return ""
