"""Flows pane throughput and event-loop lag against a bare grpcio client, in the same run.

1. Unpaced stream (server in its own process, bench/flows_server.py): flows/s a bare client reads and
   parses, then flows/s ebtop drains into its model with the Flows pane visible (headless app), then
   the bare client again. Ratio = ebtop / mean(bare). Goal >= 0.8, and no frozen frame (the list
   keeps repainting: the longest gap between list renders is reported).
2. Paced stream at --lag-rate flows/s (default 20,000): the event loop's lag measured by a 20 ms
   heartbeat timer while the pane is visible; p50/p99/max. Goal p99 <= 50 ms.

    .venv/bin/python bench/flows_throughput.py [--seconds 10] [--lag-rate 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc

from tui.app import EbtopApp
from tui.model.flows import FlowStore
from tui.panes.flows import FlowsPane
from tui.proto.observer import observer_pb2
from tui.sources.base import BoundedBuffer
from tui.sources.hubble import HubbleSource
from tui.sources.hubble_process import ProcessHubbleSource
from tui.sources.hubble_tls import resolve

HERE = Path(__file__).parent
TICKS = os.sysconf("SC_CLK_TCK")

def thread_cpu() -> dict[str, float]:
    """CPU seconds (user+system) of every thread of this process, by thread name (from /proc)."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict[str, float] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = names.get(int(tid), "grpc/other")
        if name == "MainThread":
            name = "UI (event loop)"
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / TICKS
    return out

