"""Tetragon sock_arg events -> socket facts, flow keys, the ordered two-stream join, and the shipped policy."""

from __future__ import annotations

from pathlib import Path

import yaml

from tui.demo.tetragon_scenario import JOIN_POLICY
from tui.model.join import (
    ACCEPT_FUNCTIONS,
    CLOSE_FUNCTIONS,
    CONNECT_FUNCTIONS,
    FlowJoiner,
    OrderedJoin,
    flow_key,
    sock_event,
)
from tui.proto.flow import flow_pb2
from tui.proto.observer import observer_pb2
from tui.proto.tetragon import events_pb2

T0 = 1_767_225_600 * 10**9
POLICY = Path(__file__).resolve().parents[1] / "deploy" / "tracingpolicy-join.yaml"


def kprobe(function: str, t_ns: int, local: tuple[str, int], remote: tuple[str, int], *, pid: int = 4211,
           returned: bool = False, protocol: str = "IPPROTO_TCP") -> events_pb2.GetEventsResponse:
    response = events_pb2.GetEventsResponse(node_name="worker-1")
    response.time.FromNanoseconds(t_ns)
    body = response.process_kprobe
    body.function_name = function
    body.process.pid.value = pid
    body.process.binary = "/usr/sbin/nginx"
    body.process.pod.namespace, body.process.pod.name = "shop", "frontend-1"
    arg = getattr(body, "return") if returned else body.args.add()
    sock = arg.sock_arg
    sock.family, sock.protocol = "AF_INET", protocol
    (sock.saddr, sock.sport), (sock.daddr, sock.dport) = local, remote
    return response


def flow(t_ns: int, src: tuple[str, int], dst: tuple[str, int]) -> observer_pb2.GetFlowsResponse:
    response = observer_pb2.GetFlowsResponse(node_name="worker-1")
    response.time.FromNanoseconds(t_ns)
    response.flow.time.FromNanoseconds(t_ns)
    response.flow.IP.source, response.flow.IP.destination = src[0], dst[0]
    response.flow.l4.TCP.source_port, response.flow.l4.TCP.destination_port = src[1], dst[1]
    return response


def test_sock_events_from_arguments_and_return_values() -> None:
    connect = sock_event(kprobe("tcp_connect", T0, ("10.0.1.17", 40000), ("10.0.1.42", 8080)))
    assert connect is not None and connect.what == "connect" and connect.protocol == "TCP"
    assert (connect.local_addr, connect.local_port, connect.remote_port) == ("10.0.1.17", 40000, 8080)
    assert connect.process.pid == 4211 and connect.process.pod == "frontend-1" and connect.t_ns == T0
    accept = sock_event(kprobe("inet_csk_accept", T0, ("10.0.1.42", 8080), ("10.0.1.17", 40000), returned=True))
    assert accept is not None and accept.what == "accept" and accept.local_port == 8080
    close = sock_event(kprobe("tcp_close", T0, ("10.0.1.17", 40000), ("10.0.1.42", 8080)))
    assert close is not None and close.what == "close"
    use = sock_event(kprobe("tcp_sendmsg", T0, ("10.0.1.17", 40000), ("10.0.1.42", 8080)))
    assert use is not None and use.what == "use"
    assert sock_event(kprobe("tcp_connect", T0, ("10.0.1.17", 1), ("10.0.1.42", 2), protocol="IPPROTO_RAW")) is None
    exec_event = events_pb2.GetEventsResponse()
    exec_event.process_exec.process.binary = "/bin/sh"
    assert sock_event(exec_event) is None


def test_flow_keys() -> None:
    key = flow_key(flow(T0, ("10.0.1.17", 40000), ("10.0.1.42", 8080)).flow)
    assert key is not None and (key.protocol, key.sport, key.dport, key.t_ns) == ("TCP", 40000, 8080, T0)
    icmp = flow_pb2.Flow()
    icmp.IP.source, icmp.IP.destination = "10.0.1.17", "10.0.1.42"
    icmp.l4.ICMPv4.type = 8
    assert flow_key(icmp) is None
    pre = flow(T0, ("10.0.1.17", 40000), ("10.96.0.10", 53)).flow
    pre.sock_xlate_point = flow_pb2.SOCK_XLATE_POINT_PRE_DIRECTION_FWD
    assert flow_key(pre).dst_is_service is True


def test_joiner_connect_accept_close() -> None:
    joiner = FlowJoiner()
    joiner.add_event(kprobe("tcp_connect", T0, ("10.0.1.17", 40000), ("10.0.1.42", 8080)))
    joiner.add_event(kprobe("inet_csk_accept", T0 + 100, ("10.0.1.42", 8080), ("10.0.1.17", 40000), pid=4388,
                            returned=True))
    syn = flow(T0 + 5, ("10.0.1.17", 40000), ("10.0.1.42", 8080)).flow
    assert joiner.process_of(syn).pid == 4211
    joiner.add_event(kprobe("tcp_close", T0 + 10**9, ("10.0.1.17", 40000), ("10.0.1.42", 8080)))
    late = flow(T0 + 5 * 10**9, ("10.0.1.17", 40000), ("10.0.1.42", 8080)).flow
    assert joiner.lookup(late).client is None  # closed 4 s before: stale, not an answer
    assert joiner.counters()["socket_events"] == 3


def test_ordered_join_waits_for_the_events_of_a_flows_time() -> None:
    join = OrderedJoin(lookahead_ns=10**9)
    join.add_flow(flow(T0, ("10.0.1.17", 40000), ("10.0.1.42", 8080)))
    assert join.ready() == []  # nothing known about that time yet
    join.add_event(kprobe("tcp_connect", T0 + 3_000, ("10.0.1.17", 40000), ("10.0.1.42", 8080)))
    assert join.ready() == []  # an event 3 us later is not yet "beyond" the lookahead
    join.add_event(kprobe("tcp_connect", T0 + 2 * 10**9, ("10.0.1.17", 40001), ("10.0.1.42", 8080)))
    (response, _, process), = join.ready()
    assert process is not None and process.pid == 4211
    # a live event stream that went quiet: the flow waits `wait` seconds, then goes out unanswered
    join.add_flow(flow(T0 + 5 * 10**9, ("10.0.1.17", 40009), ("10.0.1.42", 8080)), arrived=0.0)
    assert len(join.ready(now=0.5, wait=1.0)) == 0 and len(join.ready(now=1.5, wait=1.0)) == 1


def test_shipped_policy_hooks_what_the_join_reads() -> None:
    policy = yaml.safe_load(POLICY.read_text())
    assert policy["kind"] == "TracingPolicy" and policy["metadata"]["name"] == JOIN_POLICY
    calls = {probe["call"]: probe for probe in policy["spec"]["kprobes"]}
    assert calls.keys() & CONNECT_FUNCTIONS and calls.keys() & ACCEPT_FUNCTIONS and calls.keys() & CLOSE_FUNCTIONS
    for name, probe in calls.items():
        where = probe["returnArg"] if name in ACCEPT_FUNCTIONS else probe["args"][0]
        assert where["type"] == "sock", name
