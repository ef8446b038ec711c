"""Hubble's flow stream as a source: GetFlows in a reader thread, ServerStatus polled beside it.

The reader asks gRPC for raw bytes, parses each response once, digests it into a `FlowRecord`
(`tui.model.flows`) and puts it into a `BoundedBuffer` the UI drains; nothing here knows Textual.
States follow the stream: connecting, streaming, retrying in N s (exponential backoff with jitter and a
new channel after every failure), failed (with the reason: TLS, bad filter), ended (history reads).
When a stream that was delivering breaks, a gap marker goes into the buffer where the flows stop, and
the reconnect asks for flows `since` the last one seen, so the gap is as small as the server allows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc

from tui.model.flows import FlowRecord, RecordKind, marker, record_from_response
from tui.proto.observer import observer_pb2
from tui.sources.base import MALFORMED_NOTE, Backoff, BoundedBuffer, Source, SourceState, parse_or_none
from tui.sources.hubble_tls import (
    KEEPALIVE,
    Endpoint,
    connection_hint,
    keepalive_options,
    open_channel,
    tls_failure,
)
from tui.sources.resume import ResumePoint
from tui.sources.unix_socket import permission_problem

GET_FLOWS = "/observer.Observer/GetFlows"
SERVER_STATUS = "/observer.Observer/ServerStatus"

# Errors a retry cannot fix: the request or the credentials are wrong.
FATAL_CODES = frozenset({grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNIMPLEMENTED,
                         grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED,
                         grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.OUT_OF_RANGE})


def _identity(data: bytes) -> bytes:
    return data


@dataclass
class ServerInfo:
    """The last ServerStatus answer, for the status line."""

    version: str = ""
    flows_rate: float = 0.0
    num_flows: int = 0
    max_flows: int = 0
    seen_flows: int = 0
    connected_nodes: int | None = None
    unavailable_nodes: int | None = None
    unavailable_names: list[str] = field(default_factory=list)
    error: str = ""

    def facts(self) -> list[str]:
        """Phrases for the status line: version, how full the server's ring is, nodes."""
        parts = [self.version] if self.version else []
        if not self.version:
            return parts
        if self.max_flows:
            # A full server ring is why lost events appear (cilium/hubble#1737).
            parts.append(f"server ring {self.num_flows / self.max_flows:.0%} of {self.max_flows:,}")
        if self.connected_nodes is not None:
            parts.append(f"nodes {self.connected_nodes}/{self.connected_nodes + (self.unavailable_nodes or 0)}")
        if self.unavailable_nodes:
            names = ", ".join(self.unavailable_names[:3])
            parts.append(f"{self.unavailable_nodes} unavailable{': ' + names if names else ''}")
        return parts

    def describe(self) -> str:
        """`cilium v1.19.4 · 2,031/4,095 flows (49.60%) · 2 nodes` style summary."""
        parts = [self.version] if self.version else []
        if self.max_flows:
            parts.append(f"{self.num_flows:,}/{self.max_flows:,} flows "
                         f"({self.num_flows / self.max_flows * 100:.2f}%)")
        if self.connected_nodes is not None:
            total = self.connected_nodes + (self.unavailable_nodes or 0)
            parts.append(f"nodes {self.connected_nodes}/{total}")
        if self.unavailable_nodes:
            parts.append(f"unavailable: {', '.join(self.unavailable_names[:3]) or self.unavailable_nodes}")
        return " · ".join(parts)


def parse_counted(data: bytes, source: HubbleSource | Any) -> observer_pb2.GetFlowsResponse | None:
    """One response, or None for bytes that are not one: counted in `source.malformed`, noted in its buffer."""
    response = parse_or_none(_PARSE, data)
    if response is None:
        source.malformed += 1
        source.buffer.put(marker(RecordKind.NOTE, MALFORMED_NOTE.format(count=source.malformed)))
    return response


_PARSE = observer_pb2.GetFlowsResponse.FromString


