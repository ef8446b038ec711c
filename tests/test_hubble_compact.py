"""Compact lines exactly as `hubble observe -o compact` (Cilium 1.19) prints them."""

from __future__ import annotations

import calendar
import re

import pytest
from google.protobuf import wrappers_pb2

from tui.proto.flow import flow_pb2
from tui.proto.observer import observer_pb2
from tui.proto.relay import relay_pb2
from tui.render.hubble_compact import (
    CompactOptions,
    drop_date,
    flow_line,
    flow_pieces,
    flow_rich_text,
    format_timestamp,
    narrow_pieces,
    node_status_text,
    pieces_plain,
    response_line,
)


def at(text: str, millis: int = 0) -> tuple[int, int]:
    """`2024-09-13 11:21:00` UTC plus `millis` ms (and a few extra ns, which must be truncated)."""
    seconds = calendar.timegm(__import__("time").strptime(text, "%Y-%m-%d %H:%M:%S"))
    return seconds, millis * 1_000_000 + 999


def make_flow(*, when: str = "2024-09-13 11:21:00", ms: int = 558, src_ip: str = "10.0.0.1",
              dst_ip: str = "10.0.0.2", tcp: tuple[int, int] | None = None, udp: tuple[int, int] | None = None,
              src: dict | None = None, dst: dict | None = None, reply: bool | None = None,
              event: tuple[int, int] = (4, 0), verdict: int = flow_pb2.FORWARDED, summary: str = "",
              **fields: object) -> flow_pb2.Flow:
    flow = flow_pb2.Flow(verdict=verdict, Summary=summary, **fields)
    seconds, nanos = at(when, ms)
    flow.time.seconds, flow.time.nanos = seconds, nanos
    if src_ip is not None:
        flow.IP.source, flow.IP.destination = src_ip, dst_ip
    if tcp:
        flow.l4.TCP.source_port, flow.l4.TCP.destination_port = tcp
    if udp:
        flow.l4.UDP.source_port, flow.l4.UDP.destination_port = udp
    for endpoint, values in ((flow.source, src), (flow.destination, dst)):
        for key, value in (values or {}).items():
            if key == "labels":
                endpoint.labels.extend(value)
            else:
                setattr(endpoint, key, value)
    if reply is not None:
        flow.is_reply.CopyFrom(wrappers_pb2.BoolValue(value=reply))
    flow.event_type.type, flow.event_type.sub_type = event
    return flow


def test_timestamp_is_utc_stamp_milli_truncated() -> None:
    assert format_timestamp(1234, 567_800_000) == "Jan  1 00:20:34.567"
    assert format_timestamp(*at("2024-11-22 17:08:13", 799)) == "Nov 22 17:08:13.799"
    assert format_timestamp(-62135596801, 0) == "N/A"
    assert format_timestamp(0, 1_000_000_000) == "N/A"
    flow = make_flow()
    flow.ClearField("time")
    assert flow_line(flow).startswith("N/A: ")


def test_real_reply_line_from_cilium_issue_36118() -> None:
    flow = make_flow(when="2024-11-22 17:08:13", ms=799, src_ip="10.1.0.143", dst_ip="10.1.0.23",
                     tcp=(4240, 40590), src={"identity": 4}, dst={"identity": 1}, reply=True,
                     event=(4, 3), summary="TCP Flags: ACK, PSH")
    assert flow_line(flow) == ("Nov 22 17:08:13.799: 10.1.0.23:40590 (host) <- 10.1.0.143:4240 (health) "
                               "to-stack FORWARDED (TCP Flags: ACK, PSH)")


def test_real_drop_line() -> None:
    flow = make_flow(src_ip="10.0.3.4", dst_ip="104.198.14.52", tcp=(58178, 443),
                     src={"identity": 82359, "namespace": "cf2cnp-lab", "pod_name": "pos"},
                     dst={"identity": 2}, event=(1, 133), verdict=flow_pb2.DROPPED, summary="TCP Flags: SYN")
    assert flow_line(flow) == ("Sep 13 11:21:00.558: cf2cnp-lab/pos:58178 (ID:82359) <> 104.198.14.52:443 "
                               "(world) Policy denied DROPPED (TCP Flags: SYN)")


