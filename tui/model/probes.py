"""What the event-style kernel probes report, and the bounded summaries the pane shows.

Plain data, no I/O: log2 histograms (as bcc's `print_log2_hist` and bpftrace's `hist()`), the last
file opens, retransmits per flow, connect latency with the slowest connects, slow block I/O.
Every collection is bounded so hours of events keep memory flat.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter, deque
from dataclasses import dataclass, field

RECENT = 200
SLOWEST = 10
FLOWS = 1000


@dataclass
class Log2Hist:
    """Counts in power-of-two slots as bcc's `bpf_log2l` fills them: slot 0 holds 0, slot i>0 holds
    values in [2**(i-1), 2**i - 1], so kernel-side histograms and Python-side ones agree."""

    buckets: list[int] = field(default_factory=lambda: [0] * 64)

    @staticmethod
    def slot(value: int) -> int:
        return max(0, int(value)).bit_length()

    def add(self, value: int, count: int = 1) -> None:
        self.buckets[min(63, self.slot(value))] += count

    def add_slots(self, slots: dict[int, int]) -> None:
        for index, count in slots.items():
            if 0 <= index < 64:
                self.buckets[index] += count

    @property
    def total(self) -> int:
        return sum(self.buckets)

    def rows(self) -> list[tuple[int, int, int]]:
        """(low, high, count) for the used range, as `print_log2_hist` prints them."""
        used = [i for i, c in enumerate(self.buckets) if c]
        if not used:
            return []
        return [((1 << i) >> 1, (1 << i) - 1, self.buckets[i]) for i in range(used[0], used[-1] + 1)]

    def lines(self, unit: str = "usecs", width: int = 30) -> list[str]:
        rows = self.rows()
        peak = max((c for _, _, c in rows), default=0)
        out = [f"{unit:>22} : count    distribution"]
        for low, high, count in rows:
            bar = "*" * (round(width * count / peak) if peak else 0)
            out.append(f"{low:>10} -> {high:<10}: {count:<8} |{bar:<{width}}|")
        return out


@dataclass(frozen=True, slots=True)
class OpenEvent:
    pid: int
    comm: str
    ret: int  # fd, or -errno
    flags: int
    path: str
    syscall: str
    at: float = 0.0  # wall time of the syscall's exit (0: unknown)


@dataclass(frozen=True, slots=True)
class RetransEvent:
    pid: int
    comm: str
    saddr: str
    sport: int
    daddr: str
    dport: int
    state: str


@dataclass(frozen=True, slots=True)
class ConnectEvent:
    pid: int
    comm: str
    daddr: str
    dport: int
    latency_ns: int
    ok: bool


@dataclass(frozen=True, slots=True)
class BlockEvent:
    dev: str  # MAJ:MIN
    sector: int
    nbytes: int
    latency_ns: int
    rwbs: str
    pid: int = 0  # the submitting task, as biosnoop reports it
    comm: str = ""
    disk: str = ""  # the device's name (sda, nvme0n1), from /sys/dev/block/MAJ:MIN/uevent


@dataclass
class OpenLog:
    recent: deque[OpenEvent] = field(default_factory=lambda: deque(maxlen=RECENT))
    total: int = 0
    failed: int = 0

    def add(self, event: OpenEvent) -> None:
        self.recent.append(event)
        self.total += 1
        self.failed += event.ret < 0


@dataclass
class RetransLog:
    recent: deque[RetransEvent] = field(default_factory=lambda: deque(maxlen=RECENT))
    flows: Counter = field(default_factory=Counter)
    total: int = 0

    def add(self, event: RetransEvent) -> None:
        self.recent.append(event)
        self.total += 1
        flow = (event.pid, event.comm, event.saddr, event.sport, event.daddr, event.dport)
        if flow in self.flows or len(self.flows) < FLOWS:
            self.flows[flow] += 1


class _Slowest:
    """The `size` biggest items by a key, kept in a min-heap (ties keep the earliest)."""

    def __init__(self, size: int = SLOWEST) -> None:
        self.size = size
        self._heap: list[tuple[int, int, object]] = []
        self._seq = itertools.count()

    def add(self, weight: int, item: object) -> None:
        entry = (weight, -next(self._seq), item)
        if len(self._heap) < self.size:
            heapq.heappush(self._heap, entry)
        elif weight > self._heap[0][0]:
            heapq.heapreplace(self._heap, entry)

    def items(self) -> list:
        return [item for _, _, item in sorted(self._heap, key=lambda e: (-e[0], -e[1]))]


@dataclass
class ConnectStats:
    hist: Log2Hist = field(default_factory=Log2Hist)
    ok: int = 0
    failed: int = 0
    recent_failed: deque[ConnectEvent] = field(default_factory=lambda: deque(maxlen=RECENT))
    recent: deque[ConnectEvent] = field(default_factory=lambda: deque(maxlen=RECENT))  # every connect, as tcpconnlat
    _slowest: _Slowest = field(default_factory=_Slowest)

    def add(self, event: ConnectEvent) -> None:
        self.recent.append(event)
        if event.ok:
            self.ok += 1
            self.hist.add(event.latency_ns // 1000)
            self._slowest.add(event.latency_ns, event)
        else:
            self.failed += 1
            self.recent_failed.append(event)

    def slowest(self) -> list[ConnectEvent]:
        return self._slowest.items()


@dataclass
class BlockStats:
    """All completions go to `hist` (counted in the kernel); only slow ones arrive as events."""

    hist: Log2Hist = field(default_factory=Log2Hist)
    threshold_ns: int = 10_000_000
    slow: deque[BlockEvent] = field(default_factory=lambda: deque(maxlen=RECENT))
    slow_total: int = 0
    _slowest: _Slowest = field(default_factory=_Slowest)

    def add_slow(self, event: BlockEvent) -> None:
        self.slow.append(event)
        self.slow_total += 1
        self._slowest.add(event.latency_ns, event)

    def slowest(self) -> list[BlockEvent]:
        return self._slowest.items()


@dataclass(frozen=True, slots=True)
class ProgramCost:
    """One BPF program's run-time stats between two reads."""

    name: str
    runs: int
    run_ns: int
    seconds: float

    @property
    def ns_per_run(self) -> float:
        return self.run_ns / self.runs if self.runs else 0.0

    @property
    def runs_per_second(self) -> float:
        return self.runs / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_share(self) -> float:
        """Fraction of one CPU spent in this program."""
        return self.run_ns / (self.seconds * 1e9) if self.seconds > 0 else 0.0


