"""The Processes pane: a live process forest (node > namespace > pod > process tree) and an event log.

The pane only renders the model. Every tick drains the source into the `ProcessForest`; when the pane
is visible and not paused, and a frame is due (`FrameGovernor`: every tick for a trickle, down to one a
second as events pour in; keys draw at once), it applies the forest's change log to a Textual `Tree`
(nodes are added only for new processes, each parent shows at most `CHILDREN_SHOWN` children and the
whole tree at most `TREE_CAP` processes) and writes the newest compact lines to the log.

The log keeps its last `LOG_LINES` events (`_log_shown`), so a change of the `/` filter, of the
timestamps (T) or of the kernel threads (K) rewrites what it shows; a hidden log (e) is not written.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Input, RichLog, Tree
from textual.widgets.tree import TreeNode

from tui.model.processes import Group, ProcessForest, ProcessNode
from tui.panes import process_join
from tui.panes.ascii_widgets import ascii_text, strip_leading_emoji
from tui.panes.base import FrameGovernor, LivePane
from tui.panes.jumps import forget_jump, jump_back
from tui.panes.no_source import TETRAGON, NoSourceNotice
from tui.panes.process_detail import ProcessDetailScreen
from tui.render.glyphs import ASCII, glyphs
from tui.render.numbers import count_text
from tui.render.process_labels import EVENT_LEAVES, detail_text, event_label, group_label, process_label
from tui.render.tetra_compact import CompactEncodeError, rate_limit_line, render_text
from tui.render.tetra_policies import header as policy_header
from tui.render.tetra_policies import policy_rows, row_texts
from tui.sources.base import Source
from tui.sources.tetragon import StreamGap
from tui.sources.tetragon_state import PolicyList, ProcessCacheDump

DRAIN_CHUNK = 200
DRAIN_BUDGET_S = 0.015      # model work per tick (~1,500 events); the rest waits in the bounded buffer
ADDS_PER_TICK = 80          # new tree items per tick (the newest); the forest keeps the rest
UPDATES_PER_TICK = 120
LOG_LINES = 100            # a glimpse; --record-events keeps everything; also the most written per frame
TREE_CAP = 2_000
CHILDREN_SHOWN = 50
RATE_WINDOW = 5.0
# Frames: each one that adds a process re-renders every visible tree line and lays the screen out
# again (most of the pane's CPU, bench/README.md "Processes tab in the demo: CPU"); htop redraws every
# 1.5 s. Every tick below FRAME_CALM_RATE events/s, then less often, down to FRAME_SLOWEST_S.
FRAME_FASTEST_S = 0.1
FRAME_SLOWEST_S = 1.0
FRAME_CALM_RATE = 20.0

_NEWLINE = Text("\n", no_wrap=True, overflow="ellipsis")

GroupKey = tuple[str, ...]
Data = tuple[str, Any]  # ("proc", exec_id) | ("group", key) | ("event", exec_id)


class ProcessTree(Tree[Data]):
    """The process tree widget; Enter opens details, Space folds.

    Hundreds of nodes change per tick at high event rates: `batch()` defers the tree's cache
    invalidation (and its layout refresh) to one call at the end instead of one per added node.
    """

    BINDINGS = [
        Binding("space", "toggle_node", "Fold or unfold", show=False),
        Binding("left", "fold", "Fold, or go to the parent (as htop)", show=False),
        Binding("right", "unfold", "Unfold", show=False),
        Binding("end", "follow_newest", "Follow: jump to the newest exec and stay there", show=False),
    ]
    moved_by_user = False  # set by cursor keys: the pane leaves follow (as in Flows)

    def action_fold(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.is_expanded and node.allow_expand and node.children:
            node.collapse()
        elif node.parent is not None and node.parent is not self.root:
            self.move_cursor(node.parent, animate=False)
            self._left_follow()

    def action_unfold(self) -> None:
        node = self.cursor_node
        if node is not None and not node.is_expanded:
            node.expand()

    def _pane(self) -> ProcessesPane | None:
        return next((a for a in self.ancestors if isinstance(a, ProcessesPane)), None)

    def action_follow_newest(self) -> None:
        pane = self._pane()
        if pane is not None:
            pane.follow_newest()

    def _left_follow(self) -> None:
        """A cursor key leaves follow at once, not on the pane's next (governed) frame."""
        self.moved_by_user = True
        pane = self._pane()
        if pane is not None:
            pane.follow = False

    def _user_move(self, action: str) -> None:
        self._left_follow()
        getattr(super(), action)()

    def action_cursor_up(self) -> None:
        self._user_move("action_cursor_up")

    def action_cursor_down(self) -> None:
        self._user_move("action_cursor_down")

    def action_page_up(self) -> None:
        self._user_move("action_page_up")

    def action_page_down(self) -> None:
        self._user_move("action_page_down")

    def action_scroll_home(self) -> None:
        self._user_move("action_scroll_home")
    _batching = False
    _invalidated = False
    _relabelled = False

    def _invalidate(self) -> None:
        if self._batching:
            self._invalidated = True
            return
        super()._invalidate()

    def relabel(self, node: TreeNode[Data], label: Text) -> None:
        """Change a label with one repaint per batch (`TreeNode.set_label` queues a callback per call)."""
        if not self._batching:
            node.set_label(label)
            return
        node._label = label
        node._updates += 1
        self._relabelled = True

    @contextmanager
    def batch(self) -> Iterator[None]:
        self._batching, self._invalidated, self._relabelled = True, False, False
        try:
            yield
        finally:
            self._batching = False
            if self._invalidated:
                super()._invalidate()
            elif self._relabelled:
                self.refresh()

    def process_label(self, label: str | Text) -> Text:
        """Labels are built as single-line `Text` (control characters escaped): no markup, no split."""
        if isinstance(label, Text):
            return label
        return Text(label)


