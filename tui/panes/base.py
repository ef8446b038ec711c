"""The contract between the app and a pane: start sources, stop them, render on the drain tick.

One template for every pane: a pane lists its `sources` (each a `tui.sources.base.Source`), turns
drained items into its model in `ingest`, and draws in `render_view`; starting, stopping, the drain,
pause (`PAUSED · N new`) and the status line's common parts live here, so a fix lands in every pane.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.widget import Widget

from tui.render.glyphs import glyphs
from tui.sources.base import Source

DRAIN_LIMIT = 20_000  # items taken from one source per tick: a burst spreads over ticks, keys stay live


class LivePane(Widget):
    """A tab's content, fed by its own sources.

    The app calls `start` once mounted, `tick` from its single drain timer (about 10 Hz) and `stop` on
    exit. `tick` drains the sources' buffers into the model every time, and renders only when the pane
    is visible and not paused, so hidden panes keep counting but cost no rendering.

    Panes written on the template set `sources` and implement `ingest` and `render_view`; older panes
    override `start`/`stop`/`tick` themselves.
    """

    tab_title: str = "pane"

    def __init__(self, *args: Any, sources: Sequence[Source[Any]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sources: list[Source[Any]] = list(sources)
        self.paused = False
        self.new_while_paused = 0

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the pane's sources without blocking the event loop."""
        for source in self.sources:
            source.start()

    def stop(self) -> None:
        """Stop the pane's sources and release what they hold (streams, BPF programs)."""
        for source in self.sources:
            source.stop()

    # -- the drain tick --------------------------------------------------------------------------
    def tick(self, visible: bool) -> None:
        """Drain sources into the model; refresh widgets when `visible` and not paused."""
        changed = False
        for source in self.sources:
            items = source.buffer.drain(DRAIN_LIMIT)
            if items:
                changed = True
                if self.paused:
                    self.new_while_paused += len(items)
                self.ingest(source, items)
        if visible and not self.paused and self.is_mounted:
            self.render_view(changed)

    def ingest(self, source: Source[Any], items: list[Any]) -> None:
        """Put drained items into the model (no drawing here)."""

    def render_view(self, changed: bool) -> None:
        """Draw the visible view; `changed` says whether anything arrived since the last tick."""

    # -- pause -----------------------------------------------------------------------------------
    def toggle_pause(self) -> None:
        """Freeze the drawing (the model keeps counting); unpausing redraws at once."""
        self.paused = not self.paused
        self.new_while_paused = 0
        if not self.paused and self.is_mounted:
            self.render_view(True)

    def pause_text(self) -> str:
        """`PAUSED · 1,234 new` while paused, else empty."""
        if not self.paused:
            return ""
        return f"PAUSED {glyphs().dot} {self.new_while_paused:,} new"

    # -- status ----------------------------------------------------------------------------------
    def focus_default(self) -> None:
        """Give the keyboard to the pane's main widget (the first focusable one by default)."""
        for widget in self.query("*"):
            if widget.focusable:
                widget.focus()
                return

    def source_text(self) -> str:
        """Each source's label and state, joined: `hubble localhost:4245: streaming`."""
        return f" {glyphs().dot} ".join(f"{source.describe()}" for source in self.sources)

    def status_line(self) -> str:
        """One line for the app's status bar when this pane is active."""
        parts = [self.pause_text(), self.source_text()]
        return f" {glyphs().dot} ".join(part for part in parts if part)
