"""The app's drain tick: slow while nothing moves, fast again at once on data, a key or a resize;
a key's effect on the status line does not wait for any tick (issue 11: idle cost, key latency)."""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.widgets import Static

from tests.helpers.pilot import until
from tui.app import IDLE_TICK_SECONDS, TICK_SECONDS, EbtopApp
from tui.panes.base import LivePane
from tui.sources.base import Source


class Quiet(Source[int]):
    """A source that delivers only what the test puts into its buffer (as a reader thread would)."""

    def run(self) -> None:
        self.stopping.wait()


class Body(Static, can_focus=True):
    """The pane's focused widget: keys reach the pane's bindings through it."""


class Counting(LivePane):
    """A pane that counts what it ingested; its status line is its source's state (and PAUSED)."""

    BINDINGS: ClassVar = [("p", "toggle_pause", "Pause")]

    def __init__(self, pane_id: str, drain_limit: int | None = None) -> None:
        super().__init__(id=pane_id, sources=[Quiet(pane_id)])
        self.tab_title = pane_id.title()
        self.ingested = 0
        if drain_limit is not None:
            self.drain_limit = drain_limit  # type: ignore[misc] - a class default, narrowed for one pane

    def compose(self) -> ComposeResult:
        yield Body("")

    def ingest(self, source: Source[Any], items: list[Any]) -> None:
        self.ingested += len(items)

    def put_from_thread(self, count: int = 1) -> None:
        """Items arrive in the source's buffer from another thread, as from a reader."""
        buffer = self.sources[0].buffer
        thread = threading.Thread(target=lambda: [buffer.put(n) for n in range(count)])
        thread.start()
        thread.join()


def _app(**panes: Counting) -> tuple[EbtopApp, Counting, Counting]:
    flows = panes.get("flows") or Counting("flows")
    other = panes.get("other") or Counting("other")
    return EbtopApp([flows, other], initial="flows"), flows, other


def _status(app: EbtopApp) -> str:
    return str(app.query_one("#status", Static).render())


async def test_the_tick_slows_when_nothing_arrives_and_data_brings_it_back() -> None:
    app, flows, _ = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.tick_interval == TICK_SECONDS
        assert await until(pilot, lambda: app.idle, pauses=200), "the tick never slowed down"
        assert app.tick_interval == IDLE_TICK_SECONDS
        before = app.ticks
        await pilot.pause(0.5)
        assert app.ticks - before <= 2  # fast, half a second is 5 ticks; slow, at most one
        app._slow.stop()  # noqa: SLF001 - no slow tick from now on: the item itself must wake the app
        flows.put_from_thread()
        assert await until(pilot, lambda: flows.ingested == 1), "the item never reached the pane"
        assert not app.idle and app.tick_interval == TICK_SECONDS


async def test_a_key_or_a_resize_brings_the_fast_tick_back() -> None:
    app, _, _ = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        assert await until(pilot, lambda: app.idle, pauses=200)
        await pilot.press("x")  # bound to nothing: still a key, someone is looking
        assert not app.idle
        assert await until(pilot, lambda: app.idle, pauses=200)
        await pilot.resize_terminal(100, 30)
        assert await until(pilot, lambda: not app.idle, pauses=5), "a resize did not wake the tick"


async def test_data_for_a_hidden_or_paused_pane_leaves_the_tick_slow() -> None:
    app, flows, other = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        assert await until(pilot, lambda: app.idle, pauses=200)
        other.put_from_thread(5)  # the hidden pane counts on the slow tick; nothing on screen moves
        assert await until(pilot, lambda: other.ingested == 5, pauses=100)
        assert app.idle
        await pilot.press("p")  # the visible pane paused: the pause is idle too
        assert flows.paused
        assert await until(pilot, lambda: app.idle, pauses=200)
        flows.put_from_thread(3)
        assert await until(pilot, lambda: flows.new_while_paused == 3, pauses=100)
        assert app.idle


async def test_a_backlog_in_any_pane_keeps_the_fast_tick() -> None:
    other = Counting("other", drain_limit=10)
    app, _, _ = _app(other=other)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await until(pilot, lambda: app.idle, pauses=200)
        other.put_from_thread(200)  # 20 drains at its limit: more than the slow tick should hold back
        assert await until(pilot, lambda: not app.idle, pauses=100), "a backlog did not speed the tick up"
        assert await until(pilot, lambda: other.ingested == 200, pauses=100)


async def test_paused_shows_in_the_status_line_before_any_tick() -> None:
    app, flows, _ = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        assert await until(pilot, lambda: "streaming" in _status(app) or "idle" in _status(app))
        app._fast.stop()  # noqa: SLF001 - no tick from now on: what changes, the key changed
        ticks = app.ticks
        await pilot.press("p")
        assert flows.paused
        assert "PAUSED" in _status(app)
        await pilot.press("p")
        assert "PAUSED" not in _status(app)
        assert app.ticks == ticks
