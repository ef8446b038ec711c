"""The Flows pane's service map view: the drawn map, node navigation, edge lists and edge drill-down.

The picture comes from `tui.render.map_layout` (pure); this module only paints it and handles keys.
The layout is recomputed when the topology changes (nodes, edges, their health) or the width does,
never because a rate moved, so nodes stay put from frame to frame. Arrows move between nodes (the
view scrolls to keep the selected one on screen), Enter lists the selected node's edges, Enter on an
edge shows the flows of that edge, Esc returns; `g` shows every namespace or one; the pane's `/` keeps
the nodes whose name holds the text, with their edges and the peers at the other ends.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.geometry import Region, Size
from textual.message import Message
from textual.screen import ModalScreen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option

from tui.model.flow_aggregates import digest
from tui.model.flows import FlowRecord, FlowStore, RecordKind
from tui.model.map_digest import KIND_WORKLOAD, MapNode
from tui.model.service_map import MapEdge, MapSnapshot
from tui.render.glyphs import UNICODE, glyphs
from tui.render.map_layout import (
    MAX_DRAWN_EDGES,
    MAX_DRAWN_NODES,
    LayoutEdge,
    LayoutNode,
    ListedEdge,
    MapLayout,
    edge_list,
    layout,
    too_big_to_draw,
)
from tui.render.safe import escape_control


def node_text(node: MapNode) -> str:
    """What `/` matches a map node against: its label (namespace/name, or the reserved identity), its group."""
    return f"{escape_control(node.label)} {escape_control(node.group)}".lower()

NAME_WIDTHS = (28, 20, 14, 10)  # node name caps tried until the map fits the width
ROLE_STYLES = {
    "frame": Style(dim=True),
    "group": Style(bold=True, color="cyan"),
    "node": Style(),
    "edge:healthy": Style(color="green"),
    "edge:erroring": Style(color="yellow", bold=True),
    "edge:dropping": Style(color="red", bold=True),
}
SELECTED = Style(reverse=True, bold=True)
ALL = ""


def edge_match(client: MapNode, server: MapNode) -> Callable[[FlowRecord], bool]:
    """Whether a record is a flow the map counts on the edge client -> server (parsed again, on demand)."""
    def match(record: FlowRecord) -> bool:
        if record.kind is not RecordKind.FLOW:
            return False
        keys = digest(record.response().flow).map
        return keys is not None and keys.client == client and keys.server == server
    return match


def edge_records(store: FlowStore, client: MapNode, server: MapNode) -> list[FlowRecord]:
    """The flows in the ring on the edge client -> server."""
    match = edge_match(client, server)
    return [record for record in store.ring if match(record)]


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}" if value < 100 else f"{value:.0f}"


class FlowMap(ScrollView, can_focus=True):
    """The map picture, one Strip per row, with the selected node highlighted."""

    DEFAULT_CSS = """
    FlowMap { height: 1fr; }
    """
    BINDINGS = [
        Binding("up", "move(0, -1)", "Map: node above", show=False),
        Binding("down", "move(0, 1)", "Map: node below", show=False),
        Binding("left", "move(-1, 0)", "Map: node to the left (callers)", show=False),
        Binding("right", "move(1, 0)", "Map: node to the right (callees)", show=False),
        Binding("enter", "open", "Edges"),
        Binding("g", "choose_namespace", "Namespace", tooltip="the map shows all namespaces or one"),
        Binding("d", "draft", "Draft policy"),
    ]

    class Selected(Message):
        def __init__(self, node: Hashable | None) -> None:
            super().__init__()
            self.node = node

    class Open(Message):
        def __init__(self, node: Hashable) -> None:
            super().__init__()
            self.node = node

    class ChooseNamespace(Message):
        pass

    class Draft(Message):
        def __init__(self, node: Hashable) -> None:
            super().__init__()
            self.node = node

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.picture: MapLayout | None = None
        self.selected: Hashable | None = None

    def show(self, picture: MapLayout) -> None:
        self.picture = picture
        if self.selected not in picture.placed:
            first = next((column[0] for column in picture.columns if column), None)
            self.selected = first
            self.post_message(self.Selected(first))
        self.virtual_size = Size(picture.width, len(picture.rows))
        self._reveal()
        self.refresh()

    def select(self, node: Hashable) -> None:
        """Move the highlight to `node` (a node of the picture) and scroll to it."""
        if self.picture is not None and node in self.picture.placed and node != self.selected:
            self.selected = node
            self.post_message(self.Selected(node))
            self._reveal()
            self.refresh()

    def _reveal(self) -> None:
        if self.picture is None or self.selected is None:
            return
        place = self.picture.placed[self.selected]
        self.scroll_to_region(Region(place.x0, max(0, place.row - 1), place.x1 - place.x0 + 1, 3), animate=False,
                              immediate=True)

    def action_move(self, dx: int, dy: int) -> None:
        picture = self.picture
        if picture is None or self.selected is None:
            return
        place = picture.placed[self.selected]
        columns = picture.columns
        target = None
        if dy:
            column = columns[place.column]
            index = column.index(self.selected) + dy
            if 0 <= index < len(column):
                target = column[index]
        else:
            index = place.column + dx
            while 0 <= index < len(columns) and not columns[index]:
                index += dx
            if 0 <= index < len(columns):
                target = min(columns[index], key=lambda k: (abs(picture.placed[k].row - place.row),
                                                            picture.placed[k].row))
        if target is not None:
            self.selected = target
            self.post_message(self.Selected(target))
            self._reveal()
            self.refresh()

    def action_open(self) -> None:
        if self.selected is not None:
            self.post_message(self.Open(self.selected))

    def action_draft(self) -> None:
        if self.selected is not None:
            self.post_message(self.Draft(self.selected))

    def action_choose_namespace(self) -> None:
        self.post_message(self.ChooseNamespace())

    def render_line(self, y: int) -> Strip:
        picture = self.picture
        scroll_x, scroll_y = self.scroll_offset
        row = y + scroll_y
        width = self.size.width
        if picture is None or row >= len(picture.rows):
            return Strip.blank(width, self.rich_style)
        base = self.rich_style
        place = picture.placed.get(self.selected) if self.selected is not None else None
        lo, hi = (place.x0 + 1, place.x1) if place is not None and place.row == row else (-1, -1)
        segments = []
        x = 0
        for text, role in picture.rows[row]:
            style = base + ROLE_STYLES.get(role, Style())
            end = x + len(text)
            if lo < end and hi > x:
                a, b = max(lo, x) - x, min(hi, end) - x
                if a:
                    segments.append(Segment(text[:a], style))
                segments.append(Segment(text[a:b], style + SELECTED))
                if b < len(text):
                    segments.append(Segment(text[b:], style))
            else:
                segments.append(Segment(text, style))
            x = end
        return Strip(segments, x).crop(scroll_x, scroll_x + width).extend_cell_length(width, base)


class FlowMapView(Vertical):
    """The map plus one line about the selected node; `update_store` is called by the pane each second."""

    DEFAULT_CSS = """
    FlowMapView { height: 1fr; }
    FlowMapView #map-info { height: auto; max-height: 3; padding: 0 1; background: $boost; }
    """
    title = "Service map"

    def __init__(self, pane: Any, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.pane = pane
        self.group = ALL
        self.listed = False
        """True when the map is too big to draw and is shown as a grouped edge list."""
        self.snapshot = MapSnapshot((), ())
        self._signature: tuple[object, ...] | None = None
        self.needle = ""  # the pane's `/` filter, lower case

    def compose(self) -> ComposeResult:
        yield FlowMap(id="map-canvas")
        yield Static("", id="map-info", markup=False)

    @property
    def canvas(self) -> FlowMap:
        return self.query_one(FlowMap)

    can_focus = True  # focused by the pane like its tables; hands the keyboard to the canvas at once

    def focus(self, scroll_visible: bool = True) -> FlowMapView:
        self.canvas.focus(scroll_visible)
        return self

    def on_focus(self) -> None:
        self.screen.set_focus(self.canvas)

    def header_text(self) -> str:
        where = "all namespaces" if self.group == ALL else f"namespace {escape_control(self.group)}"
        return f"last {self.pane.store.aggregates.window}s {glyphs().dot} {where} (g)"

    def filter_count(self) -> str:
        """After `/text` in the header: the nodes that hold it, and how many are drawn with their peers."""
        hits = sum(1 for node in self.snapshot.nodes if self._hit(node))
        return f"{hits:,} matching, {len(self.snapshot.nodes):,} nodes"

    def _hit(self, node: MapNode) -> bool:
        return self.needle in node_text(node)

    def set_filter(self, text: str) -> None:
        """`/` in the map: draw the matching nodes, their edges and their peers; select a match."""
        needle = text.lower()
        if needle == self.needle:
            return
        self.needle = needle
        if not self.is_mounted:
            return
        self.update_store(self.pane.store)
        selected = self.canvas.selected
        if needle and not (isinstance(selected, MapNode) and self._hit(selected)):
            picture = self.canvas.picture
            hit = next((node for column in (picture.columns if picture is not None else ())
                        for node in column if isinstance(node, MapNode) and self._hit(node)), None)
            if hit is not None:
                self.canvas.select(hit)

    def update_store(self, store: FlowStore) -> None:
        snapshot = store.service_map.snapshot()
        if self.group != ALL:
            snapshot = snapshot.only_group(self.group)
        if self.needle:
            snapshot = snapshot.around(self._hit)
        self.snapshot = snapshot
        width = max(20, self.size.width - 1)
        self.listed = too_big_to_draw(len(snapshot.nodes), len(snapshot.edges))
        if self.listed:  # a list is cheap to rebuild, and shows the rates: every refresh
            self._signature = None
            self.canvas.show(self._edge_list(snapshot))
        else:
            signature = (width, self.group, self.needle, snapshot.nodes,
                         tuple((e.client, e.server, e.state) for e in snapshot.edges))
            if signature != self._signature:
                self._signature = signature
                self.canvas.show(self._layout(snapshot, width))
        self._update_info()

    def on_resize(self) -> None:
        if self._signature is not None:
            self._signature = None
            self.update_store(self.pane.store)

    def _edge_list(self, snapshot: MapSnapshot) -> MapLayout:
        nodes = [LayoutNode(n, n.name, n.group) for n in snapshot.nodes]
        edges = [ListedEdge(e.client, f"{escape_control(e.server.label)}  {e.ports_text()}  {e.rate:.1f}/s  "
                                      f"fwd {e.forwarded:,}  drop {e.dropped:,}  err {e.errors:,}", e.state)
                 for e in sorted(snapshot.edges, key=lambda e: (e.server.group, e.server.name))]
        return edge_list(nodes, edges, unicode=glyphs() is UNICODE)

    def _layout(self, snapshot: MapSnapshot, width: int) -> MapLayout:
        nodes = [LayoutNode(n, n.name, n.group) for n in snapshot.nodes]
        edges = [LayoutEdge(e.client, e.server, e.state) for e in snapshot.edges]
        unicode = glyphs() is UNICODE
        picture = None
        for cap in NAME_WIDTHS:
            picture = layout(nodes, edges, unicode=unicode, max_name=cap)
            if picture.width <= width:
                break
        assert picture is not None
        return picture

    @on(FlowMap.Selected)
    def _selected(self, event: FlowMap.Selected) -> None:
        event.stop()
        self._update_info()

    def _update_info(self) -> None:
        node = self.canvas.selected
        g = glyphs()
        arrows = "▶ ok  ! L7 errors  ✖ drops" if g is UNICODE else "> ok  ! L7 errors  X drops"
        if not isinstance(node, MapNode):
            empty = f"no node holds /{escape_control(self.needle)}" if self.needle else "no traffic in the window"
            text = Text(empty if not self.snapshot.edges else "", style="dim")
            text.append(f"   {arrows}", style="dim")
        else:
            edges = self.snapshot.edges_of(node)
            incoming = [e for e in edges if e.server == node]
            outgoing = [e for e in edges if e.client == node]
            text = Text(no_wrap=True, overflow="ellipsis")
            text.append(escape_control(node.label), style="bold")
            text.append(f"  in {len(incoming)} ({sum(e.rate for e in incoming):.1f}/s)"
                        f"  out {len(outgoing)} ({sum(e.rate for e in outgoing):.1f}/s)")
            dropped = sum(e.dropped for e in edges)
            errors = sum(e.errors for e in edges)
            if dropped:
                text.append(f"  dropped {dropped:,}", style="bold red")
            if errors:
                text.append(f"  L7 errors {errors:,}", style="bold yellow")
            connects = [e.connect for e in incoming if e.connect is not None]
            if connects:
                text.append(f"  connect p99 {_ms(max(c.p99_ms for c in connects))} ms")
            text.append(f"\nEnter edges {g.dot} d draft {g.dot} g namespace {g.dot} / filter {g.dot} {arrows}",
                        style="dim")
        hidden = self.canvas.picture.hidden_edges if self.canvas.picture is not None else 0
        if self.listed:
            text.append(f"\n{len(self.snapshot.nodes):,} nodes, {len(self.snapshot.edges):,} edges: listed "
                        f"(drawn up to {MAX_DRAWN_NODES} nodes, {MAX_DRAWN_EDGES} edges; g picks one namespace, / filters)",
                        style="dim")
        if hidden:
            text.append(f"  {hidden} edge(s) closing a cycle: in the edge lists", style="dim")
        self.query_one("#map-info", Static).update(text)

    @on(FlowMap.Open)
    def _open(self, event: FlowMap.Open) -> None:
        event.stop()
        node = event.node
        if not isinstance(node, MapNode):
            return

        self.app.push_screen(EdgesScreen(node, self.snapshot.edges_of(node), self.show_edge_flows))

    def show_edge_flows(self, edge: MapEdge) -> None:
        """The pane's flow list narrowed to the edge (Esc comes back to the map)."""
        if isinstance(self.app.screen, EdgesScreen):
            self.app.pop_screen()
        title = f"{edge.client.label} -> {edge.server.label} {edge.ports_text()}"
        self.pane.drill_down(title, edge_match(edge.client, edge.server))

    @on(FlowMap.Draft)
    def _draft(self, event: FlowMap.Draft) -> None:
        event.stop()
        node = event.node
        if isinstance(node, MapNode) and node.kind == KIND_WORKLOAD:
            from tui.panes.policy_draft_screen import open_draft

            open_draft(self.app, self.pane.store, node)
        else:
            self.app.notify("a policy is drafted for a workload (not a reserved identity or an address)")

    @on(FlowMap.ChooseNamespace)
    def _choose(self, event: FlowMap.ChooseNamespace) -> None:
        event.stop()
        groups = self.pane.store.service_map.snapshot().namespaces()

        def chosen(group: str | None) -> None:
            if group is not None and group != self.group:
                self.group = group
                self.update_store(self.pane.store)
                self.pane._update_header()

        self.app.push_screen(NamespaceScreen(groups, self.group), chosen)


