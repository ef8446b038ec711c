"""Fuzzing the batch printers of every pane: what reaches stdout is one line per record, never control.

A hostile pod name, comm, process argument, DNS name or URL must not move the cursor, clear or
retitle the terminal, ring the bell, reorder text (bidi overrides) or forge a line of its own. The
printers are driven through their real entry points (a replay file for flows and processes, the
kernel source's own comm decoder for syscalls) with messages drawn from the schemas, hostile strings
in every string field, and with arbitrary bytes inside the replay file itself.
"""

from __future__ import annotations

import io
import json
import re
import tempfile
from pathlib import Path

from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.proto_strategies import messages
from tui.cli import build_parser
from tui.model.syscalls import SyscallInterval, SyscallSample, SyscallTop
from tui.proto.jsonlines import format_line, parse_line
from tui.proto.observer import observer_pb2
from tui.proto.tetragon import events_pb2
from tui.render import tetra_compact
from tui.sources.kernel_syscalls import decode_comm
from tui.wiring import flows, processes
from tui.wiring.syscalls import interval_lines

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.data_too_large])
# What must never reach stdout: C0 (the newline ends a line, so it is checked by counting lines), DEL,
# C1, line/paragraph separators, bidi embeddings/overrides/isolates, zero-width characters, BOM, tags.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069\u200b-\u200f\ufeff\U000e0000-\U000e007f]")
SGR = re.compile(r"\x1b\[[0-9;]*m")  # the printers' own colours (--color always)

FLOW_RESPONSES = messages(observer_pb2.GetFlowsResponse.DESCRIPTOR, observer_pb2.GetFlowsResponse)
EVENT_RESPONSES = messages(events_pb2.GetEventsResponse.DESCRIPTOR, events_pb2.GetEventsResponse)


def _json_line(message: Message) -> bytes:
    """The replay line of `message`, with times moved into the range protojson can write."""
    _valid_times(message)
    return format_line(message).encode()


def _valid_times(message: Message) -> None:
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.full_name == "google.protobuf.Any":  # protojson needs a known type URL
            message.ClearField(field.name)
            continue
        values = value.values() if field.message_type.GetOptions().map_entry else (
            value if field.is_repeated else [value])
        for item in values:
            if not isinstance(item, Message):
                continue
            name = item.DESCRIPTOR.full_name
            if name in ("google.protobuf.Timestamp", "google.protobuf.Duration"):
                item.seconds = abs(item.seconds) % 253402300799
                item.nanos = abs(item.nanos) % 1_000_000_000
            else:
                _valid_times(item)


def _check(text: str, color: bool) -> list[str]:
    if color:
        text = SGR.sub("", text)
    assert not UNSAFE.search(text), ascii(UNSAFE.search(text).group(0))
    assert text == "" or text.endswith("\n")
    return text.splitlines()


