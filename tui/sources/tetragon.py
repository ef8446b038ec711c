"""Tetragon's GetEvents stream(s) into a bounded buffer, with a visible lifecycle (no Textual).

One thread per `--tetragon-server` address, all feeding the same buffer, so several nodes show in one
forest. Filters go to the agent (`allow_list`/`deny_list`), as `tetra getevents` sends them, so
filtered-out events never cross the wire. On any stream failure the channel is closed and a new one
is built after a backoff: a Python client that only retries on the old channel can stay UNAVAILABLE
for minutes after the agent restarts (see notes/tetragon.md §6.7).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import grpc

from tui.filters.tetragon import EVENT_TYPE_NAMES, EventFilters, event_type_name  # noqa: F401 - re-exported
from tui.proto.tetragon import events_pb2, sensors_pb2, sensors_pb2_grpc
from tui.sources.base import (
    Backoff,
    BoundedBuffer,
    Source,
    SourceState,
    SourceStatus,
    StatusHolder,
    parse_or_none,
)
from tui.sources.hubble_tls import KEEPALIVE, Endpoint, TlsOptions, keepalive_options, tls_failure
from tui.sources.reader_process import (
    ForwardingStatus,
    Outbox,
    ReaderProcess,
    apply_status,
    forward,
    quiet_stderr,
)
from tui.sources.tetragon_tls import tetragon_channel, tetragon_endpoints
from tui.sources.unix_socket import permission_problem

DEFAULT_SOCKET = "/var/run/tetragon/tetragon.sock"
INFO_FILE = "/var/run/tetragon/tetragon-info.json"
DEFAULT_TCP = "localhost:54321"
MAX_RECEIVE_BYTES = 16 * 1024 * 1024  # tetra's default is 10 MiB; gRPC Python's is 4 MiB
CHANNEL_OPTIONS = (
    ("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
    ("grpc.enable_retries", 0),
    *keepalive_options(*KEEPALIVE),  # a frozen agent is noticed (hubble_tls.KEEPALIVE says how)
)
CONNECT_TIMEOUT = 5.0
GET_EVENTS = "/tetragon.FineGuidanceSensors/GetEvents"
FATAL_CODES = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.UNAUTHENTICATED}


# --- where to connect ----------------------------------------------------------------------------

def default_targets(socket_path: str = DEFAULT_SOCKET, info_file: str = INFO_FILE) -> list[str]:
    """tetra's order: the agent's unix socket if present, else tetragon-info.json, else localhost:54321."""
    if os.path.exists(socket_path):
        return [f"unix://{socket_path}"]
    try:
        address = json.loads(Path(info_file).read_text()).get("server_address", "")
    except (OSError, ValueError, AttributeError):
        address = ""
    if isinstance(address, str) and address:
        return [normalize_target(address)]
    return [DEFAULT_TCP]


def normalize_target(address: str) -> str:
    """`unix:///path` stays; `host` gets Tetragon's default port; `host:port` stays."""
    if address.startswith("unix:"):
        return address
    if address.startswith("/"):
        return f"unix://{address}"
    if ":" not in address or (address.startswith("[") and address.endswith("]")):
        return f"{address}:54321"
    return address


def socket_permission_problem(target: str) -> str | None:
    """Why this user cannot open a unix-socket target (Tetragon makes it 0660 root), or None."""
    return permission_problem(target, "Tetragon")


# --- the stream ----------------------------------------------------------------------------------

def _serialize_request(request: Any) -> bytes:
    return request.SerializeToString()


@dataclass(frozen=True)
class StreamGap:
    """A marker in the buffer where an agent's stream broke: events in between may be missing.

    The pane writes it into the event log and batch mode to stderr, as the Flows list shows its gaps.
    """

    target: str
    reason: str
    seconds: float

    def text(self) -> str:
        return (f"── {self.target}: stream interrupted ({self.reason}); reconnected after {self.seconds:.1f} s, "
                "events in between may be missing ──")


