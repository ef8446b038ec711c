"""Service map model: node names, edges, bounds, L7 errors, policy verdict rows (made-up flows)."""

from __future__ import annotations

from google.protobuf import wrappers_pb2

from tui.model.flow_aggregates import OTHER
from tui.model.flows import FlowStore, record_from_response
from tui.model.map_digest import (
    DEFAULT_DENY,
    KIND_FQDN,
    KIND_IP,
    KIND_RESERVED,
    KIND_SERVICE,
    node_of,
    workload_name,
)
from tui.model.service_map import DROPPING, ERRORING, HEALTHY
from tui.proto.flow import flow_pb2
from tui.proto.observer import observer_pb2

T0 = 1_760_000_000


def ep(ns: str = "", pod: str = "", workload: str = "", identity: int = 1000,
       labels: tuple[str, ...] = ()) -> flow_pb2.Endpoint:
    endpoint = flow_pb2.Endpoint(namespace=ns, pod_name=pod, identity=identity, labels=list(labels))
    if workload:
        endpoint.workloads.add(name=workload, kind="Deployment")
    return endpoint


def flow(second: int, src: flow_pb2.Endpoint, dst: flow_pb2.Endpoint, *, port: int = 80, udp: bool = False,
         verdict: int = flow_pb2.FORWARDED, reply: bool = False, src_ip: str = "10.0.0.1",
         dst_ip: str = "10.0.0.2", **fields: object) -> observer_pb2.GetFlowsResponse:
    f = flow_pb2.Flow(verdict=verdict, **fields)
    f.time.seconds = second
    f.IP.source, f.IP.destination = src_ip, dst_ip
    l4 = f.l4.UDP if udp else f.l4.TCP
    l4.source_port, l4.destination_port = (port, 40000) if reply else (40000, port)
    f.source.CopyFrom(src)
    f.destination.CopyFrom(dst)
    f.is_reply.CopyFrom(wrappers_pb2.BoolValue(value=reply))
    return observer_pb2.GetFlowsResponse(flow=f)


def feed(store: FlowStore, *responses: observer_pb2.GetFlowsResponse) -> None:
    for response in responses:
        record = record_from_response(response)
        assert record is not None
        store.add(record)


def test_workload_names_strip_only_kubernetes_suffixes() -> None:
    assert workload_name("api-5f6b8d9c4-k7wzn") == "api"
    assert workload_name("coredns-5d78c9869d-8xk2v") == "coredns"
    assert workload_name("postgres-0") == "postgres"
    assert workload_name("cilium-x2lqp") == "cilium"  # DaemonSet
    assert workload_name("nginx-proxy") == "nginx-proxy"  # vowels: not a generated suffix
    assert workload_name("web") == "web"


def test_nodes_workload_reserved_service_fqdn_address() -> None:
    assert node_of(ep("shop", "api-5f6b8d9c4-k7wzn", "api"), "", [], None).label == "shop/api"
    assert node_of(ep("shop", "api-5f6b8d9c4-k7wzn"), "", [], None).label == "shop/api"
    host = node_of(ep(identity=1), "10.0.1.1", [], None)
    assert (host.kind, host.label, host.group) == (KIND_RESERVED, "(host)", "(reserved)")
    assert node_of(ep(identity=7), "10.0.0.1", [], None).label == "(kube-apiserver)"
    assert node_of(ep(identity=6), "10.0.2.1", [], None).label == "(remote-node)"
    assert node_of(ep(identity=4), "10.0.2.9", [], None).label == "(health)"
    named = node_of(ep(identity=2), "203.0.113.10", ["api.payments.example.com"], None)
    assert (named.kind, named.label, named.group) == (KIND_FQDN, "api.payments.example.com", "(outside)")
    bare = node_of(ep(identity=2), "203.0.113.10", [], None)
    assert (bare.kind, bare.label) == (KIND_IP, "203.0.113.10")
    vip = node_of(ep(identity=2), "10.96.0.10", [], flow_pb2.Service(name="kube-dns", namespace="kube-system"))
    assert (vip.kind, vip.label) == (KIND_SERVICE, "kube-system/kube-dns")


