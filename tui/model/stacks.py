"""Sampled stacks counted per process: top functions, a call tree, an icicle layout, folded lines.

Plain data, no I/O. The profile source resolves addresses to `Frame`s and hands over one
`ProfileInterval` per read; `StackCounts` keeps at most `max_stacks` distinct stacks (later new
ones are counted under one `[other stacks]` frame per process, and the number folded is kept), so
hours of sampling keep memory flat. Stacks are root first, the order folded files use:
`comm;outermost;...;leaf COUNT`, the input of flamegraph.pl, inferno and speedscope.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

MAX_STACKS = 10_000


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame: a function name, or `module+0xoffset` when it cannot be named (`named=False`)."""

    name: str
    module: str
    named: bool = True
    kernel: bool = False


OTHER = Frame("[other stacks]", "[ebtop]", named=True)


@dataclass(frozen=True, slots=True)
class StackSample:
    """`count` samples of one stack in one process; `pod` is `namespace/name` when known."""

    pid: int
    comm: str
    frames: tuple[Frame, ...]
    count: int
    cgroup: int = 0
    container: str = ""
    pod: str = ""


@dataclass(frozen=True)
class ProfileInterval:
    """What one read of the kernel's counts brought: stacks plus the sampler's own numbers."""

    samples: list[StackSample]
    seconds: float
    taken: int = 0  # samples the perf event fired (all CPUs, idle included)
    idle: int = 0
    lost_stacks: int = 0  # stack map full or a stack collision
    map_full: int = 0  # samples not counted: the count map was full


@dataclass(frozen=True)
class Scope:
    """What the profile is limited to: everything, one process, one container or one pod."""

    kind: str = "all"  # all | pid | container | pod
    value: str | int = ""

    def matches(self, sample: StackSample) -> bool:
        if self.kind == "pid":
            return sample.pid == self.value
        if self.kind == "container":
            return sample.container == self.value
        if self.kind == "pod":
            return sample.pod == self.value
        return True

    def label(self) -> str:
        return "all processes" if self.kind == "all" else f"{self.kind} {self.value}"


@dataclass
class FunctionRow:
    name: str
    module: str
    self_count: int
    total_count: int
    named: bool


@dataclass
class Node:
    """A call-tree node: samples through it (`count`) and samples ending in it (`self_count`)."""

    name: str
    module: str = ""
    count: int = 0
    self_count: int = 0
    named: bool = True
    children: dict[str, Node] = field(default_factory=dict)

    def child(self, frame: Frame) -> Node:
        node = self.children.get(frame.name)
        if node is None:
            node = self.children[frame.name] = Node(frame.name, frame.module, named=frame.named)
        return node

    def sorted_children(self) -> list[Node]:
        return sorted(self.children.values(), key=lambda n: (-n.count, n.name))

    def find(self, path: tuple[str, ...]) -> Node | None:
        node: Node | None = self
        for name in path:
            node = node.children.get(name) if node is not None else None
        return node


@dataclass(frozen=True, slots=True)
class Cell:
    """One frame drawn in an icicle row: columns [x, x + width), and the path that reaches it."""

    x: int
    width: int
    node: Node
    path: tuple[str, ...]


def matches_text(sample: StackSample, text: str) -> bool:
    """`/` filter: a function or binary name (case-insensitive substring), or the comm."""
    needle = text.lower()
    if needle in sample.comm.lower():
        return True
    return any(needle in f.name.lower() or needle in f.module.lower() for f in sample.frames)


def zoomed(frames: tuple[Frame, ...], function: str) -> tuple[Frame, ...] | None:
    """The part of a stack from the first frame named `function` down; None when it is not there."""
    for index, frame in enumerate(frames):
        if frame.name == function:
            return frames[index:]
    return None


class StackCounts:
    """Distinct stacks and their sample counts, bounded, with the views the Profile pane draws."""

    def __init__(self, max_stacks: int = MAX_STACKS) -> None:
        self.max_stacks = max_stacks
        self.counts: dict[tuple[int, str, int, str, str, tuple[Frame, ...]], int] = {}
        self.clear()

    def clear(self) -> None:
        """Forget every count (the pane's clear key); totals restart from zero."""
        self.counts = {}
        self.total = 0
        self.folded_away = 0  # samples counted under [other stacks] because the bound was reached
        self.frames_seen = 0  # frames weighted by samples
        self.frames_unnamed = 0
        self.taken = self.idle = self.lost_stacks = self.map_full = 0
        self.seconds = 0.0
        self.intervals = 0

    # -- filling --------------------------------------------------------------------------------
    def add_interval(self, interval: ProfileInterval) -> None:
        self.add(interval.samples)
        self.taken += interval.taken
        self.idle += interval.idle
        self.lost_stacks += interval.lost_stacks
        self.map_full += interval.map_full
        self.seconds += interval.seconds
        self.intervals += 1

    def add(self, samples: Iterable[StackSample]) -> None:
        for sample in samples:
            key = (sample.pid, sample.comm, sample.cgroup, sample.container, sample.pod, sample.frames)
            if key not in self.counts and len(self.counts) >= self.max_stacks:
                key = (*key[:5], (OTHER,))
                self.folded_away += sample.count
            self.counts[key] = self.counts.get(key, 0) + sample.count
            self.total += sample.count
            self.frames_seen += sample.count * len(sample.frames)
            self.frames_unnamed += sample.count * sum(1 for f in sample.frames if not f.named)

    @property
    def unnamed_share(self) -> float:
        return self.frames_unnamed / self.frames_seen if self.frames_seen else 0.0

    # -- selecting ------------------------------------------------------------------------------
    def samples(self, scope: Scope | None = None, text: str = "", zoom: str = "") -> list[StackSample]:
        """Stacks in `scope` that match `text`, cut to start at `zoom` when given."""
        out = []
        for (pid, comm, cgroup, container, pod, frames), count in self.counts.items():
            sample = StackSample(pid, comm, frames, count, cgroup, container, pod)
            if scope is not None and not scope.matches(sample):
                continue
            if text and not matches_text(sample, text):
                continue
            if zoom:
                cut = zoomed(frames, zoom)
                if cut is None:
                    continue
                sample = StackSample(pid, comm, cut, count, cgroup, container, pod)
            out.append(sample)
        return out

    def processes(self) -> list[tuple[int, str, int]]:
        """(pid, comm, samples), busiest first: what the scope key steps through."""
        seen: Counter[tuple[int, str]] = Counter()
        for (pid, comm, *_rest), count in self.counts.items():
            seen[(pid, comm)] += count
        return [(pid, comm, n) for (pid, comm), n in seen.most_common()]

    def groups(self, kind: str) -> list[tuple[str, int]]:
        """Containers or pods with samples, busiest first."""
        index = 3 if kind == "container" else 4
        seen: Counter[str] = Counter()
        for key, count in self.counts.items():
            if key[index]:
                seen[key[index]] += count
        return seen.most_common()


