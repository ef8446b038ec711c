"""Issue 10: kernel threads are hidden in the local process source's tree by default; K shows them."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.pilot import until
from tests.helpers.screen import screen_text
from tests.test_processes_pane import FixedSource, settle
from tui.app import EbtopApp
from tui.model.processes import ProcessForest
from tui.panes.processes import ProcessesPane
from tui.sources.local_exec import LocalEventBuilder, ProcReader

# /proc/PID/stat as the kernel writes it: pid (comm) state ppid pgrp session tty tpgid flags ... starttime (22nd)
PROCESSES = [  # pid, comm, ppid, flags, cmdline
    (1, "systemd", 0, 0x400100, b"/sbin/init\0"),
    (2, "kthreadd", 0, 0x208040, b""),
    (40, "kworker/0:1-events", 2, 0x4208060, b""),
    (41, "ksoftirqd/0", 2, 0x4208040, b""),
    (300, "bash", 1, 0x400100, b"/bin/bash\0-l\0"),
]


def fake_proc(root: Path) -> ProcReader:
    for index, (pid, comm, ppid, flags, cmdline) in enumerate(PROCESSES):
        directory = root / str(pid)
        directory.mkdir()
        fields = ["S", str(ppid), "0", "0", "0", "-1", str(flags), *["0"] * 12, str(100 + index)]
        (directory / "stat").write_text(f"{pid} ({comm}) {' '.join(fields)} 0 0\n")
        (directory / "cmdline").write_bytes(cmdline)
        (directory / "status").write_text("Uid:\t0\t0\t0\t0\n")
    return ProcReader(str(root))


def test_the_local_source_marks_kernel_threads(tmp_path: Path) -> None:
    builder = LocalEventBuilder("node-1", fake_proc(tmp_path), boot_wall=1_700_000_000.0)
    flags = {r.process_exec.process.pid.value: r.process_exec.process.flags for r in builder.snapshot()}
    assert flags == {1: "procFS", 2: "procFS kthread", 40: "procFS kthread", 41: "procFS kthread", 300: "procFS"}


async def test_kernel_threads_are_hidden_until_k(tmp_path: Path) -> None:
    builder = LocalEventBuilder("node-1", fake_proc(tmp_path), boot_wall=1_700_000_000.0)
    pane = ProcessesPane(FixedSource(list(builder.snapshot()), description="local exec tracepoints"),
                         forest=ProcessForest(retention=3600), live_clock=False)
    app = EbtopApp([pane], initial="processes")
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, pane)
        assert await until(pilot, lambda: "/bin/bash" in screen_text(app)), screen_text(app)
        text = screen_text(app)
        assert "kworker" not in text and "kthreadd" not in text and "ksoftirqd" not in text
        assert "kernel threads hidden (K)" in pane.status_line()
        await pilot.press("K")
        assert await until(pilot, lambda: "kworker" in screen_text(app) and "kthreadd" in screen_text(app))
        assert "/bin/bash" in screen_text(app)
        await pilot.press("K")
        assert await until(pilot, lambda: "kworker" not in screen_text(app))


async def test_slash_filters_the_event_log_and_the_box_is_at_the_bottom() -> None:
    from textual.widgets import Input, RichLog

    from tests.test_processes_pane import demo_events

    events = demo_events(400)
    source = FixedSource(events[:100])
    pane = ProcessesPane(source, forest=ProcessForest(retention=3600), live_clock=False)
    app = EbtopApp([pane], initial="processes")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, pane)
        log = pane.query_one("#process-log", RichLog)
        await pilot.press("slash", *"curl")
        box = pane.query_one("#process-filter", Input)
        assert app.focused is box
        assert box.region.y > log.region.y > pane.tree.region.y  # below the tree and the log, as in Flows
        await pilot.press("enter")
        before = len(log.lines)
        source.buffer.put_many(events[100:])
        await settle(pilot, pane)
        assert await until(pilot, lambda: len(log.lines) > before + 1)
        new = ["".join(segment.text for segment in strip) for strip in log.lines[before:]]
        assert all("curl" in line.lower() for line in new), new
        every = ["".join(segment.text for segment in strip) for strip in log.lines]
        assert all("curl" in line.lower() for line in every), every  # the lines from before were re-filtered