class TargetStream:
    """One agent: connect, stream into the buffer, recreate the channel and retry on failure."""

    def __init__(self, target: str, request: Any, sink: Callable[[Any], None], stop: threading.Event,
                 backoff: Backoff | None = None, raw: bool = False, status: StatusHolder | None = None,
                 tls: Any = None, on_gap: Callable[[StreamGap], None] | None = None) -> None:
        self.target = target
        self.tls = tls  # TlsOptions for a TLS/mTLS agent (tui/sources/tetragon_tls.py), None: plaintext
        self.request = request
        self.sink = sink
        self.raw = raw  # sink gets serialized responses (the reader process forwards bytes unparsed)
        self.status = status if status is not None else StatusHolder()
        self.on_gap = on_gap
        self.connect_timeout = CONNECT_TIMEOUT
        self.version = ""
        self.received = 0
        self.malformed = 0
        self.connects = 0
        self._delivered = False
        self._broken: tuple[str, float] | None = None  # (reason, monotonic) after a stream that delivered broke
        self._stop = stop
        self._backoff = backoff or Backoff(base=0.5, cap=10.0)
        self._call: Any = None
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self.run, name=f"tetragon:{target}", daemon=True)

    def cancel(self) -> None:
        with self._lock:
            call = self._call
        if call is not None:
            call.cancel()

    def run(self) -> None:
        while not self._stop.is_set():
            problem = socket_permission_problem(self.target)
            if problem:
                self.status.set(SourceState.FAILED, problem)
                return
            self.status.set(SourceState.CONNECTING, self.target)
            try:
                channel = tetragon_channel(self.target, self.tls, CHANNEL_OPTIONS)
            except ValueError as error:  # unreadable certificate or key: no retry will fix it
                self.status.set(SourceState.FAILED, f"{self.target}: {error}")
                return
            reason = ""
            try:
                reason = self._stream(channel)
            except grpc.RpcError as error:
                if self._stop.is_set():
                    break
                code = error.code()
                details = error.details() or ""
                fatal = tls_failure(details, Endpoint(self.target, self.tls or TlsOptions()), "tetragon")
                if fatal:  # expired, client certificate required, speaks TLS...: no retry fixes it
                    self.status.set(SourceState.FAILED, f"{self.target}: {fatal}")
                    return
                if code in FATAL_CODES:
                    self.status.set(SourceState.FAILED, f"{self.target}: {code.name}: {details}")
                    return
                if "Permission denied" in details or code is grpc.StatusCode.PERMISSION_DENIED:
                    self.status.set(SourceState.FAILED, f"{self.target}: permission denied: run ebtop as root "
                                                        f"or as a member of the socket's group ({details})")
                    return
                reason = f"{code.name}: {details}" if details else code.name
            finally:
                with self._lock:
                    self._call = None
                channel.close()
            if self._stop.is_set():
                break
            if self._delivered and self._broken is None:
                self._broken = (reason, time.monotonic())
            delay = self._backoff.next_delay()
            self.status.set(SourceState.RETRYING, f"{self.target}: {reason}", retry_at=time.monotonic() + delay)
            self._stop.wait(delay)
        self.status.set(SourceState.ENDED, "stopped")

    def _stream(self, channel: grpc.Channel) -> str:
        stub = sensors_pb2_grpc.FineGuidanceSensorsStub(channel)
        try:  # the connect deadline: a peer that accepts TCP but never answers in HTTP/2 ends here
            self.version = stub.GetVersion(sensors_pb2.GetVersionRequest(), timeout=self.connect_timeout).version
        except grpc.RpcError as error:
            if error.code() is grpc.StatusCode.DEADLINE_EXCEEDED:
                return (f"no answer within {self.connect_timeout:g} s (not a gRPC server, a TLS port, "
                        "or the agent is stuck)")
            if error.code() is not grpc.StatusCode.UNIMPLEMENTED:
                raise
        # Raw bytes, parsed here: one malformed message is skipped and counted, where gRPC's own
        # deserializer fails the whole call ("Exception deserializing response!") on every reconnect.
        call = channel.unary_stream(GET_EVENTS, request_serializer=_serialize_request,
                                    response_deserializer=None)(self.request)
        with self._lock:
            self._call = call
        if self._stop.is_set():
            call.cancel()
            return "stopped"
        self.connects += 1
        self.status.set(SourceState.STREAMING, self.target)
        self._delivered = False
        sink = self.sink
        parse = None if self.raw else events_pb2.GetEventsResponse.FromString
        for data in call:
            if not self._delivered:  # only a message proves the stream works: the backoff resets then
                self._delivered = True
                self._backoff.reset()
                self._report_gap()
            if parse is not None:
                response = parse_or_none(parse, data)
                if response is None:
                    self.malformed += 1
                    continue
                sink(response)
            else:
                sink(data)
            self.received += 1
        return "stream ended by the server"

    def _report_gap(self) -> None:
        broken, self._broken = self._broken, None
        if broken is not None and self.on_gap is not None:
            self.on_gap(StreamGap(self.target, broken[0], time.monotonic() - broken[1]))


