"""Batch mode against a live server that sends garbage, invalid UTF-8 and deeply nested messages.

Every bad message is skipped and said on stderr with a count, for flows (Hubble) and processes
(Tetragon), with either reader; the good messages around them are all printed.
"""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from tui.cli import build_parser
from tui.proto.flow import flow_pb2
from tui.proto.observer import observer_pb2
from tui.proto.tetragon import events_pb2, tetragon_pb2
from tui.wiring import flows, processes

GARBAGE = b"\xff\xff\xff\xff"
NESTED = b"\x7b" * 500 + b"\x7c" * 500  # unknown field 15 as 500 nested groups: past the parser's depth limit


def bad_utf8(message: bytes, marker: bytes) -> bytes:
    assert marker in message
    return message.replace(marker, b"\xff" * len(marker))


def serve(service: str, method: str, messages: list[bytes]) -> tuple[grpc.Server, str]:
    def stream(request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
        yield from messages

    handler = grpc.unary_stream_rpc_method_handler(stream, request_deserializer=None, response_serializer=None)
    server = grpc.server(ThreadPoolExecutor(max_workers=2),
                         handlers=[grpc.method_handlers_generic_handler(service, {method: handler})])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    return server, f"127.0.0.1:{port}"


def batch(family, *argv: str) -> tuple[int, str, str]:  # noqa: ANN001
    args = build_parser().parse_args(["-b", *argv])
    args.config_notices = []
    out, err = io.StringIO(), io.StringIO()
    return family.run_batch(args, out=out, err=err), out.getvalue(), err.getvalue()


@pytest.mark.parametrize("reader", ["thread", "process"])
def test_batch_flows_says_every_bad_live_message(reader: str) -> None:
    good = observer_pb2.GetFlowsResponse(flow=flow_pb2.Flow(Summary="ok")).SerializeToString()
    utf8 = bad_utf8(observer_pb2.GetFlowsResponse(node_name="xyz").SerializeToString(), b"xyz")
    server, target = serve("observer.Observer", "GetFlows", [good, GARBAGE, utf8, NESTED, good])
    try:
        code, out, err = batch(flows, "--hubble-server", target, "--hubble-reader", reader, "--last", "10")
    finally:
        server.stop(grace=0)
    assert len(out.splitlines()) == 2, (out, err)
    assert "malformed message from the server skipped (3 so far)" in err, err
    assert code == 0, err


@pytest.mark.parametrize("reader", ["thread", "process"])
def test_batch_processes_says_every_bad_live_message(reader: str) -> None:
    def event(binary: str) -> bytes:
        response = events_pb2.GetEventsResponse(node_name="n1")
        response.process_exec.process.CopyFrom(tetragon_pb2.Process(exec_id=binary, binary=binary))
        response.process_exec.process.pid.value = 7
        return response.SerializeToString()

    utf8 = bad_utf8(event("/bin/qqq"), b"/bin/qqq")
    messages = [event("/bin/first"), GARBAGE, utf8, NESTED, event("/bin/last")]
    server, target = serve("tetragon.FineGuidanceSensors", "GetEvents", messages)
    try:
        code, out, err = batch(processes, "--pane", "processes", "--tetragon-server", target,
                               "--tetragon-reader", reader, "-n", "2")
    finally:
        server.stop(grace=0)
    assert "/bin/first" in out and "/bin/last" in out, (out, err)
    assert "malformed: 3 skipped so far" in err, err
    assert code == 0, err
