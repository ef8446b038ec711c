"""Join Hubble flows to the processes behind them, through the socket index.

Feeding: Tetragon `process_kprobe` events whose argument (or return value) is a `sock_arg`
(`tcp_connect`, `inet_csk_accept`, `tcp_sendmsg`, `tcp_close`, ...) and the local kernel's socket
records. Asking: a flow's protocol, addresses, ports and time. Both sides use the events' own
timestamps, so joining recorded files gives the same answer every time.

Which process a flow gets: the one that connected, else the one that accepted (see `Join`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from tui.model.sockets import ACCEPT, CONNECT, Join, ProcessRef, SocketIndex

CONNECT_FUNCTIONS = frozenset({"tcp_connect", "tcp_v4_connect", "tcp_v6_connect", "__sys_connect",
                               "security_socket_connect"})
ACCEPT_FUNCTIONS = frozenset({"inet_csk_accept", "__sys_accept4", "security_socket_accept"})
CLOSE_FUNCTIONS = frozenset({"tcp_close", "inet_release", "__sock_release", "udp_lib_close"})
PROTOCOLS = {"IPPROTO_TCP": "TCP", "IPPROTO_UDP": "UDP", "IPPROTO_SCTP": "SCTP",
             "TCP": "TCP", "UDP": "UDP", "SCTP": "SCTP"}
SOCK_XLATE_PRE = (1, 3)
"""flow.SocketTranslationPoint values before translation (PRE_DIRECTION_FWD, PRE_DIRECTION_REV)."""


@dataclass(frozen=True, slots=True)
class SockEvent:
    """One socket fact from Tetragon: what happened (`connect`, `accept`, `close`, `use`) to which tuple."""

    what: str
    protocol: str
    local_addr: str
    local_port: int
    remote_addr: str
    remote_port: int
    cookie: int
    t_ns: int
    process: ProcessRef


def process_ref(process: Any, node: str = "", source: str = "tetragon") -> ProcessRef:
    """A ProcessRef from a Tetragon Process message."""
    pod = process.pod
    return ProcessRef(
        pid=process.pid.value, binary=process.binary, exec_id=process.exec_id,
        parent_exec_id=process.parent_exec_id, namespace=pod.namespace, pod=pod.name,
        container_id=pod.container.id, node=node, source=source)


def _sock_of(kprobe: Any) -> Any | None:
    for arg in kprobe.args:
        if arg.WhichOneof("arg") == "sock_arg":
            return arg.sock_arg
    if kprobe.HasField("return") and getattr(kprobe, "return").WhichOneof("arg") == "sock_arg":
        return getattr(kprobe, "return").sock_arg
    return None


def _what(function: str) -> str:
    if function in CONNECT_FUNCTIONS:
        return CONNECT
    if function in ACCEPT_FUNCTIONS:
        return ACCEPT
    if function in CLOSE_FUNCTIONS:
        return "close"
    return "use"


def sock_event(response: Any) -> SockEvent | None:
    """The socket fact in a GetEventsResponse, or None (not a kprobe, no sock_arg, not IP)."""
    if response.WhichOneof("event") != "process_kprobe":
        return None
    kprobe = response.process_kprobe
    sock = _sock_of(kprobe)
    if sock is None or not sock.saddr or not sock.daddr:
        return None
    protocol = PROTOCOLS.get(sock.protocol)
    if protocol is None:
        return None
    t_ns = response.time.ToNanoseconds() if response.HasField("time") else 0
    return SockEvent(_what(kprobe.function_name), protocol, sock.saddr, sock.sport, sock.daddr, sock.dport,
                     sock.cookie, t_ns, process_ref(kprobe.process, response.node_name))


@dataclass(frozen=True, slots=True)
class FlowKey:
    protocol: str
    src: str
    sport: int
    dst: str
    dport: int
    t_ns: int
    dst_is_service: bool | None


def flow_key(flow: Any, fallback_ns: int = 0) -> FlowKey | None:
    """The join key of a Hubble flow (None without IP or ports: ICMP, L7-only records without L4)."""
    ip = flow.IP
    if not ip.source or not ip.destination:
        return None
    l4 = flow.l4
    kind = l4.WhichOneof("protocol")
    if kind == "TCP":
        protocol, sport, dport = "TCP", l4.TCP.source_port, l4.TCP.destination_port
    elif kind == "UDP":
        protocol, sport, dport = "UDP", l4.UDP.source_port, l4.UDP.destination_port
    elif kind == "SCTP":
        protocol, sport, dport = "SCTP", l4.SCTP.source_port, l4.SCTP.destination_port
    else:
        return None
    if not sport or not dport:
        return None
    t_ns = flow.time.ToNanoseconds() if flow.HasField("time") else fallback_ns
    service: bool | None = None
    if flow.sock_xlate_point in SOCK_XLATE_PRE:
        service = True
    return FlowKey(protocol, ip.source, sport, ip.destination, dport, t_ns, service)


class FlowJoiner:
    """The socket index plus the feeding rules; `process_of(flow)` is the join."""

    def __init__(self, index: SocketIndex | None = None) -> None:
        self.index = index if index is not None else SocketIndex()
        self.socket_events = 0
        self.flows_asked = 0
        self.flows_joined = 0

    def add_event(self, response: Any) -> SockEvent | None:
        """Feed one Tetragon response (or a kernel SockEvent); returns the socket fact, if any."""
        event = response if isinstance(response, SockEvent) else sock_event(response)
        if event is not None:
            self.add_sock_event(event)
        return event

    def add_sock_event(self, event: SockEvent) -> None:
        self.socket_events += 1
        args = (event.protocol, event.local_addr, event.local_port, event.remote_addr, event.remote_port)
        if event.what == CONNECT or event.what == ACCEPT:
            self.index.open(*args, event.process, event.t_ns, event.what, event.cookie)
        elif event.what == "close":
            self.index.close(*args, event.t_ns, event.process)
        else:
            self.index.touch(*args, event.process, event.t_ns, event.cookie)

    def lookup(self, flow: Any, fallback_ns: int = 0) -> Join | None:
        key = flow_key(flow, fallback_ns)
        if key is None:
            return None
        return self.index.lookup(key.protocol, key.src, key.sport, key.dst, key.dport, key.t_ns,
                                 dst_is_service=key.dst_is_service)

    def process_of(self, flow: Any, fallback_ns: int = 0) -> ProcessRef | None:
        """The process behind a flow, or None when no known socket's lifetime covers it."""
        self.flows_asked += 1
        join = self.lookup(flow, fallback_ns)
        process = join.process if join is not None else None
        if process is not None:
            self.flows_joined += 1
        return process

    def counters(self) -> dict[str, int]:
        return {"socket_events": self.socket_events, "flows_asked": self.flows_asked,
                "flows_joined": self.flows_joined, **self.index.counters()}


