"""Bounded hand-off buffer and backoff: the pieces every source relies on."""

from __future__ import annotations

import random

from tui.sources.base import Backoff, BoundedBuffer, SourceState, StatusHolder


def test_buffer_drops_oldest_and_counts() -> None:
    buf: BoundedBuffer[int] = BoundedBuffer(maxlen=3)
    buf.put_many(range(5))
    assert buf.dropped == 2 and buf.received == 5
    assert buf.drain() == [2, 3, 4]
    assert len(buf) == 0


def test_buffer_drain_limit_keeps_order() -> None:
    buf: BoundedBuffer[int] = BoundedBuffer(maxlen=10)
    buf.put_many(range(6))
    assert buf.drain(4) == [0, 1, 2, 3]
    assert buf.drain() == [4, 5]


def test_backoff_grows_to_cap_with_jitter() -> None:
    backoff = Backoff(base=1, cap=8, rng=random.Random(3))
    delays = [backoff.next_delay() for _ in range(6)]
    assert all(0.5 <= d <= 8 for d in delays)
    assert delays[-1] >= 4  # capped range is [4, 8]
    backoff.reset()
    assert backoff.next_delay() <= 1


def test_status_describe_retry() -> None:
    holder = StatusHolder()
    holder.set(SourceState.RETRYING, "connection refused", retry_at=100.0)
    assert holder.get().describe(now=96.2) == "retrying in 4s: connection refused"
