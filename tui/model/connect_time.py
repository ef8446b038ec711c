"""TCP connect time from the SYN and SYN-ACK flows of each connection, without Prometheus.

The seed's fourth Grafana panel is `histogram_quantile(0.99, ... tcp_connect_duration ...) by
(destination_workload)`. Here a connection's connect time is the SYN-ACK's flow time minus its first
SYN's flow time, both taken by the same Cilium node (one clock, one observation point):
- preferably where the client waits: the SYN leaving the client's endpoint (FROM_ENDPOINT) and the
  SYN-ACK arriving back on that node;
- at the server's node only when the client is not a Cilium endpoint (host, world), since then no
  client-side measurement will come.
A handshake seen at both endpoints (through Relay) or twice on one node is counted once: a SYN within
DUPLICATE_NS of a measured handshake's SYN on the same connection is that handshake again; a later one
is a new connection reusing the 4-tuple. SYNs waiting for their SYN-ACK and remembered handshakes are
bounded in number and in flow time, like every aggregate here.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from dataclasses import dataclass

from tui.model.flow_aggregates import LATENCY_BINS, LATENCY_EDGES_MS, OTHER, WindowCounter, percentile_ms
from tui.model.map_digest import Handshake, MapNode

PENDING_SECONDS = 10  # a SYN unanswered this long (flow time) is forgotten: dropped, or seen elsewhere
MAX_PENDING = 20_000
MAX_MEASURED = 20_000
MEASURED_SECONDS = 10
DUPLICATE_NS = 1_000_000_000  # copies of one handshake are this close; a reused 4-tuple waits out TIME_WAIT
QUANTILES = (0.5, 0.9, 0.99)


@dataclass(frozen=True)
class ConnectRow:
    """Connect-time quantiles (ms) for one destination workload (or one edge)."""

    destination: str
    connects: int
    rate: float
    """Connections per second over the window."""
    p50_ms: float
    p90_ms: float
    p99_ms: float


class ConnectTimes:
    """Pairs SYNs with SYN-ACKs and keeps windowed histograms by (client, server) map node."""

    def __init__(self, window: int = 60, max_keys: int = 2000, max_pending: int = MAX_PENDING,
                 max_measured: int = MAX_MEASURED) -> None:
        self.histograms = WindowCounter(1 + LATENCY_BINS, window, max_keys)
        self.max_pending = max_pending
        self.max_measured = max_measured
        # (node, connection) -> (first SYN ns, client side, client is endpoint, client, server)
        self._pending: OrderedDict[tuple[str, tuple[str, int, str, int]],
                                   tuple[int, bool, bool, MapNode, MapNode]] = OrderedDict()
        self._measured: OrderedDict[tuple[str, int, str, int], int] = OrderedDict()
        self.measured = 0
        self.duplicates = 0
        self.expired = 0

    def add(self, step: Handshake, client: MapNode, server: MapNode) -> float | None:
        """Feed one SYN or SYN-ACK; returns the connect time in ms when this step completes one."""
        now = step.time_ns
        self._expire(now)
        key = (step.node, step.connection)
        if not step.synack:
            if key not in self._pending and not self._seen(step.connection, now):
                if len(self._pending) >= self.max_pending:
                    self._pending.popitem(last=False)
                    self.expired += 1
                self._pending[key] = (now, step.client_side, step.client_is_endpoint, client, server)
            return None
        pending = self._pending.get(key)
        if pending is None:
            return None
        first_ns, client_side, client_is_endpoint, client, server = pending
        if not client_side and client_is_endpoint:
            return None  # the client's own node measures this one (keep waiting there)
        del self._pending[key]
        if self._seen(step.connection, first_ns):
            self.duplicates += 1
            return None
        measured = self._measured
        measured.pop(step.connection, None)
        if len(measured) >= self.max_measured:
            measured.popitem(last=False)
        measured[step.connection] = first_ns
        elapsed_ms = max(0, now - first_ns) / 1e6
        self.measured += 1
        self.histograms.add(now // 1_000_000_000, (client, server),
                            1 + bisect.bisect_left(LATENCY_EDGES_MS, elapsed_ms))
        return elapsed_ms

    def _seen(self, connection: tuple[str, int, str, int], syn_ns: int) -> bool:
        """Whether a SYN at `syn_ns` belongs to a handshake already measured."""
        measured_at = self._measured.get(connection)
        return measured_at is not None and abs(syn_ns - measured_at) < DUPLICATE_NS

    def _expire(self, now_ns: int) -> None:
        pending = self._pending
        cutoff = now_ns - PENDING_SECONDS * 1_000_000_000
        while pending:
            first = next(iter(pending.values()))[0]
            if first >= cutoff:
                break
            pending.popitem(last=False)
            self.expired += 1
        measured = self._measured
        cutoff = now_ns - MEASURED_SECONDS * 1_000_000_000
        while measured and next(iter(measured.values())) < cutoff:
            measured.popitem(last=False)

    def pending_count(self) -> int:
        return len(self._pending)

    def remembered_count(self) -> int:
        return len(self._measured)

    # -- queries ---------------------------------------------------------------------------------
    def by_destination(self, limit: int = 200) -> list[ConnectRow]:
        """p50/p90/p99 by destination workload over the window, slowest p99 first."""
        merged: dict[str, list[int]] = {}
        for key, values in self.histograms.totals.items():
            name = key[1].label if isinstance(key, tuple) else OTHER
            total = merged.get(name)
            if total is None:
                merged[name] = list(values)
            else:
                for index, value in enumerate(values):
                    total[index] += value
        span = self.histograms.span() or 1
        rows = [_row(name, values, span) for name, values in merged.items()]
        rows.sort(key=lambda r: (-r.p99_ms, r.destination))
        return rows[:limit]

    def for_edge(self, client: MapNode, server: MapNode) -> ConnectRow | None:
        values = self.histograms.totals.get((client, server))
        return None if values is None else _row(server.label, values, self.histograms.span() or 1)


def _row(name: str, values: list[int], span: int) -> ConnectRow:
    count = values[0]
    p50, p90, p99 = (percentile_ms(values, 1, count, q) for q in QUANTILES)
    return ConnectRow(name, count, count / span, p50, p90, p99)
