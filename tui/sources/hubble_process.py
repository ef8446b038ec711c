"""GetFlows read in a second process, so gRPC's per-message cost does not share ebtop's GIL.

A Python gRPC client spends most of its time per message in gRPC's own machinery (the C core, the
channel's spin thread and the iterator), all under the GIL it shares with the UI. Here a spawned child
runs the ordinary `HubbleSource` connection logic (reconnects, backoff, gap markers, ServerStatus), parses
and digests each response, and forwards its raw bytes with the digest as plain tuples to the parent in
batches over a pipe, about 100 times a second; the parent's receiver thread only rebuilds records. State, server info and gap markers travel in the same
ordered stream, so the parent's `status`, `server` and buffer look exactly like a `HubbleSource`'s.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from multiprocessing import resource_tracker
from multiprocessing.connection import Connection
from typing import Any

from tui.model.flow_aggregates import FlowDigest
from tui.model.flows import FlowRecord, RecordKind, marker, record_from_response
from tui.proto.observer import observer_pb2
from tui.sources.base import MALFORMED_NOTE, Backoff, BoundedBuffer, SourceState, StatusHolder, parse_or_none
from tui.sources.hubble import HubbleSource, ServerInfo
from tui.sources.hubble_tls import Endpoint

FLUSH_SECONDS = 0.01


class _Outbox:
    """What the child has for the parent, in arrival order: raw responses (bytes) and events (tuples)."""

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._lock = threading.Lock()

    def put(self, item: Any) -> None:
        if isinstance(item, FlowRecord):  # a gap marker from HubbleSource._attempt
            item = ("marker", int(item.kind), item.text)
        with self._lock:
            self._items.append(item)

    def take(self) -> list[Any]:
        with self._lock:
            items, self._items = self._items, []
        return items

    def __len__(self) -> int:
        return len(self._items)


class _ForwardingStatus(StatusHolder):
    def __init__(self, outbox: _Outbox) -> None:
        super().__init__()
        self._outbox = outbox

    def set(self, state: SourceState, reason: str = "", retry_at: float | None = None) -> None:
        super().set(state, reason, retry_at)
        delay = None if retry_at is None else retry_at - time.monotonic()
        self._outbox.put(("status", state.value, reason, delay))


class _ForwardingSource(HubbleSource):
    """Child side: HubbleSource's connection logic, raw bytes out instead of records."""

    def __init__(self, endpoint: Endpoint, request: observer_pb2.GetFlowsRequest, outbox: _Outbox,
                 digest: bool = False, **kwargs: Any) -> None:
        super().__init__(endpoint, request, buffer=outbox, **kwargs)  # type: ignore[arg-type]
        self._outbox = outbox
        self._digest = digest
        self.status = _ForwardingStatus(outbox)

    def _read(self, call: object) -> bool:
        """Forward raw responses; with `digest`, also parse and digest here (plain tuples out)."""
        if not self._digest:
            return self._read_raw(call)
        put = self._outbox.put
        parse = observer_pb2.GetFlowsResponse.FromString
        delivered = False
        fallback = 0
        for data in call:  # type: ignore[attr-defined]
            response = parse_or_none(parse, data)
            if response is None:
                self.malformed += 1
                put(marker(RecordKind.NOTE, MALFORMED_NOTE.format(count=self.malformed)))
                continue
            record = record_from_response(response, data, fallback)
            if record is None:
                continue
            if not delivered:
                delivered = True
                self._on_connected()
            item = record.digest
            if item is not None:
                fallback = item.second
                flow_time = response.flow.time
                self._last_flow_time = (flow_time.seconds, flow_time.nanos)
                put((data, int(record.kind), record.verdict, record.lost, item.second, item.talker,
                     item.verdict_class, item.drop, item.dns, item.http, item.latency_ms))
            else:
                put((data, int(record.kind), record.verdict, record.lost))
        return delivered

    def _read_raw(self, call: object) -> bool:
        put = self._outbox.put
        parse = observer_pb2.GetFlowsResponse.FromString
        delivered = False
        for data in call:  # type: ignore[attr-defined]
            if not delivered:
                delivered = True
                self._on_connected()
            response = parse_or_none(parse, data)  # only for the last flow's time (`since` after a reconnect)
            if response is not None and response.HasField("flow"):
                flow_time = response.flow.time
                self._last_flow_time = (flow_time.seconds, flow_time.nanos)
            put((data,))
        return delivered

    def _apply_status(self, reply: observer_pb2.ServerStatusResponse) -> None:
        super()._apply_status(reply)
        self._outbox.put(("server", dataclasses.asdict(self.server)))


