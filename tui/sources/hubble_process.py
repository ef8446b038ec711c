"""GetFlows read in a second process, so gRPC's per-message cost does not share ebtop's GIL.

A Python gRPC client spends most of its time per message in gRPC's own machinery (the C core, the
channel's spin thread and the iterator), all under the GIL it shares with the UI. Here a spawned child
runs the ordinary `HubbleSource` connection logic (reconnects, backoff, gap markers, ServerStatus), parses
and digests each response, and forwards its raw bytes with the digest as plain tuples to the parent in
batches through `tui.sources.reader_process` (shared with Tetragon); the parent's receiver only rebuilds
records. State, server info, problems and gap markers travel in the same ordered stream, so the parent's
`status`, `server`, `problems` and buffer look exactly like a `HubbleSource`'s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from tui.model.flow_aggregates import FlowDigest
from tui.model.flows import FlowRecord, RecordKind, marker, record_from_response
from tui.proto.observer import observer_pb2
from tui.sources import reader_process
from tui.sources.base import Backoff, BoundedBuffer, Source, SourceState, parse_or_none
from tui.sources.hubble import HubbleSource, ServerInfo, parse_counted
from tui.sources.hubble_tls import Endpoint


class _Outbox(reader_process.Outbox):
    """The shared outbox; a gap or note marker from HubbleSource becomes a plain tuple."""

    def put(self, item: Any) -> None:
        if isinstance(item, FlowRecord):
            item = ("marker", int(item.kind), item.text)
        super().put(item)


class _ForwardingSource(HubbleSource):
    """Child side: HubbleSource's connection logic, raw bytes out instead of records."""

    def __init__(self, endpoint: Endpoint, request: observer_pb2.GetFlowsRequest, outbox: _Outbox,
                 digest: bool = False, **kwargs: Any) -> None:
        super().__init__(endpoint, request, buffer=outbox, **kwargs)  # type: ignore[arg-type]
        self._outbox = outbox
        self._digest = digest
        self.status = reader_process.ForwardingStatus(outbox)
        self._resume.on_count = lambda skewed, duplicates: outbox.put(("resume", skewed, duplicates))

    def add_problem(self, text: str, limit: int = 50) -> None:
        self._outbox.put(("problem", text))

    def _read(self, call: object) -> bool:
        """Forward raw responses; with `digest`, parse and digest here (HubbleSource's loop, tuples out)."""
        if not self._digest:
            return self._read_raw(call)
        return super()._read(call)

    def _deliver(self, record: FlowRecord, response: observer_pb2.GetFlowsResponse) -> None:
        item = record.digest
        if item is not None:
            self._outbox.put((record.data, int(record.kind), record.verdict, record.lost, item.second, item.talker,
                              item.verdict_class, item.drop, item.dns, item.http, item.latency_ms))
        else:
            self._outbox.put((record.data, int(record.kind), record.verdict, record.lost))

    def _read_raw(self, call: object) -> bool:
        put = self._outbox.put
        parse = observer_pb2.GetFlowsResponse.FromString
        delivered = False
        for data in call:  # type: ignore[attr-defined]
            if not delivered:
                delivered = True
                self._on_connected()
            response = parse_or_none(parse, data)  # only for the flow's time (`since` after a reconnect)
            if response is not None and response.HasField("flow"):
                flow_time = response.flow.time
                if not self._resume.fresh(flow_time.seconds, flow_time.nanos, data):
                    continue  # sent again after a resume from its own time
                self._last_flow_time = (flow_time.seconds, flow_time.nanos)
            put((data,))
        return delivered

    def _apply_status(self, reply: observer_pb2.ServerStatusResponse) -> None:
        super()._apply_status(reply)
        self._outbox.put(("server", dataclasses.asdict(self.server)))


