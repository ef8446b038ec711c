"""An in-process Hubble Observer gRPC server for `ebtop --demo` and the loopback tests.

It keeps a ring of past flows (pre-filled at start, timestamps in the past) and appends the seeded
scenario's flows paced on the wall clock (or, with `rate <= 0`, as fast as a following client reads).
GetFlows follows Hubble's semantics: `number` rewinds from the newest, `first` reads from the oldest,
`since`/`until` bound by time, `follow` streams new flows, first+follow is INVALID_ARGUMENT, whitelist
and blacklist FlowFilters are applied here, and lost events bypass filters and are not counted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
from google.protobuf import field_mask_pb2

from tui.demo.cluster import NODES
from tui.demo.hubble_scenario import flow_responses
from tui.demo.server_base import DemoServer, bind, new_server
from tui.filters.flow_match import FilterError, compile_filters
from tui.proto.flow import flow_pb2
from tui.proto.observer import observer_pb2, observer_pb2_grpc
from tui.proto.relay import relay_pb2

log = logging.getLogger(__name__)

VERSION = "cilium v1.19.4+gdemo"
SCENARIO_RATE_UNPACED = 40.0  # scenario density used for timestamps when not pacing
WAIT_SLICE_S = 0.2  # how often a waiting stream re-checks that its client is still there
UNPACED_BATCH = 256


class FlowRing:
    """A fixed-size ring of GetFlowsResponse entries addressed by an ever-growing sequence number."""

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("history must be at least 1")
        self.capacity = capacity
        self._slots: list[tuple[int, observer_pb2.GetFlowsResponse] | None] = [None] * capacity
        self.next_seq = 0  # sequence number the next entry will get
        self.seen_flows = 0
        self.seen_by_node: dict[str, int] = {}
        self.cond = threading.Condition()

    @property
    def oldest_seq(self) -> int:
        return max(0, self.next_seq - self.capacity)

    def append(self, response: observer_pb2.GetFlowsResponse) -> None:
        """Caller holds `cond`."""
        self._slots[self.next_seq % self.capacity] = (response.time.ToNanoseconds(), response)
        self.next_seq += 1
        if response.HasField("flow"):
            self.seen_flows += 1
            node = response.flow.node_name
            self.seen_by_node[node] = self.seen_by_node.get(node, 0) + 1

    def get(self, seq: int) -> tuple[int, observer_pb2.GetFlowsResponse]:
        """Caller holds `cond` and checked oldest_seq <= seq < next_seq."""
        entry = self._slots[seq % self.capacity]
        assert entry is not None
        return entry

    def num_flows(self) -> int:
        return sum(1 for seq in range(self.oldest_seq, self.next_seq) if self.get(seq)[1].HasField("flow"))

    def flows_by_node(self) -> dict[str, int]:
        """Flows held now, per node (what each agent's own ring would hold behind Relay)."""
        counts: dict[str, int] = {}
        for seq in range(self.oldest_seq, self.next_seq):
            response = self.get(seq)[1]
            if response.HasField("flow"):
                counts[response.flow.node_name] = counts.get(response.flow.node_name, 0) + 1
        return counts


@dataclass
class _Feed:
    """The scenario stream plus the synthetic lost-event injection, producing ring entries."""

    flows: Iterator[observer_pb2.GetFlowsResponse]
    lost_events_every: int
    emitted_flows: int = 0
    lost_seq: int = 0

    def next_entries(self) -> list[observer_pb2.GetFlowsResponse]:
        response = next(self.flows)
        out = [response]
        self.emitted_flows += 1
        if self.lost_events_every > 0 and self.emitted_flows % self.lost_events_every == 0:
            out.append(self._lost_event(response))
        return out

    def _lost_event(self, after: observer_pb2.GetFlowsResponse) -> observer_pb2.GetFlowsResponse:
        """One aggregated HUBBLE_RING_BUFFER LostEvent, as the agent sends at most once a second."""
        self.lost_seq += 1
        lost = observer_pb2.GetFlowsResponse(node_name=after.node_name)
        lost.time.CopyFrom(after.time)
        event = lost.lost_events
        event.source = flow_pb2.HUBBLE_RING_BUFFER
        event.num_events_lost = 1 + (self.lost_seq * 7) % 23
        last_ns = after.time.ToNanoseconds()
        event.first.FromNanoseconds(last_ns - 900_000_000)
        event.last.FromNanoseconds(last_ns)
        return lost


class HubbleDemoService(observer_pb2_grpc.ObserverServicer):
    """Observer servicer over a FlowRing fed by the seeded scenario."""

    def __init__(self, *, seed: int, rate: float, history: int, lost_events_every: int,
                 start_time: float | None, node_events: bool = False) -> None:
        self.paced = rate > 0
        self.node_events = node_events  # Relay's NODE_CONNECTED at the start of each stream
        scenario_rate = rate if self.paced else SCENARIO_RATE_UNPACED
        self.ring = FlowRing(history)
        self.started_monotonic = time.monotonic()
        self._stop = threading.Event()
        now_ns = time.time_ns()
        now_wall = time.monotonic()
        if start_time is None:
            # Place the pre-filled history in the past so that its newest flow is "now".
            probe = flow_responses(seed, scenario_rate, 0)
            span = 0
            for _ in range(history):
                span = next(probe).time.ToNanoseconds()
            start_ns = now_ns - span
        else:
            start_ns = int(start_time * 1e9)
        self._feed = _Feed(flow_responses(seed, scenario_rate, start_ns), lost_events_every)
        with self.ring.cond:
            while self.ring.seen_flows < history:
                for entry in self._feed.next_entries():
                    self.ring.append(entry)
            self._live_from_ns = self._newest_time_ns()
        # Live flows are due when the wall clock reaches their timestamps (the history is "until now",
        # and filling it takes a while): the Tetragon demo stamps its events with the wall clock too,
        # so the same connection has the same time on both sides (the flow/process join needs it).
        self._live_wall = now_wall
        self._producer: threading.Thread | None = None
        if self.paced:
            self._producer = threading.Thread(target=self._produce, name="hubble-demo-producer", daemon=True)
            self._producer.start()

    # -- feeding ---------------------------------------------------------------------------------
    def _newest_time_ns(self) -> int:
        return self.ring.get(self.ring.next_seq - 1)[0] if self.ring.next_seq else 0

    def _produce(self) -> None:
        """Append scenario flows when their (scenario) time comes due on the wall clock."""
        while not self._stop.is_set():
            entries = self._feed.next_entries()
            due = self._live_wall + (entries[0].time.ToNanoseconds() - self._live_from_ns) / 1e9
            delay = due - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            with self.ring.cond:
                for entry in entries:
                    self.ring.append(entry)
                self.ring.cond.notify_all()

    def _extend_unpaced(self, want_seq: int) -> None:
        """Unpaced mode: generate until `want_seq` exists (the reader sets the pace). Holds cond."""
        # Never more than half a ring ahead of the reader, so a lone reader cannot overrun itself.
        target = want_seq + max(1, min(UNPACED_BATCH, self.ring.capacity // 2))
        while self.ring.next_seq < target:
            for entry in self._feed.next_entries():
                self.ring.append(entry)
        self.ring.cond.notify_all()

    def stop(self) -> None:
        self._stop.set()
        with self.ring.cond:
            self.ring.cond.notify_all()
        if self._producer is not None:
            self._producer.join(timeout=2)

    # -- RPCs ------------------------------------------------------------------------------------
    def GetFlows(self, request: observer_pb2.GetFlowsRequest, context: grpc.ServicerContext
                 ) -> Iterator[observer_pb2.GetFlowsResponse]:
        if request.first and request.follow:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "first cannot be specified with follow")
        try:
            matches = compile_filters(request.whitelist, request.blacklist)
        except FilterError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        mask = None
        if request.HasField("field_mask") and request.field_mask.paths:
            if not request.field_mask.IsValidForDescriptor(flow_pb2.Flow.DESCRIPTOR):
                context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                              f"invalid field mask paths: {list(request.field_mask.paths)}")
            mask = request.field_mask
        since = request.since.ToNanoseconds() if request.HasField("since") else None
        until = request.until.ToNanoseconds() if request.HasField("until") else None
        limit = request.number if (request.number and not request.follow) else None

        cancelled = threading.Event()

        def on_done() -> None:
            cancelled.set()
            with self.ring.cond:
                self.ring.cond.notify_all()

        context.add_callback(on_done)

        with self.ring.cond:
            seq = self._start_seq(request, since, matches)
        if self.node_events:  # as Relay does: which peers this stream gets flows from
            status = observer_pb2.GetFlowsResponse(node_name="demo-relay")
            status.time.FromNanoseconds(time.time_ns())
            status.node_status.state_change = relay_pb2.NODE_CONNECTED
            status.node_status.node_names.extend(NODES)
            yield status
        sent = 0
        while not cancelled.is_set() and not self._stop.is_set():
            batch: list[observer_pb2.GetFlowsResponse] = []
            with self.ring.cond:
                if seq >= self.ring.next_seq:
                    if not request.follow:
                        return
                    if self.paced:
                        self.ring.cond.wait(WAIT_SLICE_S)
                        continue
                    self._extend_unpaced(seq)
                if seq < self.ring.oldest_seq:  # the ring overwrote what this reader had not read yet
                    batch.append(self._overrun_event(self.ring.oldest_seq - seq))
                    seq = self.ring.oldest_seq
                end = min(self.ring.next_seq, seq + 64)
                entries = [self.ring.get(s) for s in range(seq, end)]
                seq = end
            for time_ns, response in entries:
                if response.HasField("lost_events"):
                    batch.append(response)  # lost events bypass filters, time range and number
                    continue
                if until is not None and time_ns > until:
                    yield from batch
                    return
                if since is not None and time_ns < since:
                    continue
                if not matches(response.flow):
                    continue
                batch.append(self._masked(response, mask) if mask is not None else response)
                sent += 1
                if limit is not None and sent >= limit:
                    yield from batch
                    return
            yield from batch

    def _start_seq(self, request: observer_pb2.GetFlowsRequest, since: int | None, matches) -> int:
        """Where reading starts (caller holds cond): Hubble's since / first / follow / number rules."""
        ring = self.ring
        oldest, newest = ring.oldest_seq, ring.next_seq
        if since is not None:
            seq = oldest
            while seq < newest and ring.get(seq)[0] < since:
                seq += 1
            return seq
        if request.first:
            return oldest
        if request.follow and request.number == 0:
            return newest
        if request.number == 0:
            return oldest
        found, seq = 0, newest
        while seq > oldest and found < request.number:
            seq -= 1
            response = ring.get(seq)[1]
            if response.HasField("flow") and matches(response.flow):
                found += 1
        return seq

    @staticmethod
    def _masked(response: observer_pb2.GetFlowsResponse, mask: field_mask_pb2.FieldMask
                ) -> observer_pb2.GetFlowsResponse:
        out = observer_pb2.GetFlowsResponse(node_name=response.node_name)
        out.time.CopyFrom(response.time)
        mask.MergeMessage(response.flow, out.flow)
        return out

    def _overrun_event(self, count: int) -> observer_pb2.GetFlowsResponse:
        lost = observer_pb2.GetFlowsResponse()
        lost.time.FromNanoseconds(self._newest_time_ns())
        lost.lost_events.source = flow_pb2.HUBBLE_RING_BUFFER
        lost.lost_events.num_events_lost = count
        return lost

    def ServerStatus(self, request: observer_pb2.ServerStatusRequest, context: grpc.ServicerContext
                     ) -> observer_pb2.ServerStatusResponse:
        with self.ring.cond:
            num_flows = self.ring.num_flows()
            rate = self._flows_rate()
            seen = self.ring.seen_flows
        response = observer_pb2.ServerStatusResponse(
            num_flows=num_flows, max_flows=self.ring.capacity, seen_flows=seen,
            uptime_ns=int((time.monotonic() - self.started_monotonic) * 1e9),
            version=VERSION, flows_rate=rate,
        )
        response.num_connected_nodes.value = len(NODES)
        response.num_unavailable_nodes.value = 0
        return response

    def _flows_rate(self) -> float:
        """Flows per second over the last minute of flow time (caller holds cond)."""
        ring = self.ring
        if ring.next_seq == 0:
            return 0.0
        newest = self._newest_time_ns()
        window_start = newest - 60_000_000_000
        count, earliest = 0, newest
        for seq in range(ring.next_seq - 1, ring.oldest_seq - 1, -1):
            time_ns, response = ring.get(seq)
            if time_ns < window_start:
                break
            if response.HasField("flow"):
                count += 1
                earliest = time_ns
        span_s = max((newest - earliest) / 1e9, 1.0)
        return round(count / span_s, 2)

    def GetNodes(self, request: observer_pb2.GetNodesRequest, context: grpc.ServicerContext
                 ) -> observer_pb2.GetNodesResponse:
        response = observer_pb2.GetNodesResponse()
        uptime = int((time.monotonic() - self.started_monotonic) * 1e9)
        with self.ring.cond:
            held = self.ring.flows_by_node()
            seen = dict(self.ring.seen_by_node)
        for node in NODES:
            entry = response.nodes.add(name=node, version=VERSION, address=f"{node}:4244",
                                       state=relay_pb2.NODE_CONNECTED, uptime_ns=uptime,
                                       num_flows=held.get(node, 0), max_flows=self.ring.capacity,
                                       seen_flows=seen.get(node, 0))
            entry.tls.enabled, entry.tls.server_name = True, f"{node}.demo.hubble-grpc.cilium.io"
        return response

    def GetNamespaces(self, request: observer_pb2.GetNamespacesRequest, context: grpc.ServicerContext
                      ) -> observer_pb2.GetNamespacesResponse:
        from tui.demo.cluster import CLUSTER_NAME, PODS

        response = observer_pb2.GetNamespacesResponse()
        for namespace in sorted({pod.namespace for pod in PODS}):
            response.namespaces.add(cluster=CLUSTER_NAME, namespace=namespace)
        return response


@dataclass
class HubbleDemoServer(DemoServer):
    """DemoServer that also stops the flow producer."""

    service: HubbleDemoService | None = None

    def stop(self, grace: float | None = 0.5) -> None:
        if self.service is not None:
            self.service.stop()
        super().stop(grace)


def serve_hubble(address: str = "127.0.0.1:0", *, seed: int = 1, rate: float = 40.0, history: int = 4095,
                 lost_events_every: int = 0, start_time: float | None = None,
                 node_events: bool = False) -> HubbleDemoServer:
    """Start the demo Observer on `address` (`host:port`, port 0 = any, or `unix:///path`).

    `rate` is scenario episodes per second paced on the wall clock; `rate <= 0` streams as fast as a
    following client reads. `start_time` (UNIX seconds) fixes the first flow's timestamp; by default
    the pre-filled history ends now. Every `lost_events_every` flows (when > 0) the ring gets one
    aggregated LostEvent. `node_events`: each stream starts with Relay's NODE_CONNECTED node event.
    """
    service = HubbleDemoService(seed=seed, rate=rate, history=history, lost_events_every=lost_events_every,
                                start_time=start_time, node_events=node_events)
    server = new_server()
    observer_pb2_grpc.add_ObserverServicer_to_server(service, server)
    try:
        target = bind(server, address)
    except Exception:
        service.stop()
        raise
    server.start()
    log.debug("hubble demo server on %s", target)
    return HubbleDemoServer(server=server, target=target, service=service)
