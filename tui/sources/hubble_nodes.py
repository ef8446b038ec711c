"""Relay's GetNodes, polled: the node list behind the Flows pane's nodes view (no Textual).

One unary call every `interval` seconds on its own channel (TLS as the flow stream uses). A server
without GetNodes (a node agent rather than Relay) answers UNIMPLEMENTED once; polling then stops and
the view shows what the stream's node events say.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import grpc

from tui.proto.observer import observer_pb2, observer_pb2_grpc
from tui.sources.base import Source, SourceState
from tui.sources.hubble_tls import Endpoint, open_channel

POLL_S = 5.0
TIMEOUT_S = 5.0


@dataclass(frozen=True)
class NodesSnapshot:
    """One GetNodes answer (`nodes` empty and `unsupported` set when the server has no GetNodes)."""

    nodes: tuple[Any, ...]
    when: float
    unsupported: bool = False


class HubbleNodesSource(Source[NodesSnapshot]):
    thread_name = "ebtop-hubble-nodes"

    def __init__(self, endpoint: Endpoint, interval: float = POLL_S) -> None:
        super().__init__(f"hubble nodes {endpoint.describe()}", maxlen=16)
        self.endpoint = endpoint
        self.interval = interval
        self.polls = 0
        self._channel: grpc.Channel | None = None
        self._reported: set[str] = set()

    def poll(self) -> bool:
        """One GetNodes call into the buffer; False when the server does not have the RPC."""
        if self._channel is None:
            self._channel = open_channel(self.endpoint)
        stub = observer_pb2_grpc.ObserverStub(self._channel)
        try:
            reply = stub.GetNodes(observer_pb2.GetNodesRequest(), timeout=TIMEOUT_S)
        except grpc.RpcError as error:
            if error.code() is grpc.StatusCode.UNIMPLEMENTED:
                self.buffer.put(NodesSnapshot((), time.time(), unsupported=True))
                return False
            if error.code().name not in self._reported:  # once per kind of failure
                self._reported.add(error.code().name)
                self.add_problem(f"{self.endpoint.describe()}: GetNodes: {error.code().name}: {error.details() or ''}")
            return True
        self.polls += 1
        self.buffer.put(NodesSnapshot(tuple(reply.nodes), time.time()))
        return True

    def run(self) -> None:
        self.status.set(SourceState.STREAMING, self.label)
        while not self.stopping.is_set():
            if not self.poll():
                break
            self.stopping.wait(self.interval)
        self.status.set(SourceState.ENDED, "stopped")

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    def counters(self) -> dict[str, int]:
        return {**super().counters(), "polls": self.polls}
