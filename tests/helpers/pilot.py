"""Pilot waits that hold on a loaded machine: the app draws at its own frame rate, so one pause may
not be enough for a key's effect to reach the screen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


async def until(pilot: Any, condition: Callable[[], bool], pauses: int = 100, delay: float = 0.05) -> bool:
    """Pause until `condition()` holds (True) or `pauses` pauses have passed (False)."""
    for _ in range(pauses):
        if condition():
            return True
        await pilot.pause(delay)
    return condition()
