"""`-o compact|dict|table|json|jsonpb` and `--time-format`, against the outputs hubble's printer tests pin.

The expected strings are the ones cilium's hubble/pkg/printer/printer_test.go expects for its sample
flow (1.1.1.1:31793 health -> 2.2.2.2:8080, Policy denied, TCP SYN, node k8s1).
"""

from __future__ import annotations

import io
import json

import pytest

from tui.proto.flow import flow_pb2
from tui.proto.observer import observer_pb2
from tui.proto.protojson import to_go_json
from tui.proto.relay import relay_pb2
from tui.render.go_time import TIME_FORMATS, format_time, time_format_name
from tui.render.hubble_compact import CompactOptions, flow_line
from tui.render.hubble_output import FlowPrinter, output_name, tabulate


def sample_flow() -> flow_pb2.Flow:
    flow = flow_pb2.Flow(Type=flow_pb2.L3_L4, node_name="k8s1", verdict=flow_pb2.DROPPED, Summary="TCP Flags: SYN")
    flow.time.seconds, flow.time.nanos = 1234, 567_800_000
    flow.IP.source, flow.IP.destination = "1.1.1.1", "2.2.2.2"
    flow.source.identity, flow.destination.identity = 4, 12345
    flow.l4.TCP.source_port, flow.l4.TCP.destination_port = 31793, 8080
    flow.event_type.type, flow.event_type.sub_type = 1, 133
    flow.is_reply.value = False
    return flow


def response(flow: flow_pb2.Flow) -> observer_pb2.GetFlowsResponse:
    return observer_pb2.GetFlowsResponse(flow=flow)


def printed(output: str, *flows: flow_pb2.Flow, **options: object) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    printer = FlowPrinter(output, CompactOptions(**options), out=out, err=err)  # type: ignore[arg-type]
    for flow in flows:
        printer.write(response(flow))
    printer.close()
    return out.getvalue(), err.getvalue()


def test_table_pads_columns_like_tabwriter() -> None:
    out, _ = printed("table", sample_flow())
    assert out == (
        "TIMESTAMP             SOURCE          DESTINATION    TYPE            VERDICT   SUMMARY\n"
        "Jan  1 00:20:34.567   1.1.1.1:31793   2.2.2.2:8080   Policy denied   DROPPED   TCP Flags: SYN\n")


def test_table_with_node_name() -> None:
    out, _ = printed("tab", sample_flow(), node_name=True)
    assert out.splitlines() == [
        "TIMESTAMP             NODE   SOURCE          DESTINATION    TYPE            VERDICT   SUMMARY",
        "Jan  1 00:20:34.567   k8s1   1.1.1.1:31793   2.2.2.2:8080   Policy denied   DROPPED   TCP Flags: SYN"]


def test_table_has_one_header_and_no_colour() -> None:
    second = sample_flow()
    second.IP.source = "10.0.0.123"
    out = io.StringIO()
    printer = FlowPrinter("table", CompactOptions(), color=True, out=out, err=io.StringIO())
    printer.write(response(sample_flow()))
    printer.write(response(second))
    assert out.getvalue() == ""  # buffered until close, as the tabwriter is
    printer.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and lines[0].startswith("TIMESTAMP") and "\x1b" not in out.getvalue()
    assert lines[1].index("2.2.2.2") == lines[2].index("2.2.2.2") == lines[0].index("DESTINATION")


def test_tabulate_minimum_width_and_last_cell_unpadded() -> None:
    assert tabulate([["a", "b", "c"], ["", "long", "x"]]) == ["a   b      c", "    long   x"]


def test_dict_blocks_and_separator() -> None:
    out, _ = printed("dict", sample_flow(), sample_flow())
    block = ("  TIMESTAMP: Jan  1 00:20:34.567\n     SOURCE: 1.1.1.1:31793\nDESTINATION: 2.2.2.2:8080\n"
             "       TYPE: Policy denied\n    VERDICT: DROPPED\n    SUMMARY: TCP Flags: SYN\n")
    assert out == block + "------------\n" + block


def test_dict_with_node_and_policy_name() -> None:
    flow = sample_flow()
    flow.event_type.type, flow.event_type.sub_type = 5, 0
    flow.ClearField("is_reply")
    flow.traffic_direction = flow_pb2.EGRESS
    flow.egress_denied_by.add(name="my-policy", namespace="my-policy-namespace", kind="CiliumNetworkPolicy")
    out, _ = printed("dict", flow, policy_names=True, node_name=True)
    assert out == ("  TIMESTAMP: Jan  1 00:20:34.567\n       NODE: k8s1\n     SOURCE: 1.1.1.1:31793\n"
                   "DESTINATION: 2.2.2.2:8080\n       TYPE: policy-verdict:none EGRESS\n"
                   "    VERDICT: DENIED BY my-policy (CiliumNetworkPolicy)\n    SUMMARY: TCP Flags: SYN\n")


