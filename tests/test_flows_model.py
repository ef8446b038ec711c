"""FlowStore ring and the windowed aggregates, fed made-up flows (no I/O, no Textual)."""

from __future__ import annotations

import math

from google.protobuf import wrappers_pb2

from tui.model.flow_aggregates import (
    LATENCY_EDGES_MS,
    MAX_QUERY_CHARS,
    OTHER,
    FlowAggregates,
    digest,
    endpoint_label,
)
from tui.model.flows import FlowStore, RecordKind, marker, record_from_response
from tui.proto.flow import flow_pb2
from tui.proto.observer import observer_pb2

T0 = 1_760_000_000


def pod(ns: str, name: str, workload: str = "", identity: int = 1000) -> flow_pb2.Endpoint:
    endpoint = flow_pb2.Endpoint(namespace=ns, pod_name=name, identity=identity)
    if workload:
        endpoint.workloads.add(name=workload, kind="Deployment")
    return endpoint


def response(second: int, *, src: flow_pb2.Endpoint | None = None, dst: flow_pb2.Endpoint | None = None,
             src_ip: str = "10.0.0.1", dst_ip: str = "10.0.0.2", port: int = 80, udp: bool = False,
             verdict: int = flow_pb2.FORWARDED, reply: bool | None = None, event: tuple[int, int] = (4, 0),
             **fields: object) -> observer_pb2.GetFlowsResponse:
    flow = flow_pb2.Flow(verdict=verdict, **fields)
    flow.time.seconds = second
    flow.IP.source, flow.IP.destination = src_ip, dst_ip
    l4 = flow.l4.UDP if udp else flow.l4.TCP
    if reply:
        l4.source_port, l4.destination_port = port, 40000
    else:
        l4.source_port, l4.destination_port = 40000, port
    if src is not None:
        flow.source.CopyFrom(src)
    if dst is not None:
        flow.destination.CopyFrom(dst)
    if reply is not None:
        flow.is_reply.CopyFrom(wrappers_pb2.BoolValue(value=reply))
    flow.event_type.type, flow.event_type.sub_type = event
    out = observer_pb2.GetFlowsResponse(flow=flow)
    out.time.CopyFrom(flow.time)
    return out


def add(store: FlowStore, resp: observer_pb2.GetFlowsResponse) -> None:
    record = record_from_response(resp)
    assert record is not None
    store.add(record)


