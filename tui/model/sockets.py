"""A bounded index of recent sockets: the 5-tuple -> process half of the flow/process join.

Hubble flows carry no pid; Tetragon's socket kprobes and the kernel's `sock:inet_sock_set_state`
tracepoint carry a pid but no verdict. A socket seen by either is recorded here with its local and
remote address and port, the process behind it and its lifetime (connect or accept -> close), and a
flow is matched to it by its own 5-tuple and time.

Why lifetimes and not just "latest entry for the key": ephemeral ports are reused. A key can hold
several sockets one after the other; a flow belongs to the one whose lifetime (with a little slack
for clock skew between sources) contains the flow's time, and to none when the flow falls outside
every lifetime: a stale entry is never an answer.

All times are the events' own timestamps (ns since the epoch), never the wall clock, so a replay
gives the same answers every time. Memory is bounded: closed sockets expire `retain_ns` after their
close, open ones `open_ttl_ns` after their last activity, and beyond `capacity` the oldest go first.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

SECOND = 1_000_000_000
DEFAULT_SLACK_NS = 1 * SECOND
"""How far a flow may precede a socket's open or follow its close and still belong to it."""
DEFAULT_RETAIN_NS = 10 * SECOND
DEFAULT_OPEN_TTL_NS = 600 * SECOND
DEFAULT_CAPACITY = 65_536
PER_KEY = 4
"""Sockets kept per 5-tuple: older lifetimes of a reused port beyond this are dropped first."""
SERVICE_PREFIXES = ("10.96.0.0/12",)
"""kubeadm's default service CIDR: a destination here is a ClusterIP, translated at connect time."""

CONNECT, ACCEPT = "connect", "accept"


@dataclass(frozen=True, slots=True)
class ProcessRef:
    """Who owns a socket, as far as the reporting source knows."""

    pid: int
    binary: str
    exec_id: str = ""
    parent_exec_id: str = ""
    namespace: str = ""
    pod: str = ""
    container_id: str = ""
    node: str = ""
    source: str = ""
    """`tetragon` or `kernel`."""

    def label(self) -> str:
        """`pid=PID binary=PATH`, the batch suffix (without its leading space)."""
        return f"pid={self.pid} binary={self.binary}"


@dataclass(slots=True, eq=False)
class SocketRecord:
    """One socket's life: its tuple as its owner sees it (local first) and when it lived."""

    protocol: str
    local_addr: str
    local_port: int
    remote_addr: str
    remote_port: int
    process: ProcessRef
    role: str
    opened_ns: int
    last_ns: int
    closed_ns: int | None = None
    cookie: int = 0
    dead: bool = False
    """Expired or evicted: ignored by lookups, dropped lazily from the per-key lists."""
    flows: int = 0
    """Hubble flows joined to this socket, and what Hubble said about them (see `FlowJoiner.observe`)."""
    dropped: int = 0
    verdict: int = 0
    drop_reason: int = 0
    policy: str = ""

    @property
    def key(self) -> tuple[str, str, int, str, int]:
        return (self.protocol, self.local_addr, self.local_port, self.remote_addr, self.remote_port)

    def distance(self, t_ns: int) -> int:
        """0 when `t_ns` is inside the lifetime, else how far outside (open sockets: no end)."""
        if t_ns < self.opened_ns:
            return self.opened_ns - t_ns
        if self.closed_ns is not None and t_ns > self.closed_ns:
            return t_ns - self.closed_ns
        return 0


@dataclass(frozen=True, slots=True)
class Join:
    """What the index knows about one flow's connection: its initiator and its acceptor."""

    client: SocketRecord | None
    server: SocketRecord | None

    @property
    def process(self) -> ProcessRef | None:
        """The connection's process: the one that connected, else the one that accepted."""
        record = self.client or self.server
        return record.process if record is not None else None


