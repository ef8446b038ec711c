"""Join Hubble flows to the processes behind them, through the socket index.

Feeding: Tetragon `process_kprobe` events whose argument (or return value) is a `sock_arg`
(`tcp_connect`, `inet_csk_accept`, `tcp_sendmsg`, `tcp_close`, ...) and the local kernel's socket
records. Asking: a flow's protocol, addresses, ports and time. Both sides use the events' own
timestamps, so joining recorded files gives the same answer every time.

Which process a flow gets: the one that connected, else the one that accepted (see `Join`).
"""

from __future__ import annotations

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
        """Feed one Tetragon response; returns the socket fact it carried, if any."""
        event = sock_event(response)
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


__all__ = ["FlowJoiner", "FlowKey", "SockEvent", "flow_key", "process_ref", "sock_event"]