class _Skipped:
    """Events that came and went between two frames, too many to write: one line says how many."""

    def __init__(self, count: int) -> None:
        self.count = count


class _LogEntry:
    """One event the log keeps (or a marker), with its rendered line once it has been rendered."""

    __slots__ = ("always", "item", "line", "timestamps")

    def __init__(self, item: Any) -> None:
        self.item = item
        self.line: Text | None = None
        self.timestamps = False  # the setting `line` was rendered with
        self.always = False  # a line saying something was lost or unreadable: never filtered out


def _kernel_thread_event(response: Any) -> bool:
    """An exec or exit of a kernel thread (the local source marks them `kthread`)."""
    kind = response.WhichOneof("event") if hasattr(response, "WhichOneof") else None
    if kind not in ("process_exec", "process_exit"):
        return False
    return "kthread" in getattr(response, kind).process.flags.split()


class ProcessesPane(LivePane):
    """Tetragon (or local exec tracepoints) as a process forest with policy events in place."""

    tab_title = "Processes"
    DEFAULT_CSS = """
    ProcessesPane { height: 1fr; }
    ProcessesPane #process-filter { display: none; height: 3; dock: bottom; }
    ProcessesPane.-filtering #process-filter { display: block; }
    ProcessesPane #process-tree { height: 1fr; }
    ProcessesPane #process-log { height: 7; border-top: solid $panel-lighten-2; }
    ProcessesPane #policy-table { display: none; height: 1fr; }
    ProcessesPane.-policies #policy-table { display: block; }
    ProcessesPane.-policies #process-tree { display: none; }
    """
    BINDINGS = [
        Binding("p", "toggle_pause", "Pause"),
        # Priority: run as the key arrives, so the keys queued behind `/` (a paste, fast typing) reach the
        # box instead of the tree; `check_action` steps aside while the box has focus (`/` is text there).
        Binding("slash", "filter", "Filter", key_display="/", priority=True),
        Binding("escape", "clear_filter", "Back: close the filter box, clear the filter, leave the policies", show=False),
        Binding("j", "jump_pod", "Next pod"),
        Binding("T", "toggle_timestamps", "Timestamps in the event log", show=False),
        Binding("e", "toggle_log", "Event log below the tree (on/off)", show=False),
        Binding("y", "toggle_policies", "Policies"),
        Binding("K", "toggle_kthreads", "Kernel threads (local source; hidden at start)", show=False),
        Binding("v", "step_view(1)", "Next view", show=False),
        Binding("V", "step_view(-1)", "Previous view", show=False),
    ]

    drain_budget = DRAIN_BUDGET_S
    drain_chunk = DRAIN_CHUNK
    joiner: Any = None  # the run's flow/process join (tui/wiring/join.py), shared with Flows
    _reveal_target: Data | None = None  # where a jump (reveal) put the cursor, until it is really there

    def __init__(self, source: Source[Any] | None, *, forest: ProcessForest | None = None,
                 timestamps: bool = False, live_clock: bool = True, follow: bool = True,
                 clock: Callable[[], float] = time.time, pane_id: str = "processes",
                 state: Source[Any] | None = None) -> None:
        sources = [s for s in (source, state) if s is not None]
        super().__init__(id=pane_id, sources=sources)
        self.source = source
        self.state = state  # TetragonStateSource: process-cache dumps and the agents' tracing policies
        self._policies: dict[str, tuple[Any, ...]] = {}
        self._policies_dirty = False
        self.forest = forest if forest is not None else ProcessForest()  # an empty forest is falsy (len 0)
        self.timestamps = timestamps
        self.live_clock = live_clock
        self.follow = follow
        self._clock = clock
        self._items: dict[str, TreeNode[Data]] = {}
        self._groups: dict[GroupKey, TreeNode[Data]] = {}
        self._shown_children: dict[GroupKey | str, dict[str, None]] = {}
        self._log_pending: deque[Any] = deque(maxlen=LOG_LINES)  # arrived since the last frame
        self._log_skipped = 0
        self._log_shown: deque[_LogEntry] = deque(maxlen=LOG_LINES)  # what the log holds, unfiltered
        self._frames = FrameGovernor(FRAME_FASTEST_S, FRAME_SLOWEST_S, FRAME_CALM_RATE)
        self._filter = ""
        self.show_kthreads = False  # kernel threads (the local source marks them `kthread`): hidden, as htop's K
        self._kthreads_seen = False
        self._needs_rebuild = False
        self._rate_samples: deque[tuple[float, int]] = deque()
        self._render_errors = 0

    # --- composition and lifecycle ---------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical():
            yield NoSourceNotice(TETRAGON, id="process-no-source")  # until an agent answers (no_source.py)
            tree = ProcessTree("processes", id="process-tree")
            tree.show_root = False
            tree.auto_expand = False
            tree.guide_depth = 2
            yield tree
            table: DataTable[Text] = DataTable(id="policy-table", cursor_type="row", zebra_stripes=False)
            yield table
            yield RichLog(id="process-log", max_lines=LOG_LINES, wrap=False, markup=False, auto_scroll=True)
            # At the bottom, as in every pane; it filters the tree and the event log.
            yield Input(placeholder="filter: binary, arguments or pod (Esc clears)", id="process-filter")

    def on_show(self) -> None:
        """Keyboard first: the tree takes focus when the tab is shown (unless a child already has it)."""
        focused = self.app.focused
        if focused is None or self not in focused.ancestors_with_self:
            self.tree.focus()

    @property
    def tree(self) -> ProcessTree:
        return self.query_one("#process-tree", ProcessTree)

    def now(self) -> float:
        """Wall clock for live sources; event time for replays, so replays and tests are deterministic."""
        if self.live_clock:
            return max(self.forest.clock, self._clock())
        return self.forest.clock

    # --- the drain tick --------------------------------------------------------------------------

    def ingest(self, source: Source[Any] | None, responses: list[Any]) -> None:
        """Apply a batch to the model (the template's drain does this with what the source buffered)."""
        if not responses:
            return
        if source is not None and source is self.state:
            for item in responses:
                if isinstance(item, ProcessCacheDump):  # processes started before we connected
                    self.forest.bootstrap(item.processes)
                elif isinstance(item, PolicyList):
                    self._policies[item.target] = item.policies
                    self._policies_dirty = True
            return
        process_join.feed(self.joiner, responses)
        if any(isinstance(item, StreamGap) for item in responses):  # outage markers: the log only
            self.forest.add_many([item for item in responses if not isinstance(item, StreamGap)])
        else:
            self.forest.add_many(responses)
        pending = self._log_pending
        if len(responses) > pending.maxlen:
            self._log_skipped += len(pending) + len(responses) - pending.maxlen
            pending.clear()
            pending.extend(responses[-pending.maxlen:])
        else:
            overflow = len(pending) + len(responses) - pending.maxlen
            if overflow > 0:
                self._log_skipped += overflow
            pending.extend(responses)

    def after_drain(self) -> None:
        self.forest.prune(self.now())
        self._sample_rate()

    def _update_notice(self) -> None:
        if self.source is not None:
            self.query_one(NoSourceNotice).show_for([self.source], self.source.buffer.received)

    def on_hide(self) -> None:
        forget_jump(self)  # left by hand: a later Esc here stays here

    def render_view(self, drained: int) -> None:
        self._update_notice()
        changed = drained + (1 if self._log_pending or self._log_skipped or self.forest.has_changes() else 0)
        if self._frames.due(changed, time.monotonic()):
            self.refresh_view()
        if self._policies_dirty and self.has_class("-policies"):
            self._fill_policies()

    def redraw(self) -> None:
        """Unpaused, or a view changed: draw now, whatever the frame rate."""
        self._update_notice()
        self.refresh_view()
        if self._policies_dirty and self.has_class("-policies"):
            self._fill_policies()

    def _fill_policies(self) -> None:
        """The policies view: `tetra tracingpolicy list`'s columns, failed policies first and marked."""
        self._policies_dirty = False
        table = self.query_one("#policy-table", DataTable)
        with_node = len(self._policies) > 1
        cursor = table.cursor_row
        table.clear(columns=True)
        table.add_columns(*policy_header(with_node))
        for row in policy_rows(self._policies, self.forest.policy_counts):
            table.add_row(*row_texts(row, with_node))
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))

    def action_toggle_policies(self) -> None:
        """`y`: the agents' loaded tracing policies in place of the tree (again: back to the tree)."""
        self.toggle_class("-policies")
        if self.has_class("-policies"):
            if self.state is None:
                self.notify("no Tetragon agent: policies come from ListTracingPolicies", severity="warning")
            self._fill_policies()
            self.query_one("#policy-table", DataTable).focus()
        else:
            self.tree.focus()

    def refresh_view(self) -> None:
        """Apply the model's changes to the tree (bounded per frame) and write pending log lines."""
        self._frames.drawn(time.monotonic())
        added, updated, removed, moved = self.forest.take_changes()
        tree = self.tree
        now = self.now()
        if tree.moved_by_user:
            tree.moved_by_user = False
            self.follow = False
            self._reveal_target = None
        kept = tree.cursor_node.data if tree.cursor_node is not None and not self.follow else None
        if self._reveal_target is not None:  # a jump here: the tree may not have laid out its lines yet
            kept = self._reveal_target
        if kept is not None:
            self.call_after_refresh(self._keep_cursor, kept)
        with tree.batch():
            if self._filter or self._needs_rebuild:
                self._rebuild(now)
            else:
                self._apply(added, updated, removed, moved, now)
        self._write_log()

    def _apply(self, added: list[str], updated: list[str], removed: list[str], moved: list[str],
               now: float) -> None:
        nodes = self.forest.nodes
        items = self._items
        for exec_id in removed:
            self._remove_item(exec_id)
        fresh = set(added)
        for exec_id in [exec_id for exec_id in moved if exec_id not in fresh][-ADDS_PER_TICK:]:
            self._remove_item(exec_id)
            node = nodes.get(exec_id)
            if node is not None:
                self._show_subtree(node, now)
        newest: TreeNode[Data] | None = None
        for exec_id in added[-ADDS_PER_TICK:]:
            node = nodes.get(exec_id)
            if node is not None and exec_id not in items:
                item = self._show(node, now)
                if item is not None and node.seen_exec:
                    newest = item
        shown = [exec_id for exec_id in updated if exec_id in items]
        for exec_id in shown[-UPDATES_PER_TICK:]:
            item = items.get(exec_id)
            node = nodes.get(exec_id)
            if item is not None and node is not None:
                self.tree.relabel(item, process_join.mark_row(self.joiner, node, process_label(node, now)))
                item.allow_expand = self._expandable(node)
                self._refresh_event_leaves(item, node)
        if self.follow and newest is not None:
            self.tree.move_cursor(newest, animate=False)

    def _keep_cursor(self, data: Data) -> None:
        """Put the cursor back on its process (by exec id) once the tree has laid out its new lines:
        the tree's cursor is a line number, so rows added above it used to move it to another one."""
        tree = self.tree
        item = self._items.get(data[1]) if data[0] in ("proc", "event") else self._groups.get(data[1])
        if item is None or self.follow or tree.cursor_node is item:
            if data == self._reveal_target and (item is None or tree.cursor_node is item):
                self._reveal_target = None
            return
        if item.line >= 0:
            tree.move_cursor(item, animate=False)
            if data == self._reveal_target:
                tree.scroll_to_node(item, animate=False)

    def _sample_rate(self) -> None:
        now = self._clock() if self.live_clock else self.forest.clock
        samples = self._rate_samples
        samples.append((now, self.forest.counts["events"]))
        while len(samples) > 2 and samples[0][0] < now - RATE_WINDOW:
            samples.popleft()

    def events_per_second(self) -> float:
        samples = self._rate_samples
        if len(samples) < 2:
            return 0.0
        (t0, n0), (t1, n1) = samples[0], samples[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0

    # --- tree maintenance ------------------------------------------------------------------------

    def _group_item(self, node: ProcessNode) -> TreeNode[Data]:
        group: Group = node.group
        node_name, namespace, pod, container = group
        key: GroupKey = (node_name,)
        item = self._groups.get(key)
        if item is None:
            item = self.tree.root.add(group_label("node", group), data=("group", key), expand=True)
            self._groups[key] = item
        if not pod:
            return item
        ns_key = (node_name, namespace)
        ns_item = self._groups.get(ns_key)
        if ns_item is None:
            ns_item = item.add(group_label("namespace", group), data=("group", ns_key), expand=True)
            self._groups[ns_key] = ns_item
        pod_key = (node_name, namespace, pod, container)
        pod_item = self._groups.get(pod_key)
        if pod_item is None:
            image = node.image
            pod_item = ns_item.add(group_label("pod", group, image), data=("group", pod_key), expand=True)
            self._groups[pod_key] = pod_item
        return pod_item

    def _show(self, node: ProcessNode, now: float) -> TreeNode[Data] | None:
        """Add a tree item for `node` (and its display parents), respecting the caps."""
        if node.exec_id in self._items:
            return self._items[node.exec_id]
        if not self.show_kthreads and "kthread" in node.flags.split():
            self._kthreads_seen = True
            return None
        parent = self.forest.display_parent(node)
        if parent is not None and not self.show_kthreads and "kthread" in parent.flags.split():
            parent = None  # a user process a kernel thread started (modprobe): shown, under its group
        if parent is not None:
            parent_item = self._items.get(parent.exec_id) or self._show(parent, now)
            if parent_item is None:
                return None
            slot_key: GroupKey | str = parent.exec_id
        else:
            parent_item = self._group_item(node)
            slot_key = parent_item.data[1] if parent_item.data else ()
        shown = self._shown_children.setdefault(slot_key, {})
        if len(shown) >= CHILDREN_SHOWN:
            oldest = next(iter(shown))
            self._remove_item(oldest)
        if len(self._items) >= TREE_CAP:
            self._remove_item(next(iter(self._items)))
        item = parent_item.add(process_join.mark_row(self.joiner, node, process_label(node, now)),
                               data=("proc", node.exec_id), expand=True,
                               allow_expand=self._expandable(node))
        self._items[node.exec_id] = item
        shown[node.exec_id] = None
        if node.events:
            self._refresh_event_leaves(item, node)
        return item

    def _expandable(self, node: ProcessNode) -> bool:
        """Something would show below it: events, or a child in the same group (not one in a pod)."""
        if node.events:
            return True
        nodes = self.forest.nodes
        group = node.group
        return any((child := nodes.get(child_id)) is not None and child.group == group
                   for child_id in node.children)

    def _show_subtree(self, node: ProcessNode, now: float) -> None:
        stack = [node]
        while stack:
            current = stack.pop()
            if self._show(current, now) is None:
                continue
            for child_id in list(current.children)[-CHILDREN_SHOWN:]:
                child = self.forest.nodes.get(child_id)
                if child is not None and child.group == current.group:
                    stack.append(child)

    def _refresh_event_leaves(self, item: TreeNode[Data], node: ProcessNode) -> None:
        """Show the newest EVENT_LEAVES policy events under the process, relabelling existing leaves."""
        if getattr(item, "_event_count", 0) == node.event_count and not process_join.changed(self.joiner, item):
            return
        item._event_count = node.event_count  # type: ignore[attr-defined]
        kept = len(node.events or ())
        wanted = min(kept, EVENT_LEAVES)
        leaves = [child for child in item.children if child.data and child.data[0] == "event"]
        for leaf in leaves[wanted:]:
            leaf.remove()
        for offset, index in enumerate(range(kept - wanted, kept)):
            label = process_join.with_verdict(self.joiner, node, index, event_label(node, index))
            if offset < len(leaves):
                self.tree.relabel(leaves[offset], label)
            else:
                item.add_leaf(label, data=("event", node.exec_id))

    def _remove_item(self, exec_id: str) -> None:
        item = self._items.pop(exec_id, None)
        if item is None:
            return
        stack = list(item.children)
        while stack:
            child = stack.pop()
            if child.data and child.data[0] == "proc":
                self._items.pop(child.data[1], None)
                self._shown_children.pop(child.data[1], None)
            stack.extend(child.children)
        self._shown_children.pop(exec_id, None)
        parent = item.parent
        if parent is not None and parent.data:
            slot = parent.data[1]
            shown = self._shown_children.get(slot)
            if shown is not None:
                shown.pop(exec_id, None)
        item.remove()

    def _matches(self, node: ProcessNode) -> bool:
        needle = self._filter
        return (needle in node.binary.lower() or needle in node.arguments.lower()
                or needle in node.group[2].lower() or needle in node.group[1].lower())

    def _rebuild(self, now: float) -> None:
        """Rebuild the whole tree (filter changes, or more changes than an incremental update is worth)."""
        self._needs_rebuild = False
        tree = self.tree
        cursor = tree.cursor_node.data if tree.cursor_node is not None else None
        tree.clear()
        self._items.clear()
        self._groups.clear()
        self._shown_children.clear()
        nodes = list(self.forest.nodes.values())
        if self._filter:
            nodes = [node for node in nodes if self._matches(node)]
        for node in nodes[-TREE_CAP:]:
            self._show(node, now)
        target = None
        if cursor is not None:
            target = self._items.get(cursor[1]) if cursor[0] == "proc" else self._groups.get(cursor[1])
        if target is not None:
            tree.move_cursor(target, animate=False)

    # --- the log ---------------------------------------------------------------------------------

    def _take_pending(self) -> list[_LogEntry]:
        """Move what arrived since the last frame into the kept lines; the new entries (a count first)."""
        fresh: list[_LogEntry] = []
        if self._log_skipped:
            fresh.append(_LogEntry(_Skipped(self._log_skipped)))
            self._log_skipped = 0
        pending = self._log_pending
        while pending:
            fresh.append(_LogEntry(pending.popleft()))
        self._log_shown.extend(fresh)
        return fresh

    def _log_line(self, entry: _LogEntry) -> Text | None:
        """The entry's line as the settings show it now (None: filtered out, or a hidden kernel thread)."""
        item = entry.item
        if isinstance(item, _Skipped):
            return Text(f"{glyphs().ellipsis} {item.count:,} more events (not shown here)", style="dim")
        if isinstance(item, StreamGap):
            return Text(item.text(), style="bold yellow")
        if not self.show_kthreads and _kernel_thread_event(item):
            return None
        if entry.line is None or entry.timestamps != self.timestamps:
            self._render_event(entry)
        line = entry.line
        if line is None or (self._filter and not entry.always and self._filter not in line.plain.lower()):
            return None
        return line

    def _render_event(self, entry: _LogEntry) -> None:
        """Render once per setting (a filter change re-uses the line: typing stays cheap)."""
        response, first = entry.item, entry.line is None
        entry.timestamps = self.timestamps
        limited = rate_limit_line(response, timestamps=self.timestamps)
        if limited is not None:  # tetra cannot print it; ebtop says what the agent dropped, in place
            entry.line, entry.always = Text(limited, style="bold red"), True
            return
        try:
            line = render_text(response, timestamps=self.timestamps)
        except CompactEncodeError as error:
            self._render_errors += first  # counted once per event, not once per rewrite
            entry.line, entry.always = Text(f"(cannot render: {error})", style="dim"), True
            return
        if glyphs() is ASCII:
            line = line[strip_leading_emoji(line.plain):]  # tetra's emoji: the event word follows
            line.plain = ascii_text(line.plain)  # same length: the styles stay where they were
        entry.line = line

    def _log_write(self, entries: list[_LogEntry], *, clear: bool = False) -> None:
        """One RichLog write (each write renders and re-measures: per-line writes cost ~ms)."""
        log = self.query_one("#process-log", RichLog)
        if clear:
            log.clear()
        lines = [line for entry in entries if (line := self._log_line(entry)) is not None]
        if not lines:
            return
        joined = _NEWLINE.join(lines)
        if glyphs() is ASCII:
            joined.overflow = "crop"  # Rich's cut mark is `…`
        log.write(joined)

    def _write_log(self) -> None:
        """The frame's new lines; a hidden log keeps them for when it is shown again."""
        fresh = self._take_pending()
        if fresh and self.query_one("#process-log", RichLog).display:
            self._log_write(fresh)

    def _rewrite_log(self) -> None:
        """Write the kept lines again as the settings now show them (filter, timestamps, kernel threads)."""
        self._take_pending()
        if self.is_mounted and self.query_one("#process-log", RichLog).display:
            self._log_write(list(self._log_shown), clear=True)

    # --- actions ---------------------------------------------------------------------------------

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow

    def follow_newest(self) -> None:
        """End: follow again, at the newest exec."""
        self.follow = True
        self.tree.moved_by_user = False
        newest = next((item for exec_id, item in reversed(self._items.items())
                       if (node := self.forest.nodes.get(exec_id)) is not None and node.seen_exec), None)
        if newest is not None:
            self.tree.move_cursor(newest, animate=False)
            self.tree.scroll_to_node(newest, animate=False)

    def action_step_view(self, step: int) -> None:
        """v / V: the tree and the policies view (the only two views here)."""
        self.action_toggle_policies()

    def focus_default(self) -> None:
        """The tree, never the hidden filter box (with it `q` and every key went into the filter)."""
        self.tree.focus()

    def action_toggle_timestamps(self) -> None:
        self.timestamps = not self.timestamps
        self._rewrite_log()

    def action_toggle_kthreads(self) -> None:
        """K: show or hide kernel threads (htop's key); the tree is rebuilt on the next frame."""
        self.show_kthreads = not self.show_kthreads
        self._needs_rebuild = True
        if self.is_mounted:
            self.refresh_view()
            self._rewrite_log()

    def action_toggle_log(self) -> None:
        """e: the event log on or off; off, it is not written (shown again, it is rewritten)."""
        log = self.query_one("#process-log", RichLog)
        log.display = not log.display
        if log.display:
            self.call_after_refresh(self._rewrite_log)  # once laid out again: lines cut at its width

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`/` typed in the box is text (the priority binding steps aside)."""
        return not (action == "filter" and self.is_mounted
                    and self.screen.focused is self.query_one("#process-filter", Input))

    def action_filter(self) -> None:
        self.add_class("-filtering")
        box = self.query_one("#process-filter", Input)
        box.display = True  # now, not at the next style update: a hidden box refuses focus
        self.screen.set_focus(box)  # at once: typed-ahead keys go in

    def action_clear_filter(self) -> None:
        box = self.query_one("#process-filter", Input)
        if self.has_class("-policies") and self.screen.focused is not box:
            self.action_toggle_policies()  # Esc leaves the view first
            return
        if not (self._filter or box.value or self.has_class("-filtering")):
            jump_back(self)  # nothing of its own to clear: back where a jump came from (Syscalls, Flows)
            return
        box.value = ""
        self._filter = ""
        self.remove_class("-filtering")
        box.display = False  # undo action_filter's inline display
        self._needs_rebuild = True
        self.refresh_view()
        self._rewrite_log()
        self.tree.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "process-filter":
            return
        needle = event.value.strip().lower()
        if needle == self._filter:
            return
        self._filter = needle
        self._needs_rebuild = True
        self.refresh_view()
        self._rewrite_log()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "process-filter":
            self.tree.focus()

    def on_tree_node_selected(self, event: Tree.NodeSelected[Data]) -> None:
        data = event.node.data
        if data and data[0] in ("proc", "event"):
            self._open_details(data[1])
        else:
            event.node.toggle()

    def action_details(self) -> None:
        node = self.tree.cursor_node
        if node is not None and node.data and node.data[0] in ("proc", "event"):
            self._open_details(node.data[1])

    def _open_details(self, exec_id: str) -> None:
        node = self.forest.get(exec_id)
        if node is None:
            self.notify("that process has been pruned", severity="warning")
            return
        self.app.push_screen(ProcessDetailScreen(f"process {node.pid}", process_join.with_connections(
            self.joiner, node, detail_text(self.forest, node, self.now()))))

    def reveal(self, exec_id: str) -> bool:
        """Show and select one process (the Flows pane jumps here); False when the forest lacks it."""
        node = self.forest.get(exec_id)
        item = self._show(node, self.now()) if node is not None else None
        if item is None:
            return False
        parent = item.parent
        while parent is not None:
            parent.expand()
            parent = parent.parent
        self.follow = False
        self.tree.move_cursor(item, animate=False)
        self.tree.scroll_to_node(item, animate=False)
        # A tree never shown (the jump comes from another tab) has no lines yet: its cursor lands on
        # line 0 until layout; the next ticks put it on the process (see refresh_view, _keep_cursor).
        self._reveal_target = ("proc", node.exec_id)
        self.call_after_refresh(self._keep_cursor, self._reveal_target)
        return True

    def select_pid(self, pid: int) -> bool:
        """Select the live process with this pid (the Syscalls pane's Enter jumps here); False when unknown.

        A pid may be known on several nodes: the local host's entry is preferred."""
        import socket

        matches = [(node != socket.gethostname(), exec_id) for (node, known), exec_id in self.forest.by_pid.items()
                   if known == pid]
        return any(self.reveal(exec_id) for _, exec_id in sorted(matches))

    def action_jump_pod(self) -> None:
        """Move to the next pod group after the cursor (wrapping), expanding it."""
        pods = [item for key, item in self._groups.items() if len(key) == 4]
        if not pods:
            self.notify("no pods yet", severity="information")
            return
        tree = self.tree
        pods.sort(key=lambda item: item.line if item.line >= 0 else 1 << 30)
        current = tree.cursor_line
        target = next((item for item in pods if item.line > current), pods[0])
        parent = target.parent
        while parent is not None:
            parent.expand()
            parent = parent.parent
        target.expand()
        self.follow = False
        tree.move_cursor(target, animate=False)
        tree.scroll_to_node(target, animate=False)

    # --- status ----------------------------------------------------------------------------------

    def alarm_parts(self) -> list[str]:
        """Losses first on the status line: the agent's rate limit, ebtop's drops, the sources' losses."""
        parts = []
        if self.forest.rate_limited:
            parts.append(f"agent rate limit dropped {count_text(self.forest.rate_limited)}")
        if self.dropped_by_ebtop():
            parts.append(f"dropped by ebtop {count_text(self.dropped_by_ebtop())}")
        if self._render_errors:
            parts.append(f"{count_text(self._render_errors)} unrenderable")
        return parts + [part for source in self.sources if source is not self.state
                        for part in self.source_alarms(source)]

    def status_parts(self) -> list[str]:
        parts = ["Processes", f"{self.events_per_second():,.0f} ev/s", f"{count_text(len(self.forest))} procs"]
        if not self.dropped_by_ebtop():
            parts.append("dropped by ebtop 0")
        if self._policies:
            rows = policy_rows(self._policies)
            failed = sum(row.failed for row in rows)
            parts.append(f"{len(rows)} policies" + (f", {failed} FAILED" if failed else ""))
        for source in self.sources:
            if source is not self.state:
                parts += self.source_parts(source)
        cached = self.forest.counts.get("cached", 0)
        if cached:
            parts.append(f"{count_text(cached)} from the agent's cache")
        if self.forest.skewed:  # events dated far ahead (a fast node clock): taken as now
            parts.append(f"{count_text(self.forest.skewed)} dated ahead")
        if self._filter:
            parts.append(f"filter '{self._filter}'")
        if not self.follow:
            parts.append("follow off")
        if self._kthreads_seen and not self.show_kthreads:
            parts.append("kernel threads hidden (K)")
        return parts
