"""Probe summaries: log2 histograms as bcc prints them, bounded logs, slowest lists."""

from __future__ import annotations

from tui.model.probes import (
    RECENT,
    SLOWEST,
    BlockEvent,
    BlockHistDelta,
    ConnectEvent,
    DropCount,
    Log2Hist,
    OpenEvent,
    ProbeModel,
    RetransEvent,
)


def test_log2_slots_match_bcc() -> None:
    hist = Log2Hist()
    for value in (0, 1, 2, 3, 4, 7, 8, 1000):
        hist.add(value)
    assert hist.buckets[:5] == [1, 1, 2, 2, 1] and hist.buckets[10] == 1
    rows = hist.rows()
    assert rows[0] == (0, 0, 1) and rows[1] == (1, 1, 1) and rows[2] == (2, 3, 2) and rows[-1] == (512, 1023, 1)
    lines = hist.lines(width=10)
    assert "usecs" in lines[0] and lines[3].split("|")[1] == "**********"


def test_logs_are_bounded() -> None:
    model = ProbeModel()
    for i in range(RECENT * 3):
        model.add(OpenEvent(i, "c", -2, 0, f"/p{i}", "openat"))
        model.add(RetransEvent(i, "c", "1.1.1.1", i, "2.2.2.2", 80, "SYN_SENT"))
    assert len(model.opens.recent) == RECENT and model.opens.total == RECENT * 3 and model.opens.failed == RECENT * 3
    assert len(model.retrans.recent) == RECENT and model.retrans.total == RECENT * 3


def test_slowest_keeps_the_biggest() -> None:
    model = ProbeModel()
    for i in range(100):
        model.add(ConnectEvent(i, "c", "10.0.0.1", 443, (i * 37 % 100 + 1) * 1000, True))
        model.add(BlockEvent("8:0", i, 4096, (i * 53 % 100 + 1) * 1_000_000, "W"))
    slowest = model.connects.slowest()
    assert len(slowest) == SLOWEST and [e.latency_ns for e in slowest] == [(100 - k) * 1000 for k in range(SLOWEST)]
    assert model.block.slowest()[0].latency_ns == 100_000_000 and model.block.slow_total == 100
    model.add(BlockHistDelta({3: 2, 70: 5}))
    model.add(DropCount("opens", 4))
    assert model.block.hist.total == 2 and model.drops["opens"] == 4
