"""`hubble observe -o compact` lines (Cilium 1.19 printer), as plain text, ANSI or Rich `Text`.

A line is built once as a list of pieces, each with a colour role, so the three outputs agree:
plain for pipes, ANSI for `--color always` (hubble's fatih/color codes) and Rich styles for the pane.
Timestamps are UTC `Jan _2 15:04:05.000` with milliseconds truncated, as Go's `time.StampMilli`.

Untrusted fields go through `escape_control` in batch output and in the pane alike: ESC -> `^[` and
CR -> `\\r` as hubble's terminal escaper does, and unlike hubble every other C0/C1 control (BEL, BS,
DEL, TAB, newlines, CSI …) and bidi/zero-width characters too, so one flow is always one line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text

from tui.model.hubble_names import (
    EVENT_CAPTURE,
    EVENT_DROP,
    EVENT_POLICY_VERDICT,
    EVENT_TRACE,
    EVENT_TRACE_SOCK,
    drop_reason_text,
    identity_text,
    policy_match_text,
    trace_point_text,
)
from tui.proto.flow import flow_pb2
from tui.proto.relay import relay_pb2
from tui.render.go_time import DEFAULT_TIME_FORMAT, format_time
from tui.render.safe import escape_control

# Colour roles of the pieces of a line.
PLAIN, HOST, PORT, IDENTITY, GOOD, BAD, WARN = range(7)

ANSI_CODES = {HOST: "\x1b[36m", PORT: "\x1b[33m", IDENTITY: "\x1b[35m", GOOD: "\x1b[32m",
              BAD: "\x1b[31m", WARN: "\x1b[33m"}
ANSI_RESET = "\x1b[0m"
RICH_STYLES = {PLAIN: "", HOST: "cyan", PORT: "yellow", IDENTITY: "magenta", GOOD: "green",
               BAD: "red", WARN: "yellow"}

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MIN_SECONDS = -62135596800  # 0001-01-01T00:00:00Z, protobuf Timestamp's valid range
_MAX_SECONDS = 253402300799  # 9999-12-31T23:59:59Z

_V = flow_pb2.Verdict
_POLICY_VERDICT_WORDS = {_V.FORWARDED: "ALLOWED", _V.REDIRECTED: "ALLOWED", _V.DROPPED: "DENIED",
                         _V.ERROR: "DENIED", _V.AUDIT: "AUDITED"}
_VERDICT_ROLES = {_V.FORWARDED: GOOD, _V.REDIRECTED: GOOD, _V.DROPPED: BAD, _V.ERROR: BAD,
                  _V.AUDIT: WARN, _V.TRACED: WARN, _V.TRANSLATED: WARN}
_XLATE_NAMES = {
    flow_pb2.SOCK_XLATE_POINT_POST_DIRECTION_FWD: "post-xlate-fwd",
    flow_pb2.SOCK_XLATE_POINT_POST_DIRECTION_REV: "post-xlate-rev",
    flow_pb2.SOCK_XLATE_POINT_PRE_DIRECTION_FWD: "pre-xlate-fwd",
    flow_pb2.SOCK_XLATE_POINT_PRE_DIRECTION_REV: "pre-xlate-rev",
}
_PORTED_L4 = ("TCP", "UDP", "SCTP")

Pieces = list[tuple[str, int]]


@dataclass(frozen=True)
class CompactOptions:
    """The `hubble observe` printer switches ebtop honours."""

    node_name: bool = False
    """`--print-node-name`: ` [node]` after the timestamp."""
    ip_translation: bool = True
    """`--ip-translation` (default on): pod, service or DNS names instead of IPs."""
    policy_names: bool = False
    """`--print-policy-names`: ` BY name (kind)` after policy-verdict verdicts."""
    time_format: str = DEFAULT_TIME_FORMAT
    """`--time-format`: one of tui.render.go_time.TIME_FORMATS."""


def enum_name(enum_type: object, number: int) -> str:
    """The enum value's name, or its number for values this schema does not know (as Go prints)."""
    try:
        return enum_type.Name(number)  # type: ignore[attr-defined]
    except ValueError:
        return str(number)


_stamp_cache: dict[int, str] = {}


def format_timestamp(seconds: int, nanos: int) -> str:
    """Go's `time.StampMilli` in UTC: `Jan _2 15:04:05.000`; `N/A` outside Timestamp's valid range."""
    if not (_MIN_SECONDS <= seconds <= _MAX_SECONDS and 0 <= nanos < 1_000_000_000):
        return "N/A"
    prefix = _stamp_cache.get(seconds)
    if prefix is None:
        if len(_stamp_cache) > 4096:
            _stamp_cache.clear()
        tm = time.gmtime(seconds)
        prefix = f"{_MONTHS[tm.tm_mon - 1]} {tm.tm_mday:2d} {tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"
        _stamp_cache[seconds] = prefix
    return f"{prefix}.{nanos // 1_000_000:03d}"


