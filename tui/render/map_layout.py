"""Lay out the service map in a character grid: layered left to right, namespaces as framed groups.

A small Sugiyama-style layout, pure and deterministic:
1. layers: the longest path from the nodes nobody calls, so clients sit left and data stores right
   (edges that close a cycle are left out of the drawing; the edge list still has them);
2. an edge that skips layers passes through one bundled waypoint per (source, layer), so a source's
   long edges share one line until they split;
3. order within a column: namespace groups and waypoints by the barycentre of what feeds them, a few
   sweeps down and up to remove crossings; names break ties;
4. drawing: each group is a frame titled with its namespace, one row per node; edges leave the
   frame's right border, run on their own vertical track in the gap between columns and end in an
   arrow at the target's row. Crossing lines merge into box-drawing junctions (ASCII under LANG=C).
The layout depends on which edges exist and on names only, never on rates: a node does not move
when its traffic changes, only when the topology does.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from tui.render.trim import trim_middle

# Directions of a line cell, combined as bits.
N, E, S, W = 1, 2, 4, 8
UNICODE_LINES = {0: " ", N: "│", S: "│", N | S: "│", E: "─", W: "─", E | W: "─", N | E: "└", N | W: "┘",
                 S | E: "┌", S | W: "┐", N | S | E: "├", N | S | W: "┤", E | W | N: "┴", E | W | S: "┬",
                 N | E | S | W: "┼"}
ASCII_LINES = {bits: ("|" if char == "│" else "-" if char == "─" else "+" if char != " " else " ")
               for bits, char in UNICODE_LINES.items()}
SEVERITY = {"healthy": 0, "erroring": 1, "dropping": 2}
ARROWS = {True: {"healthy": "▶", "erroring": "!", "dropping": "✖"}, False: {"healthy": ">", "erroring": "!",
                                                                           "dropping": "X"}}
MAX_NAME = 28
GAP_ROWS = 1
MIN_NAME = 10


@dataclass(frozen=True)
class LayoutNode:
    key: Hashable
    name: str
    group: str


@dataclass(frozen=True)
class LayoutEdge:
    client: Hashable
    server: Hashable
    state: str = "healthy"


@dataclass
class Placed:
    """Where a node landed: column, row, and the x range of its frame (name from x0 + 2)."""

    column: int
    row: int
    x0: int
    x1: int


@dataclass
class MapLayout:
    """The drawn map: rows of (text, role) runs, and where each node is."""

    rows: list[list[tuple[str, str]]]
    placed: dict[Hashable, Placed]
    width: int
    columns: list[list[Hashable]] = field(default_factory=list)
    """Real nodes per column, top to bottom (for arrow-key navigation)."""
    hidden_edges: int = 0
    """Edges that close a cycle or loop on one node: in the edge list, not drawn."""


@dataclass
class _Item:
    """A column entry: a group frame holding nodes, or one waypoint of bundled long edges."""

    group: str
    nodes: list[Hashable]
    waypoint: bool = False
    row: int = 0

    def height(self) -> int:
        return 1 if self.waypoint else len(self.nodes) + 2


def _layers(nodes: Sequence[LayoutNode], edges: Sequence[LayoutEdge]) -> tuple[dict[Hashable, int], list[LayoutEdge]]:
    """Longest-path layers over the edges that do not close a cycle (DFS in name order)."""
    order = sorted(nodes, key=lambda n: (n.group, n.name))
    outgoing: dict[Hashable, list[Hashable]] = {n.key: [] for n in order}
    names = {n.key: (n.group, n.name) for n in order}
    for edge in edges:
        if edge.client != edge.server and edge.client in outgoing and edge.server in outgoing:
            outgoing[edge.client].append(edge.server)
    for targets in outgoing.values():
        targets.sort(key=lambda k: names[k])
    state: dict[Hashable, int] = {}
    back: set[tuple[Hashable, Hashable]] = set()
    for root in order:
        if root.key in state:
            continue
        stack = [(root.key, iter(outgoing[root.key]))]
        state[root.key] = 1
        while stack:
            key, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[key] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.add((key, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(outgoing[child])))
    kept = [e for e in edges if e.client != e.server and (e.client, e.server) not in back
            and e.client in outgoing and e.server in outgoing]
    incoming: dict[Hashable, list[Hashable]] = {n.key: [] for n in order}
    for edge in kept:
        incoming[edge.server].append(edge.client)
    layer: dict[Hashable, int] = {}

    def depth(key: Hashable) -> int:  # iterative longest path (graphs can be deep)
        pending = [key]
        while pending:
            top = pending[-1]
            missing = [p for p in incoming[top] if p not in layer]
            if missing:
                pending.extend(missing)
                continue
            pending.pop()
            layer[top] = max((layer[p] + 1 for p in incoming[top]), default=0)
        return layer[key]

    for node in order:
        depth(node.key)
    return layer, kept


def layout(nodes: Sequence[LayoutNode], edges: Sequence[LayoutEdge], *, unicode: bool = True,
           max_name: int = MAX_NAME, sweeps: int = 4) -> MapLayout:
    """Place and draw the map; `max_name` caps a node name's cells (longer ones lose their middle)."""
    info = {n.key: n for n in nodes}
    layer, kept = _layers(nodes, edges)
    hidden = len(edges) - len(kept)
    depth = max(layer.values(), default=-1) + 1
    # Segments between adjacent columns, long edges through bundled waypoints ("w", source, column).
    segments: dict[tuple[Hashable, Hashable], str] = {}
    for edge in kept:
        start, end = layer[edge.client], layer[edge.server]
        chain = [edge.client] + [("w", edge.client, c) for c in range(start + 1, end)] + [edge.server]
        for a, b in zip(chain, chain[1:], strict=False):
            old = segments.get((a, b))
            if old is None or SEVERITY.get(edge.state, 0) > SEVERITY.get(old, 0):
                segments[(a, b)] = edge.state
    columns: list[list[_Item]] = [[] for _ in range(depth)]
    column_of: dict[Hashable, int] = {}
    for column in range(depth):
        groups: dict[str, _Item] = {}
        for node in sorted((n for n in nodes if layer.get(n.key) == column), key=lambda n: (n.group, n.name)):
            groups.setdefault(node.group, _Item(node.group, [])).nodes.append(node.key)
            column_of[node.key] = column
        columns[column].extend(groups.values())
    waypoints = sorted({a for a, _ in segments if isinstance(a, tuple) and a and a[0] == "w"}
                       | {b for _, b in segments if isinstance(b, tuple) and b and b[0] == "w"}, key=repr)
    for point in waypoints:
        columns[point[2]].append(_Item("", [point], waypoint=True))  # type: ignore[index]
        column_of[point] = point[2]  # type: ignore[index]
    preds: dict[Hashable, list[Hashable]] = {}
    succs: dict[Hashable, list[Hashable]] = {}
    for a, b in segments:
        preds.setdefault(b, []).append(a)
        succs.setdefault(a, []).append(b)
    position: dict[Hashable, float] = {}

    def number(column: list[_Item]) -> None:
        index = 0
        for item in column:
            for key in item.nodes:
                position[key] = index
                index += 1

    def name_of(key: Hashable) -> tuple[str, str]:
        node = info.get(key)
        return (node.group, node.name) if node is not None else ("~", repr(key))

    def reorder(column: list[_Item], neighbours: dict[Hashable, list[Hashable]]) -> None:
        def centre(key: Hashable) -> float:
            around = [position[k] for k in neighbours.get(key, ()) if k in position]
            return sum(around) / len(around) if around else position.get(key, 0.0)
        for item in column:
            item.nodes.sort(key=lambda k: (centre(k), name_of(k)))
        column.sort(key=lambda item: (sum(centre(k) for k in item.nodes) / len(item.nodes), item.group,
                                      name_of(item.nodes[0])))

    for column in columns:
        number(column)
    for sweep in range(sweeps):
        indices = range(1, depth) if sweep % 2 == 0 else range(depth - 2, -1, -1)
        for index in indices:
            reorder(columns[index], preds if sweep % 2 == 0 else succs)
            number(columns[index])
    return _draw(columns, info, segments, column_of, unicode=unicode, max_name=max_name, hidden=hidden)