def test_arrow_forward_and_missing_endpoints() -> None:
    flow = make_flow(tcp=(1000, 80), reply=False)
    assert " 10.0.0.1:1000 (unknown) -> 10.0.0.2:80 (unknown) to-endpoint " in flow_line(flow)


def test_node_name_and_translation_switches() -> None:
    flow = make_flow(udp=(5353, 53), node_name="kind/worker-1",
                     src={"namespace": "shop", "pod_name": "api-1", "identity": 300},
                     destination_service=flow_pb2.Service(name="kube-dns", namespace="kube-system"),
                     dst={"namespace": "kube-system", "pod_name": "coredns-1"})
    assert flow_line(flow, CompactOptions(node_name=True)).startswith(
        "Sep 13 11:21:00.558 [kind/worker-1]: shop/api-1:5353 (ID:300) <> kube-system/coredns-1:53 ")
    numeric = flow_line(flow, CompactOptions(ip_translation=False))
    assert ": 10.0.0.1:5353 (ID:300) <> 10.0.0.2:53 (unknown) " in numeric
    flow.destination.ClearField("pod_name")
    assert "<> kube-system/kube-dns:53 " in flow_line(flow)


def test_names_ipv6_icmp_and_ethernet() -> None:
    flow = make_flow(src_ip="2001:db8::1", dst_ip="2001:db8::2", tcp=(4000, 443),
                     destination_names=["a.example.com", "b.example.com"])
    assert ": [2001:db8::1]:4000 (unknown) <> a.example.com,b.example.com:443 (unknown) " in flow_line(flow)
    icmp = make_flow(summary="ICMPv4 EchoRequest")
    icmp.l4.ICMPv4.type = 8
    assert ": 10.0.0.1 (unknown) <> 10.0.0.2 (unknown) to-endpoint FORWARDED (ICMPv4 EchoRequest)" in flow_line(icmp)
    zero_port = make_flow(tcp=(0, 80))
    assert ": 10.0.0.1 (unknown) <> 10.0.0.2:80 " in flow_line(zero_port)
    eth = make_flow(src_ip=None, ethernet=flow_pb2.Ethernet(source="aa:bb", destination="cc:dd"))
    assert ": aa:bb (unknown) <> cc:dd (unknown) " in flow_line(eth)
    bare = make_flow(src_ip=None)
    assert ":  (unknown) <>  (unknown) to-endpoint" in flow_line(bare)


@pytest.mark.parametrize(("record", "l7_type", "expected"), [
    ("http", flow_pb2.REQUEST, "http-request"),
    ("http", flow_pb2.RESPONSE, "http-response"),
    ("dns", flow_pb2.REQUEST, "dns-request proxy"),
    ("dns", flow_pb2.RESPONSE, "dns-response proxy"),
    ("kafka", flow_pb2.REQUEST, "kafka-request"),
    (None, flow_pb2.SAMPLE, "l7-sample"),
    ("http", flow_pb2.UNKNOWN_L7_TYPE, "http-unknown_l7_type"),
])
def test_l7_types(record: str | None, l7_type: int, expected: str) -> None:
    flow = make_flow(tcp=(1, 2), event=(129, 0))
    flow.l7.type = l7_type
    if record == "http":
        flow.l7.http.code = 200
    elif record == "dns":
        flow.l7.dns.query = "x."
        flow.l7.dns.observation_source = "proxy"
    elif record == "kafka":
        flow.l7.kafka.topic = "t"
    assert f" (unknown) {expected} FORWARDED ()" in flow_line(flow)


def test_dns_without_observation_source_keeps_hubbles_trailing_space() -> None:
    flow = make_flow(event=(129, 0))
    flow.l7.type = flow_pb2.REQUEST
    flow.l7.dns.query = "x."
    assert " dns-request  FORWARDED" in flow_line(flow)


