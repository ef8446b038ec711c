"""Real BPF in the real kernel: ebtop's syscall counts are exact for a known workload (root only)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.workload import Workload, build
from tui.model.syscall_names import syscall_number
from tui.model.syscalls import SyscallInterval, SyscallTop

pytestmark = pytest.mark.kernel
CALLS = 100_000


@pytest.fixture(scope="module")
def workload_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("workload"))


@pytest.fixture
def comm() -> str:
    return "ebt" + secrets.token_hex(5)  # 13 chars: fits the kernel's 15-char comm


@pytest.fixture
def counter_factory() -> Iterator:
    from tui.sources.kernel_syscalls import SyscallCounter

    made = []

    def make(**kwargs):
        counter = SyscallCounter(**kwargs)
        made.append(counter)
        return counter

    yield make
    for counter in made:
        counter.close()


def run(binary: Path, comm: str, call: str, cpus: list[int]) -> list[Workload]:
    workers = [Workload(binary, comm, call, CALLS if call == "getppid" else 1000, cpu) for cpu in cpus]
    for worker in workers:
        worker.go()
    for worker in workers:
        assert worker.wait() == 0
    return workers


def model_of(interval: SyscallInterval) -> SyscallTop:
    top = SyscallTop()
    top.add(interval)
    return top


def getppid_by_comm(interval: SyscallInterval, comm: str) -> int:
    nr = syscall_number("getppid")
    return sum(s.count for s in interval.samples if s.comm == comm and s.sysid == nr)


def test_one_process_by_comm_is_exact(workload_binary: Path, comm: str, counter_factory) -> None:
    counter = counter_factory(mode="comm")
    run(workload_binary, comm, "getppid", [0])
    interval = counter.read()
    assert getppid_by_comm(interval, comm) == CALLS
    top = model_of(interval)
    # by syscall the name is getppid (other processes add their own getppid calls, so >=)
    assert top.count_of("syscall", ("getppid",)) >= CALLS
    assert any(row.label == "getppid" for row in top.top(by="syscall", limit=50))
    # the comm's own total includes its few startup syscalls
    assert top.count_of("comm", (comm,)) >= CALLS


def test_one_process_by_pid_is_exact(workload_binary: Path, comm: str, counter_factory) -> None:
    counter = counter_factory(mode="pid")
    (worker,) = run(workload_binary, comm, "getppid", [0])
    interval = counter.read()
    nr = syscall_number("getppid")
    mine = [s for s in interval.samples if s.pid == worker.pid and s.sysid == nr]
    assert sum(s.count for s in mine) == CALLS
    assert {s.comm for s in mine} == {comm}
    assert model_of(interval).count_of("pid", (worker.pid, comm)) >= CALLS


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_two_processes_same_comm_on_two_cpus_are_exact(workload_binary: Path, comm: str, counter_factory) -> None:
    cpus = sorted(os.sched_getaffinity(0))[:2]
    counter = counter_factory(mode="comm")
    run(workload_binary, comm, "getppid", cpus)
    assert getppid_by_comm(counter.read(), comm) == 2 * CALLS


def test_failed_calls_are_counted(workload_binary: Path, comm: str, counter_factory) -> None:
    counter = counter_factory(mode="comm", failed=True)
    run(workload_binary, comm, "badclose", [0])
    interval = counter.read()
    nr = syscall_number("close")
    close = [s for s in interval.samples if s.comm == comm and s.sysid == nr]
    assert sum(s.count for s in close) == 1000
    assert sum(s.failed for s in close) == 1000
    top = model_of(interval)
    failed_rows = top.top(by="syscall", failed_only=True, limit=50)
    assert any(row.label == "close" and row.count >= 1000 for row in failed_rows)


def test_latency_is_recorded_and_exit_probe_detaches(workload_binary: Path, comm: str, counter_factory) -> None:
    counter = counter_factory(mode="comm", latency=True)
    run(workload_binary, comm, "getppid", [0])
    interval = counter.read()
    nr = syscall_number("getppid")
    (sample,) = [s for s in interval.samples if s.comm == comm and s.sysid == nr]
    assert sample.count == CALLS and sample.ns > 0
    assert counter.exit_attached
    counter.configure(latency=False)
    assert not counter.exit_attached and counter.bpf.tracepoint_fds == {}


def test_reads_are_deltas_and_idle_keys_are_deleted(workload_binary: Path, comm: str, counter_factory) -> None:
    counter = counter_factory(mode="comm")
    run(workload_binary, comm, "getppid", [0])
    assert getppid_by_comm(counter.read(), comm) == CALLS
    assert getppid_by_comm(counter.read(), comm) == 0  # nothing new: no double counting
    keys = {(bytes(k.comm).split(b"\0")[0].decode(), k.id) for k in counter.bpf["by_comm"]}
    assert (comm, syscall_number("getppid")) not in keys  # idle key was deleted


def test_counter_without_exit_tracepoint_still_counts(workload_binary: Path, comm: str, counter_factory) -> None:
    """Without tracefs the counter is built from the raw tracepoint alone (failures unavailable)."""
    counter = counter_factory(mode="comm", failed=True, exit_tracepoint=False)
    assert not counter.exit_attached and counter.bpf.tracepoint_fds == {}
    run(workload_binary, comm, "getppid", [0])
    interval = counter.read()
    assert getppid_by_comm(interval, comm) == CALLS
    assert not interval.failed_counted
