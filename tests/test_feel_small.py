"""A terminal too small for the panes (40x12) gets a notice that says what to do, not a one-row tree;
the panes come back when it grows, and q still quits."""

from __future__ import annotations

from tests.helpers.pilot import until
from tests.test_flows_pane import loaded, make_app


async def test_40x12_shows_the_notice_and_80x24_the_panes_again() -> None:
    app, pane = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, pane)
        notice = app.query_one("#too-small")
        tabs = app.query_one("#tabs")
        assert tabs.display and not notice.display
        await pilot.resize_terminal(40, 12)
        assert await until(pilot, lambda: notice.display and not tabs.display)
        text = str(notice.render())
        assert "Terminal too small: 40x12" in text and "q quits" in text
        received = pane.store.seq
        pane.source.buffer.put(pane.store.ring[-1])  # counting goes on under the notice
        await until(pilot, lambda: pane.store.seq > received)
        assert pane.store.seq > received
        await pilot.resize_terminal(80, 24)
        assert await until(pilot, lambda: tabs.display and not notice.display)
        await pilot.press("q")
        assert await until(pilot, lambda: not app.is_running)
