"""Bare ProcessForest ingest rate (exec, kprobe, exit) and memory under a fork storm.

    .venv/bin/python bench/processes_forest.py [--events 300000] [--storm 1000000]

Events are synthetic `GetEventsResponse` protobufs built before timing (a pod shell forking
short-lived children: exec + tcp_connect kprobe + exit each). Baseline in the same run: a loop that
only touches every event (`WhichOneof` + the process's exec_id), so the ratio says what the linking
rules cost on top of reading the message. The fork storm feeds one million short-lived processes
(exec + exit) through a forest with the default 50,000-node cap and reports the node count and the
process RSS growth at checkpoints: memory must stay flat once the cap is reached.
"""

from __future__ import annotations

import argparse
import gc
import resource
import time
from collections.abc import Iterator

from tui.model.processes import ProcessForest
from tui.proto.tetragon import events_pb2, tetragon_pb2

NODE = "worker-1"


def _process(exec_id: str, pid: int, binary: str, args: str, parent: str, start_ns: int,
             flags: str = "execve clone") -> tetragon_pb2.Process:
    process = tetragon_pb2.Process(exec_id=exec_id, binary=binary, arguments=args, flags=flags,
                                   parent_exec_id=parent, cwd="/")
    process.pid.value = pid
    process.uid.value = 1000
    process.start_time.FromNanoseconds(start_ns)
    pod = process.pod
    pod.namespace = "shop"
    pod.name = "api-5f6b8d9c4-k7wzn"
    pod.container.name = "api"
    pod.container.image.name = "ghcr.io/example/shop-api:2.4.1"
    return process


def workload(count: int, start_ns: int = 1_700_000_000 * 10**9) -> Iterator[events_pb2.GetEventsResponse]:
    """exec, kprobe, exit triples of children of one long-lived shell (plus the shell itself)."""
    shell = _process("shell", 100, "/bin/sh", "-c loop", "", start_ns)
    first = events_pb2.GetEventsResponse(node_name=NODE)
    first.process_exec.process.CopyFrom(shell)
    first.time.FromNanoseconds(start_ns)
    yield first
    step = 100_000  # 0.1 ms of event time between processes
    for index in range((count - 1) // 3):
        t = start_ns + (index + 1) * step
        exec_id = f"child-{index}"
        child = _process(exec_id, 1000 + index % 4_000_000, "/usr/bin/curl", f"-s https://x/{index}", "shell", t)
        exec_event = events_pb2.GetEventsResponse(node_name=NODE)
        exec_event.process_exec.process.CopyFrom(child)
        exec_event.process_exec.parent.CopyFrom(shell)
        exec_event.time.FromNanoseconds(t)
        yield exec_event
        kprobe = events_pb2.GetEventsResponse(node_name=NODE)
        body = kprobe.process_kprobe
        body.process.CopyFrom(child)
        body.function_name = "tcp_connect"
        body.policy_name = "connect"
        body.action = tetragon_pb2.KPROBE_ACTION_POST
        sock = body.args.add().sock_arg
        sock.protocol, sock.saddr, sock.daddr, sock.sport, sock.dport = "IPPROTO_TCP", "10.0.1.42", "10.0.2.30", 40000, 5432
        kprobe.time.FromNanoseconds(t + step // 3)
        yield kprobe
        exit_event = events_pb2.GetEventsResponse(node_name=NODE)
        exit_event.process_exit.process.CopyFrom(child)
        exit_event.process_exit.status = index % 3
        exit_event.time.FromNanoseconds(t + 2 * step // 3)
        yield exit_event


def baseline(events: list) -> tuple[float, float]:
    """(wall seconds, CPU seconds) to touch every event."""
    start, cpu = time.perf_counter(), time.process_time()
    touched = 0
    for response in events:
        kind = response.WhichOneof("event")
        touched += len(getattr(response, kind).process.exec_id)
    return time.perf_counter() - start, time.process_time() - cpu


def ingest(events: list, retention: float = 60.0) -> tuple[float, float, ProcessForest]:
    """(wall seconds, CPU seconds, the forest) to ingest every event."""
    forest = ProcessForest(retention=retention)
    start, cpu = time.perf_counter(), time.process_time()
    add = forest.add
    for index, response in enumerate(events):
        add(response)
        if index % 1000 == 0:
            forest.prune()
    forest.prune()
    return time.perf_counter() - start, time.process_time() - cpu, forest


def rss_mib() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fork_storm(processes: int, cap: int = 50_000) -> list[tuple[int, int, float]]:
    """Feed `processes` short-lived processes (exec + exit), generated on the fly, never retained."""
    forest = ProcessForest(retention=60.0, max_nodes=cap)
    checkpoints = []
    stream = workload(processes * 3 + 1)
    seen = 0
    for response in stream:
        if response.WhichOneof("event") == "process_kprobe":
            continue
        forest.add(response)
        seen += 1
        if seen % 2000 == 0:
            forest.prune()
            forest.take_changes()
        if seen % 200_000 == 0:
            gc.collect()
            checkpoints.append((seen // 2, len(forest), rss_mib()))
    return checkpoints


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--storm", type=int, default=1_000_000, help="processes in the fork storm (0: skip)")
    args = parser.parse_args()

    events = list(workload(args.events))
    # The pre-built event list is an artifact of the benchmark (live events are transient): keep the
    # cyclic GC from rescanning it on every collection.
    gc.collect()
    gc.freeze()
    bases = [baseline(events) for _ in range(3)]
    base_wall, base_cpu = min(b[0] for b in bases), min(b[1] for b in bases)
    runs = [ingest(events) for _ in range(3)]
    wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
    forest = runs[-1][2]
    n = len(events)
    print(f"events: {n:,} (exec {forest.counts['exec']:,}, kprobe {forest.counts['policy']:,}, "
          f"exit {forest.counts['exit']:,})")
    print(f"baseline (touch each event): {n / base_wall:,.0f} events/s wall, {n / base_cpu:,.0f} per CPU-second")
    print(f"forest ingest (best of 3):   {n / wall:,.0f} events/s wall, {n / cpu:,.0f} per CPU-second "
          f"({cpu / n * 1e6:.2f} us CPU/event; ratio to baseline {base_cpu / cpu:.2f})")
    print(f"nodes at end: {len(forest):,} (retention 60 s of event time, pruned {forest.counts['pruned']:,})")
    del events, runs, forest, bases
    gc.collect()
    if args.storm:
        start_rss = rss_mib()
        print(f"fork storm: {args.storm:,} processes, cap 50,000 nodes; RSS before {start_rss:.0f} MiB")
        for done, nodes, rss in fork_storm(args.storm):
            print(f"  after {done:>9,} processes: {nodes:>6,} nodes, RSS {rss:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
