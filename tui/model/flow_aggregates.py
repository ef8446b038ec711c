"""Sliding-window aggregates over flows: what the seed's Grafana boards ask Prometheus, without it.

Four views, each a keyed counter over the last `window` seconds of flow time, updated per flow:
- top talkers: source -> destination (workload, or IP/FQDN outside the cluster), port, protocol,
  with flows and verdict counts (cilium/hubble#1697);
- drops by reason, source, destination and port (the reason spelled as in the flow list);
- DNS responses by rcode, query name, query type and source workload (the failing names first);
- HTTP responses by destination workload, method and status, with a latency histogram for p50/p90/p99.

`digest` turns one flow into the few keys these need (a pure function, cheap enough for the reader
thread); `FlowAggregates.add` then only increments per-second buckets and running totals. Memory is
bounded by `window` buckets times `max_keys` keys per view; keys past the cap fold into `(other)`.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable
from dataclasses import dataclass

from tui.model.hubble_names import EVENT_DROP, EVENT_POLICY_VERDICT, RESERVED_IDENTITIES, drop_reason_text
from tui.model.map_digest import MapKeys, PolicyKey, describe_endpoint, map_keys_of, policy_of
from tui.proto.flow import flow_pb2

OTHER = "(other)"

# Verdict classes counted per talker: index into the talker value vector after the flow count.
V_FORWARDED, V_DROPPED, V_OTHER = 0, 1, 2
_V = flow_pb2.Verdict
_DROPPED = flow_pb2.DROPPED
_FORWARDED = flow_pb2.FORWARDED
_VERDICT_CLASS = {_V.FORWARDED: V_FORWARDED, _V.REDIRECTED: V_FORWARDED, _V.DROPPED: V_DROPPED,
                  _V.ERROR: V_DROPPED}

DNS_RCODES = {0: "No Error", 1: "Format Error", 2: "Server Failure", 3: "Non-Existent Domain",
              4: "Not Implemented", 5: "Query Refused", 6: "Name Exists when it should not",
              7: "RR Set Exists when it should not", 8: "RR Set that should exist does not",
              9: "Server Not Authoritative for zone", 10: "Name not contained in zone"}

MAX_QUERY_CHARS = 256  # query names are keys: longer ones (not valid DNS) are cut to bound memory
# The mnemonics dig prints (RFC 6895 names): what a person chasing DNS errors searches for.
DNS_RCODE_MNEMONICS = dict(zip(DNS_RCODES.values(), ("NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
                                                      "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
                                                      "NOTZONE"), strict=True))

# Latency histogram bin upper edges in milliseconds: geometric, ~10% apart, 0.05 ms .. ~2 min.
LATENCY_EDGES_MS: tuple[float, ...] = tuple(0.05 * 1.1**i for i in range(155))
LATENCY_BINS = len(LATENCY_EDGES_MS) + 1


def endpoint_label(endpoint: flow_pb2.Endpoint, ip: str, names: object) -> str:
    """Who an endpoint is, for people: `ns/workload`, `ns/pod`, a DNS name, `(host)`-like, or the IP."""
    namespace = endpoint.namespace
    workloads = endpoint.workloads
    if len(workloads):
        name = workloads[0].name
        return f"{namespace}/{name}" if namespace else name
    pod = endpoint.pod_name
    if pod:
        return f"{namespace}/{pod}" if namespace else pod
    if len(names):  # type: ignore[arg-type]
        return names[0]  # type: ignore[index]
    identity = endpoint.identity
    reserved = RESERVED_IDENTITIES.get(identity)
    if reserved is not None and identity not in (0, 2, 9, 10):
        return f"({reserved})"
    return ip or "(unknown)"


@dataclass(slots=True)
class FlowDigest:
    """The aggregate keys of one flow (None where a view does not count it)."""

    second: int
    talker: tuple[str, str, int, str] | None
    verdict_class: int
    drop: tuple[str, str, str, int, str] | None = None  # reason, source, destination, port, protocol
    dns: tuple[str, str, str, str] | None = None  # rcode, qtypes, query name, asking workload
    http: tuple[str, str, int] | None = None
    latency_ms: float = 0.0
    map: MapKeys | None = None  # the service map's edge (every flow has one)
    policy: tuple[PolicyKey, int] | None = None  # a policy drop or audit verdict, and its column


def _l4(flow: flow_pb2.Flow) -> tuple[str, int, int]:
    if not flow.HasField("l4"):
        return "", 0, 0
    kind = flow.l4.WhichOneof("protocol")
    if kind is None:
        return "", 0, 0
    l4 = getattr(flow.l4, kind)
    if kind in ("TCP", "UDP", "SCTP"):
        return kind, l4.source_port, l4.destination_port
    return kind, 0, 0


def digest(flow: flow_pb2.Flow, fallback_second: int = 0) -> FlowDigest:
    """Extract every aggregate key of `flow` in one pass over its fields."""
    has = flow.HasField
    second = flow.time.seconds if has("time") else fallback_second
    ip_src = ip_dst = ""
    if has("IP"):
        ip = flow.IP
        ip_src, ip_dst = ip.source, ip.destination
    # The talkers' labels and the service map's nodes, from one read of each endpoint.
    src_node, src = describe_endpoint(flow.source, ip_src, flow.source_names, flow, True)
    dst_node, dst = describe_endpoint(flow.destination, ip_dst, flow.destination_names, flow, False)
    l7_error = False
    proto, sport, dport = _l4(flow)
    reply = has("is_reply") and flow.is_reply.value
    if reply:
        client, server, port = dst, src, sport
    else:
        client, server, port = src, dst, dport
    verdict = flow.verdict
    out = FlowDigest(second, (client, server, port, proto or "-"), _VERDICT_CLASS.get(verdict, V_OTHER))
    event_type = flow.event_type.type
    if verdict == _DROPPED and event_type != EVENT_POLICY_VERDICT:
        # Spelled as the flow list spells it (`Policy denied`, hubble's text of the datapath code): the
        # DropReason enum numbers are those codes, so the description and the sub-type read the same.
        reason = flow.drop_reason_desc
        if reason:
            text = drop_reason_text(reason)
        elif event_type == EVENT_DROP:
            text = drop_reason_text(flow.event_type.sub_type)
        else:
            text = drop_reason_text(flow.drop_reason) if flow.drop_reason else "unknown"
        out.drop = (text, src, dst, dport, proto or "-")
    if has("l7"):
        l7 = flow.l7
        record = l7.WhichOneof("record")
        if l7.type == _RESPONSE:
            if record == "dns":
                dns = l7.dns
                rcode = DNS_RCODES.get(dns.rcode, str(dns.rcode))
                qtypes = ",".join(dns.qtypes) or "-"
                query = dns.query[:MAX_QUERY_CHARS] or "-"  # a DNS name is <= 253 chars; data may lie
                # A response travels server -> client: the asking workload is the destination.
                out.dns = (rcode, qtypes, query, dst)
                l7_error = dns.rcode != 0
            elif record == "http":
                http = l7.http
                out.http = (src, http.method or "-", http.code)
                out.latency_ms = l7.latency_ns / 1e6
                l7_error = http.code >= 500
    out.map = keys = map_keys_of(flow, src_node, dst_node, ip_src, ip_dst, proto, sport, dport, reply, l7_error,
                                 event_type)
    if verdict != _FORWARDED:
        out.policy = policy_of(flow, keys)
    return out


_RESPONSE = flow_pb2.RESPONSE


class WindowCounter:
    """Keyed vectors of counts over the last `window` seconds, kept in per-second buckets.

    `add` touches the current bucket and the running totals; buckets that fall out of the window are
    subtracted from the totals, so a query costs O(keys), never O(flows).
    """

    def __init__(self, width: int, window: int = 60, max_keys: int = 2000) -> None:
        self.width = width
        self.window = window
        self.max_keys = max_keys
        self.totals: dict[Hashable, list[int]] = {}
        self._buckets: dict[int, dict[Hashable, list[int]]] = {}
        self.newest: int | None = None
        self.first_second: int | None = None
        self.folded = 0

    def _bucket(self, second: int) -> dict[Hashable, list[int]] | None:
        newest = self.newest
        if newest is None:
            self.newest = self.first_second = second
        elif second > newest:
            self._advance(second)
        elif second <= newest - self.window:
            return None  # too old for the window: it would expire at once
        bucket = self._buckets.get(second)
        if bucket is None:
            bucket = self._buckets[second] = {}
        return bucket

    def _advance(self, second: int) -> None:
        cutoff = second - self.window  # buckets <= cutoff expire
        for old in [s for s in self._buckets if s <= cutoff]:
            self._expire(self._buckets.pop(old))
        self.newest = second

    def _expire(self, bucket: dict[Hashable, list[int]]) -> None:
        totals = self.totals
        for key, values in bucket.items():
            total = totals[key]
            for index, value in enumerate(values):
                if value:
                    total[index] -= value
            if total[0] <= 0:
                del totals[key]

    def add(self, second: int, key: Hashable, index: int, amount: int = 1) -> None:
        """Count `amount` at `index` (and 1 flow at index 0) for `key` in `second`."""
        bucket = self._bucket(second)
        if bucket is None:
            return
        values = bucket.get(key)
        if values is None:
            if key not in self.totals and len(self.totals) >= self.max_keys:
                self.folded += 1
                key = OTHER
                values = bucket.get(key)
            if values is None:
                values = bucket[key] = [0] * self.width
        total = self.totals.get(key)
        if total is None:
            total = self.totals[key] = [0] * self.width
        values[0] += 1
        total[0] += 1
        if index:
            values[index] += amount
            total[index] += amount

    def span(self) -> int:
        """Seconds of data behind the totals: the window, or less just after the start."""
        if self.newest is None or self.first_second is None:
            return 0
        return max(1, min(self.window, self.newest - self.first_second + 1))

    def bucket_count(self) -> int:
        return len(self._buckets)


@dataclass(frozen=True)
class TalkerRow:
    source: str
    destination: str
    port: int
    protocol: str
    flows: int
    rate: float
    forwarded: int
    dropped: int
    other: int


@dataclass(frozen=True)
class DropRow:
    reason: str
    source: str
    destination: str
    port: int
    protocol: str
    drops: int
    rate: float


@dataclass(frozen=True)
class DnsRow:
    rcode: str
    qtype: str
    query: str
    source: str
    responses: int
    rate: float

    @property
    def is_error(self) -> bool:
        return self.rcode != DNS_RCODES[0]

    @property
    def rcode_name(self) -> str:
        """`NXDOMAIN`, `SERVFAIL`, …; the number for codes without a mnemonic here."""
        return DNS_RCODE_MNEMONICS.get(self.rcode, self.rcode)


@dataclass(frozen=True)
class HttpRow:
    destination: str
    method: str
    status: int
    requests: int
    rate: float
    p50_ms: float
    p90_ms: float
    p99_ms: float


def percentile_ms(histogram: list[int], offset: int, count: int, fraction: float) -> float:
    """Upper edge of the bin holding the `fraction` quantile (NaN when empty)."""
    if count <= 0:
        return float("nan")
    target = fraction * count
    seen = 0
    for index in range(LATENCY_BINS):
        seen += histogram[offset + index]
        if seen >= target:
            return LATENCY_EDGES_MS[index] if index < len(LATENCY_EDGES_MS) else float("inf")
    return float("inf")


class FlowAggregates:
    """The four windowed views, fed one `FlowDigest` at a time."""

    def __init__(self, window: int = 60, max_keys: int = 2000) -> None:
        self.window = window
        self.talkers = WindowCounter(4, window, max_keys)  # flows, forwarded, dropped, other
        self.drops = WindowCounter(1, window, max_keys)
        self.dns = WindowCounter(1, window, max_keys)
        self.http = WindowCounter(1 + LATENCY_BINS, window, max_keys)

    def add(self, item: FlowDigest) -> None:
        second = item.second
        if item.talker is not None:
            self.talkers.add(second, item.talker, 1 + item.verdict_class)
        if item.drop is not None:
            self.drops.add(second, item.drop, 0)
        if item.dns is not None:
            self.dns.add(second, item.dns, 0)
        if item.http is not None:
            bin_index = bisect.bisect_left(LATENCY_EDGES_MS, item.latency_ms)
            self.http.add(second, item.http, 1 + bin_index)

    def top_talkers(self, limit: int = 50) -> list[TalkerRow]:
        span = self.talkers.span()
        rows = [TalkerRow(str(k[0]), str(k[1]), int(k[2]), str(k[3]), v[0], v[0] / span, v[1], v[2], v[3])
                if isinstance(k, tuple) else TalkerRow(OTHER, "", 0, "", v[0], v[0] / span, v[1], v[2], v[3])
                for k, v in self.talkers.totals.items()]
        rows.sort(key=lambda r: (-r.flows, r.source, r.destination, r.port))
        return rows[:limit]

    def drop_rows(self, limit: int = 50) -> list[DropRow]:
        span = self.drops.span()
        rows = [DropRow(str(k[0]), str(k[1]), str(k[2]), int(k[3]), str(k[4]), v[0], v[0] / span)
                if isinstance(k, tuple) else DropRow(OTHER, "", "", 0, "", v[0], v[0] / span)
                for k, v in self.drops.totals.items()]
        rows.sort(key=lambda r: (-r.drops, r.reason, r.source, r.destination, r.port, r.protocol))
        return rows[:limit]

    def dns_rows(self, limit: int = 50) -> list[DnsRow]:
        """DNS responses, errors first (the most failing names on top), then by count."""
        span = self.dns.span()
        rows = [DnsRow(str(k[0]), str(k[1]), str(k[2]), str(k[3]), v[0], v[0] / span) if isinstance(k, tuple)
                else DnsRow(OTHER, "", "", "", v[0], v[0] / span) for k, v in self.dns.totals.items()]
        rows.sort(key=lambda r: (not r.is_error, -r.responses, r.rcode, r.query, r.source))
        return rows[:limit]

    def http_rows(self, limit: int = 50) -> list[HttpRow]:
        span = self.http.span()
        rows = []
        for key, values in self.http.totals.items():
            count = values[0]
            p50, p90, p99 = (percentile_ms(values, 1, count, q) for q in (0.5, 0.9, 0.99))
            if isinstance(key, tuple):
                rows.append(HttpRow(str(key[0]), str(key[1]), int(key[2]), count, count / span, p50, p90, p99))
            else:
                rows.append(HttpRow(OTHER, "", 0, count, count / span, p50, p90, p99))
        rows.sort(key=lambda r: (-r.requests, r.destination, r.method, r.status))
        return rows[:limit]

    def key_count(self) -> int:
        return sum(len(c.totals) for c in (self.talkers, self.drops, self.dns, self.http))