@dataclass
class ProbeModel:
    """Everything the event probes have said so far, plus ring-buffer drops and own cost."""

    opens: OpenLog = field(default_factory=OpenLog)
    retrans: RetransLog = field(default_factory=RetransLog)
    connects: ConnectStats = field(default_factory=ConnectStats)
    block: BlockStats = field(default_factory=BlockStats)
    drops: Counter = field(default_factory=Counter)
    costs: list[ProgramCost] = field(default_factory=list)

    def add(self, item: object) -> None:
        if isinstance(item, OpenEvent):
            self.opens.add(item)
        elif isinstance(item, RetransEvent):
            self.retrans.add(item)
        elif isinstance(item, ConnectEvent):
            self.connects.add(item)
        elif isinstance(item, BlockEvent):
            self.block.add_slow(item)
        elif isinstance(item, BlockHistDelta):
            self.block.hist.add_slots(item.slots)
        elif isinstance(item, DropCount):
            self.drops[item.probe] += item.count
        elif isinstance(item, CostReport):
            self.costs = list(item.costs)


@dataclass(frozen=True, slots=True)
class BlockHistDelta:
    """Completions per log2(usecs) slot since the last read of the kernel's histogram."""

    slots: dict[int, int]


@dataclass(frozen=True, slots=True)
class DropCount:
    probe: str
    count: int


@dataclass(frozen=True, slots=True)
class CostReport:
    costs: tuple[ProgramCost, ...]
