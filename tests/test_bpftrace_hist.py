"""ebtop's hist() printer against bpftrace's own output for the same values (bpftrace run for real)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tui.model.latency import percentile
from tui.model.probes import Log2Hist
from tui.render.bpftrace_hist import bucket_label, map_lines

VALUES = [0, 1, 1, 2, 3, 5, 7, 900, 1023, 1024, 1500, 3_000_000] + [40] * 11 + [300] * 7
KEYED = {"b": [7], "a": [70, 70, 71], "zz": [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1 << 20, 1 << 30]}


def slots(values: list[int]) -> list[int]:
    hist = Log2Hist()
    for value in values:
        hist.add(value)
    return hist.buckets


def bpftrace_output(script: str) -> str:
    done = subprocess.run(["bpftrace", "-e", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.split("\n", 1)[1]  # after "Attaching 1 probe..."


def test_labels() -> None:
    assert [bucket_label(s) for s in (0, 1, 2, 3, 10, 11, 21)] == [
        "[0]", "[1]", "[2, 4)", "[4, 8)", "[512, 1K)", "[1K, 2K)", "[1M, 2M)"]


def test_row_format_and_bar() -> None:
    lines = map_lines("usecs", [(None, slots([1, 1, 3]))])
    assert lines == [
        "@usecs: ",
        "[1]                    2 |" + "@" * 52 + "|",
        "[2, 4)                 1 |" + "@" * 26 + " " * 26 + "|",
        "",
    ]


def test_percentiles_from_buckets() -> None:
    buckets = slots([100] * 50 + [1000] * 49 + [100_000])
    p50 = percentile(buckets, 0.5)
    p99 = percentile(buckets, 0.99)
    assert p50 is not None and 64 <= p50 <= 128
    assert p99 is not None and 512 <= p99 <= 1024
    assert percentile([0] * 64, 0.5) is None


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("bpftrace") is None, reason="needs root and bpftrace")
def test_same_text_as_bpftrace() -> None:
    body = "".join(f"@usecs = hist({v}); " for v in VALUES)
    body += "".join(f'@k["{key}"] = hist({v}); ' for key, values in KEYED.items() for v in values)
    script = f"BEGIN {{ {body} print(@usecs); print(@k); clear(@usecs); clear(@k); exit(); }}"
    expected = bpftrace_output(script)
    ours = map_lines("usecs", [(None, slots(VALUES))]) + map_lines("k", [(k, slots(v)) for k, v in KEYED.items()])
    assert "\n".join(ours) + "\n" in expected
    assert expected.startswith("@usecs: \n[0]")
