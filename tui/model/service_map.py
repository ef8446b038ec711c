"""The live service map: workloads as nodes, who-talks-to-whom as edges, over the aggregate window.

Built from the flow stream alone (no Prometheus). An edge carries what an operator asks first: ports
and protocols, flows/s, forwarded vs dropped, L7 errors (HTTP 5xx, DNS error rcodes), HTTP p99 and
TCP connect p99. Counting reuses `flow_aggregates.WindowCounter`: per-second buckets over the window,
at most `max_keys` keys per counter, the rest folded into `(other)`; so memory is bounded like the
other views. Every flow lands on exactly one edge, so the edges account for every flow read.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tui.model.connect_time import ConnectRow, ConnectTimes
from tui.model.flow_aggregates import (
    LATENCY_BINS,
    LATENCY_EDGES_MS,
    OTHER,
    V_DROPPED,
    V_FORWARDED,
    WindowCounter,
    percentile_ms,
)
from tui.model.map_digest import KIND_RESERVED, MapKeys, MapNode

OTHER_NODE = MapNode("", OTHER, KIND_RESERVED)
HEALTHY, ERRORING, DROPPING = "healthy", "erroring", "dropping"


@dataclass(frozen=True)
class MapEdge:
    """Traffic from one client node to one server node over the window."""

    client: MapNode
    server: MapNode
    ports: tuple[tuple[int, str], ...]
    """(port, protocol) pairs, busiest first; port 0 for ICMP and the like."""
    flows: int
    rate: float
    forwarded: int
    dropped: int
    other: int
    errors: int
    http_p99_ms: float
    connect: ConnectRow | None

    @property
    def state(self) -> str:
        """`dropping` beats `erroring` beats `healthy`: the colour and marker of the edge."""
        if self.dropped:
            return DROPPING
        return ERRORING if self.errors else HEALTHY

    @property
    def connect_p99_ms(self) -> float:
        return self.connect.p99_ms if self.connect is not None else float("nan")

    def ports_text(self) -> str:
        return ",".join(f"{port}/{proto}" if port else proto for port, proto in self.ports) or "-"


@dataclass(frozen=True)
class MapSnapshot:
    """Nodes and edges at one moment, for the layout and the views."""

    nodes: tuple[MapNode, ...]
    edges: tuple[MapEdge, ...]

    def edges_of(self, node: MapNode) -> list[MapEdge]:
        return [edge for edge in self.edges if node in (edge.client, edge.server)]

    def namespaces(self) -> list[str]:
        return sorted({node.group for node in self.nodes})

    def only_group(self, group: str) -> MapSnapshot:
        """Edges touching one namespace (or group), with their other ends."""
        edges = tuple(e for e in self.edges if group in (e.client.group, e.server.group))
        return MapSnapshot(_nodes_of(edges), edges)

    def around(self, hit: Callable[[MapNode], bool]) -> MapSnapshot:
        """The nodes `hit` picks (the map's `/` filter), their edges and the peers at the other ends.

        "What talks to api" is the question, so a match brings its neighbours along; edges between two
        neighbours that are not picked stay out (every node is the end of an edge, as in `only_group`).
        """
        hits = {node for node in self.nodes if hit(node)}
        edges = tuple(e for e in self.edges if e.client in hits or e.server in hits)
        return MapSnapshot(_nodes_of(edges), edges)


def _nodes_of(edges: Iterable[MapEdge]) -> tuple[MapNode, ...]:
    seen: dict[MapNode, None] = {}
    for edge in edges:
        seen.setdefault(edge.client)
        seen.setdefault(edge.server)
    return tuple(sorted(seen, key=lambda n: (n.group, n.name)))


class ServiceMap:
    """Windowed edges, edge L7 errors and HTTP latency, and TCP connect times, fed one flow at a time."""

    def __init__(self, window: int = 60, max_keys: int = 2000) -> None:
        self.window = window
        self.edges = WindowCounter(4, window, max_keys)  # flows, forwarded, dropped, other
        self.errors = WindowCounter(1, window, max_keys)
        self.http = WindowCounter(1 + LATENCY_BINS, window, max_keys)
        self.connect = ConnectTimes(window, max_keys)

    def add(self, second: int, keys: MapKeys, verdict_class: int, latency_ms: float = -1.0) -> None:
        """Count one flow; `latency_ms` >= 0 for an HTTP response (its L7 latency)."""
        client, server = keys.client, keys.server
        self.edges.add(second, (client, server, keys.port, keys.protocol or "-"), 1 + verdict_class)
        pair = (client, server)
        if keys.l7_error:
            self.errors.add(second, pair, 0)
        if latency_ms >= 0:
            self.http.add(second, pair, 1 + bisect.bisect_left(LATENCY_EDGES_MS, latency_ms))
        if keys.handshake is not None:
            self.connect.add(keys.handshake, client, server)

    def snapshot(self) -> MapSnapshot:
        """Every edge in the window, merged over its ports, busiest first."""
        span = self.edges.span() or 1
        merged: dict[tuple[MapNode, MapNode], list[int]] = {}
        ports: dict[tuple[MapNode, MapNode], list[tuple[int, int, str]]] = {}
        for key, values in self.edges.totals.items():
            if isinstance(key, tuple):
                client, server, port, proto = key
            else:
                client, server, port, proto = OTHER_NODE, OTHER_NODE, 0, "-"
            pair = (client, server)
            total = merged.get(pair)
            if total is None:
                merged[pair] = list(values)
                ports[pair] = []
            else:
                for index, value in enumerate(values):
                    total[index] += value
            ports[pair].append((values[0], port, proto))
        edges = []
        for pair, values in merged.items():
            errors = self.errors.totals.get(pair)
            http = self.http.totals.get(pair)
            p99 = percentile_ms(http, 1, http[0], 0.99) if http else float("nan")
            client, server = pair
            connect = self.connect.for_edge(client, server) if client is not OTHER_NODE else None
            by_count = sorted(ports[pair], key=lambda p: (-p[0], p[1], p[2]))
            edges.append(MapEdge(client, server, tuple((port, proto) for _, port, proto in by_count),
                                 values[0], values[0] / span, values[1 + V_FORWARDED], values[1 + V_DROPPED],
                                 values[3], errors[0] if errors else 0, p99, connect))
        edges.sort(key=lambda e: (-e.flows, e.client, e.server))
        return MapSnapshot(_nodes_of(edges), tuple(edges))

    def flow_count(self) -> int:
        """Flows behind the edges now (every flow of the window, folded ones included)."""
        return sum(values[0] for values in self.edges.totals.values())

    def key_count(self) -> int:
        return sum(len(c.totals) for c in (self.edges, self.errors, self.http, self.connect.histograms))
