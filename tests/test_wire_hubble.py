"""Wire compatibility of ebtop's Hubble schemas with upstream Cilium (v1.19.4 field numbers).

The number tables below are the upstream facts (checked against cilium/cilium api/v1 flow.proto,
observer.proto, relay.proto descriptors); a renumbered field here would silently garble real data.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor as FD

from tui.proto import jsonlines
from tui.proto.flow import flow_pb2
from tui.proto.observer import observer_pb2
from tui.proto.relay import relay_pb2

REPO = Path(__file__).resolve().parent.parent
U64, U32, I32, BOOL, STR, DBL = FD.TYPE_UINT64, FD.TYPE_UINT32, FD.TYPE_INT32, FD.TYPE_BOOL, FD.TYPE_STRING, FD.TYPE_DOUBLE
MSG, ENUM = FD.TYPE_MESSAGE, FD.TYPE_ENUM
REP = "repeated"

# message -> {field: (number, type, type name for messages/enums or None, repeated?)}
EXPECTED: dict[object, dict[str, tuple]] = {
    flow_pb2.Flow: {
        "time": (1, MSG, "google.protobuf.Timestamp"), "uuid": (34, STR), "emitter": (41, MSG, "flow.Emitter"),
        "verdict": (2, ENUM, "flow.Verdict"), "drop_reason": (3, U32),
        "auth_type": (35, ENUM, "flow.AuthType"), "ethernet": (4, MSG, "flow.Ethernet"),
        "IP": (5, MSG, "flow.IP"), "l4": (6, MSG, "flow.Layer4"),
        "source": (8, MSG, "flow.Endpoint"), "destination": (9, MSG, "flow.Endpoint"),
        "Type": (10, ENUM, "flow.FlowType"), "node_name": (11, STR), "node_labels": (37, STR, None, REP),
        "source_names": (13, STR, None, REP), "destination_names": (14, STR, None, REP),
        "l7": (15, MSG, "flow.Layer7"), "reply": (16, BOOL),
        "event_type": (19, MSG, "flow.CiliumEventType"),
        "source_service": (20, MSG, "flow.Service"), "destination_service": (21, MSG, "flow.Service"),
        "traffic_direction": (22, ENUM, "flow.TrafficDirection"), "policy_match_type": (23, U32),
        "trace_observation_point": (24, ENUM, "flow.TraceObservationPoint"),
        "trace_reason": (36, ENUM, "flow.TraceReason"), "file": (38, MSG, "flow.FileInfo"),
        "ip_trace_id": (40, MSG, "flow.IPTraceID"), "drop_reason_desc": (25, ENUM, "flow.DropReason"),
        "is_reply": (26, MSG, "google.protobuf.BoolValue"),
        "debug_capture_point": (27, ENUM, "flow.DebugCapturePoint"),
        "interface": (28, MSG, "flow.NetworkInterface"), "proxy_port": (29, U32),
        "trace_context": (30, MSG, "flow.TraceContext"),
        "sock_xlate_point": (31, ENUM, "flow.SocketTranslationPoint"), "socket_cookie": (32, U64),
        "cgroup_id": (33, U64), "Summary": (100000, STR), "extensions": (150000, MSG, "google.protobuf.Any"),
        "egress_allowed_by": (21001, MSG, "flow.Policy", REP), "ingress_allowed_by": (21002, MSG, "flow.Policy", REP),
        "egress_denied_by": (21004, MSG, "flow.Policy", REP), "ingress_denied_by": (21005, MSG, "flow.Policy", REP),
        "policy_log": (21006, STR, None, REP), "aggregate": (21007, MSG, "flow.Aggregate"),
    },
    flow_pb2.Endpoint: {
        "ID": (1, U32), "identity": (2, U32), "cluster_name": (7, STR), "namespace": (3, STR),
        "labels": (4, STR, None, REP), "pod_name": (5, STR), "workloads": (6, MSG, "flow.Workload", REP),
    },
    flow_pb2.IP: {"source": (1, STR), "source_xlated": (5, STR), "destination": (2, STR),
                  "ipVersion": (3, ENUM, "flow.IPVersion"), "encrypted": (4, BOOL)},
    flow_pb2.Layer4: {"TCP": (1, MSG, "flow.TCP"), "UDP": (2, MSG, "flow.UDP"), "ICMPv4": (3, MSG, "flow.ICMPv4"),
                      "ICMPv6": (4, MSG, "flow.ICMPv6"), "SCTP": (5, MSG, "flow.SCTP")},
    flow_pb2.TCP: {"source_port": (1, U32), "destination_port": (2, U32), "flags": (3, MSG, "flow.TCPFlags")},
    flow_pb2.TCPFlags: {name: (i, BOOL) for i, name in
                        enumerate(("FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "NS"), start=1)},
    flow_pb2.UDP: {"source_port": (1, U32), "destination_port": (2, U32)},
    flow_pb2.ICMPv4: {"type": (1, U32), "code": (2, U32)},
    flow_pb2.Layer7: {"type": (1, ENUM, "flow.L7FlowType"), "latency_ns": (2, U64), "dns": (100, MSG, "flow.DNS"),
                      "http": (101, MSG, "flow.HTTP"), "kafka": (102, MSG, "flow.Kafka")},
    flow_pb2.DNS: {"query": (1, STR), "ips": (2, STR, None, REP), "ttl": (3, U32), "cnames": (4, STR, None, REP),
                   "observation_source": (5, STR), "rcode": (6, U32), "qtypes": (7, STR, None, REP),
                   "rrtypes": (8, STR, None, REP)},
    flow_pb2.HTTP: {"code": (1, U32), "method": (2, STR), "url": (3, STR), "protocol": (4, STR),
                    "headers": (5, MSG, "flow.HTTPHeader", REP)},
    flow_pb2.Kafka: {"error_code": (1, I32), "api_version": (2, I32), "api_key": (3, STR),
                     "correlation_id": (4, I32), "topic": (5, STR)},
    flow_pb2.Service: {"name": (1, STR), "namespace": (2, STR)},
    flow_pb2.CiliumEventType: {"type": (1, I32), "sub_type": (2, I32)},
    flow_pb2.EventTypeFilter: {"type": (1, I32), "match_sub_type": (2, BOOL), "sub_type": (3, I32)},
    flow_pb2.Policy: {"name": (1, STR), "namespace": (2, STR), "labels": (3, STR, None, REP),
                      "revision": (4, U64), "kind": (5, STR)},
    flow_pb2.LostEvent: {"source": (1, ENUM, "flow.LostEventSource"), "num_events_lost": (2, U64),
                         "cpu": (3, MSG, "google.protobuf.Int32Value"), "first": (4, MSG, "google.protobuf.Timestamp"),
                         "last": (5, MSG, "google.protobuf.Timestamp")},
    flow_pb2.FlowFilter: {
        "uuid": (29, STR, None, REP), "source_ip": (1, STR, None, REP), "source_ip_xlated": (34, STR, None, REP),
        "source_pod": (2, STR, None, REP), "source_fqdn": (7, STR, None, REP), "source_label": (10, STR, None, REP),
        "source_service": (16, STR, None, REP), "source_workload": (26, MSG, "flow.Workload", REP),
        "source_cluster_name": (37, STR, None, REP), "destination_ip": (3, STR, None, REP),
        "destination_pod": (4, STR, None, REP), "destination_fqdn": (8, STR, None, REP),
        "destination_label": (11, STR, None, REP), "destination_service": (17, STR, None, REP),
        "destination_workload": (27, MSG, "flow.Workload", REP), "destination_cluster_name": (38, STR, None, REP),
        "traffic_direction": (30, ENUM, "flow.TrafficDirection", REP), "verdict": (5, ENUM, "flow.Verdict", REP),
        "drop_reason_desc": (33, ENUM, "flow.DropReason", REP),
        "interface": (35, MSG, "flow.NetworkInterface", REP),
        "event_type": (6, MSG, "flow.EventTypeFilter", REP), "http_status_code": (9, STR, None, REP),
        "protocol": (12, STR, None, REP), "source_port": (13, STR, None, REP),
        "destination_port": (14, STR, None, REP), "reply": (15, BOOL, None, REP),
        "dns_query": (18, STR, None, REP), "source_identity": (19, U32, None, REP),
        "destination_identity": (20, U32, None, REP), "http_method": (21, STR, None, REP),
        "http_path": (22, STR, None, REP), "http_url": (31, STR, None, REP),
        "http_header": (32, MSG, "flow.HTTPHeader", REP), "tcp_flags": (23, MSG, "flow.TCPFlags", REP),
        "node_name": (24, STR, None, REP), "node_labels": (36, STR, None, REP),
        "ip_version": (25, ENUM, "flow.IPVersion", REP), "trace_id": (28, STR, None, REP),
        "ip_trace_id": (39, U64, None, REP), "encrypted": (40, BOOL, None, REP),
        "experimental": (999, MSG, "flow.FlowFilter.Experimental"),
    },
    observer_pb2.GetFlowsRequest: {
        "number": (1, U64), "first": (9, BOOL), "follow": (3, BOOL),
        "blacklist": (5, MSG, "flow.FlowFilter", REP), "whitelist": (6, MSG, "flow.FlowFilter", REP),
        "since": (7, MSG, "google.protobuf.Timestamp"), "until": (8, MSG, "google.protobuf.Timestamp"),
        "field_mask": (10, MSG, "google.protobuf.FieldMask"),
        "experimental": (999, MSG, "observer.GetFlowsRequest.Experimental"),
        "extensions": (150000, MSG, "google.protobuf.Any"),
    },
    observer_pb2.GetFlowsResponse: {
        "flow": (1, MSG, "flow.Flow"), "node_status": (2, MSG, "relay.NodeStatusEvent"),
        "lost_events": (3, MSG, "flow.LostEvent"), "node_name": (1000, STR),
        "time": (1001, MSG, "google.protobuf.Timestamp"),
    },
    observer_pb2.ServerStatusResponse: {
        "num_flows": (1, U64), "max_flows": (2, U64), "seen_flows": (3, U64), "uptime_ns": (4, U64),
        "num_connected_nodes": (5, MSG, "google.protobuf.UInt32Value"),
        "num_unavailable_nodes": (6, MSG, "google.protobuf.UInt32Value"),
        "unavailable_nodes": (7, STR, None, REP), "version": (8, STR), "flows_rate": (9, DBL),
    },
    observer_pb2.Node: {"name": (1, STR), "version": (2, STR), "address": (3, STR),
                        "state": (4, ENUM, "relay.NodeState"), "tls": (5, MSG, "observer.TLS"),
                        "uptime_ns": (6, U64), "num_flows": (7, U64), "max_flows": (8, U64), "seen_flows": (9, U64)},
    flow_pb2.Workload: {"name": (1, STR), "kind": (2, STR)},
    flow_pb2.HTTPHeader: {"key": (1, STR), "value": (2, STR)},
    flow_pb2.Ethernet: {"source": (1, STR), "destination": (2, STR)},
    flow_pb2.SCTP: {"source_port": (1, U32), "destination_port": (2, U32)},
    flow_pb2.ICMPv6: {"type": (1, U32), "code": (2, U32)},
    flow_pb2.Emitter: {"name": (1, STR), "version": (2, STR)},
    flow_pb2.FileInfo: {"name": (1, STR), "line": (2, U32)},
    flow_pb2.IPTraceID: {"trace_id": (1, U64), "ip_option_type": (2, U32)},
    flow_pb2.NetworkInterface: {"index": (1, U32), "name": (2, STR)},
    flow_pb2.TraceContext: {"parent": (1, MSG, "flow.TraceParent")},
    flow_pb2.TraceParent: {"trace_id": (1, STR)},
    flow_pb2.Aggregate: {"ingress_flow_count": (1, U32), "egress_flow_count": (2, U32),
                         "unknown_direction_flow_count": (3, U32)},
    flow_pb2.FlowFilter.Experimental: {"cel_expression": (1, STR, None, REP)},
    observer_pb2.GetFlowsRequest.Experimental: {},
    observer_pb2.ServerStatusRequest: {},
    observer_pb2.GetNodesRequest: {},
    observer_pb2.GetNodesResponse: {"nodes": (1, MSG, "observer.Node", REP)},
    observer_pb2.TLS: {"enabled": (1, BOOL), "server_name": (2, STR)},
    observer_pb2.GetNamespacesRequest: {},
    observer_pb2.GetNamespacesResponse: {"namespaces": (1, MSG, "observer.Namespace", REP)},
    observer_pb2.Namespace: {"cluster": (1, STR), "namespace": (2, STR)},
    relay_pb2.NodeStatusEvent: {"state_change": (1, ENUM, "relay.NodeState"),
                                "node_names": (2, STR, None, REP), "message": (3, STR)},
}

EXPECTED_ENUMS = {
    flow_pb2.Verdict: {"VERDICT_UNKNOWN": 0, "FORWARDED": 1, "DROPPED": 2, "ERROR": 3, "AUDIT": 4,
                       "REDIRECTED": 5, "TRACED": 6, "TRANSLATED": 7},
    flow_pb2.FlowType: {"UNKNOWN_TYPE": 0, "L3_L4": 1, "L7": 2, "SOCK": 3},
    flow_pb2.TrafficDirection: {"TRAFFIC_DIRECTION_UNKNOWN": 0, "INGRESS": 1, "EGRESS": 2},
    flow_pb2.L7FlowType: {"UNKNOWN_L7_TYPE": 0, "REQUEST": 1, "RESPONSE": 2, "SAMPLE": 3},
    flow_pb2.IPVersion: {"IP_NOT_USED": 0, "IPv4": 1, "IPv6": 2},
    flow_pb2.TraceObservationPoint: {"UNKNOWN_POINT": 0, "TO_PROXY": 1, "TO_HOST": 2, "TO_STACK": 3,
                                     "TO_OVERLAY": 4, "TO_ENDPOINT": 101, "FROM_ENDPOINT": 5, "FROM_PROXY": 6,
                                     "FROM_HOST": 7, "FROM_STACK": 8, "FROM_OVERLAY": 9, "FROM_NETWORK": 10,
                                     "TO_NETWORK": 11, "FROM_CRYPTO": 12, "TO_CRYPTO": 13},
    flow_pb2.TraceReason: {"TRACE_REASON_UNKNOWN": 0, "NEW": 1, "ESTABLISHED": 2, "REPLY": 3, "RELATED": 4},
    flow_pb2.LostEventSource: {"UNKNOWN_LOST_EVENT_SOURCE": 0, "PERF_EVENT_RING_BUFFER": 1,
                               "OBSERVER_EVENTS_QUEUE": 2, "HUBBLE_RING_BUFFER": 3},
    flow_pb2.DropReason: {"DROP_REASON_UNKNOWN": 0, "INVALID_SOURCE_IP": 132, "POLICY_DENIED": 133,
                          "STALE_OR_UNROUTABLE_IP": 151, "CT_MAP_INSERTION_FAILED": 155,
                          "SERVICE_BACKEND_NOT_FOUND": 158, "FIB_LOOKUP_FAILED": 169, "POLICY_DENY": 181,
                          "AUTH_REQUIRED": 189, "DROP_HOST_NOT_READY": 202, "DROP_EP_NOT_READY": 203,
                          "DROP_PUNT_PROXY": 205},
    flow_pb2.AuthType: {"DISABLED": 0, "SPIRE": 1, "TEST_ALWAYS_FAIL": 2},
    relay_pb2.NodeState: {"UNKNOWN_NODE_STATE": 0, "NODE_CONNECTED": 1, "NODE_UNAVAILABLE": 2, "NODE_GONE": 3,
                          "NODE_ERROR": 4},
}


@pytest.mark.parametrize("message", list(EXPECTED), ids=lambda m: m.DESCRIPTOR.full_name)
def test_field_numbers_and_types_match_upstream(message) -> None:
    fields = message.DESCRIPTOR.fields_by_name
    for name, spec in EXPECTED[message].items():
        number, ftype = spec[0], spec[1]
        type_name = spec[2] if len(spec) > 2 else None
        repeated = len(spec) > 3 and spec[3] == REP
        assert name in fields, f"{message.DESCRIPTOR.full_name}.{name} is not declared"
        field = fields[name]
        where = f"{message.DESCRIPTOR.full_name}.{name}"
        assert field.number == number, f"{where}: number {field.number} != upstream {number}"
        assert field.type == ftype, f"{where}: type {field.type} != upstream {ftype}"
        assert field.is_repeated == repeated, f"{where}: repeated={field.is_repeated}"
        if ftype == MSG:
            assert field.message_type.full_name == type_name, where
        if ftype == ENUM:
            assert field.enum_type.full_name == type_name, where


def _all_messages(descriptors):
    stack = list(descriptors)
    while stack:
        message = stack.pop()
        yield message
        stack.extend(message.nested_types)


def test_every_declared_field_is_checked_against_upstream() -> None:
    """No field may be declared without an entry in the upstream table above."""
    checked = {m.DESCRIPTOR.full_name: set(fields) for m, fields in EXPECTED.items()}
    files = (flow_pb2.DESCRIPTOR, observer_pb2.DESCRIPTOR, relay_pb2.DESCRIPTOR)
    missing = []
    for file in files:
        for message in _all_messages(file.message_types_by_name.values()):
            for field in message.fields:
                if field.name not in checked.get(message.full_name, set()):
                    missing.append(f"{message.full_name}.{field.name}")
    assert not missing, f"declared but not verified against upstream: {missing}"


@pytest.mark.parametrize("enum", list(EXPECTED_ENUMS), ids=lambda e: e.DESCRIPTOR.full_name)
def test_enum_numbers_match_upstream(enum) -> None:
    for name, number in EXPECTED_ENUMS[enum].items():
        assert enum.Value(name) == number, f"{enum.DESCRIPTOR.full_name}.{name}"


def test_oneofs_and_service_shape() -> None:
    response = observer_pb2.GetFlowsResponse.DESCRIPTOR
    assert [f.name for f in response.oneofs_by_name["response_types"].fields] == ["flow", "node_status",
                                                                                 "lost_events"]
    assert [f.name for f in flow_pb2.Layer7.DESCRIPTOR.oneofs_by_name["record"].fields] == ["dns", "http", "kafka"]
    service = observer_pb2.DESCRIPTOR.services_by_name["Observer"]
    assert service.full_name == "observer.Observer"
    get_flows = service.methods_by_name["GetFlows"]
    assert get_flows.server_streaming and not get_flows.client_streaming
    assert get_flows.input_type.full_name == "observer.GetFlowsRequest"
    status = service.methods_by_name["ServerStatus"]
    assert not status.server_streaming
    assert status.output_type.full_name == "observer.ServerStatusResponse"


def _full_flow() -> observer_pb2.GetFlowsResponse:
    response = observer_pb2.GetFlowsResponse(node_name="worker-1")
    response.time.FromNanoseconds(1_764_000_000_123_456_789)
    flow = response.flow
    flow.time.CopyFrom(response.time)
    flow.uuid = "0b9f5c6e-7a1d-4c1e-9a53-3f3e2d9b1c01"
    flow.verdict = flow_pb2.DROPPED
    flow.drop_reason = 133
    flow.drop_reason_desc = flow_pb2.POLICY_DENIED
    flow.IP.source, flow.IP.destination, flow.IP.ipVersion = "10.0.2.77", "10.0.2.30", flow_pb2.IPv4
    flow.l4.TCP.source_port, flow.l4.TCP.destination_port = 40112, 5432
    flow.l4.TCP.flags.SYN = True
    flow.source.identity, flow.source.namespace, flow.source.pod_name = 33019, "tools", "loadgen-1"
    flow.source.labels.extend(["k8s:app=loadgen"])
    flow.source.workloads.add(name="loadgen", kind="Deployment")
    flow.destination.identity = 11841
    flow.Type = flow_pb2.L3_L4
    flow.node_name = "worker-2"
    flow.event_type.type, flow.event_type.sub_type = 1, 133
    flow.traffic_direction = flow_pb2.INGRESS
    flow.is_reply.value = False
    flow.ingress_denied_by.add(name="deny-loadgen", namespace="shop", kind="CiliumNetworkPolicy", revision=7)
    flow.Summary = "TCP Flags: SYN"
    return response


def test_binary_round_trip_keeps_everything() -> None:
    original = _full_flow()
    data = original.SerializeToString()
    copy = observer_pb2.GetFlowsResponse.FromString(data)
    assert copy == original
    assert copy.flow.HasField("is_reply") and copy.flow.is_reply.value is False
    assert copy.flow.ingress_denied_by[0].revision == 7
    # is_reply absent stays distinguishable from false
    copy.flow.ClearField("is_reply")
    assert not observer_pb2.GetFlowsResponse.FromString(copy.SerializeToString()).flow.HasField("is_reply")


def test_unknown_wire_fields_survive_round_trip() -> None:
    """Bytes from a newer server (fields we do not declare) are kept, not lost or rejected."""
    flow = flow_pb2.Flow(node_name="n1")
    extra = bytes([0xBA, 0x02, 0x03]) + b"abc"  # field 39 (tunnel, undeclared), length-delimited
    data = flow.SerializeToString() + extra
    parsed = flow_pb2.Flow.FromString(data)
    assert parsed.node_name == "n1"
    assert parsed.SerializeToString().endswith(extra)


def test_json_round_trip_uses_protojson_spelling() -> None:
    original = _full_flow()
    line = jsonlines.format_line(original)
    assert '"node_name":"worker-1"' in line and '"time":"2025-11-24T' in line
    assert '"drop_reason_desc":"POLICY_DENIED"' in line and '"is_reply":false' in line
    assert jsonlines.parse_line(line, observer_pb2.GetFlowsResponse) == original


HUBBLE_JSON_LINES = [
    # an L7 DNS response the way `hubble observe -o json` prints it, with fields we never declared
    '{"flow":{"time":"2026-03-01T10:00:00.5Z","uuid":"u-1","verdict":"FORWARDED","IP":{"source":"10.0.2.2",'
    '"destination":"10.0.1.17","ipVersion":"IPv4"},"l4":{"UDP":{"source_port":53,"destination_port":41000}},'
    '"source":{"ID":9,"identity":102,"namespace":"kube-system","pod_name":"coredns-1","cluster_name":"default"},'
    '"destination":{"identity":21734,"namespace":"shop","pod_name":"frontend-1"},"Type":"L7",'
    '"node_name":"worker-1","l7":{"type":"RESPONSE","latency_ns":"1200000","dns":{"query":"db.example.",'
    '"ips":["10.0.2.30"],"ttl":30,"rcode":0,"qtypes":["A"],"rrtypes":["A"],"observation_source":"proxy"}},'
    '"event_type":{"type":129},"is_reply":true,"tunnel":{"protocol":"VXLAN","vni":2},'
    '"future_field":{"nested":[1,2,3]},"Summary":"DNS Answer"},"node_name":"worker-1",'
    '"time":"2026-03-01T10:00:00.5Z"}',
    # a lost-events line
    '{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"17","cpu":null,'
    '"first":"2026-03-01T10:00:00Z","last":"2026-03-01T10:00:01Z"},"node_name":"worker-2",'
    '"time":"2026-03-01T10:00:01Z"}',
    # a relay node status line with an enum value name from the future
    '{"node_status":{"state_change":"NODE_CONNECTED","node_names":["worker-1","worker-2"]},'
    '"time":"2026-03-01T10:00:02Z"}',
    '{"flow":{"verdict":"SOME_FUTURE_VERDICT","drop_reason_desc":"DROP_FROM_THE_FUTURE","l4":{"VRRP":{"type":1}}}}',
]


def test_parses_hubble_observe_json_lines_with_unknown_fields() -> None:
    parsed = list(jsonlines.read_lines(HUBBLE_JSON_LINES, observer_pb2.GetFlowsResponse))
    assert all(isinstance(p, observer_pb2.GetFlowsResponse) for p in parsed), parsed
    dns, lost, status, future = parsed
    assert dns.WhichOneof("response_types") == "flow"
    assert dns.flow.l7.dns.ips == ["10.0.2.30"] and dns.flow.l7.latency_ns == 1_200_000
    assert dns.flow.source.cluster_name == "default" and dns.flow.is_reply.value is True
    assert dns.time.ToNanoseconds() == dns.flow.time.ToNanoseconds()
    assert lost.lost_events.num_events_lost == 17
    assert lost.lost_events.source == flow_pb2.HUBBLE_RING_BUFFER
    assert not lost.lost_events.HasField("cpu")
    assert status.node_status.state_change == relay_pb2.NODE_CONNECTED
    assert list(status.node_status.node_names) == ["worker-1", "worker-2"]
    assert future.flow.verdict == flow_pb2.VERDICT_UNKNOWN


def test_bad_lines_are_reported_and_reading_goes_on() -> None:
    lines = io.StringIO('not json\n\n[1]\n{"flow":{"node_name":{"a":1}}}\n' + HUBBLE_JSON_LINES[1] + "\n")
    results = list(jsonlines.read_lines(lines, observer_pb2.GetFlowsResponse))
    errors = [r for r in results if isinstance(r, jsonlines.JsonLineError)]
    assert [e.line_number for e in errors] == [1, 3, 4]
    assert "not JSON" in errors[0].reason and "object" in errors[1].reason
    assert isinstance(results[-1], observer_pb2.GetFlowsResponse)
    assert results[-1].lost_events.num_events_lost == 17


def test_write_lines_then_read_back() -> None:
    out = io.StringIO()
    assert jsonlines.write_lines([_full_flow(), _full_flow()], out) == 2
    back = list(jsonlines.read_lines(out.getvalue().splitlines(), observer_pb2.GetFlowsResponse))
    assert back == [_full_flow(), _full_flow()]


# Real flows from upstream repositories; where each line comes from is in sample_flows.sources.jsonl.
SAMPLE_FLOWS = REPO / "tests" / "data" / "upstream" / "sample_flows.jsonl"


def test_parses_every_real_sample_line() -> None:
    path = SAMPLE_FLOWS
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    results = list(jsonlines.read_lines(lines, observer_pb2.GetFlowsResponse))
    errors = [r for r in results if isinstance(r, jsonlines.JsonLineError)]
    assert not errors, [str(e) for e in errors]
    assert len(results) == len(lines) > 0
    kinds = {r.WhichOneof("response_types") for r in results}
    assert "flow" in kinds
    flows = [r.flow for r in results if r.HasField("flow")]
    assert any(f.l7.HasField("dns") for f in flows) and any(f.l7.HasField("http") for f in flows)
    assert any(f.l4.HasField("TCP") for f in flows)
    for response in results:
        # re-encoding what we parsed never fails and reparses to the same message
        assert observer_pb2.GetFlowsResponse.FromString(response.SerializeToString()) == response
        assert json_format.MessageToDict(response) is not None
