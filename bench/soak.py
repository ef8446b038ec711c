"""Soak: the whole app on the demo at a high rate for a long time, recording RSS and event-loop lag.

    .venv/bin/python bench/soak.py --minutes 30 --rate 400 --out bench/results/soak.csv

All three panes are built exactly as `ebtop --demo` builds them and run headless at 120x40; the
visible tab rotates every sample so each pane renders in turn. A 50 ms heartbeat timer measures
event-loop lag (how late it fires). Memory must stay flat: RSS is sampled from /proc/self/status.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tui.cli import FAMILIES, build_parser  # noqa: E402
from tui.demo.runner import spawn_demo  # noqa: E402

HEARTBEAT = 0.05


def _rss_kib(pid: int | str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_mib(exclude: set[int] = frozenset()) -> float:
    """RSS of this process and its children (reader processes), the demo servers' process excluded."""
    total = _rss_kib("self")
    for task in Path("/proc/self/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        total += sum(_rss_kib(child) for child in children if int(child) not in exclude)
    return total / 1024


def p99(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def soak(minutes: float, rate: float, sample_seconds: float, out: Path, seed: int) -> dict[str, float]:
    from tui.app import EbtopApp

    args = build_parser().parse_args(["--demo", "--demo-rate", str(rate), "--demo-seed", str(seed)])
    args.config_notices = []
    demo = spawn_demo(seed=seed, rate=rate)  # its own process, as `ebtop --demo`: RSS is ebtop's
    demo.wait_ready()
    demo.apply_to(args)
    demo_pids = {demo.process.pid}
    panes = [family.create_pane(args) for family in FAMILIES.values()]
    app = EbtopApp(panes)
    lags: list[float] = []
    window: list[float] = []
    rows: list[dict[str, float]] = []
    out.parent.mkdir(parents=True, exist_ok=True)
    handle = out.open("w", newline="")
    writer = csv.DictWriter(handle, fieldnames=["elapsed_s", "rss_mib", "lag_p99_ms", "lag_max_ms"])
    writer.writeheader()
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            expected = time.monotonic() + HEARTBEAT

            def heartbeat() -> None:
                nonlocal expected
                now = time.monotonic()
                lag = max(0.0, now - expected) * 1000
                lags.append(lag)
                window.append(lag)
                expected = now + HEARTBEAT

            app.set_interval(HEARTBEAT, heartbeat)
            start = time.monotonic()
            tabs = [pane.id for pane in panes]
            sample = 0
            while time.monotonic() - start < minutes * 60:
                await asyncio.sleep(sample_seconds)
                sample += 1
                app.action_show_tab(tabs[sample % len(tabs)] or "flows")
                row = {"elapsed_s": round(time.monotonic() - start, 1), "rss_mib": round(rss_mib(demo_pids), 1),
                       "lag_p99_ms": round(p99(window), 1), "lag_max_ms": round(max(window, default=0), 1)}
                window.clear()
                rows.append(row)
                writer.writerow(row)  # written as it goes: an interrupted soak keeps its samples
                handle.flush()
                print(row, flush=True)
            await pilot.pause()
    finally:
        demo.stop()
        handle.close()
    settled = [r["rss_mib"] for r in rows[len(rows) // 5:]] or [0.0]
    return {
        "minutes": minutes, "rate": rate, "samples": len(rows),
        "rss_first_mib": rows[0]["rss_mib"] if rows else 0, "rss_last_mib": rows[-1]["rss_mib"] if rows else 0,
        "rss_max_mib": max(r["rss_mib"] for r in rows) if rows else 0,
        "rss_growth_after_warmup": round(settled[-1] / settled[0], 3) if settled[0] else 0,
        "lag_p99_ms": round(p99(lags), 1), "lag_median_ms": round(statistics.median(lags), 1) if lags else 0,
        "lag_max_ms": round(max(lags, default=0), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--rate", type=float, default=400, help="demo episodes per second")
    parser.add_argument("--sample-seconds", type=float, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("bench/results/soak.csv"))
    opts = parser.parse_args()
    summary = asyncio.run(soak(opts.minutes, opts.rate, opts.sample_seconds, opts.out, opts.seed))
    print("SUMMARY", summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
