"""The demo Tetragon agent: `tetragon.FineGuidanceSensors` (GetEvents, GetVersion) over real gRPC.

Each GetEvents stream plays the seeded scenario (`tetragon_scenario`) and applies the request's
allow and deny lists server-side, as the agent does. With `rate > 0` events are paced on the wall
clock from the server's start and, like a real agent, a stream only gets what happens after it
connects (plus a short grace, so a client that connects right after start sees the containers
start). With `rate <= 0` every stream gets the whole timeline from the start as fast as the client
reads it (tests, benchmarks).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime

import grpc

from tui.demo.server_base import DemoServer, bind, new_server
from tui.demo.tetragon_match import EventFilter, FilterError
from tui.demo.tetragon_scenario import tetragon_events, to_unix_ns
from tui.proto.tetragon import events_pb2, sensors_pb2, sensors_pb2_grpc

DEMO_VERSION = "v1.7.0-demo"
# A paced stream that connects this long after start still receives what happened since start.
JOIN_GRACE_S = 2.0
# Episodes per second of scenario time when streaming unpaced (spacing of the event timestamps).
_UNPACED_RATE = 50.0


class DemoFineGuidanceSensors(sensors_pb2_grpc.FineGuidanceSensorsServicer):
    """Servicer over one seeded timeline."""

    def __init__(self, seed: int, rate: float, start_ns: int, clock=time.monotonic) -> None:
        self.seed = seed
        self.rate = rate
        self.start_ns = start_ns
        self._clock = clock
        self._started = clock()
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Wake every paced stream so server shutdown never waits on a sleeping handler."""
        self._stopping.set()

    def GetVersion(self, request, context):  # noqa: N802 (gRPC method name)
        return sensors_pb2.GetVersionResponse(version=DEMO_VERSION)

    def GetEvents(self, request: events_pb2.GetEventsRequest, context: grpc.ServicerContext
                  ) -> Iterator[events_pb2.GetEventsResponse]:  # noqa: N802
        try:
            event_filter = EventFilter.from_request(request)
        except FilterError as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
            return
        done = threading.Event()
        context.add_callback(done.set)
        paced = self.rate > 0
        rate = self.rate if paced else _UNPACED_RATE
        joined_at = self._clock() - self._started
        for deliver_at, response in tetragon_events(self.seed, rate, self.start_ns / 1e9):
            if done.is_set() or self._stopping.is_set():
                return
            if paced:
                if deliver_at < joined_at - JOIN_GRACE_S:
                    continue  # happened before this client connected: a live stream has no backlog
                delay = self._started + deliver_at - self._clock()
                if delay > 0 and (done.wait(delay) or self._stopping.is_set()):
                    return
            if event_filter.passes(response):
                yield response


def serve_tetragon(address: str = "127.0.0.1:0", *, seed: int = 1, rate: float = 40.0,
                   start_time: datetime | float | None = None) -> DemoServer:
    """Start the demo agent on `address` (`host:port`, port 0 = any, or `unix:///path`).

    `rate` is episodes per second of scenario time, paced on the wall clock; `rate <= 0` streams
    unpaced. `start_time` anchors event timestamps (default: now).
    """
    servicer = DemoFineGuidanceSensors(seed, rate, to_unix_ns(start_time))
    server = new_server()
    sensors_pb2_grpc.add_FineGuidanceSensorsServicer_to_server(servicer, server)
    target = bind(server, address)
    server.start()
    return _TetragonDemoServer(server=server, target=target, servicer=servicer)


class _TetragonDemoServer(DemoServer):
    """A DemoServer whose stop() also wakes paced streams first."""

    def __init__(self, server: grpc.Server, target: str, servicer: DemoFineGuidanceSensors) -> None:
        super().__init__(server=server, target=target)
        self.servicer = servicer

    def stop(self, grace: float | None = 0.5) -> None:
        self.servicer.stop()
        super().stop(grace)
