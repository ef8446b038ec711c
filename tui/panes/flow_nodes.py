"""The Flows pane's nodes view (`a`): every node behind Relay with its state and version, and the changes.

Rows come from Relay's GetNodes (polled) and from the stream's node events (at once); problems first,
the last peer changes below. Untrusted strings (node names, versions, messages) are shown as data.
"""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from tui.model.hubble_nodes import NodeInfo, NodeTable
from tui.panes.flow_views import cursor_key, restore_cursor, row_text
from tui.proto.relay import relay_pb2
from tui.render.numbers import UNKNOWN_DURATION, count_text, plausible_duration
from tui.render.safe import safe_text

COLUMNS = ("NODE", "STATE", "SINCE", "VERSION", "ADDRESS", "TLS", "UPTIME", "FLOWS", "MAX", "SEEN", "MESSAGE")
_STATE_STYLES = {relay_pb2.NODE_CONNECTED: "green", relay_pb2.NODE_UNAVAILABLE: "bold red",
                 relay_pb2.NODE_GONE: "yellow", relay_pb2.NODE_ERROR: "bold red"}
CHANGES_SHOWN = 6


def _duration(seconds: float) -> str:
    if not plausible_duration(max(0.0, seconds) if seconds == seconds else seconds):
        return UNKNOWN_DURATION  # a bad timestamp or uptime
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172_800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86_400}d"


def node_cells(node: NodeInfo, now: float) -> list[Text]:
    """One row: the state coloured and marked (`!` for a problem) so it reads without colour too."""
    problem = node.state in (relay_pb2.NODE_UNAVAILABLE, relay_pb2.NODE_ERROR)
    state = Text(("! " if problem else "") + node.state_word, style=_STATE_STYLES.get(node.state, ""))
    since = _duration(now - node.since) if node.since else ""
    uptime = _duration(node.uptime_ns / 1e9) if node.uptime_ns else ""
    return [safe_text(node.name), state, Text(since), safe_text(node.version), safe_text(node.address),
            safe_text(node.tls), Text(uptime), Text(count_text(node.num_flows)), Text(count_text(node.max_flows)),
            Text(count_text(node.seen_flows)), safe_text(node.message, "red")]


class NodesView(Vertical):
    """A table of nodes and a few lines of peer changes; `update_store` is called by the pane."""

    title = "Nodes"

    DEFAULT_CSS = """
    NodesView { height: 1fr; }
    NodesView DataTable { height: 1fr; }
    NodesView #nodes-changes { height: auto; max-height: 7; color: $text-muted; }
    """

    def __init__(self, pane: Any, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.pane = pane
        self._drawn = -1
        self.needle = ""  # the pane's `/` filter, lower case: node rows and change lines that hold it

    def compose(self):  # noqa: ANN201 - ComposeResult
        table: DataTable[Text] = DataTable(id="nodes-table", cursor_type="row", zebra_stripes=False)
        table.add_columns(*COLUMNS)
        yield table
        yield Static("", id="nodes-changes", markup=False)

    can_focus = True  # focused by the pane like its tables; hands the keyboard to the table at once

    def focus(self, scroll_visible: bool = True) -> NodesView:
        """The table takes the keys (a Vertical cannot: `/`, `v` and Esc reached nothing in this view)."""
        self.query_one("#nodes-table", DataTable).focus(scroll_visible)
        return self

    def on_focus(self) -> None:
        self.screen.set_focus(self.query_one("#nodes-table", DataTable))

    def header_text(self) -> str:
        table: NodeTable = self.pane.nodes
        if table.unsupported and not table.nodes:
            return "nodes: this server has no GetNodes (a node agent, not Relay)"
        counts = table.counts()
        return "nodes " + ", ".join(f"{n} {word}" for word, n in sorted(counts.items())) if counts else "nodes: none yet"

    def filter_count(self) -> str:
        return f"{self.query_one('#nodes-table', DataTable).row_count:,} rows"

    def set_filter(self, text: str) -> None:
        """Keep only the nodes (and the change lines) whose text holds `text`, case-insensitive."""
        needle = text.lower()
        if needle != self.needle:
            self.needle = needle
            self._drawn = -1
            if self.is_mounted:
                self.update_store(None)

    def update_store(self, store: Any) -> None:
        table: NodeTable = self.pane.nodes
        if table.version == self._drawn:
            return
        self._drawn = table.version
        now = time.time()
        needle = self.needle
        grid = self.query_one("#nodes-table", DataTable)
        cursor_at, cursor = cursor_key(grid), grid.cursor_row
        grid.clear()
        for node in table.rows():
            cells = node_cells(node, now)
            if needle and needle not in row_text(cell.plain for cell in cells):
                continue
            grid.add_row(*cells, key=node.name)
        restore_cursor(grid, cursor_at, cursor)
        changes = Text(no_wrap=True, overflow="ellipsis")
        for when, text in [c for c in table.changes if needle in row_text([c[1]])][-CHANGES_SHOWN:]:
            stamp = time.strftime("%H:%M:%S", time.gmtime(when))
            changes.append(f"{stamp} ")
            changes.append_text(safe_text(text))
            changes.append("\n")
        self.query_one("#nodes-changes", Static).update(changes)
