"""ebtop's own BPF cost from run-time stats."""

from __future__ import annotations

import ctypes

import pytest

from tui.model.probes import ProgramCost
from tui.sources.kernel_cost import parse_fdinfo

FDINFO = "pos:\t0\nflags:\t02000002\nprog_type:\t17\nprog_jited:\t1\nrun_time_ns:\t120722295\nrun_cnt:\t1011594\n"


def test_parse_fdinfo() -> None:
    assert parse_fdinfo(FDINFO) == (120722295, 1011594)
    assert parse_fdinfo("pos:\t0\n") is None


def test_program_cost_arithmetic() -> None:
    cost = ProgramCost("p", runs=1_000_000, run_ns=120_000_000, seconds=2.0)
    assert cost.ns_per_run == 120.0
    assert cost.runs_per_second == 500_000
    assert cost.cpu_share == pytest.approx(0.06)
    assert ProgramCost("idle", 0, 0, 0.0).ns_per_run == 0.0


@pytest.mark.kernel
def test_cost_meter_sees_the_counter_run() -> None:
    from tui.sources.kernel_cost import CostMeter
    from tui.sources.kernel_syscalls import SyscallCounter

    counter = SyscallCounter()
    meter = CostMeter()
    try:
        assert meter.fd is not None, meter.reason
        assert meter.read(counter.program_fds()) == []  # first read is the baseline
        libc = ctypes.CDLL(None)
        for _ in range(20_000):
            libc.getppid()
        (cost,) = [c for c in meter.read(counter.program_fds()) if "sys_enter" in c.name]
        assert cost.runs >= 20_000
        assert cost.run_ns > 0 and 1 < cost.ns_per_run < 100_000
    finally:
        meter.close()
        counter.close()