def _draw(columns: list[list[_Item]], info: dict[Hashable, LayoutNode],
          segments: dict[tuple[Hashable, Hashable], str], column_of: dict[Hashable, int], *, unicode: bool,
          max_name: int, hidden: int) -> MapLayout:
    # Rows: items stacked top-down in each column.
    row_of: dict[Hashable, int] = {}
    height = 0
    for column in columns:
        row = 0
        for position, item in enumerate(column):
            if position and not item.waypoint and not column[position - 1].waypoint:
                row += GAP_ROWS  # air between two frames of one column
            item.row = row
            if item.waypoint:
                row_of[item.nodes[0]] = row
            else:
                for offset, key in enumerate(item.nodes, 1):
                    row_of[key] = row + offset
            row += item.height()
        height = max(height, row)
    # Column widths and channel tracks.
    widths = []
    for column in columns:
        names = [len(trim_middle(info[k].name, max_name)) for item in column if not item.waypoint for k in item.nodes]
        titles = [min(len(item.group), max_name) + 2 for item in column if not item.waypoint]
        widths.append(max([MIN_NAME, *names, *titles]) + 4)
    by_column: dict[int, set[Hashable]] = {}
    for a, _ in segments:
        by_column.setdefault(column_of[a], set()).add(a)
    tracks: list[dict[Hashable, int]] = []
    for index in range(len(columns) - 1):
        sources = sorted(by_column.get(index, ()), key=lambda k: row_of[k])
        tracks.append({key: offset for offset, key in enumerate(sources)})
    x_of = []
    x = 0
    for index, width in enumerate(widths):
        x_of.append(x)
        x += width + (len(tracks[index]) + 4 if index < len(tracks) else 0)
    total = x
    lines = [[0] * total for _ in range(height)]
    severity = [[-1] * total for _ in range(height)]
    text: list[list[tuple[str, str] | None]] = [[None] * total for _ in range(height)]

    def line(r: int, c: int, bits: int, state: str) -> None:
        lines[r][c] |= bits
        severity[r][c] = max(severity[r][c], SEVERITY.get(state, 0))

    def hline(r: int, a: int, b: int, state: str) -> None:
        for c in range(min(a, b), max(a, b) + 1):
            bits = (W if c > min(a, b) else 0) | (E if c < max(a, b) else 0)
            line(r, c, bits, state)

    def vline(c: int, a: int, b: int, state: str) -> None:
        for r in range(min(a, b), max(a, b) + 1):
            bits = (N if r > min(a, b) else 0) | (S if r < max(a, b) else 0)
            line(r, c, bits, state)

    glyph = UNICODE_LINES if unicode else ASCII_LINES
    waypoint_state: dict[Hashable, str] = {}
    for (a, b), state in segments.items():
        for end in (a, b):
            if isinstance(end, tuple) and end and end[0] == "w":
                old = waypoint_state.get(end)
                if old is None or SEVERITY.get(state, 0) > SEVERITY.get(old, 0):
                    waypoint_state[end] = state
    placed: dict[Hashable, Placed] = {}
    frame_bits: dict[tuple[int, int], int] = {}
    for index, column in enumerate(columns):
        x0, width = x_of[index], widths[index]
        x1 = x0 + width - 1
        for item in column:
            if item.waypoint:
                hline(item.row, x0 - 1, x1 + 1, waypoint_state.get(item.nodes[0], "healthy"))
                continue
            top, bottom = item.row, item.row + item.height() - 1
            for c in range(x0, x1 + 1):
                frame_bits[(top, c)] = (E if c < x1 else 0) | (W if c > x0 else 0) | (S if c in (x0, x1) else 0)
                frame_bits[(bottom, c)] = (E if c < x1 else 0) | (W if c > x0 else 0) | (N if c in (x0, x1) else 0)
            for r in range(top + 1, bottom):
                frame_bits[(r, x0)] = N | S
                frame_bits[(r, x1)] = N | S
            title = f" {trim_middle(item.group, max(1, width - 6))} "
            for offset, char in enumerate(title):
                text[top][x0 + 2 + offset] = (char, "group")
            for key in item.nodes:
                r = row_of[key]
                name = trim_middle(info[key].name, width - 4)
                for offset, char in enumerate(name.ljust(width - 4)):
                    text[r][x0 + 2 + offset] = (char, "node")
                placed[key] = Placed(index, r, x0, x1)
    # Edges through the channels.
    arrows = ARROWS[unicode]
    arrow_state: dict[tuple[int, int], str] = {}
    for (a, b), state in sorted(segments.items(), key=lambda item: repr(item[0])):
        index = column_of[a]
        x_right = x_of[index] + widths[index] - 1  # the left item's right border (or waypoint end)
        track_x = x_right + 2 + tracks[index][a]
        target_x = x_of[index + 1]  # the right item's left border (or waypoint start)
        r1, r2 = row_of[a], row_of[b]
        hline(r1, x_right + 1, track_x, state)
        vline(track_x, r1, r2, state)
        hline(r2, track_x, target_x - 1, state)
        if not isinstance(b, tuple) or not b or b[0] != "w":
            old = arrow_state.get((r2, target_x - 1))
            if old is None or SEVERITY.get(state, 0) > SEVERITY.get(old, 0):
                arrow_state[(r2, target_x - 1)] = state
                text[r2][target_x - 1] = (arrows.get(state, arrows["healthy"]), f"edge:{state}")
        if not isinstance(a, tuple) or not a or a[0] != "w":
            frame_bits[(r1, x_right)] = frame_bits.get((r1, x_right), 0) | E
    states = {v: k for k, v in SEVERITY.items()}
    rows: list[list[tuple[str, str]]] = []
    for r in range(height):
        runs: list[tuple[str, str]] = []
        for c in range(total):
            cell = text[r][c]
            if cell is not None:
                char, role = cell
            elif (r, c) in frame_bits:
                char, role = glyph[frame_bits[(r, c)]], "frame"
            elif lines[r][c]:
                char, role = glyph[lines[r][c]], f"edge:{states[severity[r][c]]}"
            else:
                char, role = " ", ""
            if runs and runs[-1][1] == role:
                runs[-1] = (runs[-1][0] + char, role)
            else:
                runs.append((char, role))
        rows.append(runs)
    node_columns = [[k for item in column if not item.waypoint for k in item.nodes] for column in columns]
    for column in node_columns:
        column.sort(key=lambda k: row_of[k])
    return MapLayout(rows, placed, total, node_columns, hidden)


