"""How often the kernel sources wake (issue 11, idle cost): counted, never timed.

The kernel source's worker runs `_step(now)` and sleeps for the seconds it returns. Driving `_step`
with a made-up clock on real loaded programs gives the wake-ups and counter reads of N seconds as
exact counts: the rings are drained once a second while nobody looks at their events, ten times a
second while the pane shows them, and a key or a newly shown view wakes the worker at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tui.model.syscalls import SyscallInterval
from tui.sources.base import SourceState
from tui.sources.kernel import KernelSource
from tui.sources.kernel_probes import poll_period


def wait_for(predicate, timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_a_ring_filling_fast_is_drained_fast() -> None:
    # 1,600 events fit: 900 in one second would fill half of it within the slow period
    assert poll_period(900, 1.0, 1600, 1.0, 0.1) == 0.1
    assert poll_period(100, 1.0, 1600, 1.0, 0.1) == 1.0
    assert poll_period(100, 0.1, 1600, 1.0, 0.1) == 0.1  # 1,000/s measured over a fast period
    assert poll_period(0, 0.0, 1600, 1.0, 0.1) == 1.0


@pytest.fixture
def loaded() -> Iterator[tuple[KernelSource, object, list]]:
    """A source with its syscall counter and the TCP probe loaded, not started: the test is its clock."""
    from tui.sources.kernel_probes import TcpProbe
    from tui.sources.kernel_syscalls import SyscallCounter

    source = KernelSource(interval=5.0, probes=())
    counter = SyscallCounter()
    probe = TcpProbe(source.buffer.put)
    source._probes_pending = False  # the probes are the test's
    try:
        yield source, counter, [probe]
    finally:
        probe.close()
        counter.close()


def drive(source: KernelSource, counter: object, probes: list, start: float, seconds: float) -> tuple[int, int]:
    """Run the worker's steps over `seconds` of a made-up clock; (wake-ups, counter reads)."""
    wakes, reads = source.wakes, source.counter_reads
    now = start
    while now < start + seconds - 1e-9:
        now += source._step(counter, probes, set(), now)
    return source.wakes - wakes, source.counter_reads - reads


@pytest.mark.kernel
def test_rings_are_drained_once_a_second_unless_their_events_are_shown(loaded) -> None:
    source, counter, probes = loaded
    source._deadline = 5.0
    assert drive(source, counter, probes, 0.0, 10.0) == (10, 1)  # hidden: 10 wake-ups, one interval read
    source.watch(False, "opens")
    assert drive(source, counter, probes, 10.0, 10.0) == (10, 2)  # the opens view, not on screen
    source.watch(True, "top")
    assert drive(source, counter, probes, 20.0, 10.0) == (10, 2)  # on screen, a view that needs no ring
    source.watch(True, "opens")
    wakes, reads = drive(source, counter, probes, 30.0, 10.0)
    assert 100 <= wakes <= 102 and reads == 2  # the opens on screen: 10 Hz (float rounding: a wake more)
    intervals = [item for item in source.buffer.drain() if isinstance(item, SyscallInterval)]
    assert len(intervals) == 7  # the reads counted are the intervals delivered


@pytest.mark.kernel
def test_a_shown_view_a_key_and_an_interval_change_wake_the_worker_at_once(loaded) -> None:
    source, counter, probes = loaded
    source._deadline = 60.0
    source._step(counter, probes, set(), 0.0)
    source._kick.clear()
    source.watch(True, "top")
    assert not source._kick.is_set()  # nothing new to show
    source.watch(True, "opens")
    assert source._kick.is_set()  # the view just shown gets the rings' events now
    source._kick.clear()
    source.watch(True, "opens")
    assert not source._kick.is_set()  # every tick says the same: no wake-up for it
    reads = source.counter_reads
    source.read_now()
    assert source._kick.is_set()
    source._step(counter, probes, set(), 0.5)
    assert source.counter_reads == reads + 1  # long before the interval's end
    source.set_interval(1.0)
    timeout = source._step(counter, probes, set(), 0.6)
    assert source.counter_reads == reads + 2 and source._deadline == pytest.approx(1.6)
    assert timeout == pytest.approx(0.1)  # opens on screen: the next ring drain comes first
    source.watch(False, "opens")
    source._step(counter, probes, set(), 0.7)
    assert source._next_poll == pytest.approx(1.7)


@pytest.mark.kernel
def test_the_sleeping_worker_reads_at_once_when_asked_and_stops_at_once() -> None:
    source = KernelSource(interval=600.0, probes=())
    source.start()
    try:
        assert wait_for(lambda: any(isinstance(i, SyscallInterval) for i in source.buffer.drain()))
        assert source.state() is SourceState.STREAMING
        reads = source.counter_reads
        source.read_now()  # the worker sleeps until the interval ends, 10 minutes from now
        assert wait_for(lambda: any(isinstance(i, SyscallInterval) for i in source.buffer.drain()))
        assert source.counter_reads == reads + 1
    finally:
        source.stop(timeout=20.0)  # a worker that slept through the stop would still run after it
    assert not source.running
    assert source.status.get().state is SourceState.ENDED


@pytest.mark.kernel
def test_the_latency_worker_sleeps_until_a_view_is_wanted() -> None:
    from tui.sources.latency import LatencySource

    source = LatencySource(interval=1.0)
    source.start()
    try:
        assert wait_for(lambda: "waiting for a histogram view" in source.describe())
        for expected in (1, 2, 3):
            source.read_now()  # each wake-up is one of these: no timer runs while nothing is loaded
            assert wait_for(lambda expected=expected: source.wakes >= expected)
            assert source.wakes == expected
    finally:
        source.stop(timeout=20.0)
    assert not source.running