def _replay(family, flag: str, lines: list[bytes], extra: list[str]) -> tuple[int, str, str]:  # noqa: ANN001
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "capture.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")
        args = build_parser().parse_args(["-b", flag, str(path), *extra])
        args.config_notices = []
        out, err = io.StringIO(), io.StringIO()
        code = family.run_batch(args, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@SETTINGS
@given(st.lists(FLOW_RESPONSES, min_size=1, max_size=4), st.booleans(), st.booleans(), st.booleans())
def test_flows_batch_prints_one_line_per_flow_and_no_control(responses, color: bool, node: bool,
                                                             policies: bool) -> None:
    extra = ["--color", "always" if color else "never"]
    extra += ["--print-node-name"] * node + ["--print-policy-names"] * policies
    code, out, err = _replay(flows, "--hubble-file", [_json_line(r) for r in responses], extra)
    assert code in (0, 1), err
    lines = _check(out, color)
    printed = [r for r in responses if r.WhichOneof("response_types") in ("flow", "lost_events")]
    assert len(lines) == len(printed), (lines, err)
    _check(err, False)


@SETTINGS
@given(st.lists(EVENT_RESPONSES, min_size=1, max_size=4), st.booleans(), st.booleans())
def test_processes_batch_prints_its_lines_and_no_control(responses, color: bool, timestamps: bool) -> None:
    extra = ["--color", "always" if color else "never"] + ["--timestamps"] * timestamps
    for response in responses:  # exec probes are dropped by tetra's default filter, not a printer matter
        kind = response.WhichOneof("event")
        for name in ("process", "parent"):
            body = getattr(response, kind) if kind else None
            if body is not None and name in body.DESCRIPTOR.fields_by_name and body.HasField(name):
                getattr(body, name).pod.container.ClearField("maybe_exec_probe")
    encoded = [_json_line(r) for r in responses]
    code, out, err = _replay(processes, "--tetragon-file", encoded, extra)
    assert code in (0, 1), err
    lines = _check(out, color)
    expected = 0
    for line in encoded:  # what the file holds (protojson drops some empty messages)
        try:
            response = parse_line(line.decode(), events_pb2.GetEventsResponse)
        except ValueError:  # a line that is no event at all is a bad line, reported on stderr
            continue
        try:
            tetra_compact.render_line(response)
        except tetra_compact.CompactEncodeError:
            continue
        expected += 1 + len(tetra_compact.render_extra_lines(response))
    assert len(lines) == expected, (lines, err)
    _check(err, False)


# Raw bytes in a string value: invalid UTF-8, or controls JSON lets through unescaped (DEL, C1, bidi).
_RAW = st.one_of(st.binary(max_size=12), st.sampled_from(["\x7f", "\x9b2J", "\x85", "\u202e", "\u2028",
                                                          "\u200b", "\U000e0041"]).map(str.encode))
FLOW_BASE = {"flow": {"source": {"namespace": "ns", "pod_name": "M"}, "Summary": "M", "IP": {"source": "10.0.0.1"},
                      "destination": {"pod_name": "M"}, "node_name": "M"}}
EVENT_BASE = {"process_exec": {"process": {"exec_id": "x", "binary": "M", "arguments": "M",
                                           "pod": {"namespace": "ns", "name": "M"}}}, "node_name": "M"}


@st.composite
def byte_mangled_lines(draw: st.DrawFn, base: dict) -> list[bytes]:
    """Replay lines whose string values hold raw bytes, or plain garbage lines."""
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            lines.append(draw(st.binary(max_size=40)).replace(b"\n", b" "))
            continue
        raw = json.dumps(base).encode()
        for _ in range(raw.count(b'"M"')):
            value = draw(_RAW).replace(b'"', b"'").replace(b"\\", b"/").replace(b"\n", b" ")
            raw = raw.replace(b'"M"', b'"' + value + b'"', 1)
        lines.append(raw)
    return lines


@SETTINGS
@given(byte_mangled_lines(FLOW_BASE))
def test_flows_batch_with_raw_bytes_in_the_file_prints_no_control(lines: list[bytes]) -> None:
    code, out, err = _replay(flows, "--hubble-file", lines, ["--color", "never"])
    assert code in (0, 1), err
    printed = _check(out, False)
    assert len(printed) <= len(lines)
    _check(err, False)


@SETTINGS
@given(byte_mangled_lines(EVENT_BASE))
def test_processes_batch_with_raw_bytes_in_the_file_prints_no_control(lines: list[bytes]) -> None:
    code, out, err = _replay(processes, "--tetragon-file", lines, ["--color", "never"])
    assert code in (0, 1), err
    printed = _check(out, False)
    assert len(printed) <= len(lines)
    _check(err, False)


@SETTINGS
@given(st.lists(st.tuples(st.binary(min_size=1, max_size=16), st.integers(0, 400), st.integers(1, 10**6)),
                min_size=1, max_size=12),
       st.sampled_from(["comm", "pid", "syscall"]))
def test_syscalls_batch_escapes_any_comm_bytes(samples, by: str) -> None:
    args = build_parser().parse_args(["-b", "--pane", "syscalls", "--by", by])
    top = SyscallTop(arch="x86_64")
    top.add(SyscallInterval(0.0, 5.0, [SyscallSample(decode_comm(raw), sysid, count, pid=index)
                                       for index, (raw, sysid, count) in enumerate(samples)]))
    lines = interval_lines(top, args)
    text = "\n".join(lines) + "\n"
    printed = _check(text, False)
    assert len(printed) == len(lines) == 1 + len(top.top(by=by))
    assert all(re.fullmatch(r"@\[.*\]: \d+", line) for line in printed[1:])
