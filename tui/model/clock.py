"""The models' "now" from record times, for retention and windows, robust to one record far ahead.

A node whose clock is an hour fast must not empty the process tree of exited processes (retention
counted from the newest event) nor leave Top talkers counting only its flow (the window slid an hour).
The clock follows record times, but a record more than `jump` seconds ahead of it is not followed
(it is counted as skewed) until `confirm` such records arrive in a row (a replay that really skips
ahead); a record more than `skew` seconds ahead of the local wall clock is never followed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

JUMP_SECONDS = 60.0
CONFIRM = 16
SKEW_SECONDS = 300.0


class RecordClock:
    """`now` (None before the first record) and the count of records dated too far ahead to follow."""

    __slots__ = ("_ahead", "confirm", "jump", "now", "skew", "skewed", "wall")

    def __init__(self, jump: float = JUMP_SECONDS, confirm: int = CONFIRM, skew: float = SKEW_SECONDS,
                 wall: Callable[[], float] = time.time) -> None:
        self.jump = jump
        self.confirm = confirm
        self.skew = skew
        self.wall = wall
        self.now: float | None = None
        self.skewed = 0
        self._ahead = 0  # far-ahead records in a row

    def observe(self, when: float) -> bool:
        """Note one record's time; False when it is skewed (the clock did not follow it)."""
        now = self.now
        if when <= 0:  # no time at all: nothing to follow
            return True
        if now is not None and when <= now + self.jump:
            self._ahead = 0
            if when > now:
                self.now = when
            return True
        if when > self.wall() + self.skew:
            self.skewed += 1
            return False
        if now is None:
            self.now = when
            return True
        self._ahead += 1
        if self._ahead >= self.confirm:  # not one outlier: the records really moved ahead
            self.skewed -= self._ahead - 1
            self._ahead = 0
            self.now = when
            return True
        self.skewed += 1
        return False
