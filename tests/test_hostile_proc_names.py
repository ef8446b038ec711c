"""A process named with invalid UTF-8 must not kill the local process source, nor lose its record.

Any user can set its comm to arbitrary bytes (prctl PR_SET_NAME), run from a directory whose name is
not UTF-8 and pass such arguments; /proc is read as bytes and the bad bytes are shown escaped (`\\xff`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tui.model.processes import ProcessForest
from tui.sources.base import SourceState
from tui.sources.local_exec import LocalEventBuilder, LocalExecSource, ProcReader

CHILD = """
import ctypes, os, sys, time
ctypes.CDLL(None).prctl(15, ctypes.c_char_p(b"bad\\xff\\xfe"), 0, 0, 0)
os.chdir(sys.argv[1].encode("utf-8", "surrogateescape"))
sys.stdout.write("ready\\n"); sys.stdout.flush()
time.sleep(60)
"""


def start_child(tmp_path: Path) -> subprocess.Popen[bytes]:
    """A real process with comm b'bad\\xff\\xfe', a non-UTF-8 cwd and a non-UTF-8 argument."""
    bad_dir = os.fsencode(tmp_path) + b"/dir\xff"
    os.mkdir(bad_dir)
    child = subprocess.Popen([os.fsencode(sys.executable), b"-c", CHILD.encode(), bad_dir, b"arg\xfe"],
                             stdout=subprocess.PIPE)
    assert child.stdout is not None and child.stdout.readline() == b"ready\n"
    return child


def test_procfs_reads_of_a_non_utf8_process_are_escaped(tmp_path: Path) -> None:
    child = start_child(tmp_path)
    try:
        stat = ProcReader().stat(child.pid)
        assert stat is not None and stat[0] == "bad\\xff\\xfe" and stat[1] == os.getpid()
        builder = LocalEventBuilder("node")
        snapshot = [event for event in builder.snapshot() if event.process_exec.process.pid.value == child.pid]
        assert len(snapshot) == 1
        process = snapshot[0].process_exec.process
        assert process.cwd.endswith("/dir\\xff") and process.arguments.endswith("arg\\xfe"), process
        assert snapshot[0].SerializeToString()  # no surrogate escapes: it can be recorded
    finally:
        child.kill()
        child.wait()


@pytest.mark.kernel
def test_local_source_survives_a_non_utf8_comm(tmp_path: Path) -> None:
    child = start_child(tmp_path)
    source = LocalExecSource(snapshot=True)
    forest = ProcessForest()
    source.start()
    try:
        assert source.wait_ready(60), source.describe()
        after = subprocess.Popen(["sh", "-c", "exit 4"])  # a process exec'd after the snapshot still arrives
        assert after.wait(10) == 4
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            forest.add_many(source.buffer.drain())
            pids = {node.pid for node in forest.nodes.values()}
            if child.pid in pids and any(n.pid == after.pid and n.exited for n in forest.nodes.values()):
                break
            time.sleep(0.05)
        assert source.state() is SourceState.STREAMING, (source.describe(), source.problems)
        assert not source.problems, source.problems
        assert child.pid in {node.pid for node in forest.nodes.values()}
        assert any(n.pid == after.pid and n.exited and n.status == 4 for n in forest.nodes.values())
    finally:
        source.stop()
        child.kill()
        child.wait()