def _child_main(conn: Connection, endpoint: Endpoint, request_bytes: bytes, options: dict[str, Any]) -> None:
    reader_process.quiet_stderr()
    outbox = _Outbox()
    request = observer_pb2.GetFlowsRequest.FromString(request_bytes)
    source = _ForwardingSource(endpoint, request, outbox, backoff=Backoff(*options.pop("backoff")), **options)
    source.start()
    try:
        reader_process.forward(conn, outbox, lambda: source.running)
    finally:
        source.stop()


class ProcessHubbleSource(Source[FlowRecord]):
    """HubbleSource's stream read in a child process; `run()` is the parent's receiver."""

    thread_name = "hubble-receiver"
    remote = True

    def __init__(self, endpoint: Endpoint, request: observer_pb2.GetFlowsRequest, *,
                 buffer: BoundedBuffer[FlowRecord] | None = None, status_interval: float = 2.0,
                 backoff: tuple[float, float] = (0.5, 30.0),
                 recorder: Callable[[observer_pb2.GetFlowsResponse], None] | None = None,
                 connect_timeout: float = 5.0, digest_in_child: bool = False) -> None:
        super().__init__(f"hubble {endpoint.describe()}", buffer)
        self.endpoint = endpoint
        self.request = request
        self.server = ServerInfo()
        self.recorder = recorder
        self.reconnects = 0
        self.malformed = 0
        self.skewed = 0  # counted by the child's ResumePoint
        self.duplicates = 0
        options = {"status_interval": status_interval, "connect_timeout": connect_timeout,
                   "backoff": backoff, "digest": digest_in_child}
        self._reader = reader_process.ReaderProcess("ebtop-hubble-reader", _child_main,
                                     (endpoint, request.SerializeToString(), options))

    def close(self) -> None:
        self._reader.stop()

    # -- what panes read (the Source contract) ---------------------------------------------------
    def facts(self) -> list[str]:
        return self.server.facts()

    def counters(self) -> dict[str, int]:
        return {"received": self.buffer.received, "dropped": self.buffer.dropped,
                "reconnects": self.reconnects, "malformed": self.malformed, "future-dated": self.skewed,
                "replays dropped": self.duplicates}

    def run(self) -> None:
        self.status.set(SourceState.CONNECTING, f"{self.endpoint.describe()} (reader process)")
        self._reader.spawn()
        put = self.buffer.put
        parse = observer_pb2.GetFlowsResponse.FromString
        recorder = self.recorder
        kinds = list(RecordKind)
        fallback = 0
        for items in self._reader.batches():
            for item in items:
                head = item[0]
                if isinstance(head, bytes):
                    data = head
                    if len(item) == 1:  # raw: parse and digest here
                        response = parse_counted(data, self)
                        if response is None:
                            continue
                        record = record_from_response(response, data, fallback)
                        if record is not None:
                            if record.digest is not None:
                                fallback = record.digest.second
                            put(record)
                            if recorder is not None:
                                recorder(response)
                        continue
                    if len(item) > 4:
                        digest = FlowDigest(item[4], item[5], item[6], item[7], item[8], item[9], item[10])
                    else:
                        digest = None
                    put(FlowRecord(kinds[item[1]], data, verdict=item[2], digest=digest, lost=item[3]))
                    if recorder is not None:
                        recorder(parse(data))
                elif head == "status":
                    reader_process.apply_status(self.status, *item[1:])
                elif head == "server":
                    self.server = ServerInfo(**item[1])
                elif head == "resume":
                    self.skewed, self.duplicates = item[1], item[2]
                elif head == "problem":
                    self.add_problem(item[1])
                elif head == "marker":
                    if item[1] == RecordKind.GAP:
                        self.reconnects += 1
                    elif item[1] == RecordKind.NOTE:
                        self.malformed += 1
                    put(marker(RecordKind(item[1]), item[2]))
        state = self.status.get().state
        if not self._reader.ended and not self.stopping.is_set() and state not in (SourceState.ENDED,
                                                                                     SourceState.FAILED):
            self.status.set(SourceState.FAILED, "the reader process exited")
