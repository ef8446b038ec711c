"""ebtop's own BPF cost: run time and run count per program, as bpftop reads them.

`bpf(BPF_ENABLE_STATS, BPF_STATS_RUN_TIME)` returns an fd; the kernel times every BPF program run
while it is open (two clock reads per run). `/proc/self/fdinfo/<prog fd>` then shows `run_time_ns`
and `run_cnt`. Closing the fd turns the stats off again, so nothing is left behind on exit.
"""

from __future__ import annotations

import ctypes
import os
import platform
import re
import time

from tui.model.probes import ProgramCost

BPF_ENABLE_STATS = 32
BPF_STATS_RUN_TIME = 0
SYS_BPF = {"x86_64": 321, "aarch64": 280, "arm64": 280}


def parse_fdinfo(text: str) -> tuple[int, int] | None:
    """(run_time_ns, run_cnt) from a BPF program's fdinfo text, or None when absent."""
    run_time = re.search(r"^run_time_ns:\s*(\d+)", text, re.MULTILINE)
    run_cnt = re.search(r"^run_cnt:\s*(\d+)", text, re.MULTILINE)
    if run_time is None or run_cnt is None:
        return None
    return int(run_time.group(1)), int(run_cnt.group(1))


def enable_stats() -> tuple[int | None, str]:
    """Turn on BPF run-time stats; (fd, "") or (None, reason)."""
    number = SYS_BPF.get(platform.machine())
    if number is None:
        return None, f"bpf syscall number unknown on {platform.machine()}"
    libc = ctypes.CDLL(None, use_errno=True)
    attr = (ctypes.c_uint32 * 2)(BPF_STATS_RUN_TIME, 0)
    fd = libc.syscall(number, BPF_ENABLE_STATS, ctypes.byref(attr), ctypes.sizeof(attr))
    if fd < 0:
        return None, f"BPF_ENABLE_STATS failed: {os.strerror(ctypes.get_errno())}"
    return fd, ""


class CostMeter:
    """Reads run-time stats of named program fds and returns what changed since the last read."""

    def __init__(self) -> None:
        self.fd, self.reason = enable_stats()
        self._seen: dict[str, tuple[int, int, float]] = {}

    def read(self, programs: dict[str, int]) -> list[ProgramCost]:
        now = time.monotonic()
        costs = []
        for name, fd in programs.items():
            try:
                with open(f"/proc/self/fdinfo/{fd}") as handle:
                    stats = parse_fdinfo(handle.read())
            except OSError:
                continue
            if stats is None:
                continue
            run_ns, runs = stats
            before = self._seen.get(name)
            self._seen[name] = (run_ns, runs, now)
            if before is not None:
                costs.append(ProgramCost(name, runs - before[1], run_ns - before[0], now - before[2]))
        return costs

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