@pytest.mark.parametrize(("event", "fields", "expected"), [
    ((4, 0), {}, "to-endpoint"), ((4, 1), {}, "to-proxy"), ((4, 5), {}, "from-endpoint"),
    ((4, 10), {}, "from-network"), ((4, 13), {}, "to-crypto"), ((4, 42), {}, "42"),
    ((1, 181), {}, "Policy denied by denylist"), ((1, 151), {}, "Stale or unroutable IP"),
    ((1, 250), {}, "250, 0"), ((1, 133 + 256), {}, "Policy denied"),
    ((3, 0), {"debug_capture_point": flow_pb2.DBG_CAPTURE_DELIVERY}, "DBG_CAPTURE_DELIVERY"),
    ((7, 0), {"sock_xlate_point": flow_pb2.SOCK_XLATE_POINT_PRE_DIRECTION_FWD}, "pre-xlate-fwd"),
    ((7, 0), {"sock_xlate_point": flow_pb2.SOCK_XLATE_POINT_POST_DIRECTION_REV}, "post-xlate-rev"),
    ((7, 0), {}, "SOCK_XLATE_POINT_UNKNOWN"),
    ((2, 0), {}, "UNKNOWN"), ((0, 0), {}, "UNKNOWN"),
])
def test_flow_types(event: tuple[int, int], fields: dict, expected: str) -> None:
    flow = make_flow(event=event, **fields)
    assert f" (unknown) {expected} FORWARDED ()" in flow_line(flow)


@pytest.mark.parametrize(("verdict", "match", "direction", "expected"), [
    (flow_pb2.FORWARDED, 2, flow_pb2.EGRESS, "policy-verdict:L3-L4 EGRESS ALLOWED"),
    (flow_pb2.REDIRECTED, 4, flow_pb2.INGRESS, "policy-verdict:all INGRESS ALLOWED"),
    (flow_pb2.DROPPED, 0, flow_pb2.TRAFFIC_DIRECTION_UNKNOWN, "policy-verdict:none TRAFFIC_DIRECTION_UNKNOWN DENIED"),
    (flow_pb2.ERROR, 1, flow_pb2.INGRESS, "policy-verdict:L3-Only INGRESS DENIED"),
    (flow_pb2.AUDIT, 3, flow_pb2.EGRESS, "policy-verdict:L4-Only EGRESS AUDITED"),
    (flow_pb2.FORWARDED, 5, flow_pb2.EGRESS, "policy-verdict:L3-Proto EGRESS ALLOWED"),
    (flow_pb2.FORWARDED, 6, flow_pb2.EGRESS, "policy-verdict:Proto-Only EGRESS ALLOWED"),
    (flow_pb2.FORWARDED, 9, flow_pb2.EGRESS, "policy-verdict:unknown EGRESS ALLOWED"),
    (flow_pb2.TRACED, 1, flow_pb2.EGRESS, "policy-verdict:L3-Only EGRESS TRACED"),
])
def test_policy_verdicts(verdict: int, match: int, direction: int, expected: str) -> None:
    flow = make_flow(event=(5, 0), verdict=verdict, policy_match_type=match, traffic_direction=direction)
    assert flow_line(flow).endswith(f" {expected} ()")


def test_print_policy_names() -> None:
    flow = make_flow(event=(5, 0), verdict=flow_pb2.DROPPED, traffic_direction=flow_pb2.EGRESS,
                     policy_match_type=0)
    flow.egress_denied_by.add(name="deny-db", kind="CiliumNetworkPolicy", namespace="shop")
    flow.egress_denied_by.add(name="", kind="CiliumNetworkPolicy")
    flow.egress_denied_by.add(name="deny-all", kind="CiliumClusterwideNetworkPolicy")
    flow.ingress_denied_by.add(name="not-this-direction", kind="CiliumNetworkPolicy")
    line = flow_line(flow, CompactOptions(policy_names=True))
    assert line.endswith(" EGRESS DENIED BY deny-db (CiliumNetworkPolicy), deny-all "
                         "(CiliumClusterwideNetworkPolicy) ()")
    assert flow_line(flow).endswith(" EGRESS DENIED ()")
    assert flow_line(flow, CompactOptions(policy_names=True), color=True).endswith(
        " EGRESS \x1b[31mDENIED BY deny-db (CiliumNetworkPolicy), deny-all (CiliumClusterwideNetworkPolicy)"
        "\x1b[0m ()")
    flow.event_type.type = 1  # a drop event, not a policy verdict: no names
    assert " DROPPED ()" in flow_line(flow, CompactOptions(policy_names=True))