# -- the fallback: a grouped edge list ---------------------------------------------------------------
MAX_DRAWN_NODES = 60
MAX_DRAWN_EDGES = 200


@dataclass(frozen=True)
class ListedEdge:
    """One line of the edge list: its client, what it reaches, and its health."""

    client: Hashable
    text: str
    state: str = "healthy"


def too_big_to_draw(node_count: int, edge_count: int) -> bool:
    """A graph this large is slower to lay out than a frame and wider than any screen: list it instead."""
    return node_count > MAX_DRAWN_NODES or edge_count > MAX_DRAWN_EDGES


def edge_list(nodes: Sequence[LayoutNode], edges: Sequence[ListedEdge], *, unicode: bool = True) -> MapLayout:
    """The map as text: one block per namespace, each calling node with its outgoing edges under it.

    Nodes are placed in one column, so the same navigation (up/down, Enter for the edges) works.
    """
    arrows = ARROWS[unicode]
    rule = "─" if unicode else "-"
    outgoing: dict[Hashable, list[ListedEdge]] = {}
    for edge in edges:
        outgoing.setdefault(edge.client, []).append(edge)
    rows: list[list[tuple[str, str]]] = []
    placed: dict[Hashable, Placed] = {}
    order: list[Hashable] = []
    width = 0
    by_group: dict[str, list[LayoutNode]] = {}
    for node in sorted(nodes, key=lambda n: (n.group, n.name)):
        if node.key in outgoing:
            by_group.setdefault(node.group, []).append(node)
    for group, members in by_group.items():
        rows.append([(f"{rule * 2} ", "frame"), (group, "group"), (f" {rule * 2}", "frame")])
        for node in members:
            placed[node.key] = Placed(0, len(rows), -1, len(node.name) + 2)
            order.append(node.key)
            rows.append([(" ", ""), (node.name, "node")])
            for edge in outgoing[node.key]:
                rows.append([("    ", ""), (arrows.get(edge.state, arrows["healthy"]) + " ", f"edge:{edge.state}"),
                             (edge.text, "")])
        rows.append([])
    for row in rows:
        width = max(width, sum(len(text) for text, _ in row))
    return MapLayout(rows, placed, width, [order], 0)
