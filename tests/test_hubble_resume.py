"""Resume after a broken stream from what was received, over real loopback gRPC.

A scripted Hubble server sends part of its flows, then drops the stream; the next call is served from
its `since`. Flows sharing the last timestamp before the break were lost when `since` was that time
plus 1 ns; a flow dated an hour ahead made `since` skip everything after it. Now `since` is the last
flow's own time (the last one not ahead of the local clock) and replays are dropped as duplicates.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import grpc

from tests.test_hubble_loopback import READERS, collect, flows_of, source_from_cli
from tui.demo.server_base import DemoServer, bind, new_server
from tui.proto.flow import flow_pb2
from tui.proto.observer import observer_pb2, observer_pb2_grpc


def flow(time_ns: int, name: str) -> observer_pb2.GetFlowsResponse:
    response = observer_pb2.GetFlowsResponse(node_name="node-a")
    response.time.FromNanoseconds(time_ns)
    response.flow.time.FromNanoseconds(time_ns)
    response.flow.node_name = "node-a"
    response.flow.verdict = flow_pb2.FORWARDED
    response.flow.source.pod_name = name
    return response


class ScriptedObserver(observer_pb2_grpc.ObserverServicer):
    """The first call sends `first` flows of `flows` and drops the stream; later calls serve `since`."""

    def __init__(self, flows: list[observer_pb2.GetFlowsResponse], first: int) -> None:
        self.flows = flows
        self.first = first
        self.calls: list[int | None] = []  # the `since` of each call, ns
        self.done = threading.Event()

    def GetFlows(self, request: observer_pb2.GetFlowsRequest, context: grpc.ServicerContext
                 ) -> Iterator[observer_pb2.GetFlowsResponse]:
        since = request.since.ToNanoseconds() if request.HasField("since") else None
        self.calls.append(since)
        if len(self.calls) == 1:
            yield from self.flows[:self.first]
            time.sleep(0.3)  # let the client take them before the break
            context.abort(grpc.StatusCode.UNAVAILABLE, "dropped on purpose")
        yield from (f for f in self.flows if since is None or f.flow.time.ToNanoseconds() >= since)
        self.done.wait(60)  # follow: hold the stream open

    def ServerStatus(self, request: observer_pb2.ServerStatusRequest, context: grpc.ServicerContext
                     ) -> observer_pb2.ServerStatusResponse:
        return observer_pb2.ServerStatusResponse(num_flows=len(self.flows), max_flows=100, version="scripted")


def serve(observer: ScriptedObserver) -> DemoServer:
    server = new_server()
    observer_pb2_grpc.add_ObserverServicer_to_server(observer, server)
    target = bind(server, "127.0.0.1:0")
    server.start()
    return DemoServer(server, target)


def run_case(reader: str, flows: list[observer_pb2.GetFlowsResponse], first: int, want: int
             ) -> tuple[list[str], ScriptedObserver, dict[str, int]]:
    observer = ScriptedObserver(flows, first)
    server = serve(observer)
    source = source_from_cli(server.target, "--follow", reader=reader)
    source.start()
    try:
        records = collect(source, lambda r: len(flows_of(r)) >= want and len(observer.calls) >= 2, timeout=60)
        time.sleep(0.5)  # anything extra (a duplicate) would arrive now
        records += source.buffer.drain()
        counters = source.counters()
    finally:
        observer.done.set()
        source.stop()
        server.stop(grace=0)
    return [f.flow.source.pod_name for f in flows_of(records)], observer, counters


@READERS
def test_flows_sharing_the_last_timestamp_are_not_lost(reader: str) -> None:
    now = time.time_ns()
    flows = [flow(now, "a"), flow(now + 1000, "b1"), flow(now + 1000, "b2"), flow(now + 1000, "b3"),
             flow(now + 2000, "c")]
    names, observer, counters = run_case(reader, flows, first=3, want=5)
    assert observer.calls[1] == now + 1000  # resumed from the last time itself
    assert names == ["a", "b1", "b2", "b3", "c"]  # b3 shares b2's time: not lost; b1, b2 not twice
    assert counters["replays dropped"] == 2


@READERS
def test_a_flow_dated_an_hour_ahead_does_not_move_since(reader: str) -> None:
    now = time.time_ns()
    future = now + 3600 * 10**9
    flows = [flow(now, "a"), flow(future, "fast-clock"), flow(now + 1000, "b"), flow(now + 2000, "c")]
    names, observer, counters = run_case(reader, flows, first=2, want=4)
    assert observer.calls[1] == now  # the last flow not ahead of the local clock
    assert names == ["a", "fast-clock", "b", "c"]
    assert counters["future-dated"] == 1 and counters["replays dropped"] == 2