DEFAULT_LOOKAHEAD_NS = 1_000_000_000


def _event_ns(response: Any) -> int:
    if isinstance(response, SockEvent):
        return response.t_ns
    return response.time.ToNanoseconds() if response.HasField("time") else 0


class OrderedJoin:
    """Two streams, one answer: flows wait until the process events of their time have been read.

    A flow at time t is answered once every Tetragon event up to t + lookahead has been fed to the
    index and one beyond it has been seen (or the event stream ended, or the caller gives up waiting
    on a live stream). Events are fed to the index only up to the flow being answered, never past
    it, so which sockets exist (and which expired) at each lookup depends on the timestamps alone:
    replaying the same files gives the same answers every time.
    """

    def __init__(self, joiner: FlowJoiner | None = None, lookahead_ns: int = DEFAULT_LOOKAHEAD_NS) -> None:
        self.joiner = joiner if joiner is not None else FlowJoiner()
        self.lookahead_ns = lookahead_ns
        self._events: deque[Any] = deque()
        self._flows: deque[tuple[int, Any, Any, float]] = deque()
        self.events_ended = False

    def add_event(self, response: Any) -> None:
        self._events.append(response)

    def add_flow(self, response: Any, tag: Any = None, arrived: float = 0.0) -> None:
        """Queue a GetFlowsResponse (non-flow responses pass through unanswered, in order).

        `arrived` is when it was received (any monotonic clock): see `ready(now, wait)`.
        """
        t_ns = response.time.ToNanoseconds() if response.HasField("time") else 0
        if response.WhichOneof("response_types") == "flow" and response.flow.HasField("time"):
            t_ns = response.flow.time.ToNanoseconds()
        self._flows.append((t_ns, response, tag, arrived))

    def __len__(self) -> int:
        return len(self._flows)

    def _feed_until(self, t_ns: int) -> bool:
        """Feed queued events with time <= t_ns; True when an event beyond t_ns is waiting."""
        events = self._events
        while events:
            if _event_ns(events[0]) > t_ns:
                return True
            self.joiner.add_event(events.popleft())
        return False

    def ready(self, force: bool = False, now: float | None = None,
              wait: float | None = None) -> list[tuple[Any, Any, ProcessRef | None]]:
        """Answered flows in arrival order: (response, tag, process or None).

        `force` answers everything queued (the flow stream ended); with `now` and `wait`, a flow that
        arrived more than `wait` before `now` is answered with what is known (a live event stream
        that is late or silent must not hold the flows back for ever).
        """
        out = []
        flows = self._flows
        while flows:
            t_ns, response, tag, arrived = flows[0]
            beyond = self._feed_until(t_ns + self.lookahead_ns)
            waited = now is not None and wait is not None and now - arrived >= wait
            if not (beyond or self.events_ended or force or waited):
                break
            flows.popleft()
            process = None
            if response.WhichOneof("response_types") == "flow":
                process = self.joiner.process_of(response.flow, t_ns)
            out.append((response, tag, process))
        return out

    def oldest_flow_ns(self) -> int | None:
        return self._flows[0][0] if self._flows else None

    def finish(self) -> list[tuple[Any, Any, ProcessRef | None]]:
        """Both streams are over: feed what is left in time order of the flows and answer all."""
        self.events_ended = True
        return self.ready()


__all__ = ["OrderedJoin", "FlowJoiner", "FlowKey", "SockEvent", "flow_key", "process_ref", "sock_event"]