class SocketIndex:
    """Recent sockets by 5-tuple (and by protocol + local address/port for translated services)."""

    def __init__(self, *, slack_ns: int = DEFAULT_SLACK_NS, retain_ns: int = DEFAULT_RETAIN_NS,
                 open_ttl_ns: int = DEFAULT_OPEN_TTL_NS, capacity: int = DEFAULT_CAPACITY,
                 service_prefixes: Iterable[str] = SERVICE_PREFIXES) -> None:
        if capacity < 1:
            raise ValueError("socket index capacity must be at least 1")
        self.slack_ns = slack_ns
        self.retain_ns = retain_ns
        self.open_ttl_ns = open_ttl_ns
        self.capacity = capacity
        self._networks = [ipaddress.ip_network(p, strict=False) for p in service_prefixes]
        self._service_cache: dict[str, bool] = {}
        self._by_key: dict[tuple, list[SocketRecord]] = {}
        self._by_local: dict[tuple, list[SocketRecord]] = {}
        self._opened: deque[SocketRecord] = deque()
        self._closed: deque[tuple[int, SocketRecord]] = deque()
        self.live = 0
        self.now_ns = 0
        self.added = 0
        self.expired = 0
        self.evicted = 0

    # -- feeding ---------------------------------------------------------------------------------
    def open(self, protocol: str, local_addr: str, local_port: int, remote_addr: str, remote_port: int,
             process: ProcessRef, t_ns: int, role: str = CONNECT, cookie: int = 0) -> SocketRecord:
        """A socket began (connect, accept, or first seen sending). Reuse of the key closes the old one."""
        key = (protocol, local_addr, local_port, remote_addr, remote_port)
        bucket = self._by_key.get(key)
        if bucket:
            newest = bucket[-1]
            if not newest.dead and newest.closed_ns is None and newest.opened_ns <= t_ns:
                if newest.process == process and (not cookie or not newest.cookie or cookie == newest.cookie):
                    newest.last_ns = max(newest.last_ns, t_ns)
                    return newest  # the same socket reported again (connect after sendmsg, a retry)
                self._close(newest, t_ns)  # the port was reused before we saw the old one close
        record = SocketRecord(protocol, local_addr, local_port, remote_addr, remote_port, process, role,
                              t_ns, t_ns, None, cookie)
        self._insert(record)
        self._advance(t_ns)
        return record

    def touch(self, protocol: str, local_addr: str, local_port: int, remote_addr: str, remote_port: int,
              process: ProcessRef, t_ns: int, cookie: int = 0) -> SocketRecord:
        """Activity on a socket (sendmsg): extends an open one, or records it if it was never seen."""
        record = self._current(protocol, local_addr, local_port, remote_addr, remote_port, t_ns)
        if record is not None and record.process == process:
            record.last_ns = max(record.last_ns, t_ns)
            self._advance(t_ns)
            return record
        return self.open(protocol, local_addr, local_port, remote_addr, remote_port, process, t_ns,
                         CONNECT, cookie)

    def close(self, protocol: str, local_addr: str, local_port: int, remote_addr: str, remote_port: int,
              t_ns: int, process: ProcessRef | None = None) -> SocketRecord | None:
        """The socket ended; an unknown one is recorded as having lived from `t_ns` when `process` is known."""
        record = self._current(protocol, local_addr, local_port, remote_addr, remote_port, t_ns)
        if record is None:
            if process is None:
                self._advance(t_ns)
                return None
            record = self.open(protocol, local_addr, local_port, remote_addr, remote_port, process, t_ns,
                               CONNECT)
        self._close(record, max(t_ns, record.opened_ns))
        self._advance(t_ns)
        return record

    # -- lookups ---------------------------------------------------------------------------------
    def lookup(self, protocol: str, src: str, sport: int, dst: str, dport: int, t_ns: int,
               *, dst_is_service: bool | None = None) -> Join:
        """The sockets of the connection a flow `src:sport -> dst:dport` at `t_ns` belongs to.

        The flow's source is the client's local side for a request and the server's for a reply, so
        both orientations are tried. When the destination (or, for a reply, the source) is a service
        address, the other end was translated at connect time: protocol plus the client's address and
        port inside its lifetime is enough.
        """
        fwd = self._find(self._by_key.get((protocol, src, sport, dst, dport)), t_ns)
        rev = self._find(self._by_key.get((protocol, dst, dport, src, sport)), t_ns)
        client = server = None
        for record in (fwd, rev):
            if record is None:
                continue
            if record.role == ACCEPT:
                server = server or record
            else:
                client = client or record
        if client is None:
            if dst_is_service is None:
                dst_is_service = self.is_service(dst)
            if dst_is_service:
                client = self._find_client(self._by_local.get((protocol, src, sport)), t_ns)
            elif self.is_service(src):
                client = self._find_client(self._by_local.get((protocol, dst, dport)), t_ns)
        return Join(client, server)

    def process_for(self, protocol: str, src: str, sport: int, dst: str, dport: int, t_ns: int,
                    *, dst_is_service: bool | None = None) -> ProcessRef | None:
        return self.lookup(protocol, src, sport, dst, dport, t_ns, dst_is_service=dst_is_service).process

    def is_service(self, address: str) -> bool:
        """Is `address` inside a configured service prefix (a ClusterIP)?"""
        cached = self._service_cache.get(address)
        if cached is None:
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                cached = False
            else:
                cached = any(ip in net for net in self._networks)
            if len(self._service_cache) > 4096:
                self._service_cache.clear()
            self._service_cache[address] = cached
        return cached

    def records(self) -> Iterator[SocketRecord]:
        """Every live record (oldest lifetimes first per key)."""
        for bucket in self._by_key.values():
            for record in bucket:
                if not record.dead:
                    yield record

    def __len__(self) -> int:
        return self.live

    def counters(self) -> dict[str, int]:
        return {"sockets": self.live, "added": self.added, "expired": self.expired, "evicted": self.evicted}

    # -- internals -------------------------------------------------------------------------------
    def _find(self, bucket: list[SocketRecord] | None, t_ns: int) -> SocketRecord | None:
        """The record whose lifetime contains `t_ns`, else the nearest within the slack, else None."""
        if not bucket:
            return None
        best: SocketRecord | None = None
        best_distance = self.slack_ns + 1
        for record in reversed(bucket):
            if record.dead:
                continue
            distance = record.distance(t_ns)
            if distance == 0:
                return record
            if distance < best_distance:
                best, best_distance = record, distance
        return best

    def _find_client(self, bucket: list[SocketRecord] | None, t_ns: int) -> SocketRecord | None:
        if not bucket:
            return None
        return self._find([r for r in bucket if r.role != ACCEPT], t_ns)

    def _current(self, protocol: str, local_addr: str, local_port: int, remote_addr: str, remote_port: int,
                 t_ns: int) -> SocketRecord | None:
        return self._find(self._by_key.get((protocol, local_addr, local_port, remote_addr, remote_port)), t_ns)

    def _insert(self, record: SocketRecord) -> None:
        bucket = self._by_key.setdefault(record.key, [])
        bucket.append(record)
        for old in bucket[:-PER_KEY]:
            self._kill(old, evicted=True)  # removes it from the bucket
        local = (record.protocol, record.local_addr, record.local_port)
        by_local = self._by_local.setdefault(local, [])
        by_local.append(record)
        if len(by_local) > 4 * PER_KEY:
            by_local[:] = [r for r in by_local if not r.dead][-4 * PER_KEY:]
        self._opened.append(record)
        self.live += 1
        self.added += 1
        while self.live > self.capacity:
            self._evict_oldest()

    def _close(self, record: SocketRecord, t_ns: int) -> None:
        if record.closed_ns is None:
            record.closed_ns = t_ns
            record.last_ns = max(record.last_ns, t_ns)
            self._closed.append((t_ns + self.retain_ns, record))

    def _advance(self, t_ns: int) -> None:
        """Move event time forward and expire what is due (event time, so replays repeat)."""
        if t_ns > self.now_ns:
            self.now_ns = t_ns
        now = self.now_ns
        closed = self._closed
        while closed and closed[0][0] <= now:
            _, record = closed.popleft()
            if not record.dead:
                self._kill(record)
                self.expired += 1
        opened = self._opened
        while opened:
            record = opened[0]
            if record.dead or record.closed_ns is not None:
                opened.popleft()  # closed ones expire through the closed queue
                continue
            if record.last_ns + self.open_ttl_ns <= now:
                opened.popleft()
                self._kill(record)
                self.expired += 1
                continue
            break

    def _evict_oldest(self) -> None:
        for queue in (self._closed, self._opened):
            while queue:
                item = queue.popleft()
                record = item[1] if isinstance(item, tuple) else item
                if not record.dead:
                    self._kill(record, evicted=True)
                    return

    def _kill(self, record: SocketRecord, evicted: bool = False) -> None:
        if record.dead:
            return
        record.dead = True
        self.live -= 1
        if evicted:
            self.evicted += 1
        bucket = self._by_key.get(record.key)
        if bucket is not None:
            with contextlib.suppress(ValueError):
                bucket.remove(record)
            if not bucket:
                del self._by_key[record.key]
        local = (record.protocol, record.local_addr, record.local_port)
        by_local = self._by_local.get(local)
        if by_local is not None:
            with contextlib.suppress(ValueError):
                by_local.remove(record)
            if not by_local:
                del self._by_local[local]


__all__ = ["ACCEPT", "CONNECT", "Join", "ProcessRef", "SocketIndex", "SocketRecord"]
