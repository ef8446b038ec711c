"""Join cost per flow and socket-index memory at 20,000 flows/s and 1,000 new sockets/s.

Event time is simulated (the index works on the events' own timestamps): every second of it brings
`--sockets` new connections (connect + accept + close after 20-800 ms, ports drawn from the ephemeral
range so they get reused) and `--flows` flows; 80% of the flows belong to a live connection (either
direction), 20% to nothing (DNS, ICMP-less noise, other nodes). The join is `FlowJoiner.process_of`
on a parsed flow. Baseline in the same run: `digest(flow)`, what the Flows model already does once
per flow; the ratio says what the join adds to that.

Memory: tracemalloc of the index after `--seconds` of event time (closed sockets are kept 10 s, so the
index holds ~10 s x sockets/s records at steady state), per socket and against the flow ring's
10,000 records measured the same way.

    .venv/bin/python bench/join_cost.py [--seconds 40] [--flows 20000] [--sockets 1000]
"""

from __future__ import annotations

import argparse
import gc
import random
import time
import tracemalloc

from tui.model.flow_aggregates import digest
from tui.model.flows import FlowStore, record_from_response
from tui.model.join import FlowJoiner
from tui.model.sockets import ACCEPT, CONNECT, ProcessRef
from tui.proto.observer import observer_pb2

T0 = 1_767_225_600 * 10**9
SECOND = 10**9


def make_flow(t_ns: int, src: tuple[str, int], dst: tuple[str, int]) -> observer_pb2.GetFlowsResponse:
    response = observer_pb2.GetFlowsResponse(node_name="worker-1")
    response.time.FromNanoseconds(t_ns)
    flow = response.flow
    flow.time.FromNanoseconds(t_ns)
    flow.verdict = 1
    flow.IP.source, flow.IP.destination = src[0], dst[0]
    flow.l4.TCP.source_port, flow.l4.TCP.destination_port = src[1], dst[1]
    flow.source.namespace, flow.source.pod_name = "shop", "frontend-7d9c5b7f8-x2lqp"
    flow.destination.namespace, flow.destination.pod_name = "shop", "api-5f6b8d9c4-k7wzn"
    flow.Summary = "TCP Flags: ACK"
    return response


def simulate(args, rng, clients, servers, processes, index, *, with_flows: bool):  # noqa: ANN001, ANN201
    """10 ms steps of event time: new connections, closes due, and (optionally) that step's flows."""
    live: list[tuple[int, tuple, tuple]] = []  # (close_ns, client, server)
    flows_per_tick = args.flows // 100
    sockets_per_tick = max(1, args.sockets // 100)
    for tick in range(args.seconds * 100):
        now = T0 + tick * SECOND // 100
        for _ in range(sockets_per_tick):
            client = (rng.choice(clients), rng.randint(32768, 60999))
            server = rng.choice(servers)
            index.open("TCP", *client, *server, rng.choice(processes), now, CONNECT)
            index.open("TCP", *server, *client, rng.choice(processes), now + 100_000, ACCEPT)
            live.append((now + rng.randint(20, 800) * SECOND // 1000, client, server))
        still = []
        for item in live:
            if item[0] <= now:
                index.close("TCP", *item[1], *item[2], item[0])
                index.close("TCP", *item[2], *item[1], item[0])
            else:
                still.append(item)
        live = still
        if not with_flows:
            yield now, []
            continue
        flows = []
        for i in range(flows_per_tick):
            t = now + i * (SECOND // 100) // flows_per_tick
            if live and rng.random() < 0.8:
                _, client, server = rng.choice(live)
                response = make_flow(t, client, server) if rng.random() < 0.5 else make_flow(t, server, client)
            else:
                response = make_flow(t, (rng.choice(clients), rng.randint(1024, 65535)), ("10.0.9.99", 9))
            flows.append(response.flow)
        yield now, flows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=40, help="seconds of event time (default 40)")
    parser.add_argument("--flows", type=int, default=20_000, help="flows per second (default 20000)")
    parser.add_argument("--sockets", type=int, default=1_000, help="new sockets per second (default 1000)")
    args = parser.parse_args()
    rng = random.Random(7)
    clients = [f"10.0.{i // 200}.{i % 200 + 2}" for i in range(400)]
    servers = [(f"10.0.9.{i + 2}", port) for i, port in enumerate((8080, 5432, 6379, 443, 80))]
    processes = [ProcessRef(1000 + i, f"/usr/bin/app{i % 7}", exec_id=f"e{i}", namespace="shop", pod=f"p{i}")
                 for i in range(500)]

    joiner = FlowJoiner()
    index = joiner.index
    join_ns = base_ns = 0
    asked = joined = 0
    for _now, flows in simulate(args, rng, clients, servers, processes, index, with_flows=True):
        started = time.perf_counter_ns()
        for flow in flows:
            digest(flow)
        base_ns += time.perf_counter_ns() - started
        started = time.perf_counter_ns()
        for flow in flows:
            if joiner.process_of(flow) is not None:
                joined += 1
        join_ns += time.perf_counter_ns() - started
        asked += len(flows)

    # memory, measured apart (tracemalloc slows every allocation): the same socket schedule again
    del joiner, index
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    index = FlowJoiner().index
    for _ in simulate(args, random.Random(7), clients, servers, processes, index, with_flows=False):
        pass
    gc.collect()
    index_bytes = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    tracemalloc.start()
    store = FlowStore()
    for i in range(10_000):
        record = record_from_response(make_flow(T0 + i, ("10.0.1.2", 40000 + i % 20000), ("10.0.9.2", 8080)))
        if record is not None:
            store.add(record)
    gc.collect()
    ring_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()

    sockets = len(index)
    print(f"event time {args.seconds} s, {args.flows} flows/s, {args.sockets} new connections/s "
          f"(2 sockets each: connect + accept)")
    print(f"flows asked {asked}, joined {joined} ({100 * joined / asked:.1f}%), index: {index.counters()}")
    print(f"baseline digest(flow): {base_ns / asked:8.0f} ns/flow")
    print(f"join process_of(flow): {join_ns / asked:8.0f} ns/flow  ratio {join_ns / base_ns:.2f}")
    print(f"join at {args.flows} flows/s: {args.flows * join_ns / asked / 1e9 * 100:.1f}% of one core")
    print(f"index memory: {index_bytes / 1e6:.1f} MB for {sockets} sockets ({index_bytes / max(1, sockets):.0f} B/socket)"
          f"; flow ring of 10,000: {ring_bytes / 1e6:.1f} MB; ratio {index_bytes / ring_bytes:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
