"""Real perf events in the real kernel: `ebtop -b --pane profile` shows a known hot call chain, in
order, as the top stack of its pid, with as many samples as the CPU time it got at 49 Hz (root only)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.hotchain import CHAIN, HotChain, build

pytestmark = pytest.mark.kernel
HZ = 49
SECONDS = 3.0


def cpu_seconds_at_exit(pid: int) -> float:
    """Wait for the child and return the CPU time it used (user + system), from wait4's rusage."""
    _pid, _status, usage = os.wait4(pid, 0)
    return usage.ru_utime + usage.ru_stime


def test_batch_folded_stacks_show_the_hot_chain(tmp_path: Path) -> None:
    binary = build(tmp_path)
    comm = "ebf" + secrets.token_hex(4)
    program = HotChain(binary, SECONDS, comm)
    reaped = False
    ebtop = subprocess.Popen([sys.executable, "-m", "tui", "-b", "--pane", "profile", "--duration", str(SECONDS + 0.5),
                              "--pid", str(program.pid)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parent.parent)
    try:
        assert ebtop.stderr is not None
        deadline = time.monotonic() + 60
        line = ""
        while "sampling every CPU" not in line and time.monotonic() < deadline:
            line = ebtop.stderr.readline()
            assert line, "ebtop ended before sampling"
        assert f"at {HZ} Hz" in line and f"(pid {program.pid})" in line
        program.go()  # runs SECONDS from now: inside the sampled window
        used = cpu_seconds_at_exit(program.pid)
        reaped = True
        out, err = ebtop.communicate(timeout=60)
    finally:
        if ebtop.poll() is None:
            ebtop.kill()
        if not reaped:
            program.stop()
    assert ebtop.returncode == 0, err
    lines = [line for line in out.splitlines() if line]
    assert lines, err
    stacks = [(line.rsplit(" ", 1)[0].split(";"), int(line.rsplit(" ", 1)[1])) for line in lines]
    assert all(frames[0] == comm for frames, _count in stacks)  # --pid: only that process
    top_frames, top_count = stacks[0]
    tail = top_frames[-len(CHAIN):]
    assert tail == list(CHAIN), top_frames  # main -> ebt_outer -> ebt_middle -> ebt_leaf, root first
    total = sum(count for _frames, count in stacks)
    expected = used * HZ  # an on-CPU profiler sees the CPU time the program got
    assert abs(total - expected) <= 0.2 * expected, (total, expected, used)
    assert top_count >= 0.8 * total  # nearly every sample is in the leaf's loop
    if used >= 0.9 * SECONDS:  # a CPU to itself: duration x frequency, as promised
        assert abs(total - SECONDS * HZ) <= 0.2 * SECONDS * HZ, (total, SECONDS * HZ)
    assert f"{total:,} samples" in err
    print(f"samples {total} (top stack {top_count}); cpu {used:.2f} s x {HZ} Hz = {expected:.0f}")


def test_no_privileges_is_a_runtime_failure() -> None:
    done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m", "tui",
                           "-b", "--pane", "profile", "--duration", "1"], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 1, done.stderr
    assert "eBPF needs privileges" in done.stderr
    assert done.stdout == ""