def test_edges_put_the_client_left_and_merge_ports() -> None:
    store = FlowStore(window=60)
    web, api = ep("shop", "web-1", "web"), ep("shop", "api-1", "api")
    feed(store,
         flow(T0, web, api, port=8080),
         flow(T0, api, web, port=8080, reply=True, src_ip="10.0.0.2", dst_ip="10.0.0.1"),
         flow(T0 + 1, web, api, port=9090),
         flow(T0 + 1, web, api, port=9090, verdict=flow_pb2.DROPPED, drop_reason_desc=flow_pb2.POLICY_DENIED))
    snapshot = store.service_map.snapshot()
    assert len(snapshot.edges) == 1
    edge = snapshot.edges[0]
    assert (edge.client.label, edge.server.label) == ("shop/web", "shop/api")
    assert edge.ports == ((8080, "TCP"), (9090, "TCP"))
    assert (edge.flows, edge.forwarded, edge.dropped) == (4, 3, 1)
    assert edge.state == DROPPING
    assert edge.ports_text() == "8080/TCP,9090/TCP"
    assert snapshot.nodes == (edge.server, edge.client)  # sorted by group, then name


def test_l7_errors_http_p99_and_state() -> None:
    store = FlowStore(window=60)
    web, api = ep("shop", "web-1", "web"), ep("shop", "api-1", "api")
    dns = ep("kube-system", "coredns-1", "coredns")
    responses = []
    for index, code in enumerate((200, 200, 503)):
        r = flow(T0, api, web, port=8080, reply=True, src_ip="10.0.0.2", dst_ip="10.0.0.1")
        r.flow.l7.type = flow_pb2.RESPONSE
        r.flow.l7.http.code = code
        r.flow.l7.latency_ns = (index + 1) * 10_000_000
        responses.append(r)
    answer = flow(T0, dns, web, port=53, udp=True, reply=True)
    answer.flow.l7.type = flow_pb2.RESPONSE
    answer.flow.l7.dns.rcode = 3
    feed(store, *responses, answer)
    edges = {e.server.label: e for e in store.service_map.snapshot().edges}
    assert edges["shop/api"].errors == 1 and edges["shop/api"].state == ERRORING
    assert 30 <= edges["shop/api"].http_p99_ms < 33  # the 30 ms response, to the histogram's 10 %
    assert edges["kube-system/coredns"].errors == 1
    feed(store, flow(T0, web, ep("shop", "db-0", "db"), port=5432))
    assert {e.server.label: e for e in store.service_map.snapshot().edges}["shop/db"].state == HEALTHY


