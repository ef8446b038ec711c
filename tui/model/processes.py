"""ProcessForest: Tetragon's process events linked into trees by exec_id (no Textual, no I/O).

Tetragon delivers events out of order, skips the exec of processes started before the client
connected, never exports clones, and gives `<kernel>` itself as its own parent. The forest absorbs all
of that with a few rules:

- nodes are keyed by `exec_id` and linked by `parent_exec_id`;
- a parent (or ancestor) that was never seen as an exec becomes a placeholder built from the event's
  `parent`/`ancestors`, upgraded when its own exec arrives;
- an exec without the `clone` flag on a pid that already runs replaces that image in place: the new
  image takes the old one's place and children, the old one is kept in `history`;
- an exit whose exec was never seen is a forked child (clone without exec) of its parent;
- self-parents and cycles are cut; exits and policy events before the exec land on a placeholder
  that the exec later fills in.

Exited processes stay for `retention` seconds, then go unless something below them still runs; the
node count never exceeds `max_nodes` (oldest exited first). Time is event time, so replays behave like
live streams and tests are deterministic.
"""

from __future__ import annotations

import base64
import math
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from tui.model.clock import RecordClock
from tui.model.process_events import POLICY_KINDS, PolicyEvent, policy_event

DEFAULT_RETENTION = 60.0
DEFAULT_MAX_NODES = 50_000
EVENTS_PER_PROCESS = 32
HISTORY_PER_PROCESS = 8
MAX_DEPTH = 4096

Group = tuple[str, str, str, str]
"""(node, namespace, pod, container); namespace == pod == "" for host processes."""


class ProcessNode:
    """One process image (one exec_id), with what the pane shows and the Process message for details."""

    __slots__ = (
        "exec_id", "pid", "binary", "arguments", "uid", "user", "start", "flags", "group", "parent_id",
        "children", "_process_bytes", "image", "seen_exec", "placeholder", "forked", "exited", "exit_time", "status",
        "signal", "events", "event_count", "flags_raised", "history", "aliases", "created",
    )

    def __init__(self, exec_id: str, group: Group, created: float) -> None:
        self.exec_id = exec_id
        self.pid = 0
        self.binary = ""
        self.arguments = ""
        self.uid: int | None = None
        self.user = ""
        self.start = 0.0
        self.flags = ""
        self.group = group
        self.parent_id = ""
        self.children: dict[str, None] = {}
        self._process_bytes = b""
        self.image = ""
        self.seen_exec = False
        self.placeholder = True
        self.forked = False
        self.exited = False
        self.exit_time = 0.0
        self.status: int | None = None
        self.signal = ""
        self.events: tuple[tuple, ...] = ()  # newest last; PolicyEvent fields as plain tuples (not GC-tracked)
        self.event_count = 0
        self.flags_raised: tuple[str, ...] = ()
        self.history: tuple[tuple[str, str, str], ...] = ()
        self.aliases: tuple[str, ...] = ()
        self.created = created

    @property
    def process(self) -> Any:
        """The latest full Process message (kept serialized: bytes cost the cyclic GC nothing)."""
        if not self._process_bytes:
            return None
        from tui.proto.tetragon import tetragon_pb2

        return tetragon_pb2.Process.FromString(self._process_bytes)

    def policy_events(self) -> list[PolicyEvent]:
        """The kept policy events, oldest first."""
        return [PolicyEvent(*fields) for fields in self.events or ()]

    @property
    def failed(self) -> bool:
        return self.exited and not self.signal and bool(self.status)

    @property
    def flagged(self) -> bool:
        return bool(self.flags_raised)

    def lifetime(self, now: float) -> float:
        """Seconds alive: until exit for exited processes, until `now` otherwise.

        NaN (shown `?`) when the times cannot be right: a start more than a second after the end.
        """
        if not self.start:
            return 0.0
        end = self.exit_time if self.exited else now
        alive = end - self.start
        if alive < -1.0 or alive != alive:
            return math.nan
        return max(0.0, alive)