def test_verdict_names_and_summary_extras() -> None:
    assert " to-endpoint TRANSLATED (" in flow_line(make_flow(verdict=flow_pb2.TRANSLATED))
    assert " to-endpoint VERDICT_UNKNOWN (" in flow_line(make_flow(verdict=0))
    assert " to-endpoint 99 (" in flow_line(make_flow(verdict=99))
    flow = make_flow(summary="TCP Flags: SYN", auth_type=flow_pb2.SPIRE)
    flow.ip_trace_id.trace_id = 77
    assert flow_line(flow).endswith(" FORWARDED (IP Trace ID: 77; TCP Flags: SYN; SPIRE)")


def test_control_characters_escaped_like_hubble() -> None:
    flow = make_flow(tcp=(1, 80), src={"namespace": "ns", "pod_name": "evil\x1b[2J\rpod"},
                     summary="HTTP/1.1 GET http://x/\x1b]0;title\x07")
    line = flow_line(flow)
    assert "\x1b" not in line and "\r" not in line
    assert "ns/evil^[[2J\\rpod:1" in line
    assert "(HTTP/1.1 GET http://x/^[]0;title\\x07)" in line  # hubble passes BEL raw; ebtop does not
    rich = flow_rich_text(flow)
    assert "\x1b" not in rich.plain and "\x07" not in rich.plain
    assert rich.plain == line  # the pane and batch escape the same way


def test_every_control_and_invisible_character_is_escaped_one_flow_one_line() -> None:
    flow = make_flow(tcp=(1, 80), src={"namespace": "ns", "pod_name": "a\nb\x08c\x7fd\x9be\tf"},
                     dst={"namespace": "ns", "pod_name": "x\u202eexe.txt\u200b"},
                     summary="GET /\r\nSep 13 11:21:00.558: forged", event=(5, 0),
                     traffic_direction=flow_pb2.EGRESS)
    flow.egress_allowed_by.add(name="p\n1", kind="K\x1b[2J")
    line = flow_line(flow, CompactOptions(policy_names=True))
    assert "\n" not in line and not re.search(r"[\x00-\x1f\x7f-\x9f\u202e\u200b]", line), line
    assert "ns/a\\nb\\x08c\\x7fd\\x9be\\tf:1" in line and "ns/x\\u202eexe.txt\\u200b:80" in line
    assert "(GET /\\r\\nSep 13 11:21:00.558: forged)" in line
    assert "ALLOWED BY p\\n1 (K^[[2J)" in line


def test_ansi_colours_like_fatih_color() -> None:
    flow = make_flow(tcp=(1000, 80), src={"identity": 1}, dst={"identity": 2}, reply=False,
                     verdict=flow_pb2.DROPPED, event=(1, 133), summary="TCP Flags: SYN")
    assert flow_line(flow, color=True) == (
        "Sep 13 11:21:00.558: \x1b[36m10.0.0.1:\x1b[33m1000\x1b[0m\x1b[0m \x1b[35m(host)\x1b[0m -> "
        "\x1b[36m10.0.0.2:\x1b[33m80\x1b[0m\x1b[0m \x1b[35m(world)\x1b[0m Policy denied "
        "\x1b[31mDROPPED\x1b[0m (TCP Flags: SYN)")
    icmp = make_flow(verdict=flow_pb2.FORWARDED)
    assert "\x1b[36m10.0.0.1\x1b[0m \x1b[35m(unknown)\x1b[0m" in flow_line(icmp, color=True)
    assert "\x1b[32mFORWARDED\x1b[0m" in flow_line(icmp, color=True)


def test_rich_text_styles_by_verdict() -> None:
    dropped = flow_rich_text(make_flow(verdict=flow_pb2.DROPPED))
    assert dropped.plain == flow_line(make_flow(verdict=flow_pb2.DROPPED))
    styles = {dropped.plain[s.start:s.end]: str(s.style) for s in dropped.spans}
    assert styles["DROPPED"] == "red"
    assert styles["(unknown)"] == "magenta"
    audit = flow_rich_text(make_flow(verdict=flow_pb2.AUDIT))
    assert {audit.plain[s.start:s.end]: str(s.style) for s in audit.spans}["AUDIT"] == "yellow"


