"""The Flows pane's Policies view: drops and audit verdicts by policy, enforced drops first.

One row per (policy or `default deny`, reason, source -> destination, enforced or audit), from the
model's `PolicyVerdicts`. Audit verdicts read `AUDIT: would drop`: what turning enforcement on would
stop. Enter shows the flows of a row; `d` drafts a CiliumNetworkPolicy for the row's workload.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.widgets import DataTable

from tui.model.flow_aggregates import digest
from tui.model.flows import FlowRecord, FlowStore, RecordKind
from tui.model.map_digest import KIND_WORKLOAD
from tui.model.policies import PolicyRow
from tui.panes.flow_views import cursor_key, restore_cursor, row_text
from tui.render.glyphs import glyphs
from tui.render.safe import escape_control

COLUMNS = ("Verdict", "Flows/s", "Denied", "Drops", "Audit", "Policy", "Reason", "Source", "Destination")


def policy_match(row: PolicyRow) -> Callable[[FlowRecord], bool]:
    """Whether a record is one of the flows counted on `row` (parsed again, on demand)."""
    wanted = (row.policy, row.reason, row.client, row.server, not row.enforced)

    def match(record: FlowRecord) -> bool:
        if record.kind is not RecordKind.FLOW:
            return False
        item = digest(record.response().flow)
        return item.policy is not None and tuple(item.policy[0]) == wanted
    return match


def policy_records(store: FlowStore, row: PolicyRow) -> list[FlowRecord]:
    """The flows in the ring counted on `row`."""
    match = policy_match(row)
    return [record for record in store.ring if match(record)]


def policy_key(row: PolicyRow) -> str:
    """A row's identity across refreshes and filters (the cursor stays on it)."""
    return "\x1f".join((row.policy, row.reason, row.source, row.destination, row.verdict_text))


def policy_cells(row: PolicyRow) -> tuple[str, ...]:
    return (row.verdict_text, f"{row.rate:.2f}", f"{row.denied:,}", f"{row.drops:,}", f"{row.audit:,}",
            escape_control(row.policy), escape_control(row.reason), escape_control(row.source),
            escape_control(row.destination))


class PoliciesView(DataTable):
    """Policy verdict rows, refreshed in place once a second by the pane (`update_store`); `/` filters them."""

    title = "Policies"
    BINDINGS = [Binding("d", "draft", "Draft policy")]

    def __init__(self, pane: Any, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.pane = pane
        self.rows_shown: list[PolicyRow] = []  # the rows on screen, in order (the filter's matches)
        self._rows: list[PolicyRow] = []  # every row of the last refresh
        self.needle = ""  # the pane's `/` filter, lower case

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)

    def header_text(self) -> str:
        return f"last {self.pane.store.aggregates.window}s {glyphs().dot} drops first {glyphs().dot} Enter flows, d draft"

    def filter_count(self) -> str:
        return f"{self.row_count:,} rows"

    def update_store(self, store: FlowStore) -> None:
        rows = store.policies.rows()
        if rows == self._rows:
            return
        self._rows = rows
        self._draw()

    def set_filter(self, text: str) -> None:
        """Keep only the rows whose text holds `text` (case-insensitive); "" shows every row again."""
        needle = text.lower()
        if needle != self.needle:
            self.needle = needle
            self._draw()

    def _draw(self) -> None:
        cursor_at, cursor = cursor_key(self), self.cursor_row
        self.clear()
        self.rows_shown = []
        keys: set[str] = set()
        for row in self._rows:
            cells = policy_cells(row)
            if self.needle and self.needle not in row_text(cells):
                continue
            self.rows_shown.append(row)
            key = policy_key(row)
            while key in keys:  # two nodes with one label (names come from the wire): still one row each
                key += "\x1f"
            keys.add(key)
            style = "bold red" if row.enforced else "yellow"
            self.add_row(*(Text(cell, style=style if i == 0 else "") for i, cell in enumerate(cells)), key=key)
        restore_cursor(self, cursor_at, cursor)

    def selected_row(self) -> PolicyRow | None:
        if not self.rows_shown or not 0 <= self.cursor_row < len(self.rows_shown):
            return None
        return self.rows_shown[self.cursor_row]

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        event.stop()
        row = self.selected_row()
        if row is None:
            return
        title = f"{row.verdict_text} {row.policy} {row.reason}: {row.source} -> {row.destination}"
        self.pane.drill_down(title, policy_match(row))

    def action_draft(self) -> None:
        row = self.selected_row()
        if row is None:
            return
        node = row.server if row.server is not None and row.server.kind == KIND_WORKLOAD else row.client
        if node is not None and node.kind == KIND_WORKLOAD:
            from tui.panes.policy_draft_screen import open_draft

            open_draft(self.app, self.pane.store, node)