def timestamp_text(message: object, field: str, layout: str = DEFAULT_TIME_FORMAT) -> str:
    """Format a Timestamp field of `message`; unset -> `N/A` like Go's nil timestamp."""
    if not message.HasField(field):  # type: ignore[attr-defined]
        return "N/A"
    ts = getattr(message, field)
    if layout == DEFAULT_TIME_FORMAT:
        return format_timestamp(ts.seconds, ts.nanos)
    return format_time(ts.seconds, ts.nanos, layout)


def _join_host_port(host: str, port: str) -> str:
    return f"[{host}]" if ":" in host else host


def _ports(flow: flow_pb2.Flow) -> tuple[str, str]:
    if not flow.HasField("l4"):
        return "", ""
    kind = flow.l4.WhichOneof("protocol")
    if kind not in _PORTED_L4:
        return "", ""
    l4 = getattr(flow.l4, kind)
    return str(l4.source_port), str(l4.destination_port)


def _host(ip: str, port: str, ns: str, pod: str, svc: str, names: object, opts: CompactOptions,
          esc: Callable[[str], str]) -> Pieces:
    host = ip
    if opts.ip_translation:
        if pod:
            host = f"{ns}/{pod}" if ns else pod
        elif svc:
            host = f"{ns}/{svc}" if ns else svc
        elif len(names):  # type: ignore[arg-type]
            host = ",".join(names)  # type: ignore[arg-type]
    host = esc(host)
    if port and port != "0":
        return [(_join_host_port(host, port) + ":", HOST), (port, PORT)]
    return [(host, HOST)]


def _host_pieces(flow: flow_pb2.Flow, opts: CompactOptions, esc: Callable[[str], str]) -> tuple[Pieces, Pieces]:
    if not flow.HasField("IP"):
        if flow.HasField("ethernet"):
            return [(esc(flow.ethernet.source), HOST)], [(esc(flow.ethernet.destination), HOST)]
        return [("", PLAIN)], [("", PLAIN)]
    src_ns = flow.source.namespace
    dst_ns = flow.destination.namespace
    src_pod = flow.source.pod_name
    dst_pod = flow.destination.pod_name
    src_svc = dst_svc = ""
    if flow.HasField("source_service"):
        src_ns = flow.source_service.namespace
        src_svc = flow.source_service.name
    if flow.HasField("destination_service"):
        dst_ns = flow.destination_service.namespace
        dst_svc = flow.destination_service.name
    src_port, dst_port = _ports(flow)
    src = _host(flow.IP.source, src_port, src_ns, src_pod, src_svc, flow.source_names, opts, esc)
    dst = _host(flow.IP.destination, dst_port, dst_ns, dst_pod, dst_svc, flow.destination_names, opts, esc)
    return src, dst


def flow_type_text(flow: flow_pb2.Flow) -> str:
    """The TYPE column: `http-response`, `dns-request proxy`, `to-endpoint`, `Policy denied`, …"""
    if flow.HasField("l7"):
        l7 = flow.l7
        l7_type = enum_name(flow_pb2.L7FlowType, l7.type).lower()
        record = l7.WhichOneof("record")
        if record == "http":
            return f"http-{l7_type}"
        if record == "dns":
            return f"dns-{l7_type} {l7.dns.observation_source}"
        if record == "kafka":
            return f"kafka-{l7_type}"
        return f"l7-{l7_type}"
    event_type = flow.event_type.type
    if event_type == EVENT_TRACE:
        return trace_point_text(flow.event_type.sub_type)
    if event_type == EVENT_DROP:
        return drop_reason_text(flow.event_type.sub_type)
    if event_type == EVENT_POLICY_VERDICT:
        direction = enum_name(flow_pb2.TrafficDirection, flow.traffic_direction)
        return f"policy-verdict:{policy_match_text(flow.policy_match_type)} {direction}"
    if event_type == EVENT_CAPTURE:
        return enum_name(flow_pb2.DebugCapturePoint, flow.debug_capture_point)
    if event_type == EVENT_TRACE_SOCK:
        # cilium main names the point from event_type.sub_type (the datapath's xlate point, same numbers
        # as SocketTranslationPoint); flows from older agents only carry sock_xlate_point.
        point = flow.event_type.sub_type or flow.sock_xlate_point
        return _XLATE_NAMES.get(point) or enum_name(flow_pb2.SocketTranslationPoint, flow.sock_xlate_point)
    return "UNKNOWN"


