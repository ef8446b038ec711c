"""The demo Tetragon agent: `tetragon.FineGuidanceSensors` over real gRPC.

GetEvents, GetVersion, ListTracingPolicies (the policies the scenario's kprobes come from, with their
counters up to "now", plus one that failed to load, as `tetra tracingpolicy list` would list them) and
GetDebug with the process-cache dump (every process exec'd and not exited by "now", what
`tetra debug dump processcache` prints), so a client that connects late still gets the processes that
started before it.

Each GetEvents stream plays the seeded scenario (`tetragon_scenario`) and applies the request's
allow and deny lists server-side, as the agent does.

Paced (`rate > 0`): the scenario runs in real time, an event's timestamp is the wall-clock time at
which it is delivered, and like a real agent a stream only gets what happens after it connects
(plus a short grace). By default the timeline is positioned as the Hubble demo server positions its
own (its pre-filled flow history ends "now"), so `ebtop --demo` shows the same episode at the same
moment in both panes: the pod that runs `curl` is the one whose flows show the connection.

Unpaced (`rate <= 0`): every stream gets the whole timeline from the start, as fast as the client
reads it (tests, benchmarks).
"""

from __future__ import annotations

import inspect
import itertools
import threading
import time
from collections.abc import Iterator
from datetime import datetime

import grpc

from tui.demo.server_base import DemoServer, bind, new_server
from tui.demo.tetragon_scenario import (
    CONNECT_POLICY,
    JOIN_POLICY,
    SENSITIVE_POLICY,
    tetragon_events,
    to_unix_ns,
)
from tui.filters.tetragon_match import EventFilter, FilterError
from tui.proto.tetragon import events_pb2, sensors_pb2, sensors_pb2_grpc, tetragon_pb2

DEMO_VERSION = "v1.7.0-demo"
# A paced stream that connects this long after start still receives what happened since start.
JOIN_GRACE_S = 2.0
# Episodes per second of scenario time when streaming unpaced (spacing of the event timestamps): the
# Hubble demo's unpaced density, so unpaced Hubble and Tetragon servers tell the same story.
_UNPACED_RATE = 40.0

# The demo's loaded policies: name -> (mode, kprobe hooks), and one that could not be loaded.
DEMO_POLICIES = {
    SENSITIVE_POLICY: (sensors_pb2.TP_MODE_ENFORCE, ("fd_install",)),
    CONNECT_POLICY: (sensors_pb2.TP_MODE_MONITOR, ("tcp_connect",)),
    JOIN_POLICY: (sensors_pb2.TP_MODE_MONITOR, ("tcp_connect", "inet_csk_accept", "tcp_close")),
}
BROKEN_POLICY = "block-ptrace"
BROKEN_POLICY_ERROR = ('failed to load policy: sensor generic_kprobe: attaching kprobe "__arm64_sys_ptrace": '
                       "symbol not found")
_SIGNALS = (tetragon_pb2.KPROBE_ACTION_SIGKILL, tetragon_pb2.KPROBE_ACTION_SIGNAL)


