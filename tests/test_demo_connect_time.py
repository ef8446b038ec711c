"""The connect-time figures ebtop derives from the demo's flows match the handshake times the demo sets."""

from __future__ import annotations

import math

from tui.demo.hubble_scenario import DEFAULT_START_NS, flow_responses, known_connect_times
from tui.model.flow_aggregates import LATENCY_EDGES_MS
from tui.model.flows import FlowStore, record_from_response

SEED = 7
UNTIL_NS = DEFAULT_START_NS + 40 * 10**9


def exact_quantile(values_ns: list[int], fraction: float) -> float:
    """The smallest value with at least `fraction` of the values at or below it, in ms."""
    ordered = sorted(values_ns)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)] / 1e6


def bin_edge(ms: float) -> float:
    """The histogram bin's upper edge a value falls in: the resolution the figures are given at."""
    for edge in LATENCY_EDGES_MS:
        if ms <= edge:
            return edge
    return math.inf


def test_connect_quantiles_by_destination_match_the_scenario() -> None:
    known = known_connect_times(seed=SEED, until_ns=UNTIL_NS)
    assert {"shop/api", "shop/postgres", "shop/redis", "api.payments.example.com"} <= set(known)
    store = FlowStore(window=120)
    for response in flow_responses(seed=SEED):
        if response.flow.time.ToNanoseconds() >= UNTIL_NS:
            break
        record = record_from_response(response)
        assert record is not None
        store.add(record)
    rows = {row.destination: row for row in store.service_map.connect.by_destination()}
    assert set(rows) == set(known)
    for name, values in known.items():
        row = rows[name]
        assert row.connects == len(values), name  # each handshake once (the server's node sees its SYN too)
        for fraction, figure in ((0.5, row.p50_ms), (0.9, row.p90_ms), (0.99, row.p99_ms)):
            assert figure == bin_edge(exact_quantile(values, fraction)), (name, fraction)
    # Cross-node connects are slower than same-node ones, and the internet slower still.
    assert rows["api.payments.example.com"].p50_ms > 10 * rows["shop/api"].p50_ms
