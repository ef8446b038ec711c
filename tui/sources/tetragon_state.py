"""What a Tetragon agent can tell besides its event stream: its process cache and its loaded policies.

A gRPC client that connects late never sees the execs of processes already running (the agent sends
its /proc walk only to listeners present at startup), so the tree would show them as "not seen"
placeholders. The agent serves its process cache (`GetDebug` with CONFIG_FLAG_DUMP_PROCESS_CACHE, what
`tetra debug dump processcache` prints): `TetragonStateSource` fetches it from every agent when it
starts and again each time the event stream comes back after a break, and lists the loaded tracing
policies (`ListTracingPolicies`, `tetra tracingpolicy list`) every `policy_interval` seconds. The
stream's state is looked at 4 times a second while it is up, once a second while no agent answers.
Agents that do not implement an RPC (older versions) are simply skipped for it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from tui.proto.tetragon import sensors_pb2, sensors_pb2_grpc
from tui.sources.base import Source, SourceState

DUMP_TIMEOUT_S = 15.0
LIST_TIMEOUT_S = 5.0
POLICY_INTERVAL_S = 10.0
_POLL_S = 0.25  # while the event stream is up: a short break (a reconnect) must not be missed
_IDLE_POLL_S = 1.0  # while it is down (no agent reachable): only its return is waited for


@dataclass(frozen=True)
class ProcessCacheDump:
    """The processes one agent had in its cache when asked."""

    target: str
    processes: tuple[Any, ...]  # tetragon.Process


@dataclass(frozen=True)
class PolicyList:
    """The tracing policies one agent has loaded (TracingPolicyStatus messages)."""

    target: str
    policies: tuple[Any, ...]


def fetch_process_cache(channel: grpc.Channel, timeout: float = DUMP_TIMEOUT_S) -> list[Any]:
    """The agent's process cache (entries with a refcount only); [] when the agent lacks the RPC."""
    stub = sensors_pb2_grpc.FineGuidanceSensorsStub(channel)
    request = sensors_pb2.GetDebugRequest(flag=sensors_pb2.CONFIG_FLAG_DUMP_PROCESS_CACHE)
    request.dump.skip_zero_refcnt = True
    try:
        response = stub.GetDebug(request, timeout=timeout)
    except grpc.RpcError as error:
        if error.code() is grpc.StatusCode.UNIMPLEMENTED:
            return []
        raise
    return [entry.process for entry in response.processes.processes if entry.HasField("process")]


def list_tracing_policies(channel: grpc.Channel, timeout: float = LIST_TIMEOUT_S) -> list[Any] | None:
    """The agent's loaded policies; None when the agent lacks the RPC."""
    stub = sensors_pb2_grpc.FineGuidanceSensorsStub(channel)
    try:
        response = stub.ListTracingPolicies(sensors_pb2.ListTracingPoliciesRequest(), timeout=timeout)
    except grpc.RpcError as error:
        if error.code() is grpc.StatusCode.UNIMPLEMENTED:
            return None
        raise
    return list(response.policies)


def plain_channel(target: str) -> grpc.Channel:
    """The channel the event streams use (plaintext; large messages allowed for big cache dumps)."""
    from tui.sources.tetragon import CHANNEL_OPTIONS

    return grpc.insecure_channel(target, options=CHANNEL_OPTIONS)


def state_source_for(source: Any, make_channel: Callable[[str], grpc.Channel] | None = None
                     ) -> TetragonStateSource | None:
    """The state source that goes with an events source reading Tetragon agents (None for replays, local).

    Its channels are built as the event streams' are: TLS/mTLS for the agents that use it.
    """
    from tui.sources.tetragon import CHANNEL_OPTIONS, TetragonSource
    from tui.sources.tetragon_tls import tetragon_channel

    inner = getattr(source, "tetragon", source)  # FallbackSource wraps the agents' source
    if not isinstance(inner, TetragonSource):
        return None
    tls = dict(getattr(inner, "tls_by_target", {}))
    if make_channel is None:
        def make_channel(target: str) -> grpc.Channel:
            return tetragon_channel(target, tls.get(target), CHANNEL_OPTIONS)
    return TetragonStateSource(inner.targets, make_channel, inner.state)


class TetragonStateSource(Source[ProcessCacheDump | PolicyList]):
    """Process-cache dumps (at start, after each reconnect of the event stream) and policy lists.

    `stream_state` tells when the event stream (re)connected: a dump is fetched on every transition
    into STREAMING. `make_channel(target)` builds the channel (plaintext or TLS, as the events use).
    """

    thread_name = "ebtop-tetragon-state"

    def __init__(self, targets: Sequence[str], make_channel: Callable[[str], grpc.Channel],
                 stream_state: Callable[[], SourceState] | None = None, *, dump: bool = True,
                 policies: bool = True, policy_interval: float = POLICY_INTERVAL_S) -> None:
        super().__init__(f"tetragon state {', '.join(targets)}", maxlen=64)
        self.targets = list(targets)
        self.make_channel = make_channel
        self.stream_state = stream_state
        self.dump = dump
        self.policies = policies
        self.policy_interval = policy_interval
        self.dumps = 0
        self.cached_processes = 0
        self._channels: dict[str, grpc.Channel] = {}
        self._unsupported: set[tuple[str, str]] = set()
        self._reported: set[tuple[str, str, str]] = set()

    def _channel(self, target: str) -> grpc.Channel:
        channel = self._channels.get(target)
        if channel is None:
            channel = self._channels[target] = self.make_channel(target)
        return channel

    def _call(self, target: str, what: str, fn: Callable[[grpc.Channel], Any]) -> Any:
        if (target, what) in self._unsupported:
            return None
        try:
            result = fn(self._channel(target))
        except grpc.RpcError as error:
            key = (target, what, error.code().name)
            if key not in self._reported:  # once per kind of failure, not every poll
                self._reported.add(key)
                self.add_problem(f"{target}: {what}: {error.code().name}: {error.details() or ''}".rstrip(": "))
            return None
        if result is None:
            self._unsupported.add((target, what))
        return result

    def fetch_dumps(self) -> None:
        for target in self.targets:
            processes = self._call(target, "process cache", fetch_process_cache)
            if processes is not None:
                self.buffer.put(ProcessCacheDump(target, tuple(processes)))
                self.dumps += 1
                self.cached_processes += len(processes)

    def fetch_policies(self) -> None:
        for target in self.targets:
            policies = self._call(target, "policies", list_tracing_policies)
            if policies is not None:
                self.buffer.put(PolicyList(target, tuple(policies)))

    def run(self) -> None:
        self.status.set(SourceState.STREAMING, self.label)
        last_state: SourceState | None = None
        next_policies = 0.0
        clock = 0.0
        while not self.stopping.is_set():
            state = self.stream_state() if self.stream_state is not None else SourceState.STREAMING
            if self.dump and state is SourceState.STREAMING and last_state is not SourceState.STREAMING:
                self.fetch_dumps()
            last_state = state
            if self.policies and state is SourceState.STREAMING and clock >= next_policies:
                self.fetch_policies()
                next_policies = clock + self.policy_interval
            period = _POLL_S if state is SourceState.STREAMING else _IDLE_POLL_S
            self.stopping.wait(period)
            clock += period
        self.status.set(SourceState.ENDED, "stopped")

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()

    def counters(self) -> dict[str, int]:
        return {**super().counters(), "dumps": self.dumps, "cached processes": self.cached_processes}