def _ts(stamp: Any) -> float:
    return stamp.seconds + stamp.nanos * 1e-9


def exec_id_node(exec_id: str) -> str:
    """The node name inside a Tetragon exec_id (base64 of `node:ktime:pid`); "" when it is not one."""
    try:
        text = base64.b64decode(exec_id, validate=True).decode("utf-8", "replace")
    except (ValueError, TypeError):
        return ""
    node, sep, rest = text.rpartition(":")
    node, sep2, _ = node.rpartition(":")
    return node if sep and sep2 and rest.isdigit() else ""


def group_of(node_name: str, process: Any) -> Group:
    """Where a process is shown: its pod (and container), or its node for host processes."""
    if process.HasField("pod"):
        pod = process.pod
        return (node_name, pod.namespace, pod.name, pod.container.name)
    return (node_name, "", "", "")


class ProcessForest:
    """The exec_id graph with bounded retention; feed it `GetEventsResponse` messages with `add`."""

    def __init__(self, retention: float = DEFAULT_RETENTION, max_nodes: int = DEFAULT_MAX_NODES) -> None:
        self.retention = retention
        self.max_nodes = max_nodes
        self.nodes: dict[str, ProcessNode] = {}
        self.aliases: dict[str, str] = {}
        self.by_pid: dict[tuple[str, int], str] = {}
        self.clock = 0.0  # the record clock's now: retention counts from it
        self.record_clock = RecordClock()
        self._n_events = self._n_exec = self._n_exit = self._n_policy = self._n_other = 0
        self._n_pruned = self._n_evicted = self._n_cycles = self._n_cached = 0
        self.policy_counts: dict[str, int] = {}  # events seen per tracing policy name
        self.rate_limited = 0  # events the agent's rate limiter said it dropped (RATE_LIMIT_INFO)
        self._exited: deque[tuple[float, str]] = deque()
        self._waiting: dict[str, dict[str, None]] = {}  # parent exec_id not seen yet -> children
        self._expired: set[str] = set()
        # change log for the pane: exec_ids added (ordered), updated, removed, re-parented
        self.added: dict[str, None] = {}
        self.updated: dict[str, None] = {}
        self.removed: dict[str, None] = {}
        self.moved: dict[str, None] = {}

    # --- public API ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.nodes)

    def get(self, exec_id: str) -> ProcessNode | None:
        node = self.nodes.get(exec_id)
        if node is None and exec_id in self.aliases:
            node = self.nodes.get(self.aliases[exec_id])
        return node

    def add_many(self, responses: Iterable[Any]) -> None:
        for response in responses:
            self.add(response)

    def add(self, response: Any) -> None:
        """Apply one GetEventsResponse."""
        self._n_events += 1
        kind = response.WhichOneof("event")
        stamp = response.time
        when = stamp.seconds + stamp.nanos * 1e-9
        if not when:
            when = self.clock
        elif self.record_clock.observe(when):
            self.clock = self.record_clock.now or 0.0
        else:
            when = self.clock  # dated far ahead (a fast node clock): taken as now, the tree's clock stays
        if kind == "process_exec":
            self._n_exec += 1
            self._on_exec(response.node_name, response.process_exec, when)
        elif kind == "process_exit":
            self._n_exit += 1
            self._on_exit(response.node_name, response.process_exit, when)
        elif kind in POLICY_KINDS:
            self._n_policy += 1
            event = getattr(response, kind)
            if event.policy_name:
                self.policy_counts[event.policy_name] = self.policy_counts.get(event.policy_name, 0) + 1
            if event.HasField("process"):
                node = self._touch(response.node_name, event.process,
                                   event.parent if event.HasField("parent") else None, event.ancestors, when)
                record = policy_event(kind, event, when)
                events = node.events
                node.events = (*events[1:], record) if len(events) >= EVENTS_PER_PROCESS else (*events, record)
                node.event_count += 1
                flag = record[6]
                if flag and flag not in node.flags_raised:
                    node.flags_raised += (flag,)
                exec_id = node.exec_id
                if exec_id not in self.added:
                    self.updated[exec_id] = None
        elif kind == "rate_limit_info":
            self.rate_limited += response.rate_limit_info.number_of_dropped_process_events
            self._n_other += 1
        else:
            self._n_other += 1
        if len(self.nodes) > self.max_nodes:
            self._evict()

    def bootstrap(self, processes: Iterable[Any], node_name: str = "") -> int:
        """Add the processes of an agent's process-cache dump (GetDebug): those running before we connected.

        Each becomes a node as if its exec had been seen (parents first, by start time), so the tree is
        complete from the first frame; one already known from an event is left as it is (an exec seen
        after the dump was taken is newer). `node_name` defaults to the one in the exec_id. Returns how
        many nodes were added or filled.
        """
        from tui.proto.tetragon import events_pb2

        ordered = sorted(processes, key=lambda p: (p.start_time.seconds, p.start_time.nanos))
        added = 0
        for process in ordered:
            if not process.exec_id:
                continue
            known = self.get(process.exec_id)
            if known is not None and not known.placeholder:
                continue
            response = events_pb2.GetEventsResponse(node_name=node_name or exec_id_node(process.exec_id))
            response.process_exec.process.CopyFrom(process)
            when = _ts(process.start_time) if process.HasField("start_time") else self.clock
            self._on_exec(response.node_name, response.process_exec, when)
            added += 1
        self._n_cached += added
        if len(self.nodes) > self.max_nodes:
            self._evict()
        return added

    @property
    def counts(self) -> dict[str, int]:
        """Events seen by kind, and what pruning, the node cap and the cycle guard removed."""
        return {"events": self._n_events, "exec": self._n_exec, "exit": self._n_exit, "policy": self._n_policy,
                "other": self._n_other, "pruned": self._n_pruned, "evicted": self._n_evicted,
                "cycles": self._n_cycles, "cached": self._n_cached}

    @property
    def skewed(self) -> int:
        """Events dated too far ahead to move the clock (taken as the clock's now)."""
        return self.record_clock.skewed

    def prune(self, now: float | None = None) -> int:
        """Drop exited processes older than the retention time unless something below them runs."""
        now = self.clock if now is None else now
        horizon = now - self.retention
        removed = 0
        exited = self._exited
        while exited and exited[0][0] <= horizon:
            _, exec_id = exited.popleft()
            node = self.nodes.get(exec_id)
            if node is None or not node.exited:
                continue
            if node.children:
                self._expired.add(exec_id)
            else:
                removed += self._remove_cascade(node)
        self._n_pruned += removed
        return removed

    def has_changes(self) -> bool:
        """Something for the pane to draw (prunes change the tree with no event arriving)."""
        return bool(self.added or self.updated or self.removed or self.moved)

    def take_changes(self) -> tuple[list[str], list[str], list[str], list[str]]:
        """(added, updated, removed, moved) exec_ids in event order since the last call, for the pane."""
        changes = (list(self.added), list(self.updated), list(self.removed), list(self.moved))
        self.added, self.updated, self.removed, self.moved = {}, {}, {}, {}
        return changes

    def roots(self) -> Iterator[ProcessNode]:
        """Nodes shown directly under their group: no parent, or a parent in another group."""
        nodes = self.nodes
        for node in nodes.values():
            parent = nodes.get(node.parent_id) if node.parent_id else None
            if parent is None or parent.group != node.group:
                yield node

    def display_parent(self, node: ProcessNode) -> ProcessNode | None:
        """The parent under which the tree shows `node` (None: directly under its group)."""
        parent = self.nodes.get(node.parent_id) if node.parent_id else None
        if parent is None or parent.group != node.group:
            return None
        return parent

    def chain(self, node: ProcessNode) -> list[ProcessNode]:
        """The parent chain from the root down to `node`'s parent (bounded, cycle-safe)."""
        out: list[ProcessNode] = []
        seen = {node.exec_id}
        current = self.nodes.get(node.parent_id) if node.parent_id else None
        while current is not None and current.exec_id not in seen and len(out) < MAX_DEPTH:
            out.append(current)
            seen.add(current.exec_id)
            current = self.nodes.get(current.parent_id) if current.parent_id else None
        out.reverse()
        return out

    def live_count(self) -> int:
        return sum(1 for node in self.nodes.values() if not node.exited)

    # --- rules -----------------------------------------------------------------------------------

    def _on_exec(self, node_name: str, exec_event: Any, when: float) -> None:
        process = exec_event.process
        parent_msg = exec_event.parent if exec_event.HasField("parent") else None
        self._ensure_ancestry(node_name, parent_msg, exec_event.ancestors, when)
        exec_id = process.exec_id or self._synthetic_id(node_name, process)
        if exec_id not in self.nodes and exec_id in self.aliases:
            return  # a late exec of an image already replaced in place: its successor keeps it in history
        node = self.get(exec_id)
        if node is None:
            node = self._new_node(exec_id, node_name, process, when)
        self._fill(node, node_name, process)
        node.seen_exec = True
        node.placeholder = False
        node.forked = False
        pid_key = (node_name, node.pid)
        if "clone" not in node.flags:
            previous_id = self.by_pid.get(pid_key)
            previous = self.nodes.get(previous_id) if previous_id else None
            if previous is not None and previous is not node and not previous.exited:
                self._replace_image(previous, node)
                self.by_pid[pid_key] = node.exec_id
                self._changed(node.exec_id)
                return
        if not node.exited:
            self.by_pid[pid_key] = node.exec_id
        parent_id = process.parent_exec_id or (parent_msg.exec_id if parent_msg is not None else "")
        self._link(node, self.aliases.get(parent_id, parent_id))
        self._changed(node.exec_id)

    def _on_exit(self, node_name: str, exit_event: Any, when: float) -> None:
        if not exit_event.HasField("process"):
            return
        process = exit_event.process
        parent_msg = exit_event.parent if exit_event.HasField("parent") else None
        node = self._touch(node_name, process, parent_msg, exit_event.ancestors, when)
        if not node.seen_exec:
            node.forked = True
        if exit_event.HasField("time"):
            when = _ts(exit_event.time)
        if not node.exited:
            node.exited = True
            node.exit_time = when
            self._exited.append((when, node.exec_id))
        node.status = exit_event.status
        node.signal = exit_event.signal
        key = (node_name, node.pid)
        if self.by_pid.get(key) == node.exec_id:
            del self.by_pid[key]
        self._changed(node.exec_id)

    def _touch(self, node_name: str, process: Any, parent_msg: Any, ancestors: Any, when: float) -> ProcessNode:
        """The node an exit or policy event belongs to, created as a placeholder when unseen."""
        exec_id = process.exec_id or self._synthetic_id(node_name, process)
        node = self.get(exec_id)
        if node is not None:
            if node.placeholder and not node.binary and process.binary:
                self._fill(node, node_name, process)
            return node
        self._ensure_ancestry(node_name, parent_msg, ancestors, when)
        node = self._new_node(exec_id, node_name, process, when)
        self._fill(node, node_name, process)
        parent_id = process.parent_exec_id or (parent_msg.exec_id if parent_msg is not None else "")
        self._link(node, self.aliases.get(parent_id, parent_id))
        if not process.exec_id or "unknown" in node.flags.split():
            node.placeholder = True
        return node

    def _ensure_ancestry(self, node_name: str, parent_msg: Any, ancestors: Any, when: float) -> None:
        """Placeholders for the parent and ancestors (oldest first) that were never seen."""
        if not ancestors:
            if parent_msg is None:
                return
            known = self.nodes.get(parent_msg.exec_id)
            if known is not None and (known.binary or not known.placeholder):
                return
        chain = list(ancestors)
        chain.reverse()  # ancestors run from the grandparent upward; build from the top down
        if parent_msg is not None:
            chain.append(parent_msg)
        for process in chain:
            exec_id = process.exec_id
            if not exec_id:
                continue
            node = self.get(exec_id)
            if node is None:
                node = self._new_node(exec_id, node_name, process, when)
                self._fill(node, node_name, process)
                self._link(node, self.aliases.get(process.parent_exec_id, process.parent_exec_id))
                self._changed(exec_id)
                if not node.exited and node.pid:
                    self.by_pid.setdefault((node_name, node.pid), exec_id)
            elif node.placeholder and not node.binary:
                self._fill(node, node_name, process)
                if not node.parent_id and process.parent_exec_id:
                    self._link(node, process.parent_exec_id)
                self._changed(exec_id)

    def _replace_image(self, old: ProcessNode, new: ProcessNode) -> None:
        """`new` (exec without clone on the same pid) takes `old`'s place; `old` goes to history."""
        grandparent = old.parent_id
        if new.parent_id:
            self._unlink(new)
        new.history = (*old.history, (old.exec_id, old.binary, old.arguments))[-HISTORY_PER_PROCESS:]
        for child_id in list(old.children):
            child = self.nodes.get(child_id)
            if child is not None and child is not new:
                child.parent_id = new.exec_id
                new.children[child_id] = None
                self.moved[child_id] = None
        old.children.clear()
        if old.events:
            new.events = (*old.events, *new.events)[-EVENTS_PER_PROCESS:]
            new.event_count += old.event_count
        new.flags_raised += tuple(flag for flag in old.flags_raised if flag not in new.flags_raised)
        self._drop(old)
        self.aliases[old.exec_id] = new.exec_id
        new.aliases += (old.exec_id, *old.aliases)
        for alias in old.aliases:
            self.aliases[alias] = new.exec_id
        self._link(new, grandparent)
        self.moved[new.exec_id] = None

    # --- structure helpers -----------------------------------------------------------------------

    def _synthetic_id(self, node_name: str, process: Any) -> str:
        pid = process.pid.value if process.HasField("pid") else 0
        start = process.start_time.seconds if process.HasField("start_time") else 0
        return f"{node_name}:unknown:{pid}:{start}"

    def _new_node(self, exec_id: str, node_name: str, process: Any, when: float) -> ProcessNode:
        node = ProcessNode(exec_id, group_of(node_name, process), when)
        self.nodes[exec_id] = node
        self.added[exec_id] = None
        waiting = self._waiting.pop(exec_id, None)
        if waiting:
            for child_id in waiting:
                child = self.nodes.get(child_id)
                if child is not None and child.parent_id == exec_id:
                    child.parent_id = ""
                    self._link(child, exec_id)
        return node

    def _fill(self, node: ProcessNode, node_name: str, process: Any) -> None:
        if process.HasField("pid"):
            node.pid = process.pid.value
        if process.binary:
            node.binary = process.binary
            node.arguments = process.arguments
        if process.HasField("uid"):
            node.uid = process.uid.value
        if process.HasField("user"):
            node.user = process.user.name
        if process.HasField("start_time"):
            stamp = process.start_time
            node.start = stamp.seconds + stamp.nanos * 1e-9
        node.flags = process.flags
        has_pod = process.HasField("pod")
        if has_pod or not node._process_bytes or process.binary:
            node._process_bytes = process.SerializeToString()
        if has_pod:
            pod = process.pod
            group = (node_name, pod.namespace, pod.name, pod.container.name)
            node.image = pod.container.image.name
        else:
            group = (node_name, "", "", "")
        if group != node.group and (has_pod or not node.group[2]):
            node.group = group
            if node.exec_id not in self.added:
                self.moved[node.exec_id] = None

    def _link(self, node: ProcessNode, parent_id: str) -> None:
        """Attach `node` under `parent_id`, refusing self-parents and cycles."""
        if node.parent_id == parent_id:
            if parent_id and parent_id in self.nodes:
                self.nodes[parent_id].children[node.exec_id] = None
            return
        if node.parent_id:
            self._unlink(node)
        if not parent_id or parent_id == node.exec_id:
            if parent_id:
                self._n_cycles += 1
            return
        parent = self.nodes.get(parent_id)
        if parent is None:
            node.parent_id = parent_id  # parent unknown yet: linked when it appears
            self._waiting.setdefault(parent_id, {})[node.exec_id] = None
            return
        # cycle guard: walking up from the parent must not reach node
        current, depth = parent, 0
        while current is not None and depth < MAX_DEPTH:
            if current is node:
                self._n_cycles += 1
                return
            up = current.parent_id
            current = self.nodes.get(up) if up and up != current.exec_id else None
            depth += 1
        node.parent_id = parent_id
        parent.children[node.exec_id] = None
        if node.exec_id not in self.added:  # a node the pane has not shown yet is simply added later
            self.moved[node.exec_id] = None
        if parent_id not in self.added:
            self.updated[parent_id] = None

    def _unlink(self, node: ProcessNode) -> None:
        parent = self.nodes.get(node.parent_id)
        if parent is not None:
            parent.children.pop(node.exec_id, None)
            self.updated[parent.exec_id] = None
        elif node.parent_id in self._waiting:
            waiting = self._waiting[node.parent_id]
            waiting.pop(node.exec_id, None)
            if not waiting:
                del self._waiting[node.parent_id]
        node.parent_id = ""

    def _changed(self, exec_id: str) -> None:
        if exec_id not in self.added:
            self.updated[exec_id] = None

    def _drop(self, node: ProcessNode) -> None:
        """Remove one node from every index (children must have been moved or removed)."""
        exec_id = node.exec_id
        self._unlink(node)
        del self.nodes[exec_id]
        for alias in node.aliases:
            if self.aliases.get(alias) == exec_id:
                del self.aliases[alias]
        key = (node.group[0], node.pid)
        if self.by_pid.get(key) == exec_id:
            del self.by_pid[key]
        self._expired.discard(exec_id)
        if self.added.pop(exec_id, 1) is None:
            pass  # never shown: nothing for the pane to remove
        else:
            self.removed[exec_id] = None
        self.updated.pop(exec_id, None)
        self.moved.pop(exec_id, None)

    def _remove_cascade(self, node: ProcessNode) -> int:
        """Remove an expired leaf, then any expired ancestors it was keeping."""
        removed = 0
        while node is not None and not node.children:
            parent = self.nodes.get(node.parent_id) if node.parent_id else None
            self._drop(node)
            removed += 1
            if parent is not None and parent.exec_id in self._expired and not parent.children:
                node = parent
            else:
                break
        return removed

    def _evict(self) -> None:
        """Over the cap: drop the oldest exited processes first, then the oldest of all."""
        nodes = self.nodes
        exited = self._exited
        while len(nodes) > self.max_nodes and exited:
            _, exec_id = exited.popleft()
            node = nodes.get(exec_id)
            if node is None or not node.exited:
                continue
            self._evict_one(node)
        while len(nodes) > self.max_nodes:
            self._evict_one(next(iter(nodes.values())))

    def _evict_one(self, node: ProcessNode) -> None:
        """Drop `node`, handing its children to its parent so the tree stays connected."""
        grandparent = node.parent_id
        for child_id in list(node.children):
            child = self.nodes.get(child_id)
            if child is None:
                continue
            child.parent_id = ""
            self._link(child, grandparent if grandparent in self.nodes else "")
            self.moved[child_id] = None
        node.children.clear()
        self._drop(node)
        self._n_evicted += 1