def lost_response(first: bool) -> observer_pb2.GetFlowsResponse:
    response = observer_pb2.GetFlowsResponse()
    response.time.seconds, response.time.nanos = at("2025-09-28 08:25:44", 749)
    response.lost_events.source = flow_pb2.HUBBLE_RING_BUFFER
    response.lost_events.num_events_lost = 1
    if first:
        response.lost_events.cpu.value = 3
        response.lost_events.first.seconds, _ = at("2025-09-28 08:25:43")
        response.lost_events.last.seconds, _ = at("2025-09-28 08:25:44")
    return response


def test_lost_events_lines() -> None:
    opts = CompactOptions(node_name=True)
    assert response_line(lost_response(False), opts) == "Sep 28 08:25:44.749 EVENTS LOST: HUBBLE_RING_BUFFER CPU(0) 1"
    assert response_line(lost_response(True)) == (
        "Sep 28 08:25:44.749 EVENTS LOST: HUBBLE_RING_BUFFER CPU(3) 1"
        " (first: Sep 28 08:25:43.000, last: Sep 28 08:25:44.000)")


def test_node_status_lines() -> None:
    response = observer_pb2.GetFlowsResponse(node_name="relay")
    response.time.seconds, response.time.nanos = at("2025-01-02 03:04:05", 6)
    response.node_status.state_change = relay_pb2.NODE_UNAVAILABLE
    response.node_status.node_names.extend([f"node-{i:02d}-with-a-long-name" for i in range(4)])
    assert node_status_text(response) == (
        "Jan  2 03:04:05.006 [relay]: 4 nodes are unavailable: node-00-with-a-long-name (and 3 more)")
    del response.node_status.node_names[2:]
    response.node_status.node_names[:] = ["a", "b"]
    assert node_status_text(response).endswith(": 2 nodes are unavailable: a, b")
    response.node_status.state_change = relay_pb2.NODE_ERROR
    response.node_status.message = "tls: bad certificate"
    response.node_status.node_names[:] = ["node-00-with-a-long-name"]
    assert node_status_text(response).endswith(': Error "tls: bad certificate" on 1 nodes: node-00-with-a-long-name')
    response.node_status.state_change = relay_pb2.NODE_CONNECTED
    assert node_status_text(response).endswith(": Receiving flows from 1 nodes: node-00-with-a-long-name")
    response.node_status.state_change = relay_pb2.NODE_GONE
    assert node_status_text(response).endswith(": 1 nodes removed from cluster: node-00-with-a-long-name")
    assert response_line(response) is None


def test_narrow_lines_drop_the_date_and_numeric_identities_but_not_batch_text() -> None:
    flow = make_flow(src_ip="10.0.3.4", dst_ip="104.198.14.52", tcp=(58178, 443),
                     src={"identity": 82359, "namespace": "cf2cnp-lab", "pod_name": "pos"},
                     dst={"identity": 2}, event=(1, 133), verdict=flow_pb2.DROPPED, summary="TCP Flags: SYN")
    pieces = flow_pieces(flow, CompactOptions())
    narrow = pieces_plain(narrow_pieces(pieces))
    assert narrow == ("11:21:00.558: cf2cnp-lab/pos:58178 <> 104.198.14.52:443 (world) Policy denied DROPPED "
                      "(TCP Flags: SYN)")
    assert len(narrow) == len(pieces_plain(pieces)) - len("Sep 13 ") - len(" (ID:82359)")
    assert flow_line(flow).startswith("Sep 13 11:21:00.558: cf2cnp-lab/pos:58178 (ID:82359) <> ")  # batch keeps it
    node = make_flow(node_name="k8s-1")
    assert pieces_plain(narrow_pieces(flow_pieces(node, CompactOptions(node_name=True)))).startswith(
        "11:21:00.558 [k8s-1]: 10.0.0.1 (unknown) <> 10.0.0.2 (unknown) to-endpoint")  # reserved names stay
    assert drop_date("N/A: x") == "N/A: x" and drop_date("Jan  2 03:04:05.006: x") == "03:04:05.006: x"
