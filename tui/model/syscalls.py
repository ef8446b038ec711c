"""Syscall counts per interval and the top-10 views the pane and batch mode show.

The kernel counts under (comm, syscall), (pid, comm, syscall) or (cgroup, syscall); everything
shown (by comm, by pid, by syscall, by container, by pod, failed only) is a sum over one interval's
samples, so switching views needs no new kernel data, except that pid view needs the kernel's pid
mode and container and pod views its cgroup mode (the source labels each cgroup).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from tui.model.syscall_names import syscall_name

BY_CHOICES = ("comm", "pid", "syscall", "container", "pod")
KERNEL_MODE = {"pid": "pid", "container": "cgroup", "pod": "cgroup"}  # the rest count by comm
SORT_CHOICES = ("count", "rate", "failures")
TOP_N = 10


@dataclass(frozen=True, slots=True)
class SyscallSample:
    """Counts for one kernel key over one interval (pid is None when counted by comm).

    Counted by cgroup, comm is empty and `container` / `pod` name the cgroup: a container id and
    pod UID under kubepods, else the cgroup path (`system.slice/ssh.service`) for both."""

    comm: str
    sysid: int
    count: int
    failed: int = 0
    ns: int = 0
    pid: int | None = None
    cgroup: str = ""
    container: str = ""
    pod: str = ""


@dataclass
class SyscallInterval:
    """One read of the kernel maps: what changed over `seconds` ending at wall time `at`."""

    at: float
    seconds: float
    samples: list[SyscallSample]
    by_pid: bool = False
    by_cgroup: bool = False
    failed_counted: bool = False
    latency_counted: bool = False
    lost: int = 0


@dataclass(frozen=True, slots=True)
class TopRow:
    """One row of a top-10: `key` identifies it across intervals, `label` is what is shown."""

    key: tuple
    label: str
    count: int
    rate: float
    change: int | None
    failed: int
    ns: int
    share: float


@dataclass
class Totals:
    calls: int = 0
    failed: int = 0
    keys: int = 0


def key_and_label(sample: SyscallSample, by: str, arch: str | None = None) -> tuple[tuple, str]:
    if by == "syscall":
        name = syscall_name(sample.sysid, arch)
        return (name,), name
    if by == "pid":
        return (sample.pid, sample.comm), f"{sample.pid} {sample.comm}"
    if by in ("container", "pod"):
        label = sample.container if by == "container" else sample.pod
        return (label,), label
    return (sample.comm,), sample.comm


@dataclass
class SyscallTop:
    """The last two intervals and how to rank them; plain data, no I/O."""

    arch: str | None = None
    latest: SyscallInterval | None = None
    previous: SyscallInterval | None = None
    intervals: int = 0
    started: float = field(default_factory=time.time)

    def add(self, interval: SyscallInterval) -> None:
        self.previous, self.latest = self.latest, interval
        self.intervals += 1

    def clear(self) -> None:
        self.latest = self.previous = None

    def _sums(self, interval: SyscallInterval | None, by: str,
              hide: Callable[[SyscallSample], bool] | None = None) -> tuple[dict[tuple, list[int]], dict[tuple, str]]:
        sums: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
        labels: dict[tuple, str] = {}
        if interval is None or (by == "pid" and not interval.by_pid):
            return sums, labels
        if by != "syscall" and (by in ("container", "pod")) != interval.by_cgroup:
            return sums, labels  # counted another way: wait for the kernel's next interval
        for sample in interval.samples:
            if hide is not None and hide(sample):
                continue
            key, label = key_and_label(sample, by, self.arch)
            row = sums[key]
            row[0] += sample.count
            row[1] += sample.failed
            row[2] += sample.ns
            labels[key] = label
        return sums, labels

    def top(self, by: str = "comm", sort: str = "count", failed_only: bool = False,
            limit: int = TOP_N, hide: Callable[[SyscallSample], bool] | None = None) -> list[TopRow]:
        """The `limit` biggest rows of the latest interval, ranked by `sort`, without the samples
        `hide` says (ebtop's own calls), so the top-10 stays ten rows long."""
        interval = self.latest
        sums, labels = self._sums(interval, by, hide)
        before, _ = self._sums(self.previous, by, hide) if self.previous is not None else ({}, {})
        seconds = interval.seconds if interval is not None and interval.seconds > 0 else 1.0
        value_index = 1 if failed_only else 0
        rows = []
        for key, (count, failed, ns) in sums.items():
            shown = failed if failed_only else count
            if shown == 0:
                continue
            prior = before.get(key)
            change = None if prior is None else shown - prior[value_index]
            rows.append((key, labels[key], shown, shown / seconds, change, failed, ns))
        if sort == "failures":
            rows.sort(key=lambda r: (-r[5], -r[2], r[1]))
        elif sort == "rate":
            rows.sort(key=lambda r: (-r[3], r[1]))
        else:
            rows.sort(key=lambda r: (-r[2], r[1]))
        rows = rows[:limit]
        biggest = max((r[2] for r in rows), default=0)
        return [TopRow(key, label, shown, rate, change, failed, ns, shown / biggest if biggest else 0.0)
                for key, label, shown, rate, change, failed, ns in rows]

    def totals(self, by: str = "comm") -> Totals:
        sums, _ = self._sums(self.latest, by)
        return Totals(sum(v[0] for v in sums.values()), sum(v[1] for v in sums.values()), len(sums))

    def count_of(self, by: str, key: tuple) -> int:
        """The latest interval's count for one key (used by tests and batch checks)."""
        sums, _ = self._sums(self.latest, by)
        return sums.get(key, [0])[0]


def bpftrace_lines(rows: list[TopRow], at: float, part: Callable[[object], str] = str) -> list[str]:
    """One interval as bpftrace prints `time("[%H:%M:%S]\\n"); print(@, 10)`: smallest first.

    `part` turns each key part into text; printers pass the render layer's escaper, since a comm is
    whatever a process named itself (the model does not import the render layer).
    """
    lines = [time.strftime("[%H:%M:%S]", time.localtime(at))]
    for row in sorted(rows, key=lambda r: (r.count, r.label)):
        lines.append(f"@[{', '.join(part(item) for item in row.key)}]: {row.count}")
    return lines