def test_edges_account_for_every_flow_and_stay_bounded() -> None:
    store = FlowStore(window=60, max_keys=50)
    web = ep("shop", "web-1", "web")
    for index in range(500):
        feed(store, flow(T0 + index // 100, web, ep(identity=2), dst_ip=f"198.51.100.{index % 250}"))
    service_map = store.service_map
    assert service_map.flow_count() == 500 == sum(e.flows for e in service_map.snapshot().edges)
    assert len(service_map.edges.totals) <= 51  # the cap plus (other)
    assert any(e.client.name == OTHER for e in service_map.snapshot().edges)
    # The window forgets: 66 s after the last of them only the new flows are on the map (the clock
    # moves in steps under a minute: one flow far ahead is taken as a skewed clock, tui/model/clock.py).
    feed(store, flow(T0 + 35, web, ep("shop", "api-1", "api")))
    feed(store, flow(T0 + 70, web, ep("shop", "api-1", "api")))
    edges = service_map.snapshot().edges
    assert sum(e.flows for e in edges) == 2  # the 500 are forgotten (the first newcomer went to the capped rest)
    assert [e.flows for e in edges if e.server.label == "shop/api"] == [1]


def test_only_group_keeps_edges_touching_the_namespace() -> None:
    store = FlowStore(window=60)
    feed(store, flow(T0, ep("a", "x-1", "x"), ep("b", "y-1", "y")), flow(T0, ep("c", "z-1", "z"), ep("c", "w-1", "w")))
    snapshot = store.service_map.snapshot()
    assert snapshot.namespaces() == ["a", "b", "c"]
    only = snapshot.only_group("b")
    assert [(e.client.label, e.server.label) for e in only.edges] == [("a/x", "b/y")]
    assert {n.label for n in only.nodes} == {"a/x", "b/y"}


def test_policy_rows_name_the_policy_or_default_deny_and_put_drops_first() -> None:
    store = FlowStore(window=60)
    web, db = ep("shop", "web-1", "web"), ep("shop", "db-0", "db")
    named = flow(T0, web, db, port=5432, verdict=flow_pb2.DROPPED, drop_reason_desc=flow_pb2.POLICY_DENY,
                 traffic_direction=flow_pb2.INGRESS)
    named.flow.event_type.type = 5
    named.flow.ingress_denied_by.add(name="deny-web", namespace="shop", kind="CiliumNetworkPolicy")
    named.flow.egress_denied_by.add(name="not-this-direction", kind="CiliumNetworkPolicy")
    unnamed = flow(T0, web, db, port=6379, verdict=flow_pb2.DROPPED, drop_reason_desc=flow_pb2.POLICY_DENIED)
    unnamed.flow.event_type.type, unnamed.flow.event_type.sub_type = 1, 133
    audit = flow(T0, web, db, port=22, verdict=flow_pb2.AUDIT)
    audit.flow.event_type.type = 5
    other_drop = flow(T0, web, db, port=1, verdict=flow_pb2.DROPPED, drop_reason_desc=flow_pb2.CT_MAP_INSERTION_FAILED)
    other_drop.flow.event_type.type = 1
    feed(store, audit, audit, audit, named, unnamed, other_drop)
    rows = store.policies.rows()
    assert [(r.policy, r.reason, r.denied, r.drops, r.audit) for r in rows] == [
        (DEFAULT_DENY, "POLICY_DENIED", 0, 1, 0),
        ("shop/deny-web (CiliumNetworkPolicy)", "POLICY_DENY", 1, 0, 0),
        (DEFAULT_DENY, "POLICY_DENIED", 0, 0, 3),
    ]
    assert rows[-1].verdict_text == "AUDIT: would drop" and rows[0].verdict_text == "DROPPED"
    assert (rows[1].source, rows[1].destination) == ("shop/web", "shop/db")


def test_describe_endpoint_gives_the_talkers_label_and_the_map_node() -> None:
    import itertools

    from tui.demo.hubble_scenario import flow_responses
    from tui.model.flow_aggregates import endpoint_label
    from tui.model.map_digest import describe_endpoint

    endpoints = [(ep(identity=2), "1.2.3.4", ["x.example.com"]), (ep(identity=2), "1.2.3.4", []),
                 (ep(identity=1), "10.0.0.9", []), (ep(identity=0), "", []), (ep("shop", "api-5f6b8d9c4-k7wzn"), "", [])]
    flow = flow_pb2.Flow()
    for endpoint, ip, names in endpoints:
        node, label = describe_endpoint(endpoint, ip, names, flow, True)
        assert label == endpoint_label(endpoint, ip, names)
        assert node == node_of(endpoint, ip, names, None)
    for response in itertools.islice(flow_responses(seed=5), 3000):
        f = response.flow
        for endpoint, ip, names, source in ((f.source, f.IP.source, f.source_names, True),
                                            (f.destination, f.IP.destination, f.destination_names, False)):
            node, label = describe_endpoint(endpoint, ip, names, f, source)
            assert label == endpoint_label(endpoint, ip, names)
            service = (f.source_service if source else f.destination_service) if not endpoint.pod_name else None
            assert node == node_of(endpoint, ip, names, service)
