"""The contract between the app and a pane: start sources, stop them, drain on the tick, pause, status.

One template for every pane: a pane lists its `sources` (each a `tui.sources.base.Source`), turns
drained items into its model in `ingest`, and draws in `render_view`; starting, stopping, the drain,
pause (`PAUSED · N new`) and the status line's common parts live here, so a fix lands in every pane.
A pane reads a source only through the contract (`buffer`, `describe()`, `facts()`, `counters()`,
`problems`), never through `getattr`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, ClassVar

from textual.widget import Widget

from tui.render.glyphs import glyphs
from tui.render.numbers import count_text
from tui.render.safe import escape_control
from tui.sources.base import Source

DRAIN_LIMIT = 20_000  # items taken from one source per tick: a burst spreads over ticks, keys stay live
QUIET_COUNTERS = frozenset({"received", "dropped"})  # the pane shows these its own way
# Counters that say something was lost or could not be read: the status line puts them first.
ALARM_COUNTERS = frozenset({"lost", "lost_events", "lost stacks", "decode errors", "decode_errors", "malformed",
                            "bad lines", "server status errors"})


class FrameGovernor:
    """How often a fast-moving view redraws: every tick while rows trickle in, less as they pour.

    A person reads nothing from 10 repaints a second of a list scrolling 500 lines/s, and each repaint
    is a full compositor pass (most of the UI's CPU, bench/README.md UI cost); the peers redraw at
    1-5 Hz. Keys never wait for it: handlers redraw at once.
    """

    def __init__(self, fastest: float = 0.1, slowest: float = 0.5, rows_per_second_at_fastest: float = 200.0) -> None:
        self.fastest = fastest
        self.slowest = slowest
        self.calm_rate = rows_per_second_at_fastest
        self.rate = 0.0  # rows/s, smoothed
        self._last_tick: float | None = None
        self._last_frame = float("-inf")
        self._pending = 0  # rows arrived since the last frame

    def interval(self) -> float:
        """Seconds between frames at the current rate: `fastest` up to the calm rate, then longer."""
        if self.rate <= self.calm_rate:
            return self.fastest
        return min(self.slowest, self.fastest * self.rate / self.calm_rate)

    def due(self, arrived: int, now: float) -> bool:
        """Note `arrived` rows at `now`; whether a frame should be drawn now."""
        if self._last_tick is not None and now > self._last_tick:
            sample = arrived / (now - self._last_tick)
            self.rate += (sample - self.rate) * 0.3
        self._last_tick = now
        self._pending += arrived
        # a timer tick comes a little early or late: a quarter of the fastest interval is slack
        if not self._pending or now - self._last_frame < self.interval() - self.fastest / 4:
            return False
        self._last_frame = now
        self._pending = 0
        return True

    def drawn(self, now: float) -> None:
        """A frame was drawn for another reason (a key, a resize): nothing is pending any more."""
        self._last_frame = now
        self._pending = 0


class LivePane(Widget):
    """A tab's content, fed by its own sources.

    The app calls `start` once mounted, `tick` from its single drain timer (about 10 Hz) and `stop` on
    exit. `tick` drains the sources' buffers into the model every time (`ingest`), runs `after_drain`
    (pruning, rates), and draws only when the pane is visible: `render_view` when running,
    `render_paused` (the header's `PAUSED · N new`) when paused, so hidden panes keep counting but cost
    no rendering.
    """

    tab_title: str = "pane"
    drain_limit: ClassVar[int] = DRAIN_LIMIT
    drain_budget: ClassVar[float] = 0.0  # seconds of `ingest` per source and tick; 0 = no time limit
    drain_chunk: ClassVar[int] = 200  # items per `ingest` call when a budget applies

    def __init__(self, *args: Any, sources: Sequence[Source[Any]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sources: list[Source[Any]] = list(sources)
        self.paused = False
        self.new_while_paused = 0
        self.last_drained = 0  # items the last tick took (the app slows its tick when nothing moves)
        self.behind = False  # the last drain left items waiting (its limit or budget): keep ticking fast
        self._started = False

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the pane's sources (once) without blocking the event loop."""
        if self._started:
            return
        self._started = True
        for source in self.sources:
            source.start()

    def stop(self) -> None:
        """Stop the pane's sources and release what they hold (streams, BPF programs, recorders)."""
        for source in self.sources:
            source.stop()

    # -- the drain tick --------------------------------------------------------------------------
    def tick(self, visible: bool) -> None:
        """Drain sources into the model; draw when `visible` (frozen while paused)."""
        drained = self.last_drained = self.drain()
        self.after_drain()
        if not visible or not self.is_mounted:
            return
        if self.paused:
            self.render_paused()
        else:
            self.render_view(drained)

    def drain(self) -> int:
        """Move what the sources buffered into the model; returns how many items arrived."""
        total = 0
        self.behind = False
        for source in self.sources:
            buffer = source.buffer
            if not self.drain_budget:
                items = buffer.drain(self.drain_limit)
                if items:
                    total += len(items)
                    self._take(source, items)
                    self.behind = self.behind or len(items) >= self.drain_limit
                continue
            deadline = time.perf_counter() + self.drain_budget
            taken = 0
            while taken < self.drain_limit:
                items = buffer.drain(min(self.drain_chunk, self.drain_limit - taken))
                if not items:
                    break
                taken += len(items)
                self._take(source, items)
                if time.perf_counter() > deadline:
                    self.behind = self.behind or len(buffer) > 0
                    break  # the rest waits in the bounded buffer: the frame stays live
            self.behind = self.behind or taken >= self.drain_limit
            total += taken
        return total

    def _take(self, source: Source[Any], items: list[Any]) -> None:
        if self.paused:
            self.new_while_paused += len(items)
        self.ingest(source, items)

    def ingest(self, source: Source[Any], items: list[Any]) -> None:
        """Put drained items into the model (no drawing here)."""

    def after_drain(self) -> None:
        """Model upkeep on every tick, visible or not (pruning, rate samples)."""

    def render_view(self, drained: int) -> None:
        """Draw the visible view; `drained` items arrived since the last tick (0: none)."""

    def wants_ticks(self) -> bool:
        """Whether the pane needs the fast tick although nothing arrived (an animation, a frame
        still owed); the default: no, so an idle app ticks slowly (`EbtopApp._pace`)."""
        return False

    def render_paused(self) -> None:
        """Draw what moves while paused (the header's `PAUSED · N new`); the view stays frozen."""

    def redraw(self) -> None:
        """Draw everything now (after unpausing, or a change of view)."""
        self.render_view(0)

    # -- pause -----------------------------------------------------------------------------------
    def action_toggle_pause(self) -> None:
        """`p` in every pane (each pane lists the binding where its footer wants it)."""
        self.toggle_pause()

    def toggle_pause(self) -> None:
        """Freeze the drawing (the model keeps counting); unpausing redraws at once."""
        self.paused = not self.paused
        self.new_while_paused = 0
        if not self.is_mounted:
            return
        if self.paused:
            self.render_paused()
        else:
            self.redraw()

    def pause_text(self) -> str:
        """`PAUSED · 1,234 new` while paused, else empty."""
        if not self.paused:
            return ""
        return f"PAUSED {glyphs().dot} {self.new_while_paused:,} new"

    def in_shown_tab(self) -> bool:
        """Whether the pane and every container above it are displayed: focusing a widget of a
        hidden tab makes TabbedContent show that tab (a pane built after start-up must not)."""
        return all(node.display for node in self.ancestors_with_self)

    # -- status ----------------------------------------------------------------------------------
    def focus_default(self) -> None:
        """Give the keyboard to the pane's main widget (the first focusable one by default)."""
        for widget in self.query("*"):
            if widget.focusable:
                widget.focus()
                return

    def source_parts(self, source: Source[Any]) -> list[str]:
        """What the status line says about one source: state, peer facts, non-zero counters.

        Loss counters are not here: `alarm_parts` puts them at the front of the line.
        """
        parts = [source.describe(), *source.facts()]
        for name, value in source.counters().items():
            if value and name not in QUIET_COUNTERS and name not in ALARM_COUNTERS:
                parts.append(f"{name.replace('_', ' ')} {count_text(value)}")
        return parts

    def source_alarms(self, source: Source[Any]) -> list[str]:
        """One source's non-zero loss counters (`lost 12`, `malformed 3`)."""
        return [f"{name.replace('_', ' ')} {count_text(value)}" for name, value in source.counters().items()
                if value and name in ALARM_COUNTERS]

    def dropped_by_ebtop(self) -> int:
        """Items the pane's own buffers had to drop (apart from what the server lost)."""
        return sum(source.buffer.dropped for source in self.sources)

    def alarm_parts(self) -> list[str]:
        """What must never be cut off the status line: losses and failures (the default: the sources' losses)."""
        return [part for source in self.sources for part in self.source_alarms(source)]

    def status_parts(self) -> list[str]:
        """The pane's own phrases (the default: each source's parts)."""
        return [part for source in self.sources for part in self.source_parts(source)]

    def status_line(self) -> str:
        """One line for the app's status bar when this pane is active (control characters escaped).

        A fixed priority order, so that a narrow terminal (the bar wraps to two lines, then cuts)
        still shows what matters: pause, then losses and failures (`alarm_parts`), then the rest.
        """
        parts = [self.pause_text(), *self.alarm_parts(), *self.status_parts()]
        seen: set[str] = set()
        kept = [part for part in parts if part and not (part in seen or seen.add(part))]
        return escape_control(f" {glyphs().dot} ".join(kept))
