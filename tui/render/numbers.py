"""Numbers people read, worded by `humanize` so every pane says them the same way.

Counts keep every digit (`12,345`: a count that changes must not jump between units), sizes use
binary units (`1.5 MiB`), durations read as a person says them (`2 minutes`). The Syscalls table's
fixed-width cells (`fmt_count` in tui/panes/syscalls.py) stay hand-made: they must fit 9 cells.
"""

from __future__ import annotations

import datetime as dt
import math

import humanize


def count_text(value: float) -> str:
    """`12,345`; fractions are rounded (a count of events is whole)."""
    return humanize.intcomma(round(value))


def size_text(nbytes: float) -> str:
    """`512 Bytes`, `1.5 KiB`, `20.0 MiB`."""
    return humanize.naturalsize(nbytes, binary=True, format="%.1f")


MAX_DURATION = 100 * 365 * 86_400.0  # longer than this an age or duration comes from a bad timestamp
UNKNOWN_DURATION = "?"


def plausible_duration(seconds: float) -> bool:
    """Whether an age or duration can be real: finite, not negative, under a century (else shown `?`).

    A bad timestamp (seconds near 2**63, or 0 against a real now) gave ages like `106751991146511d10h`.
    """
    return math.isfinite(seconds) and 0.0 <= seconds <= MAX_DURATION


def duration_text(seconds: float) -> str:
    """`30 seconds`, `1 minute and 30 seconds`, `2 hours` (to the second); `?` when implausible."""
    if not plausible_duration(max(0.0, seconds) if math.isfinite(seconds) else seconds):
        return UNKNOWN_DURATION
    return humanize.precisedelta(dt.timedelta(seconds=max(0.0, seconds)), minimum_unit="seconds",
                                 format="%0.0f")


def rate_text(per_second: float, unit: str) -> str:
    """`1,234 flows/s`; below 10 one decimal (`2.5 ev/s`) so a slow stream does not read as 0."""
    if per_second < 10:
        return f"{per_second:.1f} {unit}/s"
    return f"{count_text(per_second)} {unit}/s"