def _verdict_pieces(flow: flow_pb2.Flow, opts: CompactOptions, esc: Callable[[str], str]) -> Pieces:
    verdict = flow.verdict
    word = enum_name(_V, verdict)
    is_policy = flow.event_type.type == EVENT_POLICY_VERDICT
    if is_policy:
        word = _POLICY_VERDICT_WORDS.get(verdict, word)
    if opts.policy_names and is_policy:
        # Inside the verdict's colour, as hubble formats it: `DENIED BY name (kind), name (kind)`.
        names = [f"{esc(p.name)} ({esc(p.kind)})" for p in _deciding_policies(flow) if p.name and p.kind]
        if names:
            word += " BY " + ", ".join(names)
    return [(word, _VERDICT_ROLES.get(verdict, PLAIN))]


def _deciding_policies(flow: flow_pb2.Flow) -> list[flow_pb2.Policy]:
    verdict, direction = flow.verdict, flow.traffic_direction
    allowed = verdict in (_V.FORWARDED, _V.REDIRECTED)
    # cilium main fills *_denied_by for audit flows too (the rule that would have denied), printed
    # as `AUDITED BY name (kind)`.
    denied = verdict in (_V.DROPPED, _V.ERROR, _V.AUDIT)
    if direction == flow_pb2.EGRESS:
        return list(flow.egress_allowed_by if allowed else flow.egress_denied_by if denied else [])
    if direction == flow_pb2.INGRESS:
        return list(flow.ingress_allowed_by if allowed else flow.ingress_denied_by if denied else [])
    return []


def _summary_pieces(flow: flow_pb2.Flow, esc: Callable[[str], str]) -> Pieces:
    pieces: Pieces = []
    if flow.HasField("ip_trace_id") and flow.ip_trace_id.trace_id > 0:
        pieces.append((f"IP Trace ID: {flow.ip_trace_id.trace_id}; ", PLAIN))
    pieces.append((esc(flow.Summary), PLAIN))
    auth = flow.auth_type
    if auth != flow_pb2.DISABLED:
        role = BAD if auth == flow_pb2.TEST_ALWAYS_FAIL else GOOD
        pieces.append(("; ", PLAIN))
        pieces.append((enum_name(flow_pb2.AuthType, auth), role))
    return pieces


def flow_pieces(flow: flow_pb2.Flow, opts: CompactOptions, esc: Callable[[str], str] = escape_control) -> Pieces:
    """The compact line of one flow as coloured pieces (no trailing newline)."""
    src, dst = _host_pieces(flow, opts, esc)
    src_id = identity_text(flow.source.identity)
    dst_id = identity_text(flow.destination.identity)
    if not flow.HasField("is_reply"):
        arrow = "<>"
    elif flow.is_reply.value:
        src, dst, src_id, dst_id = dst, src, dst_id, src_id
        arrow = "<-"
    else:
        arrow = "->"
    node = f" [{esc(flow.node_name)}]" if opts.node_name else ""
    pieces: Pieces = [(f"{timestamp_text(flow, 'time', opts.time_format)}{node}: ", PLAIN)]
    pieces += src
    pieces += [(" ", PLAIN), (src_id, IDENTITY), (f" {arrow} ", PLAIN)]
    pieces += dst
    pieces += [(" ", PLAIN), (dst_id, IDENTITY), (f" {esc(flow_type_text(flow))} ", PLAIN)]
    pieces += _verdict_pieces(flow, opts, esc)
    pieces.append((" (", PLAIN))
    pieces += _summary_pieces(flow, esc)
    pieces.append((")", PLAIN))
    return pieces


@dataclass(frozen=True)
class FlowColumns:
    """The cells `-o dict` and `-o table` print: hosts as the flow has them (never swapped for replies)."""

    source: Pieces
    destination: Pieces
    type: str
    verdict: Pieces
    summary: Pieces


def flow_columns(flow: flow_pb2.Flow, opts: CompactOptions, esc: Callable[[str], str] = escape_control) -> FlowColumns:
    """The dict/table cells of one flow (hubble prints them without identities or an arrow)."""
    src, dst = _host_pieces(flow, opts, esc)
    return FlowColumns(src, dst, esc(flow_type_text(flow)), _verdict_pieces(flow, opts, esc),
                       _summary_pieces(flow, esc))


def lost_events_pieces(response: object, layout: str = DEFAULT_TIME_FORMAT) -> Pieces:
    """`<time> EVENTS LOST: <SOURCE> CPU(<cpu>) <n>[ (first: <t>, last: <t>)]` (never a node name)."""
    lost = response.lost_events  # type: ignore[attr-defined]
    source = enum_name(flow_pb2.LostEventSource, lost.source)
    cpu = lost.cpu.value if lost.HasField("cpu") else 0
    text = f"{timestamp_text(response, 'time', layout)} EVENTS LOST: {source} CPU({cpu}) {lost.num_events_lost}"
    if lost.HasField("first") or lost.HasField("last"):
        text += f" (first: {timestamp_text(lost, 'first', layout)}, last: {timestamp_text(lost, 'last', layout)})"
    return [(text, BAD)]