class HubbleSource(Source[FlowRecord]):
    """One GetFlows stream with reconnects, plus a ServerStatus poller; thread-based, no Textual."""

    thread_name = "hubble-reader"
    remote = True

    def __init__(self, endpoint: Endpoint, request: observer_pb2.GetFlowsRequest, *,
                 buffer: BoundedBuffer[FlowRecord] | None = None, status_interval: float = 2.0,
                 backoff: Backoff | None = None, recorder: Callable[[observer_pb2.GetFlowsResponse], None] | None = None,
                 connect_timeout: float = 5.0, keepalive: tuple[float, float] = KEEPALIVE) -> None:
        super().__init__(f"hubble {endpoint.describe()}", buffer)
        self.keepalive = keepalive  # (ping after S idle, declare the server dead after S without an answer)
        self._deadline_hit = False
        self.endpoint = endpoint
        self.request = request
        self.server = ServerInfo()
        self.status_interval = status_interval
        self.backoff = backoff or Backoff(base=0.5, cap=30.0)
        self.recorder = recorder
        self.connect_timeout = connect_timeout
        self.connects = 0
        self.reconnects = 0
        self.malformed = 0
        self.status_errors = 0
        self._stop = self.stopping
        self._poll_stop = threading.Event()  # the reader ended or the source stops
        self._lock = threading.Lock()
        self._call: grpc.Future | None = None
        self._channel: grpc.Channel | None = None
        self._last_flow_time: tuple[int, int] | None = None
        self._resume = ResumePoint()
        self._pending_gap: list[object] = []
        self._connected = False

    # -- lifecycle (Source) ----------------------------------------------------------------------
    def run(self) -> None:
        """The reader, with the ServerStatus poller beside it for as long as the reader runs."""
        poller = threading.Thread(target=self._poll_status, name="hubble-status", daemon=True)
        poller.start()
        try:
            self._run()
        finally:
            self._poll_stop.set()
            poller.join(self.connect_timeout + 1)

    def close(self) -> None:
        self._poll_stop.set()
        with self._lock:
            if self._call is not None:
                self._call.cancel()
            if self._channel is not None:
                self._channel.close()

    # -- what panes read (the Source contract) ---------------------------------------------------
    def describe(self, now: float | None = None) -> str:
        return self.status.get().describe(now)

    def facts(self) -> list[str]:
        return self.server.facts()

    def counters(self) -> dict[str, int]:
        return {"received": self.buffer.received, "dropped": self.buffer.dropped,
                "reconnects": self.reconnects, "malformed": self.malformed,
                "server status errors": self.status_errors, "future-dated": self._resume.skewed,
                "replays dropped": self._resume.duplicates}

    # -- reading -------------------------------------------------------------------------------
    def _request_for_attempt(self) -> observer_pb2.GetFlowsRequest:
        """After a break, continue from the last flow seen (its time itself: replays are dropped)."""
        since = self._resume.since() if self.request.follow else None
        if since is None:
            return self.request
        request = observer_pb2.GetFlowsRequest()
        request.CopyFrom(self.request)
        request.number = 0
        request.first = False
        request.since.seconds, request.since.nanos = since
        return request

    def _run(self) -> None:
        gap: list[object] = []  # [reason, monotonic start] while a delivering stream is broken
        while not self._stop.is_set():
            problem = permission_problem(self.endpoint.target, "Hubble")
            if problem:  # connect() would fail with EACCES, which gRPC retries forever
                self.status.set(SourceState.FAILED, problem)
                return
            self.status.set(SourceState.CONNECTING, self.endpoint.describe())
            try:
                channel = open_channel(self.endpoint, keepalive_options(*self.keepalive))
            except Exception as error:  # noqa: BLE001 - config problems (unreadable files) end the source
                self.status.set(SourceState.FAILED, str(error))
                return
            with self._lock:
                self._channel = channel
            try:
                retry_reason = self._attempt(channel, gap)
            finally:
                with self._lock:
                    self._call = None
                    self._channel = None
                channel.close()
            if retry_reason is None or self._stop.is_set():
                return
            if self._last_flow_time is not None and not gap:
                gap[:] = [retry_reason, time.monotonic()]
            if not self._retry_wait(retry_reason):
                break
        if self.status.get().state not in (SourceState.FAILED, SourceState.ENDED):
            self.status.set(SourceState.ENDED, "stopped")

    def _attempt(self, channel: grpc.Channel, gap: list[object]) -> str | None:
        """One connection: returns why to retry, or None when the source is done (ended, failed).

        The call is made at once (no readiness wait: TLS and refused connections then fail the call
        itself, with their reason); the source counts as streaming from the first response or the
        first ServerStatus answer on this channel, whichever comes first.
        """
        try:
            method = channel.unary_stream(GET_FLOWS, request_serializer=observer_pb2.GetFlowsRequest.SerializeToString,
                                          response_deserializer=_identity)
            with self._lock:
                self._pending_gap = gap
                self._connected = False
                self._deadline_hit = False
                self._call = call = method(self._request_for_attempt())
            deadline = threading.Timer(self.connect_timeout, self._connect_deadline, args=(call,))
            deadline.daemon = True
            deadline.start()
            try:
                self._read(call)
            finally:
                deadline.cancel()
        except grpc.RpcError as error:
            if self._stop.is_set():
                return None
            if self._deadline_hit:  # a peer that accepted the connection but never answered in HTTP/2
                return (f"no answer from {self.endpoint.describe()} within {self.connect_timeout:g} s "
                        "(not a gRPC server, a TLS port, or the server is stuck)")
            code, details = error.code(), error.details() or ""
            fatal = tls_failure(details, self.endpoint)
            if fatal or code in FATAL_CODES:
                self.status.set(SourceState.FAILED, fatal or f"{code.name}: {details}")
                return None
            hint = connection_hint(details)
            return f"{code.name}: {details}" + (f" ({hint})" if hint else "")
        if self._stop.is_set():
            return None
        self._on_connected()
        if not self.request.follow:
            self.status.set(SourceState.ENDED, f"{self.endpoint.describe()}: end of history")
            return None
        return "server closed the stream"

    def _connect_deadline(self, call: grpc.Future) -> None:
        """Timer: neither a response nor a ServerStatus answer in time, so this attempt is given up."""
        with self._lock:
            if self._connected or self._call is not call:
                return
            self._deadline_hit = True
        call.cancel()

    def _on_connected(self) -> None:
        """Once per attempt: streaming state, backoff reset, and the gap marker after a break."""
        with self._lock:
            if self._connected:
                return
            self._connected = True
            gap = self._pending_gap
            self.connects += 1
            self.backoff.reset()
            self.status.set(SourceState.STREAMING, self.endpoint.describe())
            if gap:
                self.reconnects += 1
                away = time.monotonic() - float(gap[1])  # type: ignore[arg-type]
                self.buffer.put(marker(RecordKind.GAP, f"── stream interrupted ({gap[0]}); reconnected after "
                                                       f"{away:.1f} s, flows in between may be missing ──"))
                gap.clear()

    def _read(self, call: object) -> bool:
        """Read until the stream ends; returns whether anything arrived."""
        record_of = record_from_response
        deliver = self._deliver
        delivered = False
        fallback = 0
        for data in call:  # type: ignore[attr-defined]
            response = parse_counted(data, self)
            if response is None:
                continue
            record = record_of(response, data, fallback)
            if record is None:
                continue
            if not delivered:
                delivered = True
                self._on_connected()
            if record.kind is RecordKind.FLOW:
                flow_time = response.flow.time
                if not self._resume.fresh(flow_time.seconds, flow_time.nanos, data):
                    continue  # sent again after a resume from its own time
                self._last_flow_time = (flow_time.seconds, flow_time.nanos)
                fallback = flow_time.seconds
            deliver(record, response)
        return delivered

    def _deliver(self, record: FlowRecord, response: observer_pb2.GetFlowsResponse) -> None:
        """One digested response for the panes (the reader process forwards it instead)."""
        self.buffer.put(record)
        if self.recorder is not None:
            self.recorder(response)

    def _retry_wait(self, reason: str) -> bool:
        """Wait out a backoff delay in the RETRYING state; False when stopping."""
        delay = self.backoff.next_delay()
        self.status.set(SourceState.RETRYING, reason, retry_at=time.monotonic() + delay)
        return not self._stop.wait(delay)

    # -- server status -------------------------------------------------------------------------
    def _poll_status(self) -> None:
        while not self._poll_stop.is_set():
            with self._lock:
                channel = self._channel
            state = self.status.get().state
            if channel is not None and state in (SourceState.STREAMING, SourceState.CONNECTING):
                try:
                    method = channel.unary_unary(
                        SERVER_STATUS, request_serializer=observer_pb2.ServerStatusRequest.SerializeToString,
                        response_deserializer=observer_pb2.ServerStatusResponse.FromString)
                    reply = method(observer_pb2.ServerStatusRequest(), timeout=self.connect_timeout)
                    with self._lock:
                        current = self._channel is channel
                    if current:
                        self._on_connected()
                    self._apply_status(reply)
                except (grpc.RpcError, ValueError) as error:
                    details = error.details() if isinstance(error, grpc.RpcError) else str(error)
                    self._status_error(f"ServerStatus: {details}")
            if self._poll_stop.wait(self.status_interval):
                return

    def _status_error(self, text: str) -> None:
        """Counted; shown once per new reason while the stream works (else the stream's error says it)."""
        self.status_errors += 1
        if self.status.get().state is not SourceState.STREAMING:
            return  # said once the stream works (an error while connecting must not use up the saying)
        if text != self.server.error:
            self.add_problem(f"{self.label}: {text}")
        self.server.error = text

    def _apply_status(self, reply: observer_pb2.ServerStatusResponse) -> None:
        info = ServerInfo(version=reply.version, flows_rate=reply.flows_rate, num_flows=reply.num_flows,
                          max_flows=reply.max_flows, seen_flows=reply.seen_flows,
                          unavailable_names=sorted(reply.unavailable_nodes))
        if reply.HasField("num_connected_nodes"):
            info.connected_nodes = reply.num_connected_nodes.value
        if reply.HasField("num_unavailable_nodes"):
            info.unavailable_nodes = reply.num_unavailable_nodes.value
        self.server = info

