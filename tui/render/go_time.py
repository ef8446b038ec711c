"""Timestamps in the Go layouts `hubble observe --time-format` offers, always in UTC as hubble prints them.

hubble formats `flow.time` with `timestamppb.AsTime().Format(layout)`; the names it accepts
(case-insensitive) and their layouts are: StampMilli `Jan _2 15:04:05.000` (default), YearMonthDay
`2006-01-02`, YearMonthDayHour `2006-01-02T15Z07:00`, YearMonthDayHourMinute `2006-01-02T15:04Z07:00`,
RFC3339 `2006-01-02T15:04:05Z07:00`, RFC3339Milli/Micro/Nano (`.999`, `.999999`, `.999999999`: trailing
zeros and then the dot dropped) and RFC1123Z `Mon, 02 Jan 2006 15:04:05 -0700`. UTC makes `Z07:00` a `Z`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

MIN_SECONDS = -62135596800  # 0001-01-01T00:00:00Z, protobuf Timestamp's valid range
MAX_SECONDS = 253402300799  # 9999-12-31T23:59:59Z

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _date(tm: time.struct_time) -> str:
    return f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}"


def _clock(tm: time.struct_time) -> str:
    return f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"


def _trimmed_fraction(nanos: int, digits: int) -> str:
    """Go's `.999…`: the first `digits` digits, trailing zeros dropped, no dot when nothing is left."""
    text = f"{nanos:09d}"[:digits].rstrip("0")
    return f".{text}" if text else ""


def _stamp_milli(tm: time.struct_time, nanos: int) -> str:
    return f"{_MONTHS[tm.tm_mon - 1]} {tm.tm_mday:2d} {_clock(tm)}.{nanos // 1_000_000:03d}"


def _rfc1123z(tm: time.struct_time, nanos: int) -> str:
    return f"{_DAYS[tm.tm_wday]}, {tm.tm_mday:02d} {_MONTHS[tm.tm_mon - 1]} {tm.tm_year:04d} {_clock(tm)} +0000"


_FORMATTERS: dict[str, Callable[[time.struct_time, int], str]] = {
    "StampMilli": _stamp_milli,
    "YearMonthDay": lambda tm, _n: _date(tm),
    "YearMonthDayHour": lambda tm, _n: f"{_date(tm)}T{tm.tm_hour:02d}Z",
    "YearMonthDayHourMinute": lambda tm, _n: f"{_date(tm)}T{tm.tm_hour:02d}:{tm.tm_min:02d}Z",
    "RFC3339": lambda tm, _n: f"{_date(tm)}T{_clock(tm)}Z",
    "RFC3339Milli": lambda tm, n: f"{_date(tm)}T{_clock(tm)}{_trimmed_fraction(n, 3)}Z",
    "RFC3339Micro": lambda tm, n: f"{_date(tm)}T{_clock(tm)}{_trimmed_fraction(n, 6)}Z",
    "RFC3339Nano": lambda tm, n: f"{_date(tm)}T{_clock(tm)}{_trimmed_fraction(n, 9)}Z",
    "RFC1123Z": _rfc1123z,
}

TIME_FORMATS: tuple[str, ...] = tuple(_FORMATTERS)
"""The names `--time-format` accepts, in hubble's spelling (matched case-insensitively)."""

DEFAULT_TIME_FORMAT = "StampMilli"

_BY_LOWER = {name.lower(): name for name in _FORMATTERS}


def time_format_name(text: str) -> str:
    """The canonical name for `text` (any case); ValueError naming the choices otherwise."""
    name = _BY_LOWER.get(text.strip().lower())
    if name is None:
        raise ValueError(f"unknown time format {text!r} (choose from {', '.join(TIME_FORMATS)})")
    return name


def format_time(seconds: int, nanos: int, layout: str = DEFAULT_TIME_FORMAT) -> str:
    """The timestamp in the named layout, UTC; `N/A` outside protobuf Timestamp's valid range."""
    if not (MIN_SECONDS <= seconds <= MAX_SECONDS and 0 <= nanos < 1_000_000_000):
        return "N/A"
    return _FORMATTERS[layout](time.gmtime(seconds), nanos)
