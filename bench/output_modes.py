"""Batch output modes and the process-cache bootstrap: lines per second against compact in the same run.

    .venv/bin/python bench/output_modes.py --flows 20000 --processes 20000

Flows from the seeded demo scenario go through FlowPrinter in every `-o` mode into an in-memory
stream; the baseline is `-o compact` (what ebtop printed before). Then the demo agent's process cache
(a paced agent whose timeline started `--age` seconds ago) is dumped once and bootstrapped into an
empty ProcessForest, against adding the same processes as exec events (the baseline).
"""

from __future__ import annotations

import argparse
import io
import itertools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui.demo.hubble_scenario import flow_responses  # noqa: E402
from tui.model.processes import ProcessForest  # noqa: E402
from tui.proto.tetragon import events_pb2, tetragon_pb2  # noqa: E402
from tui.render.hubble_output import OUTPUTS, FlowPrinter  # noqa: E402


def bench_outputs(count: int) -> None:
    responses = [r for r in itertools.islice(flow_responses(1, 40.0, 0), count * 2) if r.HasField("flow")][:count]
    rates = {}
    for output in OUTPUTS:
        out = io.StringIO()
        printer = FlowPrinter(output, out=out, err=io.StringIO())
        start = time.perf_counter()
        for response in responses:
            printer.write(response)
        printer.close()
        rates[output] = len(responses) / (time.perf_counter() - start)
    base = rates["compact"]
    print("| -o mode | flows/s | ratio to compact |\n|---|---:|---:|")
    for output, rate in rates.items():
        print(f"| {output} | {rate:,.0f} | {rate / base:.2f} |")


def bench_bootstrap(count: int) -> None:
    processes = []
    for i in range(count):
        process = tetragon_pb2.Process(exec_id=f"bm9kZTE6{i:08d}", binary=f"/usr/bin/p{i % 50}", arguments="-x",
                                       parent_exec_id=f"bm9kZTE6{i // 4:08d}" if i else "")
        process.pid.value = 1000 + i
        process.start_time.seconds = 1_700_000_000 + i
        processes.append(process)
    forest = ProcessForest(max_nodes=count * 2)
    start = time.perf_counter()
    forest.bootstrap(processes, node_name="node1")
    boot = count / (time.perf_counter() - start)
    events = []
    for process in processes:
        response = events_pb2.GetEventsResponse(node_name="node1")
        response.process_exec.process.CopyFrom(process)
        events.append(response)
    forest = ProcessForest(max_nodes=count * 2)
    start = time.perf_counter()
    forest.add_many(events)
    execs = count / (time.perf_counter() - start)
    print("\n| case | processes/s | ratio to exec events |\n|---|---:|---:|")
    print(f"| baseline: the same processes as exec events | {execs:,.0f} | 1.00 |")
    print(f"| bootstrap from a cache dump | {boot:,.0f} | {boot / execs:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flows", type=int, default=20_000)
    parser.add_argument("--processes", type=int, default=20_000)
    args = parser.parse_args()
    bench_outputs(args.flows)
    bench_bootstrap(args.processes)


if __name__ == "__main__":
    main()