class TetragonSource(Source[Any]):
    """Several agents merged into one bounded buffer; `describe()` is the status-line text."""

    thread_name = "tetragon"
    remote = True

    def __init__(self, targets: Sequence[str], filters: EventFilters | None = None,
                 buffer: BoundedBuffer[Any] | None = None, recorder: Any = None,
                 backoff_factory: Callable[[], Backoff] | None = None, tls: Any = None,
                 connect_timeout: float = CONNECT_TIMEOUT) -> None:
        from tui.sources.hubble_tls import TlsOptions

        endpoints = tetragon_endpoints(list(targets) or default_targets(), tls or TlsOptions())
        self.targets = [endpoint.target for endpoint in endpoints]
        self.tls_by_target = {e.target: e.tls for e in endpoints if e.tls.enabled}
        super().__init__("tetragon " + ", ".join(self.targets), buffer)
        self.filters = filters or EventFilters()
        self.recorder = recorder
        self._stop = self.stopping
        self.malformed = 0
        request = self.filters.request()
        sink = self._sink_recording if recorder is not None else self.buffer.put
        self.streams: list[Any] = [TargetStream(t, request, sink, self._stop,
                                                backoff_factory() if backoff_factory else None,
                                                tls=self.tls_by_target.get(t), on_gap=self.buffer.put)
                                   for t in self.targets]
        for stream in self.streams:
            stream.connect_timeout = connect_timeout

    def _sink_recording(self, response: Any) -> None:
        self.buffer.put(response)
        recorder = self.recorder
        if recorder is not None:
            recorder.write(response)

    def run(self) -> None:
        """One thread per agent; this one waits for them (each ends on failure or `stop()`)."""
        for stream in self.streams:
            stream.thread.start()
        for stream in self.streams:
            stream.thread.join()

    def close(self) -> None:
        for stream in self.streams:
            stream.cancel()

    def release_recorder(self) -> Any:
        """Hand the recorder over (the local fallback keeps recording into the same file)."""
        recorder, self.recorder = self.recorder, None
        return recorder

    @property
    def received(self) -> int:
        return sum(stream.received for stream in self.streams)

    @property
    def version(self) -> str:
        return next((s.version for s in self.streams if s.version), "")

    def facts(self) -> list[str]:
        return [f"tetragon {self.version}"] if self.version else []

    def counters(self) -> dict[str, int]:
        return {"received": self.received, "dropped": self.buffer.dropped, "malformed": self.malformed_count}

    @property
    def malformed_count(self) -> int:
        """Messages skipped because they did not parse (the receiver's, plus each thread stream's)."""
        return self.malformed + sum(stream.malformed for stream in self.streams if isinstance(stream, TargetStream))

    def attempts(self) -> list[tuple[str, SourceStatus]]:
        """Each agent's address with its own stream's status."""
        return [(f"tetragon {stream.target}", stream.status.get()) for stream in self.streams]

    def state(self) -> SourceState:
        """Overall state: streaming if any agent streams, failed only if all failed."""
        states = [s.status.get().state for s in self.streams]
        for candidate in (SourceState.STREAMING, SourceState.CONNECTING, SourceState.RETRYING,
                          SourceState.FAILED, SourceState.ENDED):
            if candidate in states:
                return candidate
        return SourceState.IDLE

    def describe(self, now: float | None = None) -> str:
        count = self.malformed_count
        malformed = f"; {count} malformed message(s) skipped" if count else ""
        reconnects = sum(max(0, stream.connects - 1) for stream in self.streams)
        if reconnects:  # every stream that came back after a gap counts once per return
            malformed += f"; reconnected {reconnects}x"
        if len(self.streams) == 1:
            return self.streams[0].status.get().describe(now) + malformed
        streaming = sum(1 for s in self.streams if s.status.get().state is SourceState.STREAMING)
        parts = [f"{streaming}/{len(self.streams)} streaming"]
        parts += [s.status.get().describe(now) for s in self.streams
                  if s.status.get().state is not SourceState.STREAMING]
        return "; ".join(parts) + malformed


