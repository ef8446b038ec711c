"""One detail screen for Flows and Processes: the same keys close both, and `q` quits from there too."""

from __future__ import annotations

import pytest
from rich.text import Text

from tui.app import EbtopApp
from tui.model.flows import RecordKind, marker
from tui.panes.detail import DetailScreen
from tui.panes.flow_detail import FlowDetail
from tui.panes.problem import ProblemPane
from tui.panes.process_detail import ProcessDetailScreen


def screens() -> list[DetailScreen]:
    return [FlowDetail(marker(RecordKind.NOTE, "a note"), Text("headline")),
            ProcessDetailScreen("process 42", Text("arguments \x1b[2J"))]


@pytest.mark.parametrize("key", ["escape", "enter"])
async def test_the_same_keys_close_every_detail_screen(key: str) -> None:
    for screen in screens():
        app = EbtopApp([ProblemPane("Flows", "flows", "not under test")])
        async with app.run_test(size=(80, 24)) as pilot:
            await app.push_screen(screen)
            await pilot.pause()
            assert app.screen is screen
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is not screen, f"{key} did not close {type(screen).__name__}"
            assert app.return_code is None  # closing the detail does not quit ebtop


async def test_q_quits_from_a_detail_screen() -> None:
    for screen in screens():
        app = EbtopApp([ProblemPane("Flows", "flows", "not under test")])
        async with app.run_test(size=(80, 24)) as pilot:
            await app.push_screen(screen)
            await pilot.pause()
            await pilot.press("q")
            await pilot.pause()
            assert app.return_code == 0, f"q did not quit from {type(screen).__name__}"
