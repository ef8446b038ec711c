"""Real BPF in the real kernel: local exec/exit tracepoints build the process tree (root only)."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from tui.model.processes import ProcessForest
from tui.sources.base import SourceState
from tui.sources.local_exec import LocalExecSource


def drain_until(source: LocalExecSource, forest: ProcessForest, predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        forest.add_many(source.buffer.drain())
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.kernel
def test_sh_then_sleep_with_exit_status_and_parent() -> None:
    source = LocalExecSource(snapshot=False)
    source.start()
    forest = ProcessForest()
    try:
        assert source.wait_ready(60), source.describe()
        assert source.state() is SourceState.STREAMING
        child = subprocess.Popen(["sh", "-c", "sleep 0.1; exit 3"])
        sh_pid = child.pid
        assert child.wait(10) == 3

        def sh_done() -> bool:
            sh = next((n for n in forest.nodes.values() if n.pid == sh_pid and n.binary.endswith("/sh")), None)
            return sh is not None and sh.exited and any(
                forest.nodes[c].binary.endswith("/sleep") and forest.nodes[c].exited for c in sh.children
                if c in forest.nodes)

        assert drain_until(source, forest, sh_done), [(n.pid, n.binary) for n in forest.nodes.values()]
    finally:
        source.stop()
    sh = next(n for n in forest.nodes.values() if n.pid == sh_pid and n.binary.endswith("/sh"))
    assert sh.status == 3 and not sh.signal and sh.failed
    assert sh.arguments == '-c "sleep 0.1; exit 3"'
    parent = forest.nodes[sh.parent_id]
    assert parent.pid == os.getpid()  # the right parent: this test process (read from /proc)
    sleep = next(forest.nodes[c] for c in sh.children if forest.nodes[c].binary.endswith("/sleep"))
    assert sleep.parent_id == sh.exec_id and sleep.arguments == "0.1" and sleep.status == 0
    assert "clone" in sleep.flags
    assert source.lost == 0


@pytest.mark.kernel
def test_killed_process_reports_its_signal() -> None:
    source = LocalExecSource(snapshot=False)
    source.start()
    forest = ProcessForest()
    try:
        assert source.wait_ready(60), source.describe()
        child = subprocess.Popen(["sleep", "30"])
        time.sleep(0.2)
        child.kill()
        child.wait(5)
        assert drain_until(source, forest, lambda: any(
            n.pid == child.pid and n.exited for n in forest.nodes.values()))
    finally:
        source.stop()
    node = next(n for n in forest.nodes.values() if n.pid == child.pid and n.binary.endswith("/sleep"))
    assert node.signal == "SIGKILL" and node.status == 0


@pytest.mark.kernel
def test_snapshot_of_running_processes_includes_this_one() -> None:
    source = LocalExecSource(snapshot=True)
    source.start()
    forest = ProcessForest()
    try:
        assert source.wait_ready(60), source.describe()
        assert drain_until(source, forest, lambda: any(n.pid == os.getpid() for n in forest.nodes.values()))
    finally:
        source.stop()
    me = next(n for n in forest.nodes.values() if n.pid == os.getpid())
    assert "procFS" in me.flags and forest.chain(me)  # linked to its parents
    assert any(n.pid == 1 for n in forest.nodes.values())


@pytest.mark.kernel
def test_batch_mode_prints_local_events_as_compact_lines() -> None:
    import sys

    command = [sys.executable, "-m", "tui", "-b", "--pane", "processes", "--processes-source", "local", "-n", "3"]
    # the snapshot of running processes alone yields more than 3 procFS execs
    out = subprocess.run(command, capture_output=True, text=True, timeout=120)
    lines = out.stdout.splitlines()
    assert out.returncode == 0, out.stderr
    assert len(lines) == 3 and all(line.startswith("🚀 process ") for line in lines)
    assert out.stderr == ""  # all went well: nothing on stderr, as tetra getevents