class Server:
    def __init__(self, rate: float) -> None:
        self.proc = subprocess.Popen([sys.executable, str(HERE / "flows_server.py"), "--rate", str(rate)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not line.startswith("READY "):
            raise RuntimeError(f"server did not start: {line!r}")
        self.target = line.split()[1]

    def close(self) -> None:
        self.proc.stdin.close()  # type: ignore[union-attr]
        self.proc.wait(10)

BARE_CPU: list[dict[str, float]] = []

def bare_client(target: str, seconds: float, warmup: float = 1.0) -> float:
    """Read and parse for `seconds` after a warmup; flows per second (CPU per flow in BARE_CPU)."""
    channel = grpc.insecure_channel(target)
    method = channel.unary_stream("/observer.Observer/GetFlows",
                                  request_serializer=observer_pb2.GetFlowsRequest.SerializeToString,
                                  response_deserializer=observer_pb2.GetFlowsResponse.FromString)
    call = method(observer_pb2.GetFlowsRequest(follow=True))
    count = 0
    start = time.monotonic()
    measure_from = start + warmup
    counted_from = None
    for _ in call:
        now = time.monotonic()
        if counted_from is None:
            if now >= measure_from:
                counted_from, count = now, 0
                cpu0 = thread_cpu()
            continue
        count += 1
        if now - counted_from >= seconds:
            break
    cpu1 = thread_cpu()
    BARE_CPU.append({k.replace("UI (event loop)", "reader (main thread)"): round((v - cpu0.get(k, 0.0)) / count * 1e6, 1)
                     for k, v in cpu1.items() if v - cpu0.get(k, 0.0) > 0})
    call.cancel()
    channel.close()
    return count / (time.monotonic() - counted_from)  # type: ignore[operator]

async def ebtop_run(target: str, seconds: float, warmup: float = 1.0, reader: str = "thread") -> dict[str, float]:
    store = FlowStore()
    request = observer_pb2.GetFlowsRequest(follow=True)
    if reader.startswith("process"):
        source = ProcessHubbleSource(resolve(target), request, buffer=BoundedBuffer(200_000),
                                     digest_in_child=reader == "process-digest")
    else:
        source = HubbleSource(resolve(target), request, buffer=BoundedBuffer(200_000))
    pane = FlowsPane(store, source)
    app = EbtopApp([pane])
    beats: list[float] = []
    renders: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        flow_list = pane.flow_list
        original = flow_list.render_line

        def counting_render_line(y: int):  # noqa: ANN202
            if y == 0:
                renders.append(time.monotonic())
            return original(y)

        flow_list.render_line = counting_render_line  # type: ignore[method-assign]
        interval = 0.02
        app.set_interval(interval, lambda: beats.append(time.monotonic()))
        await asyncio.sleep(warmup)
        flows0, received0, t0 = store.flows, source.buffer.received, time.monotonic()
        cpu0 = thread_cpu()
        beats.clear()
        renders.clear()
        await asyncio.sleep(seconds)
        elapsed = time.monotonic() - t0
        flows, received = store.flows - flows0, source.buffer.received - received0
        dropped = source.buffer.dropped
        cpu1 = thread_cpu()
        await pilot.pause()
    lags = [max(0.0, (b - a) - interval) * 1000 for a, b in zip(beats, beats[1:], strict=False)]
    lags.sort()
    render_gaps = [b - a for a, b in zip(renders, renders[1:], strict=False)]
    cpu = {name: (cpu1.get(name, 0.0) - cpu0.get(name, 0.0)) / max(flows, 1) * 1e6 for name in cpu1}
    return {
        "cpu_us_per_flow": {k: round(v, 1) for k, v in sorted(cpu.items()) if v > 0.05},  # type: ignore[dict-item]
        "flows_per_s": flows / elapsed,
        "received_per_s": received / elapsed,
        "dropped_by_ebtop": dropped,
        "lag_p50_ms": statistics.median(lags) if lags else float("nan"),
        "lag_p99_ms": lags[int(len(lags) * 0.99) - 1] if lags else float("nan"),
        "lag_max_ms": lags[-1] if lags else float("nan"),
        "frames": len(renders),
        "longest_frame_gap_ms": max(render_gaps) * 1000 if render_gaps else float("nan"),
    }

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--lag-rate", type=float, nargs="+", default=[20_000.0])
    parser.add_argument("--skip-unpaced", action="store_true")
    parser.add_argument("--readers", nargs="+", choices=("thread", "process", "process-digest"),
                        default=["thread", "process", "process-digest"])
    args = parser.parse_args()

    if not args.skip_unpaced:
        unpaced(args)
    for rate in args.lag_rate:
        paced_run(args, rate)
    print(f"load average during the run: {os.getloadavg()[0]:.1f} (2 CPUs)")
    return 0

def unpaced(args: argparse.Namespace) -> None:
    server = Server(0)
    results = {}
    try:
        bare1 = bare_client(server.target, args.seconds)
        for reader in args.readers:
            results[reader] = asyncio.run(ebtop_run(server.target, args.seconds, reader=reader))
        bare2 = bare_client(server.target, args.seconds)
    finally:
        server.close()
    bare = (bare1 + bare2) / 2
    print(f"unpaced: bare client {bare1:,.0f} / {bare2:,.0f} flows/s (mean {bare:,.0f}); CPU µs/flow {BARE_CPU}")
    for reader, ebtop in results.items():
        print(f"  ebtop ({reader} reader): {ebtop['flows_per_s']:,.0f} flows/s into the model -> ratio "
              f"{ebtop['flows_per_s'] / bare:.2f}; frames {ebtop['frames']:.0f}, longest gap between list "
              f"renders {ebtop['longest_frame_gap_ms']:.0f} ms, lag p99 {ebtop['lag_p99_ms']:.1f} ms, "
              f"dropped by ebtop {ebtop['dropped_by_ebtop']:.0f}; CPU µs/flow {ebtop['cpu_us_per_flow']}")

def paced_run(args: argparse.Namespace, rate: float) -> None:
    server = Server(rate)
    try:
        for reader in args.readers:
            paced = asyncio.run(ebtop_run(server.target, args.seconds, reader=reader))
            print(f"paced {rate:,.0f} flows/s, {reader} reader: ebtop {paced['flows_per_s']:,.0f} flows/s "
                  f"into the model, lag p50 {paced['lag_p50_ms']:.1f} ms, p99 {paced['lag_p99_ms']:.1f} ms, "
                  f"max {paced['lag_max_ms']:.1f} ms, longest gap between list renders "
                  f"{paced['longest_frame_gap_ms']:.0f} ms, dropped by ebtop {paced['dropped_by_ebtop']:.0f}; "
                  f"CPU µs/flow {paced['cpu_us_per_flow']}")
    finally:
        server.close()

if __name__ == "__main__":
    sys.exit(main())
