"""Join Hubble flows to the processes behind them, through the socket index.

Feeding: Tetragon `process_kprobe` events whose argument (or return value) is a `sock_arg`
(`tcp_connect`, `inet_csk_accept`, `tcp_sendmsg`, `tcp_close`, ...) and the local kernel's socket
records. Asking: a flow's protocol, addresses, ports and time. Both sides use the events' own
timestamps, so joining recorded files gives the same answer every time.

Which process a flow gets: the one that connected, else the one that accepted (see `Join`).
"""

from __future__ import annotations

import re
from collections import OrderedDict, deque
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


FORWARDED, DROPPED = 1, 2
"""flow.Verdict values the process side shows."""
MAX_DROPPING = 4096
MAX_EVENT_VERDICTS = 65_536
"""Verdicts remembered per socket event, so a verdict outlives its socket's expiry from the index."""


def deciding_policy(flow: Any) -> str:
    """`namespace/name` of the first policy that allowed or denied the flow, if Hubble says."""
    for policies in (flow.egress_denied_by, flow.ingress_denied_by, flow.egress_allowed_by,
                     flow.ingress_allowed_by):
        for policy in policies:
            return f"{policy.namespace}/{policy.name}" if policy.namespace else policy.name
    return ""


_SOCK_TEXT = re.compile(r"(IPPROTO_\w+|TCP|UDP) (\S+) -> (\S+)")


def verdict_text(record: Any) -> str:
    """`FORWARDED`, `DROPPED (reason) by policy`, or "" when no flow of the socket was seen yet."""
    if record.verdict == DROPPED:
        from tui.model.hubble_names import drop_reason_text

        text = f"DROPPED ({drop_reason_text(record.drop_reason)})" if record.drop_reason else "DROPPED"
    elif record.verdict == FORWARDED:
        text = "FORWARDED"
    else:
        return ""
    return f"{text} by {record.policy}" if record.policy else text


class FlowJoiner:
    """The socket index plus the feeding rules; `process_of(flow)` is the join.

    Both directions: `process_of` answers a flow with its process; `observe` records on the
    connection's sockets what Hubble said about it (verdict, drop reason, policy), so the process
    side can show, under a connect or accept, FORWARDED or DROPPED and why.
    """

    def __init__(self, index: SocketIndex | None = None) -> None:
        self.index = index if index is not None else SocketIndex()
        self.socket_events = 0
        self.newest_event_ns = 0
        """Event time of the newest socket event fed: flows up to about then can be answered."""
        self.flows_asked = 0
        self.flows_joined = 0
        self.flows_observed = 0
        self.forest: Any = None
        """The Processes pane's ProcessForest, when one runs (parent chains in the flow detail)."""
        self.dropping: OrderedDict[str, int] = OrderedDict()
        """exec_id -> connections of that process Hubble dropped (the newest MAX_DROPPING processes)."""
        self._event_verdicts: OrderedDict[tuple[str, float], str] = OrderedDict()

    def add_event(self, response: Any) -> SockEvent | None:
        """Feed one Tetragon response (or a kernel SockEvent); returns the socket fact, if any."""
        event = response if isinstance(response, SockEvent) else sock_event(response)
        if event is not None:
            self.add_sock_event(event)
        return event

    def add_sock_event(self, event: SockEvent) -> None:
        self.socket_events += 1
        if event.t_ns > self.newest_event_ns:
            self.newest_event_ns = event.t_ns
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

    def observe(self, flow: Any, fallback_ns: int = 0) -> Join | None:
        """Record a flow's verdict on its connection's sockets; returns the join (None: no socket)."""
        join = self.lookup(flow, fallback_ns)
        if join is None or (join.client is None and join.server is None):
            return None
        self.flows_observed += 1
        verdict = flow.verdict
        policy = deciding_policy(flow)
        for record in (join.client, join.server):
            if record is None:
                continue
            record.flows += 1
            if policy:
                record.policy = policy
            if verdict == DROPPED:
                if not record.dropped and record.process.exec_id:
                    key = record.process.exec_id
                    self.dropping[key] = self.dropping.get(key, 0) + 1
                    self.dropping.move_to_end(key)
                    while len(self.dropping) > MAX_DROPPING:
                        self.dropping.popitem(last=False)
                record.dropped += 1
                record.verdict = DROPPED
                record.drop_reason = flow.drop_reason_desc or flow.drop_reason
            elif verdict == FORWARDED and record.verdict != DROPPED:
                record.verdict = FORWARDED
        return join

    def connection(self, event: SockEvent) -> Any:
        """The socket record a Tetragon socket event is about (its own tuple, at its time)."""
        return self.index._current(event.protocol, event.local_addr, event.local_port, event.remote_addr,
                                   event.remote_port, event.t_ns)

    def event_verdict(self, detail: str, time_s: float) -> str:
        """What Hubble said about the connection a policy event's socket belongs to ("" when unknown).

        `detail` is the event's rendered socket argument (`IPPROTO_TCP 10.0.2.77:40000 -> 1.2.3.4:443`),
        `time_s` its time: `FORWARDED`, or `DROPPED (Policy denied) by ns/policy`.
        """
        remembered = self._event_verdicts
        key = (detail, time_s)
        match = _SOCK_TEXT.search(detail)
        if match is None:
            return ""
        protocol = PROTOCOLS.get(match.group(1))
        local, remote = match.group(2).rsplit(":", 1), match.group(3).rsplit(":", 1)
        if protocol is None or len(local) != 2 or len(remote) != 2:
            return ""
        record = self.index._current(protocol, local[0], int(local[1]), remote[0], int(remote[1]),
                                     int(time_s * 1e9))
        text = verdict_text(record) if record is not None else ""
        if not text:  # the socket expired from the index (closed > retain ago): what it was told stays
            return remembered.get(key, "")
        remembered[key] = text
        remembered.move_to_end(key)
        while len(remembered) > MAX_EVENT_VERDICTS:
            remembered.popitem(last=False)
        return text

    def connections_of(self, exec_id: str) -> list[Any]:
        """Every live socket of one process (newest first), for the process detail."""
        found = [r for r in self.index.records() if r.process.exec_id == exec_id]
        found.sort(key=lambda r: r.opened_ns, reverse=True)
        return found

    def counters(self) -> dict[str, int]:
        return {"socket_events": self.socket_events, "flows_asked": self.flows_asked,
                "flows_joined": self.flows_joined, "flows_observed": self.flows_observed,
                **self.index.counters()}


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
