"""Tetragon stream faults against real loopback gRPC servers: a malformed message, a stream that fails
at once on every call, an agent restart. Nothing loops forever, nothing is lost without a marker."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator

import grpc
import pytest

from tui.demo.tetragon_server import serve_tetragon
from tui.proto.tetragon import events_pb2
from tui.sources.base import Backoff, SourceState
from tui.sources.tetragon import GET_EVENTS, ProcessTetragonSource, StreamGap, TetragonSource

GARBAGE = b"\xff\xff\xff\xff\xff"  # not a protobuf message: an unterminated varint tag


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float = 20.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def event(pid: int) -> bytes:
    response = events_pb2.GetEventsResponse(node_name="n1")
    response.process_exec.process.exec_id = f"e{pid}"
    response.process_exec.process.pid.value = pid
    response.process_exec.process.binary = "/bin/true"
    return response.SerializeToString()


class RawAgent:
    """A gRPC server whose GetEvents answers with the given raw byte messages (or a behaviour)."""

    def __init__(self, handler) -> None:  # noqa: ANN001
        self.calls = 0
        self.done = threading.Event()
        self.address = f"127.0.0.1:{free_port()}"

        def get_events(request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
            self.calls += 1
            yield from handler(self, context)

        method = grpc.unary_stream_rpc_method_handler(get_events, request_deserializer=None,
                                                      response_serializer=None)
        service = grpc.method_handlers_generic_handler("tetragon.FineGuidanceSensors",
                                                       {GET_EVENTS.rsplit("/", 1)[1]: method})
        from concurrent.futures import ThreadPoolExecutor

        self.server = grpc.server(ThreadPoolExecutor(max_workers=4), handlers=[service])
        self.server.add_insecure_port(self.address)
        self.server.start()

    def stop(self) -> None:
        self.done.set()
        self.server.stop(grace=0)


def _malformed_in_the_middle(agent: RawAgent, context: grpc.ServicerContext) -> Iterator[bytes]:
    yield event(1)
    yield GARBAGE
    yield event(2)
    agent.done.wait(30)


def _make(reader: str, address: str, backoff: Backoff | None = None) -> TetragonSource:
    if reader == "process":
        return ProcessTetragonSource([address], backoff=(0.01, 0.05))
    return TetragonSource([address], backoff_factory=(lambda: backoff) if backoff else (lambda: Backoff(0.01, 0.05)))


@pytest.mark.parametrize("reader", ["thread", "process"])
def test_one_malformed_message_is_skipped_and_counted(reader: str) -> None:
    agent = RawAgent(_malformed_in_the_middle)
    source = _make(reader, agent.address)
    source.start()
    got: list = []
    try:
        assert wait_for(lambda: got.extend(source.buffer.drain()) or len(got) >= 2), source.describe()
        assert [item.process_exec.process.pid.value for item in got] == [1, 2]
        assert source.counters()["malformed"] == 1
        assert "1 malformed message(s) skipped" in source.describe()
        assert source.state() is SourceState.STREAMING and agent.calls == 1  # no reconnect loop
    finally:
        agent.stop()
        source.stop()


def _fails_at_once(agent: RawAgent, context: grpc.ServicerContext) -> Iterator[bytes]:
    context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "received message larger than max")
    yield b""  # never reached: makes this a generator


def test_backoff_grows_while_no_message_arrives() -> None:
    """A call that is created and then fails (an oversized head message) is not a working stream."""
    agent = RawAgent(_fails_at_once)
    backoff = Backoff(base=0.005, cap=0.02)
    source = _make("thread", agent.address, backoff)
    source.start()
    try:
        assert wait_for(lambda: agent.calls >= 5), source.describe()
        assert backoff.attempt >= 4  # never reset: before, each created call reset it to 0
        assert source.received == 0
    finally:
        agent.stop()
        source.stop()


@pytest.mark.parametrize("reader", ["thread", "process"])
def test_an_outage_leaves_a_marker_where_the_events_stop(reader: str) -> None:
    address = f"127.0.0.1:{free_port()}"
    server = serve_tetragon(address, rate=0)
    source = _make(reader, address)
    source.start()
    got: list = []
    try:
        assert wait_for(lambda: got.extend(source.buffer.drain()) or len(got) > 50)
        server.stop(grace=0)
        assert wait_for(lambda: source.state() is SourceState.RETRYING)
        got.extend(source.buffer.drain())
        before = len(got)
        server = serve_tetragon(address, rate=0)
        assert wait_for(lambda: got.extend(source.buffer.drain()) or len(got) > before + 50)
        gaps = [index for index, item in enumerate(got) if isinstance(item, StreamGap)]
        assert len(gaps) == 1 and before <= gaps[0] < len(got) - 1, gaps  # between the two runs of events
        text = got[gaps[0]].text()
        assert address in text and "stream interrupted" in text and "may be missing" in text
        assert "reconnected 1x" in source.describe()  # the status line counts the returns too
    finally:
        source.stop()
        server.stop()


def test_batch_prints_the_marker_on_stderr() -> None:
    from tui.cli import build_parser
    from tui.wiring.processes import BatchPrinter

    args = build_parser().parse_args(["-b", "--pane", "processes"])
    out, err = io.StringIO(), io.StringIO()
    BatchPrinter(args, out, err).print(StreamGap("127.0.0.1:1", "UNAVAILABLE: boom", 2.5))
    assert out.getvalue() == ""
    assert "stream interrupted (UNAVAILABLE: boom); reconnected after 2.5 s" in err.getvalue()
