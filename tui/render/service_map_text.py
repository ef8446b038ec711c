"""The service map as plain text: one edge a line for batch mode, and Graphviz DOT for documents.

`edge_lines` prints `SRC -> DST PORTS flows=N forwarded=N dropped=N errors=N` (plus the HTTP and
connect p99 when known), busiest edge first; the flows of all lines add up to the flows read.
`dot_lines` writes a digraph with one cluster per namespace, edges red when dropping, orange when
erroring. Names are data: escaped for the terminal (`escape_control`) and quoted for DOT.
"""

from __future__ import annotations

import math

from tui.model.service_map import DROPPING, ERRORING, MapEdge, MapSnapshot
from tui.render.safe import escape_control


def _ms(value: float) -> str:
    return f"{value:.2f}ms" if value < 10 else f"{value:.0f}ms"


def edge_line(edge: MapEdge) -> str:
    parts = [escape_control(edge.client.label), "->", escape_control(edge.server.label), edge.ports_text(),
             f"flows={edge.flows}", f"forwarded={edge.forwarded}", f"dropped={edge.dropped}", f"errors={edge.errors}"]
    if not math.isnan(edge.http_p99_ms):
        parts.append(f"http_p99={_ms(edge.http_p99_ms)}")
    if not math.isnan(edge.connect_p99_ms):
        parts.append(f"connect_p99={_ms(edge.connect_p99_ms)}")
    return " ".join(parts)


def edge_lines(snapshot: MapSnapshot) -> list[str]:
    """One line per edge, busiest first."""
    return [edge_line(edge) for edge in snapshot.edges]


def _quote(*lines: str) -> str:
    """A DOT double-quoted string of `lines` (joined by DOT's `\\n`): backslashes and quotes escaped."""
    return '"' + "\\n".join(escape_control(t).replace("\\", "\\\\").replace('"', '\\"') for t in lines) + '"'


def dot_lines(snapshot: MapSnapshot) -> list[str]:
    """A Graphviz digraph, left to right, namespaces as clusters."""
    lines = ["digraph ebtop_service_map {", "  rankdir=LR;", "  node [shape=box, fontname=Helvetica];"]
    ids = {node: f"n{index}" for index, node in enumerate(snapshot.nodes)}
    groups: dict[str, list[str]] = {}
    for node in snapshot.nodes:
        groups.setdefault(node.group, []).append(f"    {ids[node]} [label={_quote(node.name)}];")
    for index, (group, members) in enumerate(sorted(groups.items())):
        lines.append(f"  subgraph cluster_{index} {{")
        lines.append(f"    label={_quote(group)};")
        lines.extend(members)
        lines.append("  }")
    for edge in snapshot.edges:
        counts = f"{edge.flows} flows"
        if edge.dropped:
            counts += f", {edge.dropped} dropped"
        if edge.errors:
            counts += f", {edge.errors} errors"
        attrs = [f"label={_quote(edge.ports_text(), counts)}"]
        if edge.state == DROPPING:
            attrs.append("color=red, fontcolor=red")
        elif edge.state == ERRORING:
            attrs.append("color=orange")
        lines.append(f"  {ids[edge.client]} -> {ids[edge.server]} [{', '.join(attrs)}];")
    lines.append("}")
    return lines