class DemoFineGuidanceSensors(sensors_pb2_grpc.FineGuidanceSensorsServicer):
    """Servicer over one seeded timeline.

    `live_from` is the scenario time (seconds) that is "now" when the servicer is created; paced
    streams deliver an event of scenario time `t` at `created + (t - live_from)` on the wall clock.
    """

    def __init__(self, seed: int, rate: float, start_ns: int, live_from: float = 0.0,
                 clock=time.monotonic) -> None:
        self.seed = seed
        self.rate = rate
        self.start_ns = start_ns
        self.live_from = live_from
        self._clock = clock
        self._started = clock()
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Wake every paced stream so server shutdown never waits on a sleeping handler."""
        self._stopping.set()

    def GetVersion(self, request, context):  # noqa: N802 (gRPC method name)
        return sensors_pb2.GetVersionResponse(version=DEMO_VERSION)

    def _now(self) -> float:
        """Scenario time (seconds) that is "now": what a stream connecting at this moment starts from."""
        if self.rate <= 0:
            return 0.0  # unpaced streams replay the timeline from its start: nothing came before
        return self._clock() - (self._started - self.live_from)

    def _history(self) -> Iterator[events_pb2.GetEventsResponse]:
        """Every event of the timeline up to now, in delivery order (what the agent has seen so far)."""
        now = self._now()
        rate = self.rate if self.rate > 0 else _UNPACED_RATE
        for deliver_at, response in tetragon_events(self.seed, rate, self.start_ns / 1e9):
            if deliver_at > now:
                return
            yield response

    def process_cache(self) -> list[tetragon_pb2.Process]:
        """The agent's process cache now: exec'd (or seen as a parent) and not exited, oldest first."""
        cache: dict[str, tetragon_pb2.Process] = {}
        gone: set[str] = set()
        replaced: dict[str, str] = {}  # image exec'd in place -> the image it replaced (freed with it)
        for response in self._history():
            kind = response.WhichOneof("event")
            if kind == "process_exec":
                body = response.process_exec
                if body.HasField("parent") and body.parent.exec_id not in gone:
                    cache.setdefault(body.parent.exec_id, body.parent)
                    if body.parent.pid.value == body.process.pid.value:
                        replaced[body.process.exec_id] = body.parent.exec_id
                if body.process.exec_id not in gone:
                    cache[body.process.exec_id] = body.process
            elif kind == "process_exit":
                exec_id = response.process_exit.process.exec_id
                while exec_id:
                    gone.add(exec_id)
                    cache.pop(exec_id, None)
                    exec_id = replaced.pop(exec_id, "")
        return sorted(cache.values(), key=lambda p: (p.start_time.seconds, p.start_time.nanos))

    def GetDebug(self, request: sensors_pb2.GetDebugRequest, context: grpc.ServicerContext
                 ) -> sensors_pb2.GetDebugResponse:  # noqa: N802
        if request.flag != sensors_pb2.CONFIG_FLAG_DUMP_PROCESS_CACHE:
            return sensors_pb2.GetDebugResponse(flag=request.flag, level=sensors_pb2.LOG_LEVEL_INFO)
        response = sensors_pb2.GetDebugResponse(flag=request.flag)
        dump = response.processes
        dump.SetInParent()
        for process in self.process_cache():
            entry = dump.processes.add()
            entry.process.CopyFrom(process)
            entry.refcnt.value = max(1, process.refcnt)
            entry.refcnt_ops["process++"] = 1
        return response

    def ListTracingPolicies(self, request: sensors_pb2.ListTracingPoliciesRequest,
                            context: grpc.ServicerContext) -> sensors_pb2.ListTracingPoliciesResponse:  # noqa: N802
        posted = dict.fromkeys(DEMO_POLICIES, 0)
        signals = dict.fromkeys(DEMO_POLICIES, 0)
        for response in self._history():
            if response.WhichOneof("event") == "process_kprobe":
                body = response.process_kprobe
                if body.policy_name in posted:
                    posted[body.policy_name] += 1
                    if body.action in _SIGNALS:
                        signals[body.policy_name] += 1
        reply = sensors_pb2.ListTracingPoliciesResponse()
        for index, (name, (mode, hooks)) in enumerate(DEMO_POLICIES.items(), start=1):
            status = reply.policies.add(id=index, name=name, sensors=["generic_kprobe"], enabled=True,
                                        state=sensors_pb2.TP_STATE_ENABLED, mode=mode,
                                        info=", ".join(hooks), kernel_memory_bytes=1_245_184 * len(hooks))
            counters = status.stats.action_counters
            counters.post, counters.signal = posted[name], signals[name]
        reply.policies.add(id=len(DEMO_POLICIES) + 1, name=BROKEN_POLICY, namespace="shop",
                           state=sensors_pb2.TP_STATE_LOAD_ERROR, mode=sensors_pb2.TP_MODE_ENFORCE,
                           error=BROKEN_POLICY_ERROR)
        return reply

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
        origin = self._started - self.live_from  # wall (monotonic) time of scenario t = 0
        joined_t = self._clock() - origin
        for deliver_at, response in tetragon_events(self.seed, rate, self.start_ns / 1e9):
            if done.is_set() or self._stopping.is_set():
                return
            if paced:
                if deliver_at < joined_t - JOIN_GRACE_S:
                    continue  # happened before this client connected: a live stream has no backlog
                delay = origin + deliver_at - self._clock()
                if delay > 0 and (done.wait(delay) or self._stopping.is_set()):
                    return
            if event_filter.passes(response):
                yield response


def hubble_live_offset(seed: int, rate: float) -> float:
    """Scenario seconds the Hubble demo server pre-fills as history by default (0.0 if absent).

    The Hubble demo places the end of that history at "now"; starting this server's timeline at
    the same point keeps the two panes on the same episode.
    """
    try:
        from tui.demo import hubble_scenario, hubble_server
    except ImportError:
        return 0.0
    try:
        history = int(inspect.signature(hubble_server.serve_hubble).parameters["history"].default)
    except (KeyError, TypeError, ValueError):
        return 0.0
    flows = hubble_scenario.flow_responses(seed, rate, 0)
    newest_ns = 0
    for response in itertools.islice(flows, history):
        newest_ns = response.time.ToNanoseconds()
    return newest_ns / 1e9


def serve_tetragon(address: str = "127.0.0.1:0", *, seed: int = 1, rate: float = 40.0,
                   start_time: datetime | float | None = None) -> DemoServer:
    """Start the demo agent on `address` (`host:port`, port 0 = any, or `unix:///path`).

    `rate` is episodes per second of scenario time, paced on the wall clock; `rate <= 0` streams
    unpaced. `start_time` is the Unix time of scenario t = 0 (a datetime or seconds); by default it
    is chosen so that, paced, "now" is where the Hubble demo's live flows begin (unpaced: now).
    """
    now_ns = time.time_ns()
    if start_time is None:
        live_from = hubble_live_offset(seed, rate) if rate > 0 else 0.0
        start_ns = now_ns - round(live_from * 1e9)
    else:
        start_ns = to_unix_ns(start_time)
        live_from = max(0.0, (now_ns - start_ns) / 1e9) if rate > 0 else 0.0
    servicer = DemoFineGuidanceSensors(seed, rate, start_ns, live_from)
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
