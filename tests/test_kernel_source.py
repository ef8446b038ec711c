"""KernelSource: worker-thread loading, exact counts through the source, clean detach on every exit."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.workload import Workload, build
from tui.model.syscall_names import syscall_number
from tui.model.syscalls import SyscallInterval
from tui.sources.base import SourceState
from tui.sources.bpf_env import Problem
from tui.sources.kernel import KernelSource, step_interval

ROOT = Path(__file__).resolve().parents[1]


def wait_for(predicate, timeout: float = 20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def bpf_fds() -> int:
    count = 0
    for name in os.listdir("/proc/self/fd"):
        try:
            if "bpf" in os.readlink(f"/proc/self/fd/{name}"):
                count += 1
        except OSError:
            pass
    return count


def test_interval_steps() -> None:
    assert step_interval(5, +1) == 10 and step_interval(5, -1) == 2
    assert step_interval(1, -1) == 1 and step_interval(60, +1) == 60
    assert step_interval(3, +1) == 5 and step_interval(3, -1) == 2


def test_fatal_precondition_fails_without_touching_bpf() -> None:
    problem = Problem("eBPF needs privileges (not root)", "run as root", ("syscall counts",), fatal=True)
    source = KernelSource(preconditions=lambda: [problem])
    source.start()
    assert wait_for(lambda: not source.running)
    status = source.status.get()
    assert status.state is SourceState.FAILED and "not root" in status.reason
    assert source.problems == [problem]
    assert len(source.buffer) == 0
    source.stop()


@pytest.mark.kernel
def test_source_counts_exactly_and_detaches_on_stop(tmp_path: Path) -> None:
    before = bpf_fds()
    binary = build(tmp_path)
    comm = "ebs" + secrets.token_hex(5)
    source = KernelSource(interval=0.5, mode="pid", probes=())
    source.start()
    assert wait_for(lambda: source.status.get().state is SourceState.STREAMING), source.status.get()
    assert wait_for(lambda: len(source.buffer) > 0)  # the first interval came from the worker
    source.buffer.drain()
    worker = Workload(binary, comm, "getppid", 100_000)
    worker.go()
    assert worker.wait() == 0
    source.read_now()
    nr = syscall_number("getppid")
    total = 0

    def collected() -> bool:
        nonlocal total
        for interval in [i for i in source.buffer.drain() if isinstance(i, SyscallInterval)]:
            total += sum(s.count for s in interval.samples if s.pid == worker.pid and s.sysid == nr)
        return total >= 100_000

    assert wait_for(collected)
    time.sleep(0.6)
    collected()
    assert total == 100_000
    assert bpf_fds() > before
    source.stop()
    assert not source.running
    assert source.status.get().state is SourceState.ENDED
    assert bpf_fds() == before  # every program, map and link fd closed


def _prog_ids(pid: int) -> set[int]:
    ids = set()
    for fdinfo in Path(f"/proc/{pid}/fdinfo").iterdir():
        with contextlib.suppress(OSError):
            ids.update(int(line.split()[1]) for line in fdinfo.read_text().splitlines()
                       if line.startswith("prog_id:"))
    return ids


def _prog_loaded(prog_id: int) -> bool:
    import ctypes

    fd = ctypes.CDLL("libbcc.so.0", use_errno=True).bpf_prog_get_fd_by_id(prog_id)
    if fd >= 0:
        os.close(fd)
    return fd >= 0


def _still_loaded(ids: set[int], timeout: float = 2.0) -> list[int]:
    """Programs of a process that is gone: the kernel frees them after a grace period, not at once."""
    deadline = time.monotonic() + timeout
    left = [prog for prog in ids if _prog_loaded(prog)]
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [prog for prog in left if _prog_loaded(prog)]
    return left


@pytest.mark.kernel
@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_signal_in_batch_mode_detaches_and_exits_with_its_status(signame: str) -> None:
    """The one way out (tui/shutdown.py) in batch mode: the loop unwinds, the source stops, 128 + N."""
    child = subprocess.Popen([sys.executable, "-m", "tui", "-b", "--pane", "syscalls", "--interval", "0.5"],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().startswith("[")  # the first interval: the counter is attached
        ids = _prog_ids(child.pid)
        assert ids
        child.send_signal(getattr(signal, signame))
        assert child.wait(timeout=5) == 128 + getattr(signal, signame)
        assert "Traceback" not in child.stderr.read()
        assert _still_loaded(ids) == []
    finally:
        child.kill()


def stats_fds() -> int:
    count = 0
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            count += "bpf-stats" in os.readlink(f"/proc/self/fd/{name}")
    return count


@pytest.mark.kernel
def test_own_cost_is_measured_only_while_asked() -> None:
    from tui.model.probes import CostReport

    source = KernelSource(interval=0.5, probes=())
    source.start()
    try:
        assert wait_for(lambda: len(source.buffer) > 0)
        assert stats_fds() == 0 and not any(isinstance(e, CostReport) for e in source.buffer.drain())
        source.set_cost(True)
        reports: list[CostReport] = []

        def got_report() -> bool:
            reports.extend(e for e in source.buffer.drain() if isinstance(e, CostReport))
            return bool(reports)

        assert wait_for(got_report)
        assert stats_fds() == 1
        (enter,) = [c for c in reports[0].costs if c.name.endswith("sys_enter") and "raw" in c.name]
        assert enter.runs > 0 and enter.ns_per_run > 0
        source.set_cost(False)
        assert wait_for(lambda: stats_fds() == 0)
    finally:
        source.stop()
