"""The flow list's frame rate follows the arrival rate: every tick when calm, a few a second when busy."""

from __future__ import annotations

from tui.panes.base import FrameGovernor


def frames_drawn(governor: FrameGovernor, per_tick: int, ticks: int, tick: float = 0.1) -> int:
    return sum(governor.due(per_tick, index * tick) for index in range(1, ticks + 1))


def test_a_trickle_draws_every_tick() -> None:
    assert frames_drawn(FrameGovernor(), per_tick=5, ticks=50) == 50


def test_a_flood_draws_a_few_frames_a_second() -> None:
    drawn = frames_drawn(FrameGovernor(), per_tick=500, ticks=100)  # 5,000 rows/s for 10 s
    assert 15 <= drawn <= 30  # 2 Hz once the rate is known, a few more while it is learnt


def test_rows_held_back_are_drawn_when_the_stream_stops() -> None:
    governor = FrameGovernor()
    frames_drawn(governor, per_tick=500, ticks=20)
    quiet = [governor.due(0, 2.0 + index * 0.1) for index in range(1, 8)]
    assert quiet.count(True) == 1  # the pending rows get their frame, then nothing more


def test_nothing_new_draws_nothing() -> None:
    assert frames_drawn(FrameGovernor(), per_tick=0, ticks=30) == 0
