"""Where a followed Hubble stream resumes after a break, and which replayed flows to drop.

The resume point is the time of the last flow received, in arrival order, that is not dated ahead of
the local clock: one flow from a node whose clock is an hour fast must not make `since` skip an hour.
The stream resumes from that time itself (not one nanosecond later, which lost the flows sharing it)
and the flows it sends again are dropped as exact duplicates (same bytes) of ones already received.
"""

from __future__ import annotations

import hashlib
import time
from collections import deque
from collections.abc import Callable

SKEW_SECONDS = 300.0  # a flow dated further ahead of the local clock is counted, not followed
RECENT = 4096  # flows remembered for dropping replays (one break re-reads at most what shared `since`)


class ResumePoint:
    """Follows the received flows; `since()` for the next call, `fresh()` says which are replays."""

    def __init__(self, skew_seconds: float = SKEW_SECONDS, recent: int = RECENT,
                 clock: Callable[[], float] = time.time,
                 on_count: Callable[[int, int], None] | None = None) -> None:
        self.on_count = on_count  # (skewed, duplicates) when either changes: a reader process forwards them
        self.skew_ns = int(skew_seconds * 1e9)
        self.clock = clock
        self.skewed = 0  # flows dated more than skew_seconds ahead of the local clock
        self.duplicates = 0  # replayed flows dropped after a resume
        self._last: tuple[int, int] | None = None
        self._recent: deque[tuple[int, bytes]] = deque(maxlen=recent)
        self._replayed: set[bytes] = set()

    def fresh(self, seconds: int, nanos: int, data: bytes) -> bool:
        """Note one received flow; False when it is a replay of one received before the break."""
        key = hashlib.blake2b(data, digest_size=16).digest()
        if self._replayed and key in self._replayed:
            self._replayed.discard(key)
            self.duplicates += 1
            if self.on_count is not None:
                self.on_count(self.skewed, self.duplicates)
            return False
        time_ns = seconds * 1_000_000_000 + nanos
        if time_ns > int(self.clock() * 1e9) + self.skew_ns:
            self.skewed += 1
            if self.on_count is not None:
                self.on_count(self.skewed, self.duplicates)
        else:
            self._last = (seconds, nanos)
        self._recent.append((time_ns, key))
        return True

    def since(self) -> tuple[int, int] | None:
        """The `since` for the next call (None before any flow); arms the duplicate filter for it."""
        if self._last is None:
            return None
        seconds, nanos = self._last
        start = seconds * 1_000_000_000 + nanos
        self._replayed = {key for time_ns, key in self._recent if time_ns >= start}
        return self._last
