"""The nodes behind a Hubble Relay: their state and version (GetNodes) and the peer changes as they happen.

Relay answers GetNodes with every peer it knows (name, version, address, state, TLS, uptime, flow counts)
and, inside the GetFlows stream, sends `node_status` events when a peer connects, becomes unavailable,
leaves the cluster or fails. `NodeTable` keeps the latest of both: a poll replaces what it lists, an
event updates the named nodes at once (so a node going away shows before the next poll), and the last
changes are kept for the view's log. A node agent (no Relay) answers GetNodes with UNIMPLEMENTED; then
only the stream's events fill the table.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tui.proto.relay import relay_pb2

CHANGES_KEPT = 50

STATE_WORDS = {relay_pb2.UNKNOWN_NODE_STATE: "unknown", relay_pb2.NODE_CONNECTED: "connected",
               relay_pb2.NODE_UNAVAILABLE: "unavailable", relay_pb2.NODE_GONE: "gone",
               relay_pb2.NODE_ERROR: "error"}


@dataclass
class NodeInfo:
    """What is known about one node."""

    name: str
    state: int = relay_pb2.UNKNOWN_NODE_STATE
    version: str = ""
    address: str = ""
    tls: str = ""  # the TLS server name, "" without TLS
    uptime_ns: int = 0
    num_flows: int = 0
    max_flows: int = 0
    seen_flows: int = 0
    message: str = ""  # the error of the last NODE_ERROR
    since: float = 0.0  # when the state last changed (event or poll time)

    @property
    def state_word(self) -> str:
        return STATE_WORDS.get(self.state, str(self.state))


@dataclass
class NodeTable:
    nodes: dict[str, NodeInfo] = field(default_factory=dict)
    changes: deque[tuple[float, str]] = field(default_factory=lambda: deque(maxlen=CHANGES_KEPT))
    polled: bool = False  # GetNodes answered at least once
    unsupported: bool = False  # the server has no GetNodes (a node agent, not Relay)
    version: int = 0  # bumps on every change, for views that redraw only on change

    def _node(self, name: str) -> NodeInfo:
        node = self.nodes.get(name)
        if node is None:
            node = self.nodes[name] = NodeInfo(name)
        return node

    def _set_state(self, node: NodeInfo, state: int, when: float, message: str = "") -> None:
        if node.state != state:
            if node.state != relay_pb2.UNKNOWN_NODE_STATE or state != relay_pb2.NODE_CONNECTED or self.polled:
                text = f"{node.name}: {STATE_WORDS.get(state, str(state))}" + (f" ({message})" if message else "")
                self.changes.append((when, text))
            node.state = state
            node.since = when
        if message:
            node.message = message
        self.version += 1

    def apply_nodes(self, nodes: Iterable[Any], when: float) -> None:
        """A GetNodes answer: the full list (nodes it no longer lists are left as they were last seen)."""
        for item in nodes:
            node = self._node(item.name)
            self._set_state(node, item.state, when)
            node.version, node.address = item.version, item.address
            node.tls = item.tls.server_name if item.tls.enabled else ""
            node.uptime_ns, node.num_flows = item.uptime_ns, item.num_flows
            node.max_flows, node.seen_flows = item.max_flows, item.seen_flows
        self.polled = True
        self.version += 1

    def apply_status(self, status: Any, when: float) -> None:
        """A `node_status` event of the GetFlows stream: the named nodes changed state now."""
        for name in status.node_names:
            self._set_state(self._node(name), status.state_change, when, status.message)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for node in self.nodes.values():
            out[node.state_word] = out.get(node.state_word, 0) + 1
        return out

    def rows(self) -> list[NodeInfo]:
        """Problems first (error, unavailable, gone), then by name."""
        order = {relay_pb2.NODE_ERROR: 0, relay_pb2.NODE_UNAVAILABLE: 1, relay_pb2.NODE_GONE: 2}
        return sorted(self.nodes.values(), key=lambda n: (order.get(n.state, 3), n.name))