# What an operator asks first, first: an 80-column screen shows up to the connect time.
EDGE_COLUMNS = ("Dir", "Peer", "Ports", "Flows/s", "Drop", "Err", "HTTP p99", "Conn p99", "Flows", "Fwd")


def edge_cells(node: MapNode, edge: MapEdge) -> tuple[str, ...]:
    incoming = edge.server == node and edge.client != node
    peer = edge.client if incoming else edge.server
    return ("in" if incoming else "out", escape_control(peer.label), edge.ports_text(), f"{edge.rate:.2f}",
            f"{edge.dropped:,}", f"{edge.errors:,}", _ms(edge.http_p99_ms), _ms(edge.connect_p99_ms),
            f"{edge.flows:,}", f"{edge.forwarded:,}")


class EdgesScreen(ModalScreen[None]):
    """The edges of one node; Enter shows an edge's flows in the pane's list, Esc returns to the map."""

    DEFAULT_CSS = """
    EdgesScreen { align: center middle; }
    EdgesScreen > Vertical { width: 100%; height: 100%; border: round $accent; background: $surface; }
    EdgesScreen #edges-title { height: 1; padding: 0 1; }
    EdgesScreen DataTable { height: 1fr; }
    """
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, node: MapNode, edges: Iterable[MapEdge], open_edge: Callable[[MapEdge], None]) -> None:
        super().__init__()
        self.node = node
        self.open_edge = open_edge
        order = {"dropping": 0, "erroring": 1, "healthy": 2}
        self.edges = sorted(edges, key=lambda e: (order.get(e.state, 3), -e.flows))

    def compose(self) -> ComposeResult:
        with Vertical():
            title = Text(f"Edges of {escape_control(self.node.label)} (Enter: their flows, Esc: back)", style="bold")
            yield Static(title, id="edges-title")
            yield DataTable(cursor_type="row", zebra_stripes=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*EDGE_COLUMNS)
        styles = {"dropping": "bold red", "erroring": "yellow", "healthy": ""}
        for index, edge in enumerate(self.edges):
            style = styles.get(edge.state, "")
            table.add_row(*(Text(cell, style=style) for cell in edge_cells(self.node, edge)), key=str(index))
        table.focus()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.open_edge(self.edges[int(str(event.row_key.value))])


class NamespaceScreen(ModalScreen[str | None]):
    """Pick the namespace the map shows (or all of them)."""

    DEFAULT_CSS = """
    NamespaceScreen { align: center middle; }
    NamespaceScreen OptionList { width: 40; height: auto; max-height: 80%; border: round $accent; }
    """
    BINDINGS = [Binding("escape", "dismiss_none", "Back")]

    def __init__(self, groups: list[str], current: str) -> None:
        super().__init__()
        self.groups = [ALL, *groups]
        self.current = current

    def compose(self) -> ComposeResult:
        options = [Option("all namespaces" if g == ALL else escape_control(g), id=str(i))
                   for i, g in enumerate(self.groups)]
        yield OptionList(*options)

    def on_mount(self) -> None:
        option_list = self.query_one(OptionList)
        if self.current in self.groups:
            option_list.highlighted = self.groups.index(self.current)
        option_list.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.groups[int(event.option.id or 0)])

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
