"""Top talkers broken down by process: flows per (talker row, process) over the talkers' window.

Why a counter of its own and not a scan of the ring when asked: the ring holds far more flows than
a modal can re-parse in a frame, and the talker row counts the last `window` seconds; counting here
in the same window makes the breakdown of a row add up to the row (flows whose process is unknown
get their own line).

Why a wait: the socket event that names a flow's process comes from another stream (Tetragon or the
kernel) and may arrive after the flow. So a flow is joined once the join has seen socket events past
its time (`FlowJoiner.newest_event_ns`, event time), at least `lag_s` after it arrived and at most
`max_wait_s` (wall clock: a silent or slow process stream must not hold the flows for ever), and
only then counted and its verdict fed back to the join (`FlowJoiner.observe`). One lookup per flow,
as before; the pending queue is bounded.

The answer is kept per flow record (`join_of`) for as long as the ring can hold the record: the
socket index forgets a closed socket 10 s after its close, and a line scrolled back to, or its
detail, must still name the process it had.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from tui.model.flow_aggregates import OTHER, WindowCounter
from tui.model.flows import FlowRecord, RecordKind

DEFAULT_LAG_S = 1.0
MAX_WAIT_S = 10.0
SECOND_NS = 1_000_000_000
MAX_PENDING = 200_000
"""Flows waiting for their lag; beyond this the oldest are joined at once (memory stays bounded)."""
DEFAULT_MAX_KEYS = 20_000
UNKNOWN = (0, "", "", "")
"""The process key of flows no socket explains: (pid, binary, pod, exec_id)."""

Talker = tuple[str, str, int, str]
ProcessKey = tuple[int, str, str, str]


@dataclass(frozen=True, slots=True)
class ProcessShare:
    """One process behind a talker row: how many of the row's flows are its, and their verdicts."""

    pid: int
    binary: str
    pod: str
    exec_id: str
    flows: int
    forwarded: int
    dropped: int
    other: int

    @property
    def known(self) -> bool:
        return bool(self.pid or self.binary)


def process_key(process: Any) -> ProcessKey:
    """(pid, binary, namespace/pod or the host node, exec_id) of a ProcessRef, or UNKNOWN for None."""
    if process is None:
        return UNKNOWN
    pod = f"{process.namespace}/{process.pod}" if process.namespace and process.pod else process.pod
    if not pod and process.node:
        pod = f"(host {process.node})"  # the node's own processes: which node tells two kubelets apart
    return (process.pid, process.binary, pod, process.exec_id)


class TalkerProcesses:
    """Flows per (talker key, process) in per-second buckets of flow time, joined after a lag."""

    def __init__(self, window: int = 60, max_keys: int = DEFAULT_MAX_KEYS, lag_s: float = DEFAULT_LAG_S,
                 remember: int = 10_000) -> None:
        self.counter = WindowCounter(4, window, max_keys)  # flows, forwarded, dropped, other
        self.lag_s = lag_s
        self.remember = remember
        self._joins: dict[int, Any] = {}  # record seq -> Join (with a process), oldest first
        self._pending: deque[tuple[float, FlowRecord, int, Talker, int]] = deque()
        self.joined = 0
        self.unknown = 0

    def add(self, records: list[FlowRecord], now: float) -> None:
        """Queue the talker flows among `records` (call before the store drops their digests)."""
        pending = self._pending
        for record in records:
            item = record.digest
            if record.kind is RecordKind.FLOW and item is not None and item.talker is not None:
                pending.append((now, record, item.second, item.talker, item.verdict_class))

    def settle(self, joiner: Any, now: float, force: bool = False) -> int:
        """Join and count the flows that waited `lag_s` (all with `force`); returns how many."""
        pending = self._pending
        cutoff = now - self.lag_s
        count = 0
        has_sockets = joiner is not None and joiner.socket_events > 0
        seen_ns = joiner.newest_event_ns if has_sockets else 0
        give_up = now - MAX_WAIT_S
        while pending and (force or len(pending) > MAX_PENDING or pending[0][0] <= cutoff
                           and (not has_sockets or pending[0][0] <= give_up
                                or seen_ns >= (pending[0][2] + 2) * SECOND_NS)):
            _, record, second, talker, verdict_class = pending.popleft()
            process = None
            if has_sockets:  # no socket events yet: every flow is unknown, nothing to parse
                response = record.response()
                join = joiner.observe(response.flow, response.time.ToNanoseconds())
                process = join.process if join is not None else None
                if process is not None:
                    self._keep(record.seq, join)
            key = process_key(process)
            if key is UNKNOWN:
                self.unknown += 1
            else:
                self.joined += 1
            self.counter.add(second, (talker, key), 1 + verdict_class)
            count += 1
        return count

    def _keep(self, seq: int, join: Any) -> None:
        joins = self._joins
        joins[seq] = join
        while len(joins) > self.remember:
            del joins[next(iter(joins))]  # the oldest record: the ring dropped it first

    def join_of(self, record: FlowRecord) -> Any:
        """The join this flow got when it was settled (None: not yet, or no process then)."""
        return self._joins.get(record.seq)

    def pending(self) -> int:
        return len(self._pending)

    def shares(self, talker: Talker) -> list[ProcessShare]:
        """The processes behind one talker row, most flows first (unknown last among equals)."""
        out = []
        for key, values in self.counter.totals.items():
            if key == OTHER or key[0] != talker:  # type: ignore[index]
                continue
            pid, binary, pod, exec_id = key[1]  # type: ignore[index]
            out.append(ProcessShare(pid, binary, pod, exec_id, values[0], values[1], values[2], values[3]))
        out.sort(key=lambda s: (-s.flows, not s.known, s.binary, s.pid))
        return out


__all__ = ["ProcessShare", "TalkerProcesses", "UNKNOWN", "process_key"]