def join_cut_off(names: list[str], limit: int = 50) -> str:
    """hubble's joinWithCutOff: names joined by ", " until ~`limit` chars, then ` (and N more)`."""
    length, end = 0, len(names)
    for index, name in enumerate(names):
        length += len(name) + 2
        if length > limit and index > 0:
            end = index
            break
    joined = ", ".join(names[:end])
    omitted = len(names) - end
    return f"{joined} (and {omitted} more)" if omitted else joined


def node_status_text(response: object, esc: Callable[[str], str] = escape_control,
                     time_format: str = DEFAULT_TIME_FORMAT) -> str:
    """hubble's node status line (it prints these to stderr)."""
    status = response.node_status  # type: ignore[attr-defined]
    names = [esc(name) for name in status.node_names]
    prefix = f"{timestamp_text(response, 'time', time_format)} [{esc(response.node_name)}]"  # type: ignore[attr-defined]
    joined = join_cut_off(names)
    state = status.state_change
    if state == relay_pb2.NODE_CONNECTED:
        return f"{prefix}: Receiving flows from {len(names)} nodes: {joined}"
    if state == relay_pb2.NODE_UNAVAILABLE:
        return f"{prefix}: {len(names)} nodes are unavailable: {joined}"
    if state == relay_pb2.NODE_GONE:
        return f"{prefix}: {len(names)} nodes removed from cluster: {joined}"
    if state == relay_pb2.NODE_ERROR:
        return f'{prefix}: Error "{esc(status.message)}" on {len(names)} nodes: {joined}'
    return f"{prefix}: unknown node status event: {enum_name(relay_pb2.NodeState, state)}"


def pieces_plain(pieces: Pieces) -> str:
    return "".join(text for text, _ in pieces)


def pieces_ansi(pieces: Pieces) -> str:
    """ANSI as hubble's fatih/color writes it; the host colour wraps its coloured port."""
    out: list[str] = []
    in_host = False
    for text, role in pieces:
        if in_host and role not in (HOST, PORT):
            out.append(ANSI_RESET)
            in_host = False
        if role == HOST:
            out.append(ANSI_CODES[HOST] + text)
            in_host = True
        elif role == PORT:
            out.append(ANSI_CODES[PORT] + text + ANSI_RESET)
        elif role == PLAIN or not text:
            out.append(text)
        else:
            out.append(ANSI_CODES[role] + text + ANSI_RESET)
    if in_host:
        out.append(ANSI_RESET)
    return "".join(out)


def pieces_text(pieces: Pieces) -> Text:
    """A Rich Text with literal content (never markup) and a style span per coloured piece."""
    text = Text(no_wrap=True, overflow="ellipsis")
    for chunk, role in pieces:
        text.append(chunk, RICH_STYLES[role] or None)
    return text


def flow_line(flow: flow_pb2.Flow, opts: CompactOptions = CompactOptions(), color: bool = False) -> str:
    """The exact `hubble observe -o compact` line of one flow, without the newline."""
    pieces = flow_pieces(flow, opts)
    return pieces_ansi(pieces) if color else pieces_plain(pieces)


def response_line(response: object, opts: CompactOptions = CompactOptions(), color: bool = False) -> str | None:
    """The stdout line for a GetFlowsResponse: a flow or EVENTS LOST; None for other kinds."""
    kind = response.WhichOneof("response_types")  # type: ignore[attr-defined]
    if kind == "flow":
        return flow_line(response.flow, opts, color)  # type: ignore[attr-defined]
    if kind == "lost_events":
        pieces = lost_events_pieces(response)
        return pieces_ansi(pieces) if color else pieces_plain(pieces)
    return None


def flow_rich_text(flow: flow_pb2.Flow, opts: CompactOptions = CompactOptions()) -> Text:
    """The pane's version of the line: Rich styles, every control character escaped."""
    return pieces_text(flow_pieces(flow, opts, escape_control))


def drop_date(text: str) -> str:
    """`Jan _2 15:04:05.000…` -> `15:04:05.000…`: the date is the same on every line of a live view."""
    if len(text) >= 19 and text[:3] in _MONTHS and text[3] == " " and text[6] == " " and text[9] == ":":
        return text[7:]
    return text


def narrow_pieces(pieces: Pieces) -> Pieces:
    """A compact line for narrow terminals: time without the date, numeric `(ID:n)` identities dropped.

    Reserved identities such as `(world)` stay: they say something a name does not. Batch output never
    uses this; it keeps hubble's exact text.
    """
    out: Pieces = []
    for index, (text, role) in enumerate(pieces):
        if index == 0:
            text = drop_date(text)
        if role == IDENTITY and text.startswith("(ID:"):
            if out and out[-1] == (" ", PLAIN):
                out.pop()
            continue
        out.append((text, role))
    return out
