"""The demo Hubble server over real gRPC (loopback TCP and a unix socket) with the generated stub.

Filter checks use hand-written predicates over the unfiltered ring, not the server's matcher, so a
wrong server-side filter shows up as a missing or extra flow.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import field_mask_pb2

from tui.demo.cluster import NODES
from tui.demo.hubble_server import VERSION, serve_hubble
from tui.proto.flow import flow_pb2
from tui.proto.observer import observer_pb2, observer_pb2_grpc

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
HISTORY = 4095
FF = flow_pb2.FlowFilter
Req = observer_pb2.GetFlowsRequest


@pytest.fixture
def server():
    srv = serve_hubble("127.0.0.1:0", seed=7, rate=0, history=HISTORY, start_time=START)
    yield srv
    srv.stop()


@pytest.fixture
def stub(server) -> Iterator[observer_pb2_grpc.ObserverStub]:
    channel = grpc.insecure_channel(server.target)
    yield observer_pb2_grpc.ObserverStub(channel)
    channel.close()


@pytest.fixture(scope="module")
def static_stub() -> Iterator[observer_pb2_grpc.ObserverStub]:
    """A server only read without follow: its ring never changes, so tests can share it."""
    srv = serve_hubble("127.0.0.1:0", seed=7, rate=0, history=HISTORY, start_time=START)
    channel = grpc.insecure_channel(srv.target)
    yield observer_pb2_grpc.ObserverStub(channel)
    channel.close()
    srv.stop()


def fetch(stub, request: observer_pb2.GetFlowsRequest) -> list[observer_pb2.GetFlowsResponse]:
    return list(stub.GetFlows(request, timeout=30))


def flows_of(responses) -> list[flow_pb2.Flow]:
    return [r.flow for r in responses if r.HasField("flow")]


def take(stream, count: int, keep: Callable[[observer_pb2.GetFlowsResponse], bool] = lambda r: True):
    out = []
    for response in stream:
        if keep(response):
            out.append(response)
            if len(out) >= count:
                break
    stream.cancel()
    return out


# -- volume and content ----------------------------------------------------------------------------
def test_streams_ten_thousand_flows_unpaced(stub) -> None:
    responses = take(stub.GetFlows(Req(follow=True)), 10_000)
    flows = flows_of(responses)
    assert len(flows) == 10_000
    times = [r.time.ToNanoseconds() for r in responses]
    assert times == sorted(times) and times[0] >= int(START * 1e9)
    assert all(r.node_name in NODES and r.node_name == r.flow.node_name for r in responses)
    assert all(r.time == r.flow.time for r in responses)
    assert len({f.uuid for f in flows}) == len(flows)
    kinds = {f.l4.WhichOneof("protocol") for f in flows} | {f.l7.WhichOneof("record") for f in flows}
    assert {"TCP", "UDP", "ICMPv4", "dns", "http"} <= kinds
    assert any(f.verdict == flow_pb2.DROPPED and f.drop_reason_desc == flow_pb2.POLICY_DENIED
               and f.event_type.type == 1 and f.event_type.sub_type == 133 for f in flows)


def test_scenario_content_is_believable(static_stub) -> None:
    flows = flows_of(fetch(static_stub, Req()))
    assert len(flows) == HISTORY
    dns = [f for f in flows if f.l7.HasField("dns")]
    assert {f.l7.dns.rcode for f in dns} >= {0, 3}
    assert all(f.event_type.type == 129 and f.Type == flow_pb2.L7 and f.l7.dns.observation_source == "proxy"
               for f in dns)
    assert any(f.l7.type == flow_pb2.RESPONSE and f.l7.dns.ips and f.is_reply.value for f in dns)
    assert all(f.destination_service.name == "kube-dns" for f in dns if f.l7.type == flow_pb2.REQUEST)
    http = [f for f in flows if f.l7.HasField("http")]
    responses = [f for f in http if f.l7.type == flow_pb2.RESPONSE]
    assert responses and all(f.l7.http.code >= 200 and f.l7.latency_ns > 0 for f in responses)
    assert {f.l7.http.method for f in http} >= {"GET"}
    world = [f for f in flows if f.destination.identity == 2 and f.destination_names]
    assert world and all("reserved:world" in f.destination.labels for f in world)
    assert all(n.endswith("example.com") or n.endswith("example.net") for f in world for n in f.destination_names)
    verdicts = [f for f in flows if f.event_type.type == 5]
    assert any(f.ingress_allowed_by and f.policy_match_type == 2 for f in verdicts)
    assert any(f.verdict == flow_pb2.DROPPED for f in verdicts)
    health = [f for f in flows if f.source.identity == 1]
    assert health and all("reserved:host" in f.source.labels for f in health)
    points = {f.event_type.sub_type for f in flows if f.event_type.type == 4}
    assert {0, 3, 5, 11} <= points  # to-endpoint, to-stack, from-endpoint, to-network
    syn_ack = [f for f in flows if f.l4.TCP.flags.SYN and f.l4.TCP.flags.ACK]
    assert syn_ack and all(f.is_reply.value for f in syn_ack)
    assert any(f.l4.ICMPv4.type == 8 for f in flows) and any(f.l4.ICMPv4.type == 0 for f in flows)
    assert any(f.Type == flow_pb2.SOCK and f.IP.destination == "10.96.0.10" for f in flows)


def test_same_seed_same_flows() -> None:
    servers = [serve_hubble(seed=3, rate=0, history=500, start_time=START) for _ in range(2)]
    try:
        got = []
        for srv in servers:
            with grpc.insecure_channel(srv.target) as channel:
                stub = observer_pb2_grpc.ObserverStub(channel)
                got.append([r.SerializeToString() for r in fetch(stub, Req(first=True, number=500))])
        assert len(got[0]) == 500 and got[0] == got[1]
    finally:
        for srv in servers:
            srv.stop()


# -- filters ---------------------------------------------------------------------------------------
def _ns_pod(ep: flow_pb2.Endpoint, ns: str, prefix: str = "") -> bool:
    return ep.namespace == ns and ep.pod_name.startswith(prefix)


def _in_net(ip: str, cidr: str) -> bool:
    return bool(ip) and ipaddress.ip_address(ip) in ipaddress.ip_network(cidr)


def _l4_ports(f: flow_pb2.Flow) -> tuple[int, int] | None:
    kind = f.l4.WhichOneof("protocol")
    if kind in ("TCP", "UDP"):
        l4 = getattr(f.l4, kind)
        return l4.source_port, l4.destination_port
    return None


FILTER_CASES: dict[str, tuple[list, list, Callable[[flow_pb2.Flow], bool]]] = {
    # hubble observe -n kube-system
    "namespace": ([FF(source_pod=["kube-system/"]), FF(destination_pod=["kube-system/"])], [],
                  lambda f: f.source.namespace == "kube-system" or f.destination.namespace == "kube-system"),
    # --from-pod shop/api (prefix match on the pod name)
    "from-pod": ([FF(source_pod=["shop/api"])], [], lambda f: _ns_pod(f.source, "shop", "api")),
    # --to-pod postgres: no namespace means `default`, where the demo has no pods
    "pod-default-namespace": ([FF(destination_pod=["postgres"])], [], lambda f: False),
    # --to-pod /redis: any namespace
    "pod-any-namespace": ([FF(destination_pod=["/redis"])], [], lambda f: f.destination.pod_name.startswith("redis")),
    "label-any-source": ([FF(source_label=["app=loadgen"])], [], lambda f: "k8s:app=loadgen" in f.source.labels),
    "label-reserved-world": ([FF(destination_label=["reserved:world"])], [],
                             lambda f: "reserved:world" in f.destination.labels),
    "label-set": ([FF(destination_label=["k8s:app in (postgres, redis)"])], [],
                  lambda f: bool({"k8s:app=postgres", "k8s:app=redis"} & set(f.destination.labels))),
    "verdict-dropped": ([FF(verdict=[flow_pb2.DROPPED])], [], lambda f: f.verdict == flow_pb2.DROPPED),
    "protocol-dns": ([FF(protocol=["dns"])], [], lambda f: f.l7.HasField("dns")),
    "protocol-icmp": ([FF(protocol=["ICMP"])], [], lambda f: f.l4.HasField("ICMPv4") or f.l4.HasField("ICMPv6")),
    "protocol-udp-or-http": ([FF(protocol=["udp", "http"])], [],
                             lambda f: f.l4.HasField("UDP") or f.l7.HasField("http")),
    # --port 5432 (either side)
    "port": ([FF(source_port=["5432"]), FF(destination_port=["5432"])], [],
             lambda f: _l4_ports(f) is not None and 5432 in _l4_ports(f)),
    "ip-cidr": ([FF(source_ip=["10.0.1.0/24"])], [], lambda f: _in_net(f.IP.source, "10.0.1.0/24")),
    "ip-exact": ([FF(destination_ip=["203.0.113.10"])], [], lambda f: f.IP.destination == "203.0.113.10"),
    "fqdn-wildcard": ([FF(destination_fqdn=["*.example.com"])], [],
                      lambda f: any(n.endswith(".example.com") for n in f.destination_names)),
    "http-status-5xx": ([FF(http_status_code=["5+"])], [], lambda f: 500 <= f.l7.http.code <= 599),
    "http-status-exact": ([FF(http_status_code=["404"])], [], lambda f: f.l7.http.code == 404),
    "http-method": ([FF(http_method=["post"])], [], lambda f: f.l7.http.method == "POST"),
    "http-path": ([FF(http_path=["^/api/cart$"])], [], lambda f: f.l7.http.url.endswith(":8080/api/cart")),
    "type-drop": ([FF(event_type=[flow_pb2.EventTypeFilter(type=1)])], [], lambda f: f.event_type.type == 1),
    "type-trace-to-endpoint": ([FF(event_type=[flow_pb2.EventTypeFilter(type=4, match_sub_type=True, sub_type=0)])],
                               [], lambda f: f.event_type.type == 4 and f.event_type.sub_type == 0),
    "type-policy-verdict": ([FF(event_type=[flow_pb2.EventTypeFilter(type=5)])], [],
                            lambda f: f.event_type.type == 5),
    "node-name": ([FF(node_name=["worker-1"])], [], lambda f: f.node_name == "worker-1"),
    "node-cluster-pattern": ([FF(node_name=["default/*-2"])], [], lambda f: f.node_name == "worker-2"),
    "traffic-direction": ([FF(traffic_direction=[flow_pb2.INGRESS])], [],
                          lambda f: f.traffic_direction == flow_pb2.INGRESS),
    "reply": ([FF(reply=[True])], [], lambda f: f.HasField("is_reply") and f.is_reply.value),
    "tcp-flags-syn": ([FF(tcp_flags=[flow_pb2.TCPFlags(SYN=True)])], [], lambda f: f.l4.TCP.flags.SYN),
    "tcp-flags-syn-ack": ([FF(tcp_flags=[flow_pb2.TCPFlags(SYN=True, ACK=True)])], [],
                          lambda f: f.l4.TCP.flags.SYN and f.l4.TCP.flags.ACK),
    "dns-query": ([FF(dns_query=["payments"])], [], lambda f: "payments" in f.l7.dns.query),
    "identity-host": ([FF(source_identity=[1])], [], lambda f: f.source.identity == 1),
    "workload": ([FF(destination_workload=[flow_pb2.Workload(kind="StatefulSet")])], [],
                 lambda f: any(w.kind == "StatefulSet" for w in f.destination.workloads)),
    "service": ([FF(destination_service=["kube-system/kube-dns"])], [],
                lambda f: f.destination_service.name == "kube-dns"),
    # fields inside one filter AND together
    "and-within-filter": ([FF(source_pod=["shop/frontend"], destination_port=["8080"],
                              verdict=[flow_pb2.FORWARDED])], [],
                          lambda f: _ns_pod(f.source, "shop", "frontend") and f.verdict == flow_pb2.FORWARDED
                          and _l4_ports(f) is not None and _l4_ports(f)[1] == 8080),
    # --protocol tcp --not --namespace tools
    "whitelist-minus-blacklist": ([FF(protocol=["tcp"])], [FF(source_pod=["tools/"]), FF(destination_pod=["tools/"])],
                                  lambda f: f.l4.HasField("TCP") and f.source.namespace != "tools"
                                  and f.destination.namespace != "tools"),
    # blacklist only: --not --verdict FORWARDED
    "blacklist-only": ([], [FF(verdict=[flow_pb2.FORWARDED])], lambda f: f.verdict != flow_pb2.FORWARDED),
}


def test_filters_are_applied_server_side(static_stub) -> None:
    everything = flows_of(fetch(static_stub, Req()))
    assert len(everything) == HISTORY
    for name, (whitelist, blacklist, expected) in FILTER_CASES.items():
        got = flows_of(fetch(static_stub, Req(whitelist=whitelist, blacklist=blacklist)))
        want = [f for f in everything if expected(f)]
        assert [f.uuid for f in got] == [f.uuid for f in want], f"filter case {name!r}"
        if name != "pod-default-namespace":
            assert got, f"filter case {name!r} matched nothing; the scenario should contain such flows"
        assert len(got) < len(everything), f"filter case {name!r} filtered nothing out"


@pytest.mark.parametrize("bad", [
    FF(source_ip=["10.0.0.300"]), FF(protocol=["carrier-pigeon"]), FF(http_status_code=["abc"]),
    FF(source_pod=[""]), FF(dns_query=["(unclosed"]), FF(source_label=["a in (b"]), FF(destination_port=["http"]),
    FF(http_status_code=["200"], event_type=[flow_pb2.EventTypeFilter(type=4)]),
])
def test_invalid_filters_are_rejected(static_stub, bad) -> None:
    with pytest.raises(grpc.RpcError) as info:
        fetch(static_stub, Req(whitelist=[bad]))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


# -- request semantics -----------------------------------------------------------------------------
def test_number_first_since_until(static_stub) -> None:
    everything = fetch(static_stub, Req())
    uuids = [r.flow.uuid for r in everything]

    last = fetch(static_stub, Req(number=20))
    assert [r.flow.uuid for r in last] == uuids[-20:]

    first = fetch(static_stub, Req(first=True, number=20))
    assert [r.flow.uuid for r in first] == uuids[:20]

    dropped = [r.flow.uuid for r in everything if r.flow.verdict == flow_pb2.DROPPED]
    last_dropped = fetch(static_stub, Req(number=3, whitelist=[FF(verdict=[flow_pb2.DROPPED])]))
    assert [r.flow.uuid for r in last_dropped] == dropped[-3:]

    since, until = everything[100].time, everything[200].time
    window = fetch(static_stub, Req(since=since, until=until))
    lo, hi = since.ToNanoseconds(), until.ToNanoseconds()
    want = [r.flow.uuid for r in everything if lo <= r.time.ToNanoseconds() <= hi]
    assert [r.flow.uuid for r in window] == want and len(want) >= 101

    # since takes precedence over number for the start; number still caps a non-follow answer
    capped = fetch(static_stub, Req(since=since, number=5))
    assert [r.flow.uuid for r in capped] == want[:5]


def test_follow_with_number_rewinds_then_streams_new(stub) -> None:
    everything = fetch(stub, Req())
    got = take(stub.GetFlows(Req(follow=True, number=5)), 50)
    assert [r.flow.uuid for r in got[:5]] == [r.flow.uuid for r in everything[-5:]]
    newest = everything[-1].time.ToNanoseconds()
    assert all(r.time.ToNanoseconds() >= newest for r in got[5:])
    assert not {r.flow.uuid for r in got[5:]} & {r.flow.uuid for r in everything}


def test_follow_without_number_starts_at_newest(stub) -> None:
    everything = fetch(stub, Req())
    got = take(stub.GetFlows(Req(follow=True)), 10)
    assert not {r.flow.uuid for r in got} & {r.flow.uuid for r in everything}


def test_first_with_follow_is_invalid(static_stub) -> None:
    with pytest.raises(grpc.RpcError) as info:
        fetch(static_stub, Req(first=True, follow=True))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_field_mask_keeps_only_requested_paths(static_stub) -> None:
    mask = field_mask_pb2.FieldMask(paths=["time", "verdict", "source.pod_name", "l4"])
    got = fetch(static_stub, Req(number=50, field_mask=mask))
    assert len(got) == 50
    for response in got:
        flow = response.flow
        assert flow.HasField("time") and not flow.uuid and not flow.destination.pod_name
        assert not flow.source.labels and not flow.Summary
    assert any(r.flow.source.pod_name for r in got)
    with pytest.raises(grpc.RpcError) as info:
        fetch(static_stub, Req(number=5, field_mask=field_mask_pb2.FieldMask(paths=["no_such_field"])))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_server_status(stub) -> None:
    status = stub.ServerStatus(observer_pb2.ServerStatusRequest(), timeout=10)
    assert status.num_flows == status.max_flows == HISTORY
    assert status.seen_flows == HISTORY
    assert status.version == VERSION and status.flows_rate > 0
    assert status.num_connected_nodes.value == len(NODES)
    take(stub.GetFlows(Req(follow=True)), 1000)
    later = stub.ServerStatus(observer_pb2.ServerStatusRequest(), timeout=10)
    assert later.seen_flows >= HISTORY + 1000
    assert later.num_flows == HISTORY  # the ring stays bounded
    assert later.uptime_ns >= status.uptime_ns


def test_unix_socket_target(tmp_path: Path) -> None:
    path = tmp_path / "hubble.sock"
    srv = serve_hubble(f"unix://{path}", seed=2, rate=0, history=200, start_time=START)
    try:
        assert srv.target == f"unix://{path}" and path.exists()
        with grpc.insecure_channel(srv.target) as channel:
            stub = observer_pb2_grpc.ObserverStub(channel)
            assert stub.ServerStatus(observer_pb2.ServerStatusRequest(), timeout=10).num_flows == 200
            assert len(fetch(stub, Req(number=20))) == 20
    finally:
        srv.stop()


# -- lost events -----------------------------------------------------------------------------------
def test_lost_events_bypass_filters_and_number() -> None:
    srv = serve_hubble(seed=5, rate=0, history=2000, lost_events_every=100, start_time=START)
    try:
        with grpc.insecure_channel(srv.target) as channel:
            stub = observer_pb2_grpc.ObserverStub(channel)
            dropped_only = [FF(verdict=[flow_pb2.DROPPED])]
            history = fetch(stub, Req(whitelist=dropped_only))
            lost = [r for r in history if r.HasField("lost_events")]
            flows = flows_of(history)
            assert len(lost) >= 15  # ~2000 flows / 100, whatever the filter
            assert flows and all(f.verdict == flow_pb2.DROPPED for f in flows)
            assert all(r.lost_events.source == flow_pb2.HUBBLE_RING_BUFFER and r.lost_events.num_events_lost > 0
                       for r in lost)
            # not counted toward number: 2 matching flows, plus the lost events in between
            few = fetch(stub, Req(number=2, whitelist=dropped_only))
            assert len(flows_of(few)) == 2

            live = take(stub.GetFlows(Req(follow=True, whitelist=dropped_only)), 5,
                        keep=lambda r: r.HasField("lost_events"))
            assert len(live) == 5
    finally:
        srv.stop()


# -- pacing and shutdown ---------------------------------------------------------------------------
def test_paced_server_streams_live_flows_and_stops_cleanly() -> None:
    srv = serve_hubble(seed=1, rate=400.0, history=300)
    done = threading.Event()
    try:
        with grpc.insecure_channel(srv.target) as channel:
            stub = observer_pb2_grpc.ObserverStub(channel)
            history = fetch(stub, Req())
            newest = history[-1].time.ToNanoseconds()
            stream = stub.GetFlows(Req(follow=True))
            live = take(stream, 20)
            assert len(live) == 20 and all(r.time.ToNanoseconds() >= newest for r in live)
            # a still-open follow stream must not keep the server from stopping
            open_stream = stub.GetFlows(Req(follow=True, whitelist=[FF(node_name=["no-such-node"])]))

            def drain() -> None:
                try:
                    for _ in open_stream:
                        pass
                except grpc.RpcError:
                    pass
                done.set()

            threading.Thread(target=drain, daemon=True).start()
            srv.stop(grace=0.2)
            assert done.wait(10), "follow stream did not end when the server stopped"
    finally:
        srv.stop()


# -- matcher details (the server's filter code on hand-made flows) -----------------------------------
def _flow(**kw) -> flow_pb2.Flow:
    flow = flow_pb2.Flow(node_name=kw.get("node", "worker-1"))
    flow.source.labels.extend(kw.get("labels", ["k8s:app=api", "k8s:tier=backend", "reserved:init"]))
    flow.destination_names.extend(kw.get("names", ["api.payments.example.com."]))
    flow.IP.source, flow.IP.destination, flow.IP.ipVersion = "10.0.1.5", "203.0.113.10", flow_pb2.IPv4
    flow.l7.http.url = "http://api.shop.svc.cluster.local:8080/api/cart?x=1"
    flow.l7.http.headers.add(key="X-Request-Id", value="abc")
    flow.source.workloads.add(name="api", kind="Deployment")
    return flow


@pytest.mark.parametrize(("ff", "expected"), [
    (FF(node_name=["default/"]), True), (FF(node_name=["other/"]), False), (FF(node_name=["worker-*"]), True),
    (FF(node_name=["*/worker-1"]), True), (FF(node_name=["worker-2"]), False),
    (FF(source_label=["!k8s:tier"]), False), (FF(source_label=["!k8s:zone"]), True),
    (FF(source_label=["tier notin (db, cache)"]), True), (FF(source_label=["app=api,tier=db"]), False),
    (FF(source_label=["app!=web"]), True), (FF(source_label=["reserved:init"]), True),
    (FF(source_label=["k8s:init"]), False),
    (FF(destination_fqdn=["api.payments.example.com"]), True), (FF(destination_fqdn=["*.EXAMPLE.com"]), True),
    (FF(destination_fqdn=["*.example.net"]), False),
    (FF(http_url=[r"cart\?x=1$"]), True), (FF(http_path=["^/api/cart$"]), True), (FF(http_path=["^/cart"]), False),
    (FF(http_header=[flow_pb2.HTTPHeader(key="X-Request-Id", value="abc")]), True),
    (FF(http_header=[flow_pb2.HTTPHeader(key="X-Request-Id", value="zzz")]), False),
    (FF(source_workload=[flow_pb2.Workload(name="api")]), True),
    (FF(source_workload=[flow_pb2.Workload(name="api", kind="StatefulSet")]), False),
    (FF(ip_version=[flow_pb2.IPv6]), False), (FF(ip_version=[flow_pb2.IPv4]), True),
    (FF(encrypted=[False]), True), (FF(destination_ip=["203.0.113.0/28"]), True),
    (FF(destination_ip=["2001:db8::/32"]), False), (FF(), True),
])
def test_matcher_semantics(ff, expected) -> None:
    from tui.filters.flow_match import compile_filters

    assert compile_filters([ff], [])(_flow()) is expected
    assert compile_filters([], [ff])(_flow()) is (not expected)