# -- views over a selection (pure functions, so batch, pane and tests share them) -----------------
def total_of(samples: Iterable[StackSample]) -> int:
    return sum(s.count for s in samples)


def top_functions(samples: Iterable[StackSample], limit: int | None = None) -> list[FunctionRow]:
    """Per function: samples where it is the leaf (self) and samples with it anywhere (total, once
    per stack even when it recurses), sorted by self then total."""
    self_counts: Counter[tuple[str, str]] = Counter()
    total_counts: Counter[tuple[str, str]] = Counter()
    named: dict[tuple[str, str], bool] = {}
    for sample in samples:
        if not sample.frames:
            continue
        leaf = sample.frames[-1]
        self_counts[(leaf.name, leaf.module)] += sample.count
        for frame in {(f.name, f.module): f for f in sample.frames}.values():
            key = (frame.name, frame.module)
            total_counts[key] += sample.count
            named[key] = frame.named
    rows = [FunctionRow(name, module, self_counts[(name, module)], total, named[(name, module)])
            for (name, module), total in total_counts.items()]
    rows.sort(key=lambda r: (-r.self_count, -r.total_count, r.name))
    return rows[:limit] if limit is not None else rows


def call_tree(samples: Iterable[StackSample], by_comm: bool = True) -> Node:
    """Callers -> callees from the root; the first level is the process name unless `by_comm` is off."""
    root = Node("all")
    for sample in samples:
        node = root
        node.count += sample.count
        frames = sample.frames
        if by_comm:
            node = node.child(Frame(sample.comm, "[comm]"))
            node.count += sample.count
        for frame in frames:
            node = node.child(frame)
            node.count += sample.count
        node.self_count += sample.count
    return root


def tree_rows(root: Node, expanded: set[tuple[str, ...]], min_count: int = 0) -> list[tuple[int, tuple[str, ...], Node]]:
    """(depth, path, node) of the rows a foldable tree shows: children of expanded paths only."""
    rows: list[tuple[int, tuple[str, ...], Node]] = []

    def walk(node: Node, path: tuple[str, ...], depth: int) -> None:
        for child in node.sorted_children():
            if child.count < min_count:
                continue
            child_path = (*path, child.name)
            rows.append((depth, child_path, child))
            if child_path in expanded:
                walk(child, child_path, depth + 1)

    walk(root, (), 0)
    return rows


def hot_path(root: Node, share: float = 0.5) -> set[tuple[str, ...]]:
    """The paths to expand first: follow the busiest child while it holds `share` of its parent."""
    paths: set[tuple[str, ...]] = set()
    node, path = root, ()
    while node.children:
        best = node.sorted_children()[0]
        if node.count and best.count < share * node.count:
            break
        path = (*path, best.name)
        paths.add(path)
        node = best
    return paths


def icicle(root: Node, width: int, depth: int) -> list[list[Cell]]:
    """Rows of cells, root first; each node's width is its share of `width` (at least 1 column),
    children laid out left to right, busiest first; nodes that would round to 0 columns are left out."""
    rows: list[list[Cell]] = [[] for _ in range(depth)]
    if root.count <= 0 or width <= 0 or depth <= 0:
        return rows
    rows[0].append(Cell(0, width, root, ()))

    def place(node: Node, path: tuple[str, ...], x: int, w: int, level: int) -> None:
        if level >= depth:
            return
        offset = 0
        for child in node.sorted_children():
            cw = round(w * child.count / node.count) if node.count else 0
            cw = min(cw, w - offset)
            if cw < 1:
                break
            child_path = (*path, child.name)
            rows[level].append(Cell(x + offset, cw, child, child_path))
            place(child, child_path, x + offset, cw, level + 1)
            offset += cw

    place(root, (), 0, width, 1)
    return rows


def folded_lines(samples: Iterable[StackSample]) -> list[str]:
    """`comm;frame;...;frame COUNT`, one line per distinct (comm, stack), busiest first."""
    merged: Counter[str] = Counter()
    for sample in samples:
        names = [fold_name(sample.comm), *(fold_name(f.name) for f in sample.frames)]
        merged[";".join(names)] += sample.count
    return [f"{stack} {count}" for stack, count in sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))]


def fold_name(name: str) -> str:
    """A frame name safe in a folded line: no `;` (the separator) and no control characters (flamegraph.pl splits the count off at the last space)."""
    cleaned = "".join(c if c.isprintable() and c != ";" else "_" for c in name)
    return cleaned or "_"
