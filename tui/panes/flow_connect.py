"""The Flows pane's TCP connect view: connect time p50/p90/p99 by destination workload, like the HTTP view.

The seed's fourth Grafana panel without Prometheus: from SYN and SYN-ACK flows at one observation point
(`tui.model.connect_time`), slowest p99 first. Same table machinery as the other aggregate views.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.widgets import DataTable

from tui.model.connect_time import ConnectRow
from tui.model.flow_aggregates import digest
from tui.model.flows import FlowRecord, FlowStore, RecordKind
from tui.panes.flow_views import AggregateTable, Column, Name, ViewSpec
from tui.render.glyphs import glyphs

CONNECT_VIEW = ViewSpec(
    "connect", "TCP connect",
    (Column("Conn/s", 7, True, ".2f"), Column("Conns", 6, True), Column("p50 ms", 7, True, ".2f"),
     Column("p90 ms", 7, True, ".2f"), Column("p99 ms", 7, True, ".2f"), Name("Destination", 34)),
    lambda store: store.service_map.connect.by_destination(200),
    lambda r: r.destination,
    lambda r: (r.rate, r.connects, r.p50_ms, r.p90_ms, r.p99_ms, r.destination),
    default_sort=4)


class ConnectTable(AggregateTable):
    """Connect-time quantiles by destination; `update_store` is called by the pane once a second."""

    title = "TCP connect"

    def __init__(self, pane: Any, *, id: str | None = None) -> None:
        super().__init__(CONNECT_VIEW, id=id)
        self.pane = pane

    def header_text(self) -> str:
        dot = glyphs().dot
        return f"last {self.pane.store.aggregates.window}s {dot} SYN to SYN-ACK {dot} sort {self.sort_label()} (s, r)"

    @on(DataTable.RowSelected)
    def _drill(self, event: DataTable.RowSelected) -> None:
        """Enter on a destination: the TCP flows to it (the handshakes behind the figures among them)."""
        event.stop()
        destination = event.row_key.value
        if destination is None:
            return

        def match(record: FlowRecord) -> bool:
            if record.kind is not RecordKind.FLOW:
                return False
            keys = digest(record.response().flow).map
            return keys is not None and keys.protocol == "TCP" and keys.server.label == destination

        self.pane.drill_down(f"TCP to {destination}", match)

    def update_store(self, store: FlowStore) -> None:
        self.update_rows(store)  # type: ignore[arg-type] - the spec's rows read the store


__all__ = ["CONNECT_VIEW", "ConnectRow", "ConnectTable"]