def test_dict_does_not_swap_replies() -> None:
    flow = sample_flow()
    flow.is_reply.value = True
    out, _ = printed("dict", flow)
    assert "     SOURCE: 1.1.1.1:31793\n" in out
    assert "<-" in flow_line(flow)  # while compact swaps them


JSONPB = ('{"flow":{"time":"1970-01-01T00:20:34.567800Z","verdict":"DROPPED",'
          '"IP":{"source":"1.1.1.1","destination":"2.2.2.2"},'
          '"l4":{"TCP":{"source_port":31793,"destination_port":8080}},'
          '"source":{"identity":4},"destination":{"identity":12345},"Type":"L3_L4","node_name":"k8s1",'
          '"event_type":{"type":1,"sub_type":133},"is_reply":false,"Summary":"TCP Flags: SYN"}}')


@pytest.mark.parametrize("output", ["json", "jsonpb"])
def test_json_is_the_whole_response_in_protojson_key_order(output: str) -> None:
    out, _ = printed(output, sample_flow())
    assert out == JSONPB + "\n"


def test_jsonpb_with_ip_trace_id_keeps_declaration_order() -> None:
    flow = sample_flow()
    flow.ip_trace_id.trace_id, flow.ip_trace_id.ip_option_type = 1234, 136
    out, _ = printed("jsonpb", flow)
    assert '"event_type":{"type":1,"sub_type":133},"ip_trace_id":{"trace_id":"1234","ip_option_type":136},' \
           '"is_reply":false' in out


def test_json_escapes_html_characters_as_go_does() -> None:
    flow = sample_flow()
    flow.Summary = "HTTP/1.1 GET http://x/?a=<b>&c"
    line = to_go_json(response(flow))
    assert "\\u003cb\\u003e\\u0026c" in line and "<" not in line
    assert json.loads(line)["flow"]["Summary"] == flow.Summary


def test_lost_events_in_each_mode() -> None:
    lost = observer_pb2.GetFlowsResponse()
    lost.lost_events.source = flow_pb2.HUBBLE_RING_BUFFER
    lost.lost_events.num_events_lost = 7
    lost.lost_events.cpu.value = 2
    lost.time.seconds = 1234
    for output, expected in (("compact", "Jan  1 00:20:34.000 EVENTS LOST: HUBBLE_RING_BUFFER CPU(2) 7\n"),
                             ("dict", "  TIMESTAMP: \n     SOURCE: HUBBLE_RING_BUFFER\n       TYPE: EVENTS LOST\n"
                                      "    VERDICT: \n    SUMMARY: CPU(2) - 7\n")):
        out = io.StringIO()
        printer = FlowPrinter(output, out=out, err=io.StringIO())
        assert printer.write(lost) is False
        printer.close()
        assert out.getvalue() == expected
    out = io.StringIO()
    printer = FlowPrinter("table", out=out, err=io.StringIO())
    printer.write(lost)
    printer.close()
    assert out.getvalue().splitlines()[1].split() == ["HUBBLE_RING_BUFFER", "EVENTS", "LOST", "CPU(2)", "-", "7"]


def _node_status(state: int, names: list[str], message: str = "") -> observer_pb2.GetFlowsResponse:
    status = observer_pb2.GetFlowsResponse(node_name="relay")
    status.time.seconds = 1234
    status.node_status.state_change = state
    status.node_status.node_names.extend(names)
    status.node_status.message = message
    return status


def test_node_status_on_stderr_errors_by_default_all_with_debug() -> None:
    connected = _node_status(relay_pb2.NODE_CONNECTED, ["a", "b"])
    unavailable = _node_status(relay_pb2.NODE_UNAVAILABLE, [f"node-{i:02d}" for i in range(12)])
    for debug, expected_lines in ((False, 1), (True, 2)):
        out, err = io.StringIO(), io.StringIO()
        printer = FlowPrinter("compact", debug=debug, out=out, err=err)
        printer.write(connected)
        printer.write(unavailable)
        printer.close()
        assert out.getvalue() == ""
        lines = err.getvalue().splitlines()
        assert len(lines) == expected_lines
    assert lines[0] == "Jan  1 00:20:34.000 [relay]: Receiving flows from 2 nodes: a, b"
    assert lines[1] == ("Jan  1 00:20:34.000 [relay]: 12 nodes are unavailable: "
                        "node-00, node-01, node-02, node-03, node-04 (and 7 more)")


def test_node_status_dict_and_json_go_to_stderr() -> None:
    error = _node_status(relay_pb2.NODE_ERROR, ["n1"], "boom")
    err = io.StringIO()
    FlowPrinter("dict", out=io.StringIO(), err=err).write(error)
    assert err.getvalue() == ("  TIMESTAMP: Jan  1 00:20:34.000\n      STATE: NODE_ERROR\n      NODES: n1\n"
                              '    MESSAGE: "boom"\n')
    err = io.StringIO()
    FlowPrinter("json", out=io.StringIO(), err=err).write(error)
    assert json.loads(err.getvalue())["node_status"]["state_change"] == "NODE_ERROR"


