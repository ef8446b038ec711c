"""Latency histograms counted in the kernel (log2 slots, as bcc's `bpf_log2l` fills them), keyed by
process, device, syscall ...; merged for a view, with p50/p99 estimated from the buckets.

Plain data, no I/O. Slot 0 holds 0, slot i > 0 holds [2**(i-1), 2**i - 1] (the `Log2Hist`
convention of `tui.model.probes`, so kernel and Python histograms agree). At most `max_keys`
keys are kept; later new keys are counted under `("(other)",)`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

SLOTS = 64
KINDS = ("runqlat", "biolatency", "syscall-latency", "connect-latency")
UNITS = {"runqlat": "usecs", "biolatency": "usecs", "syscall-latency": "nsecs", "connect-latency": "usecs"}
OTHER_KEY = ("(other)",)


@dataclass(frozen=True)
class HistDelta:
    """What one read of a kernel histogram brought: key -> {slot: count}."""

    kind: str
    slots: dict[tuple, dict[int, int]]
    lost: int = 0  # events not counted: the histogram map was full


def slot_range(slot: int) -> tuple[int, int]:
    """The values slot `slot` holds, inclusive."""
    return (0, 0) if slot == 0 else (1 << (slot - 1), (1 << slot) - 1)


def percentile(buckets: list[int], q: float) -> float | None:
    """The q-quantile (0..1) estimated from log2 buckets, linear inside the bucket it falls in."""
    total = sum(buckets)
    if not total:
        return None
    rank = q * total
    seen = 0
    for slot, count in enumerate(buckets):
        if not count:
            continue
        if seen + count >= rank:
            low, high = slot_range(slot)
            inside = (rank - seen) / count
            return low + inside * (high + 1 - low) if slot else 0.0
        seen += count
    return float(slot_range(len(buckets) - 1)[1])


@dataclass
class KeyedHistograms:
    """Cumulative buckets per key for one kind of latency."""

    kind: str
    max_keys: int = 4096
    buckets: dict[tuple, list[int]] = field(default_factory=dict)
    lost: int = 0
    folded: int = 0

    def add(self, delta: HistDelta) -> None:
        self.lost += delta.lost
        for key, slots in delta.slots.items():
            row = self.buckets.get(key)
            if row is None:
                if len(self.buckets) >= self.max_keys:
                    key = OTHER_KEY
                    self.folded += sum(slots.values())
                row = self.buckets.setdefault(key, [0] * SLOTS)
            for slot, count in slots.items():
                row[min(max(slot, 0), SLOTS - 1)] += count

    def clear(self) -> None:
        self.buckets.clear()
        self.lost = self.folded = 0

    @property
    def total(self) -> int:
        return sum(sum(row) for row in self.buckets.values())

    def merged(self, group: Callable[[tuple], Hashable]) -> dict[Hashable, list[int]]:
        """Buckets summed per `group(key)` (e.g. all keys into one, or per container)."""
        out: dict[Hashable, list[int]] = {}
        for key, row in self.buckets.items():
            target = out.setdefault(group(key), [0] * SLOTS)
            for slot, count in enumerate(row):
                if count:
                    target[slot] += count
        return out
