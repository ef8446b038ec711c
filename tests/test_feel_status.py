"""Issue 10: the status line never hides lost events or ebtop's own drops at 80 columns (alarms first)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.helpers.pilot import until
from tests.helpers.screen import screen_text
from tests.test_flows_pane import DATA, TOTAL_RECORDS, loaded
from tests.test_processes_pane import FixedSource, demo_events, settle
from tui.app import EbtopApp
from tui.model.flows import FlowStore
from tui.model.processes import ProcessForest
from tui.panes.flows import FlowsPane
from tui.panes.processes import ProcessesPane
from tui.sources.base import BoundedBuffer
from tui.sources.flow_replay import FileSource

LONG = "a-capture-file-with-a-name-long-enough-to-fill-two-status-lines-at-eighty-columns-" * 2


def _status_on_screen(app: EbtopApp) -> str:
    lines = screen_text(app).splitlines()
    return " ".join(lines[-3:-1])  # the status bar (one or two lines) sits above the footer


async def test_flows_status_shows_lost_events_at_80_columns(tmp_path: Path) -> None:
    path = tmp_path / f"{LONG}.jsonl"
    shutil.copy(DATA, path)
    pane = FlowsPane(FlowStore(), FileSource(str(path)), filters="--namespace shop")
    app = EbtopApp([pane])
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, pane, TOTAL_RECORDS)
        assert await until(pilot, lambda: "lost 17" in _status_on_screen(app)), _status_on_screen(app)
        assert pane.status_line().startswith("lost 17 in 1 notice")


async def test_processes_status_shows_ebtop_drops_at_80_columns() -> None:
    responses = demo_events(60)
    source = FixedSource([], description=f"replaying {LONG}")
    source.buffer = BoundedBuffer(20)
    source.buffer.put_many(responses)  # 40 dropped: more than the pane's buffer holds
    pane = ProcessesPane(source, forest=ProcessForest(retention=3600), live_clock=False)
    app = EbtopApp([pane], initial="processes")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, pane)
        assert source.buffer.dropped == 40
        assert await until(pilot, lambda: "dropped by ebtop 40" in _status_on_screen(app)), _status_on_screen(app)


async def test_syscalls_status_puts_ebtop_drops_first() -> None:
    from tests.test_syscall_pane import Buffered
    from tui.panes.syscalls import SyscallsPane
    from tui.render.glyphs import UNICODE

    source = Buffered()
    source.label = LONG
    source.slow_ms, source.interval = 10.0, 5.0  # what the pane reads of a kernel source
    source.buffer = BoundedBuffer(5)
    source.buffer.put_many(list(range(12)))  # 7 dropped: more than the buffer holds
    pane = SyscallsPane(source, chars=UNICODE)
    app = EbtopApp([pane], initial="syscalls")
    async with app.run_test(size=(80, 24)) as pilot:
        assert await until(pilot, lambda: "7 events dropped by ebtop" in _status_on_screen(app)), \
            _status_on_screen(app)
        assert pane.status_line().startswith("7 events dropped by ebtop")