def _quiet_stderr() -> None:
    """The child shares the terminal with the TUI: gRPC's C-core logs and Python tracebacks must not
    scribble over it (everything the parent needs arrives as status messages)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def _child_main(conn: Connection, endpoint: Endpoint, request_bytes: bytes, options: dict[str, Any]) -> None:
    _quiet_stderr()
    outbox = _Outbox()
    request = observer_pb2.GetFlowsRequest.FromString(request_bytes)
    source = _ForwardingSource(endpoint, request, outbox, backoff=Backoff(*options.pop("backoff")), **options)
    source.start()
    try:
        while True:
            if conn.poll(FLUSH_SECONDS):
                break  # the parent asked to stop (or went away)
            items = outbox.take()
            if items:
                conn.send(items)
            if not source.running and not len(outbox):
                conn.send([("end",)])
                break
    except (BrokenPipeError, EOFError, OSError):
        pass
    finally:
        source.stop()


class ProcessHubbleSource:
    """Same interface as HubbleSource (buffer, status, server, start/stop), reading in a child process."""

    def __init__(self, endpoint: Endpoint, request: observer_pb2.GetFlowsRequest, *,
                 buffer: BoundedBuffer[FlowRecord] | None = None, status_interval: float = 2.0,
                 backoff: tuple[float, float] = (0.5, 30.0),
                 recorder: Callable[[observer_pb2.GetFlowsResponse], None] | None = None,
                 connect_timeout: float = 5.0, digest_in_child: bool = False) -> None:
        self.endpoint = endpoint
        self.request = request
        self.buffer: BoundedBuffer[FlowRecord] = buffer if buffer is not None else BoundedBuffer(200_000)
        self.status = StatusHolder()
        self.server = ServerInfo()
        self.recorder = recorder
        self.reconnects = 0
        self._options = {"status_interval": status_interval, "connect_timeout": connect_timeout,
                         "backoff": backoff, "digest": digest_in_child}
        self._process: multiprocessing.process.BaseProcess | None = None
        # spawn needs multiprocessing's resource tracker; start it now, while stderr is still a real
        # file (inside Textual it is not, and starting the tracker there fails).
        with contextlib.suppress(Exception):
            resource_tracker.ensure_running()
        self._conn: Connection | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._process is not None:
            return
        context = multiprocessing.get_context("spawn")  # never fork a process that has gRPC threads
        self._conn, child = context.Pipe()
        self.status.set(SourceState.CONNECTING, f"{self.endpoint.describe()} (reader process)")
        self._process = context.Process(target=_child_main, name="ebtop-hubble-reader", daemon=True,
                                        args=(child, self.endpoint, self.request.SerializeToString(),
                                              dict(self._options)))
        self._process.start()
        child.close()
        self._thread = threading.Thread(target=self._receive, name="hubble-receiver", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        if self._process is None or self._process.pid is None:
            return
        try:
            if self._conn is not None:
                self._conn.send("stop")
        except (BrokenPipeError, OSError):
            pass
        self._process.join(timeout)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout)
        if self._thread is not None:
            self._thread.join(timeout)
        if self._conn is not None:
            self._conn.close()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def _receive(self) -> None:
        conn = self._conn
        assert conn is not None
        put = self.buffer.put
        parse = observer_pb2.GetFlowsResponse.FromString
        recorder = self.recorder
        kinds = list(RecordKind)
        fallback = 0
        malformed = 0
        while True:
            try:
                items = conn.recv()
            except (EOFError, OSError):
                break
            for item in items:
                if isinstance(item[0], bytes):
                    data = item[0]
                    if len(item) == 1:  # raw: parse and digest here
                        response = parse_or_none(parse, data)
                        if response is None:
                            malformed += 1
                            put(marker(RecordKind.NOTE, MALFORMED_NOTE.format(count=malformed)))
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
                elif item[0] == "status":
                    _, state, reason, delay = item
                    retry_at = None if delay is None else time.monotonic() + delay
                    self.status.set(SourceState(state), reason, retry_at)
                elif item[0] == "server":
                    self.server = ServerInfo(**item[1])
                elif item[0] == "marker":
                    if item[1] == RecordKind.GAP:
                        self.reconnects += 1
                    put(marker(RecordKind(item[1]), item[2]))
                elif item[0] == "end":
                    return
        state = self.status.get().state
        if state not in (SourceState.ENDED, SourceState.FAILED):
            self.status.set(SourceState.FAILED, "the reader process exited")
