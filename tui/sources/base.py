"""What every source shares: a visible lifecycle state, a bounded hand-off buffer, and backoff.

Sources run in threads or asyncio tasks and never touch widgets. The UI drains their buffers on a
timer, so the buffer is the only meeting point and it must never grow without bound.
"""

from __future__ import annotations

import enum
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from google.protobuf.message import DecodeError

T = TypeVar("T")
M = TypeVar("M")


def parse_or_none(parse: Callable[[bytes], M], data: bytes) -> M | None:
    """Decode one message; None for bytes that are not one (a broken or hostile peer, a bad proxy).

    Readers skip and count such messages instead of letting one bad message end the stream.
    """
    try:
        return parse(data)
    except DecodeError:
        return None


MALFORMED_NOTE = "── malformed message from the server skipped ({count} so far) ──"


class SourceState(enum.Enum):
    """Lifecycle of a source, as shown in a pane's status line."""

    IDLE = "idle"
    CONNECTING = "connecting"
    STREAMING = "streaming"
    RETRYING = "retrying"
    ENDED = "ended"
    FAILED = "failed"
    DISABLED = "disabled"


@dataclass
class SourceStatus:
    """A snapshot of a source's state with the reason a person needs to act on it."""

    state: SourceState = SourceState.IDLE
    reason: str = ""
    retry_at: float | None = None
    changed_at: float = field(default_factory=time.monotonic)

    def describe(self, now: float | None = None) -> str:
        """One short phrase, e.g. ``retrying in 4s: connection refused``."""
        now = time.monotonic() if now is None else now
        text = self.state.value
        if self.state is SourceState.RETRYING and self.retry_at is not None:
            text = f"retrying in {max(0, round(self.retry_at - now))}s"
        return f"{text}: {self.reason}" if self.reason else text


class StatusHolder:
    """Thread-safe holder for a source's status; sources call `set`, the UI calls `get`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._status = SourceStatus()

    def set(self, state: SourceState, reason: str = "", retry_at: float | None = None) -> None:
        with self._lock:
            self._status = SourceStatus(state, reason, retry_at)

    def get(self) -> SourceStatus:
        with self._lock:
            return self._status


class BoundedBuffer(Generic[T]):
    """A FIFO between a producer thread and the UI drain timer that drops the oldest when full.

    `deque.append` and `popleft` are atomic under the GIL, so no lock is needed; the count of items
    ebtop itself had to drop is kept so panes can show it apart from server-side losses.
    """

    def __init__(self, maxlen: int = 100_000) -> None:
        self.maxlen = maxlen
        self._items: deque[T] = deque(maxlen=maxlen)
        self.dropped = 0
        self.received = 0

    def put(self, item: T) -> None:
        if len(self._items) >= self.maxlen:
            self.dropped += 1
        self.received += 1
        self._items.append(item)

    def put_many(self, items: Iterable[T]) -> None:
        for item in items:
            self.put(item)

    def drain(self, limit: int | None = None) -> list[T]:
        """Take up to `limit` items (all when None) in arrival order."""
        items = self._items
        count = len(items) if limit is None else min(limit, len(items))
        pop = items.popleft
        return [pop() for _ in range(count)]

    def __len__(self) -> int:
        return len(self._items)


class Backoff:
    """Exponential backoff with full jitter, as gRPC clients are advised to use when reconnecting."""

    def __init__(self, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.base * (2**self.attempt))
        self.attempt += 1
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def reset(self) -> None:
        self.attempt = 0
