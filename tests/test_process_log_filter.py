"""The Processes event log follows the `/` filter both ways: lines written before it are re-filtered.

Issue 10: the filter used to apply to new log lines only (a note marked where it started). The pane
now keeps its last LOG_LINES events and rewrites the log on a filter change, on clear, on `T` and
when a hidden log (`e`) is shown again. Fed by a real replay of the frozen demo capture.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import RichLog

from tests.helpers.pilot import until
from tui.app import EbtopApp
from tui.model.processes import ProcessForest
from tui.panes.processes import ProcessesPane
from tui.sources.event_replay import ReplaySource

FIXTURE = Path(__file__).parent / "data" / "processes_pane.jsonl"
EVENTS = 80
NEEDLE = "coredns"  # in the pod name near the start of some lines (a cut line end is not on screen)


def log_texts(pane: ProcessesPane) -> list[str]:
    return ["".join(segment.text for segment in strip) for strip in pane.query_one("#process-log", RichLog).lines]


def make_app() -> tuple[EbtopApp, ProcessesPane]:
    pane = ProcessesPane(ReplaySource(str(FIXTURE), first=EVENTS), forest=ProcessForest(retention=3600),
                         live_clock=False)
    return EbtopApp([pane], initial="processes"), pane


async def _written(pilot: object, pane: ProcessesPane) -> list[str]:
    """The log once every replayed event is in the model and nothing waits to be written."""
    assert await until(pilot, lambda: pane.forest.counts["events"] == EVENTS and not pane._log_pending
                       and len(log_texts(pane)) > 10)
    return log_texts(pane)


async def test_filter_rewrites_lines_written_before_it_and_clear_brings_them_back() -> None:
    app, pane = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        before = await _written(pilot, pane)
        matching = [line for line in before if NEEDLE in line.lower()]
        assert matching and len(matching) < len(before)  # the fixture has both kinds
        pane.tree.focus()
        await pilot.press("slash", *NEEDLE)
        assert await until(pilot, lambda: log_texts(pane) == matching), log_texts(pane)
        filtered = log_texts(pane)
        await pilot.press("escape")
        assert await until(pilot, lambda: log_texts(pane) == before), log_texts(pane)
        back = log_texts(pane)
    assert filtered == matching  # exactly the old lines that match, in their order
    assert back == before


async def test_a_hidden_log_is_written_again_when_shown_and_T_rewrites_it() -> None:
    app, pane = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        before = await _written(pilot, pane)
        pane.tree.focus()
        await pilot.press("e")
        assert await until(pilot, lambda: not pane.query_one("#process-log", RichLog).display)
        await pilot.press("slash", *NEEDLE, "enter")  # filtered while hidden: written when shown
        await pilot.press("e")
        assert await until(pilot, lambda: pane.query_one("#process-log", RichLog).display)
        shown = log_texts(pane)
        await pilot.press("T")
        assert await until(pilot, lambda: log_texts(pane) != shown)
        stamped = log_texts(pane)
    assert shown == [line for line in before if NEEDLE in line.lower()]
    assert len(stamped) == len(shown) and all(line[:2].isdigit() for line in stamped), stamped[:3]
