"""What reading the demo's two streams costs with grpcio alone, against ebtop on the same streams.

Issue 11 asks `ebtop --demo` to cost at most 5% of a core and 1,000 syscalls/s per tab. This measures
the floor under those goals: one demo child (the same servers `--demo` starts, `--demo-seed 7`), then,
one after another on its sockets,

- `floor, grpcio default`: a Python process that only iterates GetFlows (follow) and GetEvents in two
  threads and drops every message (no parsing beyond grpcio's, no output);
- `floor, single-threaded streams`: the same with grpcio's `SingleThreadedUnaryStream` channel option,
  as ebtop's sources read (tui/sources/hubble_tls.py);
- `ebtop`: `ebtop --hubble-server unix://… --tetragon-server unix://…` in tmux at 120x40, Flows visible,
  measured as bench/ui_cost.py measures (CPU and syscalls of its process tree).

CPU from /proc, syscalls counted in the kernel per tgid (bcc; root). Prints each row and ebtop's ratio
to the single-threaded floor.

    .venv/bin/python bench/grpc_floor.py --window 10     # as root; about 2 minutes
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

FLOOR_WARMUP = 5.0  # seconds: connected, the servers' history drained
EBTOP_WARMUP = 20.0  # seconds: the Syscalls pane's BPF compile over (ui_cost.py's WARMUP)


def read_streams(hubble: str, tetragon: str, single_threaded: bool) -> None:
    """The child: iterate both streams forever, dropping every message."""
    import grpc

    from tui.proto.observer import observer_pb2, observer_pb2_grpc
    from tui.proto.tetragon import events_pb2, sensors_pb2_grpc

    options = [("SingleThreadedUnaryStream", 1)] if single_threaded else []

    def flows() -> None:
        with grpc.insecure_channel(hubble, options=options) as channel:
            for _ in observer_pb2_grpc.ObserverStub(channel).GetFlows(observer_pb2.GetFlowsRequest(follow=True)):
                pass

    def events() -> None:
        with grpc.insecure_channel(tetragon, options=options) as channel:
            for _ in sensors_pb2_grpc.FineGuidanceSensorsStub(channel).GetEvents(events_pb2.GetEventsRequest()):
                pass

    threading.Thread(target=events, daemon=True).start()
    flows()


def measure_pid(pid: int, counter, window: float) -> dict[str, float]:
    import ui_cost

    pids = ui_cost.tree(pid)
    cpu0, sys0, t0 = ui_cost.cpu_seconds(pids), counter.snapshot(), time.monotonic()
    time.sleep(window)
    cpu1, sys1, t1 = ui_cost.cpu_seconds(pids), counter.snapshot(), time.monotonic()
    calls = sum(sys1.get(p, 0) - sys0.get(p, 0) for p in pids) if counter.bpf else float("nan")
    return {"cpu": (cpu1 - cpu0) / (t1 - t0) * 100, "syscalls": calls / (t1 - t0)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--read", nargs=2, metavar=("HUBBLE", "TETRAGON"), help=argparse.SUPPRESS)
    parser.add_argument("--single-threaded", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read:
        read_streams(*args.read, single_threaded=args.single_threaded)
        return 0

    import ui_cost

    from tui.demo.runner import spawn_demo

    counter = ui_cost.SyscallCounter()
    demo = spawn_demo(seed=7)
    demo.wait_ready()
    rows: list[tuple[str, dict[str, float]]] = []
    try:
        for name, extra in (("floor, grpcio default", []), ("floor, single-threaded streams", ["--single-threaded"])):
            child = subprocess.Popen([sys.executable, __file__, "--read", demo.hubble_target, demo.tetragon_target,
                                      *extra], env={**os.environ, "PYTHONPATH": str(ROOT)})
            try:
                time.sleep(FLOOR_WARMUP)
                rows.append((name, measure_pid(child.pid, counter, args.window)))
            finally:
                child.kill()
                child.wait()
        term = ui_cost.Term(ui_cost.ebtop_command("--hubble-server", demo.hubble_target,
                                                  "--tetragon-server", demo.tetragon_target))
        try:
            term.wait(lambda screen: "Flows" in screen)
            time.sleep(EBTOP_WARMUP)
            rows.append(("ebtop, Flows visible", measure_pid(term.pid, counter, args.window)))
        finally:
            term.close()
    finally:
        demo.stop()
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    floor = rows[1][1]
    for name, row in rows:
        ratio = f", {row['cpu'] / floor['cpu']:.1f}x the single-threaded floor's CPU" if floor["cpu"] else ""
        print(f"{name:34} cpu {row['cpu']:5.1f}%, syscalls {row['syscalls']:8,.0f}/s{ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
