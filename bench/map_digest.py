"""What the service map, connect times and policy verdicts add to the per-flow digest (the reader thread's cost).

Times `flow_aggregates.digest` over the seeded demo's flows as it is (talkers, drops, DNS, HTTP, plus the
map's nodes, handshake and policy keys), against a baseline in the same run: the same digest with the
map parts replaced by the talkers-only label code it had before (`endpoint_label`, no map keys). Also the
cost of feeding the map in `FlowStore.add` (UI thread) and of one map snapshot plus layout (once a second).

    .venv/bin/python bench/map_digest.py --flows 20000
"""

from __future__ import annotations

import argparse
import itertools
import time
from unittest import mock

import tui.model.flow_aggregates as fa
from tui.demo.hubble_scenario import flow_responses
from tui.model.flows import FlowStore, record_from_response
from tui.proto.observer import observer_pb2
from tui.render.map_layout import LayoutEdge, LayoutNode, layout


def per_flow_us(flows: list, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for flow in flows:
            fa.digest(flow)
        best = min(best, time.perf_counter() - start)
    return best / len(flows) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flows", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    data = [r.SerializeToString() for r in itertools.islice(flow_responses(seed=7), args.flows)]
    flows = [observer_pb2.GetFlowsResponse.FromString(d).flow for d in data]

    def labels_only(endpoint, ip, names, flow, source):  # noqa: ANN001, ANN202 - the old digest's work
        return None, fa.endpoint_label(endpoint, ip, names)

    patches = (mock.patch.object(fa, "describe_endpoint", labels_only),
               mock.patch.object(fa, "map_keys_of", lambda *a, **k: None),
               mock.patch.object(fa, "policy_of", lambda *a: None))
    baseline = current = float("inf")
    for _ in range(args.rounds):  # interleaved: a busy machine slows both alike
        for patch in patches:
            patch.start()
        baseline = min(baseline, per_flow_us(flows, 1))
        for patch in patches:
            patch.stop()
        current = min(current, per_flow_us(flows, 1))
    print(f"digest baseline (no map keys): {baseline:.2f} us/flow")
    print(f"digest with map, connect, policy keys: {current:.2f} us/flow (ratio {current / baseline:.2f})")

    records = [record_from_response(observer_pb2.GetFlowsResponse.FromString(d)) for d in data]
    store = FlowStore(capacity=1000)
    digests = [r.digest for r in records]
    start = time.perf_counter()
    for item in digests:
        store.aggregates.add(item)
    aggregates_us = (time.perf_counter() - start) / len(digests) * 1e6
    start = time.perf_counter()
    for item in digests:
        store.add_to_map(item)
    map_us = (time.perf_counter() - start) / len(digests) * 1e6
    print(f"FlowStore: aggregates {aggregates_us:.2f} us/flow, map + connect + policies {map_us:.2f} us/flow")
    start = time.perf_counter()
    snapshot = store.service_map.snapshot()
    picture = layout([LayoutNode(n, n.name, n.group) for n in snapshot.nodes],
                     [LayoutEdge(e.client, e.server, e.state) for e in snapshot.edges])
    print(f"snapshot + layout of {len(snapshot.nodes)} nodes, {len(snapshot.edges)} edges: "
          f"{(time.perf_counter() - start) * 1e3:.1f} ms ({picture.width}x{len(picture.rows)} cells)")


if __name__ == "__main__":
    main()