# --- reading in a second process -------------------------------------------------------------------

def _reader_main(conn: Connection, targets: list[str], request_bytes: bytes,
                 backoff: tuple[float, float], tls: dict[str, Any] | None = None,
                 connect_timeout: float = CONNECT_TIMEOUT) -> None:
    """Child: one raw stream per target; forwards (index, bytes), status and version tuples in batches."""
    quiet_stderr()
    outbox = Outbox()
    stop = threading.Event()
    request = events_pb2.GetEventsRequest.FromString(request_bytes)
    streams = []
    for index, target in enumerate(targets):
        def sink(data: bytes, index: int = index) -> None:
            outbox.put((index, data))

        def gap(marker: StreamGap, index: int = index) -> None:
            outbox.put(("gap", index, marker.reason, marker.seconds))

        streams.append(TargetStream(target, request, sink, stop, Backoff(*backoff), raw=True,
                                    status=ForwardingStatus(outbox, index), tls=(tls or {}).get(target),
                                    on_gap=gap))
        streams[-1].connect_timeout = connect_timeout
    versions = [""] * len(streams)

    def note_versions() -> None:
        for index, stream in enumerate(streams):
            if stream.version != versions[index]:
                versions[index] = stream.version
                outbox.put(("version", index, stream.version))

    for stream in streams:
        stream.thread.start()
    try:
        forward(conn, outbox, lambda: any(stream.thread.is_alive() for stream in streams), note_versions)
    finally:
        stop.set()
        for stream in streams:
            stream.cancel()
        for stream in streams:
            stream.thread.join(2.0)


@dataclass
class _RemoteStream:
    """Parent-side mirror of one child stream (what `describe`/`state` read)."""

    target: str
    status: StatusHolder = field(default_factory=StatusHolder)
    version: str = ""
    received: int = 0
    connects: int = 0


class ProcessTetragonSource(TetragonSource):
    """TetragonSource whose gRPC streams run in a spawned child process (`tui.sources.reader_process`).

    The child forwards raw responses in batches; `run()` here is the parent's receiver, which only parses
    them (a few microseconds each) into the same bounded buffer.
    """

    thread_name = "tetragon-receiver"

    def __init__(self, targets: Sequence[str], filters: EventFilters | None = None,
                 buffer: BoundedBuffer[Any] | None = None, recorder: Any = None,
                 backoff: tuple[float, float] = (0.5, 10.0), tls: Any = None,
                 connect_timeout: float = CONNECT_TIMEOUT) -> None:
        super().__init__(targets, filters, buffer=buffer, recorder=recorder, tls=tls,
                         connect_timeout=connect_timeout)
        self.streams = [_RemoteStream(target) for target in self.targets]
        self._reader = ReaderProcess("ebtop-tetragon-reader", _reader_main,
                                     (list(self.targets), self.filters.request().SerializeToString(), backoff,
                                      dict(self.tls_by_target), connect_timeout))

    def close(self) -> None:
        self._reader.stop()

    def run(self) -> None:
        streams = self.streams
        for stream in streams:
            stream.status.set(SourceState.CONNECTING, f"{stream.target} (reader process)")
        self._reader.spawn()
        parse = events_pb2.GetEventsResponse.FromString
        put = self.buffer.put
        for items in self._reader.batches():
            recorder = self.recorder
            for item in items:
                head = item[0]
                if isinstance(head, int):
                    response = parse_or_none(parse, item[1])
                    if response is None:
                        self.malformed += 1
                        continue
                    put(response)
                    streams[head].received += 1
                    if recorder is not None:
                        recorder.write(response)
                elif head == "status":
                    apply_status(streams[item[1]].status, *item[2:])
                    if item[2] == SourceState.STREAMING.value:
                        streams[item[1]].connects += 1
                elif head == "version":
                    streams[item[1]].version = item[2]
                elif head == "gap":
                    put(StreamGap(streams[item[1]].target, item[2], item[3]))
        if self._reader.ended or self.stopping.is_set():
            return
        for stream in streams:
            if stream.status.get().state not in (SourceState.ENDED, SourceState.FAILED):
                stream.status.set(SourceState.FAILED, f"{stream.target}: the reader process exited")