@pytest.mark.parametrize(("name", "expected"), [
    ("StampMilli", "Jan  1 00:20:34.567"),
    ("YearMonthDay", "1970-01-01"),
    ("YearMonthDayHour", "1970-01-01T00Z"),
    ("YearMonthDayHourMinute", "1970-01-01T00:20Z"),
    ("RFC3339", "1970-01-01T00:20:34Z"),
    ("RFC3339Milli", "1970-01-01T00:20:34.567Z"),
    ("RFC3339Micro", "1970-01-01T00:20:34.5678Z"),
    ("RFC3339Nano", "1970-01-01T00:20:34.5678Z"),
    ("RFC1123Z", "Thu, 01 Jan 1970 00:20:34 +0000"),
])
def test_time_formats(name: str, expected: str) -> None:
    assert format_time(1234, 567_800_000, name) == expected


def test_time_format_fractions_trim_to_nothing() -> None:
    assert format_time(0, 0, "RFC3339Nano") == "1970-01-01T00:00:00Z"
    assert format_time(0, 100, "RFC3339Milli") == "1970-01-01T00:00:00Z"
    assert format_time(0, 1, "RFC3339Nano") == "1970-01-01T00:00:00.000000001Z"


def test_time_format_names_are_case_insensitive_and_checked() -> None:
    assert time_format_name("rfc3339nano") == "RFC3339Nano"
    assert set(TIME_FORMATS) >= {"StampMilli", "RFC3339", "RFC1123Z"}
    with pytest.raises(ValueError, match="unknown time format"):
        time_format_name("iso")


def test_time_format_applies_to_compact_lines() -> None:
    line = flow_line(sample_flow(), CompactOptions(time_format="RFC3339Milli"))
    assert line.startswith("1970-01-01T00:20:34.567Z: 1.1.1.1:31793 (health) -> ")


def test_output_names() -> None:
    assert output_name("TAB") == "table"
    with pytest.raises(ValueError, match="unknown output"):
        output_name("yaml")


# --- printer semantics of cilium main (expected strings from hubble's printer tests) --------------

def test_audited_by_policy_name() -> None:
    flow = sample_flow()
    flow.event_type.type, flow.event_type.sub_type = 5, 0
    flow.ClearField("is_reply")
    flow.verdict = flow_pb2.AUDIT
    flow.traffic_direction = flow_pb2.EGRESS
    flow.egress_denied_by.add(name="my-policy", namespace="my-policy-namespace", kind="CiliumNetworkPolicy")
    assert flow_line(flow, CompactOptions(node_name=True, policy_names=True)) == (
        "Jan  1 00:20:34.567 [k8s1]: 1.1.1.1:31793 (health) <> 2.2.2.2:8080 (ID:12345) "
        "policy-verdict:none EGRESS AUDITED BY my-policy (CiliumNetworkPolicy) (TCP Flags: SYN)")
    assert " AUDITED (" in flow_line(flow)  # names only with --print-policy-names


@pytest.mark.parametrize(("sub_type", "expected"), [
    (1, "pre-xlate-fwd"), (2, "post-xlate-fwd"), (3, "pre-xlate-rev"), (4, "post-xlate-rev")])
def test_socklb_point_from_event_sub_type(sub_type: int, expected: str) -> None:
    flow = sample_flow()
    flow.event_type.type, flow.event_type.sub_type = 7, sub_type
    flow.verdict = flow_pb2.TRACED
    assert f" {expected} TRACED " in flow_line(flow)


def test_summary_trace_id_prefix_and_auth_suffix() -> None:
    flow = sample_flow()
    flow.ip_trace_id.trace_id = 1234
    flow.auth_type = flow_pb2.SPIRE
    assert flow_line(flow, CompactOptions(node_name=True)).endswith(
        "Policy denied DROPPED (IP Trace ID: 1234; TCP Flags: SYN; SPIRE)")


def test_time_format_is_the_same_live_and_in_batch() -> None:
    from tui.cli import build_parser
    from tui.render.hubble_compact import flow_rich_text
    from tui.wiring.flows import compact_options

    options = compact_options(build_parser().parse_args(["--time-format", "rfc3339milli"]))
    assert options.time_format == "RFC3339Milli"
    assert flow_rich_text(sample_flow(), options).plain.startswith("1970-01-01T00:20:34.567Z: ")


def test_output_mode_without_batch_is_a_usage_error(capsys) -> None:
    from tui.cli import main

    assert main(["-o", "table"]) == 2
    assert "batch-mode output" in capsys.readouterr().err
