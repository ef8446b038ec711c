"""The Processes pane visible in a headless app at 10,000 events/s: event-loop lag and throughput.

    .venv/bin/python bench/processes_pane.py [--rate 10000] [--seconds 10] [--size 120x40]

Events come from the demo scenario (seed 1) at a high episode rate, so that their event times advance
about as fast as the wall clock at the target rate (retention and ages then behave as live). They are
pre-generated, then a producer thread puts them into the pane's source buffer in 10 ms slices at the
target rate, exactly where a gRPC stream thread would put them. A 50 ms heartbeat timer on the event
loop records how late it fires (lag). Baseline in the same run: the same app and pane with no events.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import statistics
import threading
import time
from typing import Any

from tui.app import EbtopApp
from tui.demo.tetragon_scenario import tetragon_events
from tui.model.processes import ProcessForest
from tui.panes.processes import ProcessesPane
from tui.sources.base import BoundedBuffer, SourceState

HEARTBEAT = 0.05


class FeedSource:
    """A source whose buffer a producer thread fills at a fixed rate."""

    def __init__(self, events: list[Any], rate: float) -> None:
        self.buffer: BoundedBuffer[Any] = BoundedBuffer(200_000)
        self.events = events
        self.rate = rate
        self.version = "bench"
        self.fed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        if self.events:
            self._thread.start()

    def _run(self) -> None:
        start = time.monotonic()
        slice_size = max(1, int(self.rate * 0.01))
        index = 0
        while index < len(self.events) and not self._stop.is_set():
            due = start + index / self.rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.buffer.put_many(self.events[index:index + slice_size])
            index += slice_size
            self.fed = index

    def stop(self) -> None:
        self._stop.set()

    def describe(self, now: float | None = None) -> str:
        return "bench feed"

    def state(self) -> SourceState:
        return SourceState.STREAMING


class TimedPane(ProcessesPane):
    """Records the UI thread's CPU time per tick (`thread_time`: other processes' load does not count)."""

    tick_cpu: list[float]

    def tick(self, visible: bool) -> None:
        start = time.thread_time()
        super().tick(visible)
        self.tick_cpu.append(time.thread_time() - start)


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * fraction) - 1)]


def _serve(address: str, rate: float, ready: Any) -> None:
    """Child process: the demo agent, paced (its own CPU, not the UI's)."""
    from tui.demo.tetragon_server import serve_tetragon

    server = serve_tetragon(address, seed=1, rate=rate)
    ready.send(server.target)
    ready.recv()  # until the parent says stop
    server.stop()


async def run(events: list[Any], rate: float, seconds: float, size: tuple[int, int],
              source: Any = None) -> dict[str, float]:
    source = source if source is not None else FeedSource(events, rate)
    pane = TimedPane(source, forest=ProcessForest(), live_clock=False)
    pane.tick_cpu = []
    app = EbtopApp([pane], initial="processes")
    lags: list[float] = []
    async with app.run_test(size=size) as pilot:
        last = time.monotonic()

        def beat() -> None:
            nonlocal last
            now = time.monotonic()
            lags.append(max(0.0, now - last - HEARTBEAT))
            last = now

        app.set_interval(HEARTBEAT, beat)
        started, cpu_started, ui_started = time.monotonic(), time.process_time(), time.thread_time()
        await asyncio.sleep(seconds)
        elapsed = time.monotonic() - started
        cpu = time.process_time() - cpu_started
        ui_cpu = time.thread_time() - ui_started
        source.stop()
        await pilot.pause()
        ingested = pane.forest.counts["events"]
        result = {
            "fed": getattr(source, "fed", 0), "ingested": ingested, "elapsed": elapsed, "dropped": source.buffer.dropped,
            "rate": ingested / elapsed, "beats": len(lags),
            "p50": statistics.median(lags) * 1000 if lags else 0.0,
            "p99": (sorted(lags)[int(len(lags) * 0.99) - 1] * 1000) if lags else 0.0,
            "max": max(lags) * 1000 if lags else 0.0,
            "nodes": len(pane.forest), "tree_items": len(pane._items), "cpu": cpu / elapsed,
            "ui_cpu_per_k": ui_cpu / max(1, ingested) * 1000 * 1000,
            "tick_cpu_p50": _percentile(pane.tick_cpu, 0.5) * 1000,
            "tick_cpu_p99": _percentile(pane.tick_cpu, 0.99) * 1000, "ticks": len(pane.tick_cpu),
        }
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", default="120x40")
    parser.add_argument("--grpc", action="store_true",
                        help="instead: the demo agent in a child process at this rate over loopback gRPC, read by "
                             "the real client (reader process), into the same pane")
    parser.add_argument("--gc-threshold2", type=int, default=0, metavar="N",
                        help="also run with gc.set_threshold(700, 10, N) (what the app could set; default: skip)")
    args = parser.parse_args()
    width, height = (int(part) for part in args.size.split("x"))
    if args.grpc:
        return run_grpc(args, (width, height))
    count = int(args.rate * args.seconds)
    # about 3.2 events per episode: this episode rate makes event time track the wall clock
    episode_rate = args.rate / 3.2
    generated = time.perf_counter()
    events = [response for _, response in itertools.islice(tetragon_events(1, episode_rate, time.time()), count)]
    # The pre-generated events are a benchmark artifact (live events are transient): keep the cyclic
    # GC from rescanning 100,000 messages on every full collection.
    gc.collect()
    gc.freeze()
    print(f"generated {len(events):,} demo events in {time.perf_counter() - generated:.1f} s "
          f"(event time span {events[-1].time.seconds - events[0].time.seconds} s)")
    cases = [("baseline: pane visible, no events", [], None), (f"{args.rate:,.0f} events/s", events, None)]
    if args.gc_threshold2:
        cases.append((f"{args.rate:,.0f} events/s, gc threshold2 {args.gc_threshold2}", events, args.gc_threshold2))
    defaults = gc.get_threshold()
    for name, feed, threshold2 in cases:
        gc.set_threshold(*(defaults if threshold2 is None else (defaults[0], defaults[1], threshold2)))
        result = asyncio.run(run(feed, args.rate, args.seconds, (width, height)))
        print(f"{name}: ingested {result['ingested']:,} ({result['rate']:,.0f}/s), dropped {result['dropped']:,}, "
              f"loop lag p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms, max {result['max']:.1f} ms "
              f"over {result['beats']} beats; CPU {result['cpu']:.2f} s/s; forest {result['nodes']:,} nodes, "
              f"tree {result['tree_items']:,} items")
        print(f"    UI thread CPU per tick p50 {result['tick_cpu_p50']:.1f} ms, p99 {result['tick_cpu_p99']:.1f} ms "
              f"over {result['ticks']} ticks; UI thread CPU {result['ui_cpu_per_k']:.1f} ms per 1,000 events "
              f"(ticks + rendering)")
    return 0


def run_grpc(args: argparse.Namespace, size: tuple[int, int]) -> int:
    import multiprocessing

    from tui.sources.tetragon import EventFilters, ProcessTetragonSource

    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(target=_serve, args=("127.0.0.1:0", args.rate / 3.2, child), daemon=True)
    server.start()
    target = parent.recv()
    try:
        source = ProcessTetragonSource([target], EventFilters(health_checks=True))
        result = asyncio.run(run([], args.rate, args.seconds, size, source=source))
    finally:
        parent.send("stop")
        server.join(10)
    print(f"gRPC, demo agent paced at ~{args.rate:,.0f} events/s: ingested {result['ingested']:,} "
          f"({result['rate']:,.0f}/s), dropped {result['dropped']:,}, loop lag p50 {result['p50']:.1f} ms, "
          f"p99 {result['p99']:.1f} ms, max {result['max']:.1f} ms; UI process CPU {result['cpu']:.2f} s/s; "
          f"UI thread CPU per tick p99 {result['tick_cpu_p99']:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
