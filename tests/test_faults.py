"""Hostile servers: garbage bytes and oversized messages on a real gRPC stream.

A server (or a proxy in between) that sends something that is not a valid message, or a message
larger than the client accepts, must cost at most that message: the source keeps its thread, says
what happened in its status, keeps what arrived before, and goes on with what arrives after.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent import futures

import grpc
import pytest

from tui.model.flows import RecordKind
from tui.proto.flow import flow_pb2
from tui.proto.observer import observer_pb2
from tui.proto.tetragon import events_pb2
from tui.sources.base import SourceState
from tui.sources.hubble import HubbleSource
from tui.sources.hubble_process import ProcessHubbleSource
from tui.sources.hubble_tls import Endpoint
from tui.sources.tetragon import ProcessTetragonSource, TetragonSource

GARBAGE = b"\xff\xff\xff\xff\x0f not a protobuf message \x00"
OVERSIZED = 24 * 1024 * 1024  # beyond any client's receive limit (gRPC's default 4 MiB; ebtop's 10 MiB)


def _flow(summary: str) -> bytes:
    response = observer_pb2.GetFlowsResponse(node_name="n1")
    response.flow.time.seconds = 1_700_000_000
    response.flow.verdict = flow_pb2.FORWARDED
    response.flow.IP.source = "10.0.0.1"
    response.flow.IP.destination = "10.0.0.2"
    response.flow.Summary = summary
    return response.SerializeToString()


def _event(binary: str) -> bytes:
    response = events_pb2.GetEventsResponse(node_name="n1")
    response.process_exec.process.binary = binary
    response.process_exec.process.exec_id = binary[:32]
    return response.SerializeToString()


class RawStreamServer:
    """A gRPC server whose one streaming method sends the given raw byte strings, then holds the stream."""

    def __init__(self, method: str, script: Callable[[], list[bytes]]) -> None:
        service, name = method.strip("/").split("/")
        self.calls = 0

        def handler(request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
            self.calls += 1
            yield from script()
            deadline = time.monotonic() + 10
            while context.is_active() and time.monotonic() < deadline:
                time.sleep(0.05)

        rpc = grpc.unary_stream_rpc_method_handler(handler, request_deserializer=lambda data: data,
                                                   response_serializer=lambda data: data)
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                                  options=[("grpc.max_send_message_length", 64 * 1024 * 1024)])
        self.server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, {name: rpc}),))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.stop(0).wait(5)


def _wait(predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _hubble_sources() -> list[Callable[[str], object]]:
    request = observer_pb2.GetFlowsRequest(follow=True)
    return [
        lambda target: HubbleSource(Endpoint(target), request, status_interval=60),
        lambda target: ProcessHubbleSource(Endpoint(target), request, status_interval=60),
    ]


def _summaries(source: object) -> list[str]:
    """Flow summaries in arrival order, and `NOTE: text` for the markers between them."""
    out = []
    for record in source.buffer.drain():  # type: ignore[attr-defined]
        if record.kind is RecordKind.FLOW:
            out.append(observer_pb2.GetFlowsResponse.FromString(record.data).flow.Summary)
        elif record.kind is RecordKind.NOTE:
            out.append(f"NOTE: {record.text}")
    return out


@pytest.mark.parametrize("make", _hubble_sources(), ids=["thread-reader", "process-reader"])
def test_hubble_source_survives_garbage_between_flows(make: Callable[[str], object]) -> None:
    server = RawStreamServer("/observer.Observer/GetFlows", lambda: [_flow("before"), GARBAGE, _flow("after")])
    source = make(server.target)
    try:
        source.start()  # type: ignore[attr-defined]
        seen: list[str] = []
        assert _wait(lambda: (seen.extend(_summaries(source)) or "after" in seen)), (seen, source.status.get())
        assert seen[0] == "before" and seen[2] == "after"
        assert "malformed message from the server skipped (1 so far)" in seen[1]
        assert source.running  # type: ignore[attr-defined]
    finally:
        source.stop()  # type: ignore[attr-defined]
        server.stop()


@pytest.mark.parametrize("make", _hubble_sources(), ids=["thread-reader", "process-reader"])
def test_hubble_source_reports_an_oversized_message_and_retries(make: Callable[[str], object]) -> None:
    server = RawStreamServer("/observer.Observer/GetFlows", lambda: [_flow("before"), _flow("x" * OVERSIZED)])
    source = make(server.target)
    try:
        source.start()  # type: ignore[attr-defined]
        assert _wait(lambda: source.status.get().state is SourceState.RETRYING), source.status.get()
        reason = source.status.get().reason
        assert "RESOURCE_EXHAUSTED" in reason or "larger than" in reason, reason
        assert "before" in _summaries(source)
        assert _wait(lambda: server.calls >= 2), "the source did not reconnect"
    finally:
        source.stop()  # type: ignore[attr-defined]
        server.stop()


def test_tetragon_thread_reader_reports_garbage_and_keeps_what_came_before() -> None:
    """ebtop decodes (not gRPC): the bad message is skipped and counted, the stream goes on until the
    server ends it, and the source retries."""
    server = RawStreamServer("/tetragon.FineGuidanceSensors/GetEvents", lambda: [_event("/bin/before"), GARBAGE])
    source = TetragonSource([server.target])
    try:
        source.start()
        assert _wait(lambda: source.state() is SourceState.RETRYING), source.describe()
        assert "1 malformed message(s) skipped" in source.describe()
        binaries = [r.process_exec.process.binary for r in source.buffer.drain()]
        assert binaries[:1] == ["/bin/before"]
        assert _wait(lambda: server.calls >= 2), "the source did not reconnect"
    finally:
        source.stop()
        server.stop()


def test_tetragon_process_reader_skips_garbage_and_counts_it() -> None:
    server = RawStreamServer("/tetragon.FineGuidanceSensors/GetEvents",
                             lambda: [_event("/bin/before"), GARBAGE, _event("/bin/after")])
    source = ProcessTetragonSource([server.target])
    try:
        source.start()
        binaries: list[str] = []
        assert _wait(lambda: binaries.extend(r.process_exec.process.binary for r in source.buffer.drain())
                     or "/bin/after" in binaries), source.describe()
        assert binaries == ["/bin/before", "/bin/after"]
        assert source.malformed == 1 and "1 malformed" in source.describe()
        assert source.state() is SourceState.STREAMING
    finally:
        source.stop()
        server.stop()


@pytest.mark.parametrize("cls", [TetragonSource, ProcessTetragonSource], ids=["thread-reader", "process-reader"])
def test_tetragon_source_accepts_10_mib_and_reports_larger(cls: type[TetragonSource]) -> None:
    nine_mib = _event("/bin/" + "a" * (9 * 1024 * 1024))
    server = RawStreamServer("/tetragon.FineGuidanceSensors/GetEvents",
                             lambda: [nine_mib, _event("/bin/" + "b" * OVERSIZED)])
    source = cls([server.target])
    try:
        source.start()
        assert _wait(lambda: source.state() is SourceState.RETRYING), source.describe()
        assert "RESOURCE_EXHAUSTED" in source.describe() or "larger than" in source.describe()
        received: list = []
        assert _wait(lambda: received.extend(source.buffer.drain()) or bool(received))
        assert len(received[0].process_exec.process.binary) > 9 * 1024 * 1024
    finally:
        source.stop()
        server.stop()
