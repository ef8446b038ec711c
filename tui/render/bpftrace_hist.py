"""Histograms printed exactly as bpftrace prints a `hist()` map (bpftrace 0.17's TextOutput).

`@name[key]: ` (trailing space), then one row per bucket from the first to the last non-empty one:
the range label left-aligned in 16 columns, the count right-aligned in 8, ` |`, a bar of `@` 52 wide
and `|`; a blank line after each histogram. Keys are printed busiest last. bpftrace's buckets are
bcc's log2 slots shifted by one (bucket 1 is `[0]`, 2 is `[1]`, 3 is `[2, 4)` ...), and the bar is
`int(count / (float)max * 52)` in single precision, reproduced here so the rows match to the `@`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

BAR_WIDTH = 52


def _f32(value: float) -> float:
    return struct.unpack("f", struct.pack("f", value))[0]


def bar_width(count: int, peak: int, width: int = BAR_WIDTH) -> int:
    if peak <= 0:
        return 0
    return int(_f32(_f32(_f32(float(count)) / _f32(float(peak))) * width))


def power_label(power: int) -> str:
    """`1`, `512`, `1K`, `2M` ...: bpftrace's hist_index_label."""
    for shift, suffix in ((40, "T"), (30, "G"), (20, "M"), (10, "K")):
        if power >= shift:
            return f"{1 << (power - shift)}{suffix}"
    return str(1 << power)


def bucket_label(slot: int) -> str:
    """The label of bcc log2 slot `slot` (0 holds 0, i holds [2**(i-1), 2**i))."""
    if slot == 0:
        return "[0]"
    if slot == 1:
        return "[1]"
    return f"[{power_label(slot - 1)}, {power_label(slot)})"


def hist_rows(buckets: list[int], width: int = BAR_WIDTH) -> list[str]:
    """The rows of one histogram; `width` narrows the bar where a pane is narrower than bpftrace's 79."""
    used = [slot for slot, count in enumerate(buckets) if count > 0]
    if not used:
        return []
    peak = max(buckets)
    rows = []
    for slot in range(used[0], used[-1] + 1):
        count = buckets[slot]
        bar = "@" * bar_width(count, peak, width)
        rows.append(f"{bucket_label(slot):<16}{count:>8} |{bar:<{width}}|")
    return rows


def key_text(key: object) -> str:
    if isinstance(key, tuple):
        return ", ".join(str(part) for part in key)
    return str(key)


def map_lines(name: str, hists: Iterable[tuple[object, list[int]]]) -> list[str]:
    """All histograms of one map (key None: an unkeyed map), as `print(@name)` prints them."""
    ordered = sorted(hists, key=lambda item: (sum(item[1]), key_text(item[0])))
    lines: list[str] = []
    for key, buckets in ordered:
        head = f"@{name}: " if key is None or key == () else f"@{name}[{key_text(key)}]: "
        lines.append(head)
        lines.extend(hist_rows(buckets))
        lines.append("")
    return lines