def test_ring_is_bounded_and_keeps_sequence() -> None:
    store = FlowStore(capacity=100)
    for i in range(250):
        add(store, response(T0 + i // 10))
    store.add(marker(RecordKind.GAP, "gap"))
    assert len(store.ring) == 100
    assert store.seq == 251 and store.first_seq == 151
    assert [r.seq for r in store.ring] == list(range(151, 251))
    assert store.flows == 250 and store.gaps == 1
    assert store.verdicts == {flow_pb2.FORWARDED: 250}


def test_endpoint_labels() -> None:
    assert endpoint_label(pod("shop", "api-1", "api"), "10.0.0.1", []) == "shop/api"
    assert endpoint_label(pod("shop", "api-1"), "10.0.0.1", []) == "shop/api-1"
    assert endpoint_label(flow_pb2.Endpoint(identity=2), "1.2.3.4", ["x.example.com"]) == "x.example.com"
    assert endpoint_label(flow_pb2.Endpoint(identity=2), "1.2.3.4", []) == "1.2.3.4"
    assert endpoint_label(flow_pb2.Endpoint(identity=1), "10.0.0.9", []) == "(host)"


def test_top_talkers_fold_replies_onto_the_client_and_count_verdicts() -> None:
    store = FlowStore()
    api = pod("shop", "api-1", "api")
    web = pod("shop", "web-1", "web")
    for i in range(30):
        add(store, response(T0 + i, src=web, dst=api, port=8080, reply=False))
        add(store, response(T0 + i, src=api, dst=web, port=8080, reply=True))
    for i in range(10):
        add(store, response(T0 + i, src=web, dst=api, port=5432, verdict=flow_pb2.DROPPED, event=(1, 133)))
    rows = store.aggregates.top_talkers()
    assert [(r.source, r.destination, r.port, r.protocol, r.flows) for r in rows] == [
        ("shop/web", "shop/api", 8080, "TCP", 60), ("shop/web", "shop/api", 5432, "TCP", 10)]
    assert (rows[1].forwarded, rows[1].dropped, rows[1].other) == (0, 10, 0)
    assert rows[0].rate == 60 / 30
    assert math.isclose(store.flows_per_second(), 70 / 30)


def test_drops_by_reason_and_source() -> None:
    store = FlowStore()
    a, b = pod("shop", "a-1", "a"), pod("tools", "b-1", "b")
    for _ in range(5):
        add(store, response(T0, src=a, verdict=flow_pb2.DROPPED, event=(1, 133)))
    for _ in range(3):
        add(store, response(T0, src=b, verdict=flow_pb2.DROPPED, event=(1, 0),
                            drop_reason_desc=flow_pb2.STALE_OR_UNROUTABLE_IP))
    # A policy-verdict DENIED for the same packet must not count twice (cilium/hubble#570).
    add(store, response(T0, src=a, verdict=flow_pb2.DROPPED, event=(5, 0)))
    assert [(r.reason, r.source, r.drops) for r in store.aggregates.drop_rows()] == [
        ("Policy denied", "shop/a", 5), ("Stale or unroutable IP", "tools/b", 3)]


def dns_response(second: int, rcode: int, qtype: str, client: flow_pb2.Endpoint,
                 query: str = "db.shop.svc.cluster.local.") -> observer_pb2.GetFlowsResponse:
    resp = response(second, src=pod("kube-system", "coredns-1", "coredns"), dst=client, udp=True, port=53,
                    reply=True, event=(129, 0))
    resp.flow.l7.type = flow_pb2.RESPONSE
    resp.flow.l7.dns.rcode = rcode
    resp.flow.l7.dns.qtypes.append(qtype)
    resp.flow.l7.dns.query = query
    return resp


def test_dns_errors_first_by_rcode_qtype_and_source() -> None:
    store = FlowStore()
    client = pod("shop", "api-1", "api")
    for _ in range(20):
        add(store, dns_response(T0, 0, "A", client))
    for _ in range(2):
        add(store, dns_response(T0, 3, "AAAA", client))
    add(store, dns_response(T0, 2, "A", pod("tools", "x-1", "x")))
    request = dns_response(T0, 0, "A", client)
    request.flow.l7.type = flow_pb2.REQUEST
    add(store, request)  # queries are not responses
    rows = store.aggregates.dns_rows()
    assert [(r.rcode, r.qtype, r.source, r.responses) for r in rows] == [
        ("Non-Existent Domain", "AAAA", "shop/api", 2), ("Server Failure", "A", "tools/x", 1),
        ("No Error", "A", "shop/api", 20)]
    assert rows[0].is_error and not rows[-1].is_error


def test_dns_shows_the_query_names_most_failing_first_with_bounded_keys() -> None:
    store = FlowStore(max_keys=50)
    client = pod("shop", "api-1", "api")
    for _ in range(30):
        add(store, dns_response(T0, 0, "A", client, "db.shop.svc.cluster.local."))
    for _ in range(5):
        add(store, dns_response(T0, 3, "A", client, "pyments.example.com."))
    for _ in range(2):
        add(store, dns_response(T0, 3, "A", client, "typo.shop.svc.cluster.local."))
    add(store, dns_response(T0, 2, "A", client, "x" * 5000))  # not a DNS name: cut, still counted
    rows = store.aggregates.dns_rows()
    assert [(r.query, r.rcode, r.responses) for r in rows[:2]] == [
        ("pyments.example.com.", "Non-Existent Domain", 5), ("typo.shop.svc.cluster.local.", "Non-Existent Domain", 2)]
    assert rows[2].rcode == "Server Failure" and len(rows[2].query) == MAX_QUERY_CHARS
    assert rows[-1].query == "db.shop.svc.cluster.local." and rows[-1].responses == 30
    # Random subdomains (a DNS tunnel, a bad search path) fold into (other) past the key cap.
    for i in range(1_000):
        add(store, dns_response(T0, 3, "A", client, f"{i}.tunnel.example."))
    totals = store.aggregates.dns.totals
    assert len(totals) <= 51 and OTHER in totals
    assert sum(v[0] for v in totals.values()) == 38 + 1_000  # nothing lost, only folded


def http_response(second: int, code: int, latency_ms: float, method: str = "GET") -> observer_pb2.GetFlowsResponse:
    resp = response(second, src=pod("shop", "api-1", "api"), dst=pod("shop", "web-1", "web"), port=8080,
                    reply=True, event=(129, 0))
    resp.flow.l7.type = flow_pb2.RESPONSE
    resp.flow.l7.latency_ns = int(latency_ms * 1e6)
    resp.flow.l7.http.code = code
    resp.flow.l7.http.method = method
    return resp


def test_http_rate_and_latency_percentiles() -> None:
    store = FlowStore()
    for i in range(100):
        add(store, http_response(T0 + i % 10, 200, latency_ms=i + 1))  # 1..100 ms
    add(store, http_response(T0, 503, 900.0, "POST"))
    rows = store.aggregates.http_rows()
    ok = next(r for r in rows if r.status == 200)
    assert (ok.destination, ok.method, ok.requests) == ("shop/api", "GET", 100)
    assert ok.rate == 10.0
    # Bins are ~10% wide: the reported percentile is the upper edge of the bin holding it.
    for value, expected in ((ok.p50_ms, 50), (ok.p90_ms, 90), (ok.p99_ms, 99)):
        assert expected <= value <= expected * 1.11
    bad = next(r for r in rows if r.status == 503)
    assert bad.p50_ms == bad.p99_ms and 900 <= bad.p99_ms <= 990


def test_window_slides_and_subtracts_expired_seconds() -> None:
    aggregates = FlowAggregates(window=10)
    web, api = pod("shop", "web-1", "web"), pod("shop", "api-1", "api")
    for second in range(T0, T0 + 10):
        aggregates.add(digest(response(second, src=web, dst=api).flow))
    assert aggregates.top_talkers()[0].flows == 10
    aggregates.add(digest(response(T0 + 14, src=web, dst=api).flow))
    assert aggregates.top_talkers()[0].flows == 6  # seconds T0+5..T0+14 remain
    aggregates.add(digest(response(T0 + 1000, src=api, dst=web).flow))
    assert [(r.source, r.flows) for r in aggregates.top_talkers()] == [("shop/api", 1)]
    aggregates.add(digest(response(T0, src=web, dst=api).flow))  # far too old: ignored
    assert aggregates.talkers.bucket_count() == 1


def test_percentile_edges_cover_minutes() -> None:
    assert LATENCY_EDGES_MS[0] == 0.05 and LATENCY_EDGES_MS[-1] > 100_000


def test_memory_stays_bounded_after_many_distinct_flows() -> None:
    """150k flows over 5 minutes from 150k distinct world IPs: keys cap at max_keys, buckets at window."""
    store = FlowStore(capacity=1_000, window=60, max_keys=500)
    web = pod("shop", "web-1", "web")
    base = response(T0, src=web)
    for i in range(150_000):
        base.flow.time.seconds = T0 + i // 500
        base.flow.IP.destination = f"198.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
        base.flow.destination.identity = 2
        record = record_from_response(base)
        assert record is not None
        store.add(record)
    talkers = store.aggregates.talkers
    assert len(store.ring) == 1_000
    assert talkers.bucket_count() <= 61
    assert len(talkers.totals) <= 501
    assert OTHER in talkers.totals and talkers.folded > 0
    assert sum(v[0] for v in talkers.totals.values()) == 60 * 500  # exactly the last 60 s
    assert sum(len(b) for b in talkers._buckets.values()) <= 61 * 501  # noqa: SLF001


def test_lost_and_node_records_count_separately() -> None:
    store = FlowStore()
    lost = observer_pb2.GetFlowsResponse()
    lost.lost_events.num_events_lost = 42
    node = observer_pb2.GetFlowsResponse()
    node.node_status.state_change = 2
    for resp in (lost, node, lost):
        add(store, resp)
    assert (store.lost_events, store.lost_responses, store.node_events, store.flows) == (84, 2, 1, 0)
    assert record_from_response(observer_pb2.GetFlowsResponse()) is None
