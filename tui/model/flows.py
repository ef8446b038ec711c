"""The Flows pane's model: a bounded ring of recent lines and the windowed aggregates.

A record keeps the serialized GetFlowsResponse (a few hundred bytes) rather than the parsed message
(several KB in upb), so a large ring stays cheap; the pane parses again only the lines it shows.
Gap markers (stream restarted), lost-event and node-status lines live in the same ring, so what
happened to the stream is shown where it happened.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field

from tui.model.clock import RecordClock
from tui.model.flow_aggregates import FlowAggregates, FlowDigest, digest
from tui.model.policies import PolicyVerdicts
from tui.model.service_map import ServiceMap
from tui.proto.observer import observer_pb2

DEFAULT_CAPACITY = 10_000
DEFAULT_WINDOW = 60


class RecordKind(enum.IntEnum):
    FLOW = 0
    LOST = 1
    NODE = 2
    GAP = 3
    NOTE = 4


@dataclass(slots=True, eq=False)
class FlowRecord:
    """One line of the list: a flow, a lost-events or node-status response, or a marker."""

    kind: RecordKind
    data: bytes = b""
    """Serialized GetFlowsResponse (empty for markers)."""
    text: str = ""
    """Marker text (GAP, NOTE)."""
    verdict: int = 0
    digest: FlowDigest | None = None
    lost: int = 0
    seq: int = -1
    plain: str | None = field(default=None)
    """Cached compact line, filled lazily by whoever needs the text (filtering)."""

    def response(self) -> observer_pb2.GetFlowsResponse:
        return observer_pb2.GetFlowsResponse.FromString(self.data)


def record_from_response(response: observer_pb2.GetFlowsResponse, data: bytes | None = None,
                         fallback_second: int = 0) -> FlowRecord | None:
    """Digest a response into a record (None for an empty response). Cheap enough for a reader thread."""
    kind = response.WhichOneof("response_types")
    if data is None:
        data = response.SerializeToString()
    if kind == "flow":
        flow = response.flow
        return FlowRecord(RecordKind.FLOW, data, verdict=flow.verdict, digest=digest(flow, fallback_second))
    if kind == "lost_events":
        return FlowRecord(RecordKind.LOST, data, lost=response.lost_events.num_events_lost)
    if kind == "node_status":
        return FlowRecord(RecordKind.NODE, data)
    return None


def marker(kind: RecordKind, text: str) -> FlowRecord:
    return FlowRecord(kind, text=text)


class FlowStore:
    """Bounded ring of records plus aggregates and the counters the status line shows."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, window: int = DEFAULT_WINDOW,
                 max_keys: int = 2000) -> None:
        if capacity < 1:
            raise ValueError("flow buffer must hold at least one flow")
        self.capacity = capacity
        self.ring: deque[FlowRecord] = deque(maxlen=capacity)
        self.aggregates = FlowAggregates(window, max_keys)
        self.service_map = ServiceMap(window, max_keys)
        self.policies = PolicyVerdicts(window, max_keys)
        self.seq = 0
        self.flows = 0
        self.lost_events = 0
        self.lost_responses = 0
        self.node_events = 0
        self.gaps = 0
        self.verdicts: dict[int, int] = {}
        self.clock = RecordClock()  # the windows' "now": one flow dated far ahead does not slide them

    def add(self, record: FlowRecord) -> None:
        record.seq = self.seq
        self.seq += 1
        self.ring.append(record)
        kind = record.kind
        if kind is RecordKind.FLOW:
            self.flows += 1
            verdicts = self.verdicts
            verdicts[record.verdict] = verdicts.get(record.verdict, 0) + 1
            item = record.digest
            if item is not None:
                if not self.clock.observe(item.second):
                    item.second = int(self.clock.now or 0)  # counted now, not an hour ahead
                self.aggregates.add(item)
                self.add_to_map(item)
                record.digest = None  # counted: the ring need not keep it (fewer objects for the GC)
        elif kind is RecordKind.LOST:
            self.lost_events += record.lost
            self.lost_responses += 1
        elif kind is RecordKind.NODE:
            self.node_events += 1
        elif kind is RecordKind.GAP:
            self.gaps += 1

    @property
    def newest_second(self) -> int:
        """The windows' current second (the record clock's)."""
        return int(self.clock.now or 0)

    @property
    def skewed(self) -> int:
        """Flows dated too far ahead to move the windows (counted at the current second instead)."""
        return self.clock.skewed

    def add_to_map(self, item: FlowDigest) -> None:
        """Count one digested flow on the service map and, when it is one, in the policy verdicts."""
        if item.map is not None:
            self.service_map.add(item.second, item.map, item.verdict_class,
                                 item.latency_ms if item.http is not None else -1.0)
        if item.policy is not None:
            self.policies.add(item.second, *item.policy)

    def add_many(self, records: list[FlowRecord]) -> None:
        for record in records:
            self.add(record)

    @property
    def first_seq(self) -> int:
        """Sequence number of the oldest record still in the ring."""
        return self.seq - len(self.ring)

    def flows_per_second(self) -> float:
        """Flows per second over the aggregate window (flow time, not wall time)."""
        talkers = self.aggregates.talkers
        span = talkers.span()
        return sum(v[0] for v in talkers.totals.values()) / span if span else 0.0
