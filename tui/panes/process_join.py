"""The join, as the Processes pane shows it: Hubble's verdict under network events, dropped marks, connections.

Plain functions over the shared `FlowJoiner` (tui/wiring/join.py); the pane calls them where it
labels rows, so it needs no knowledge of sockets. Text from the network (policy names) is escaped.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.text import Text

from tui.model.join import DROPPED, FlowJoiner, verdict_text
from tui.model.process_events import PolicyEvent
from tui.render.safe import safe_text

DROPPED_MARK = " [dropped]"
CONNECTIONS_SHOWN = 20


def feed(joiner: FlowJoiner | None, responses: list[Any]) -> None:
    """Give the join the socket events among what the pane drained."""
    if joiner is None:
        return
    for response in responses:
        if hasattr(response, "WhichOneof"):
            joiner.add_event(response)


def mark_row(joiner: FlowJoiner | None, node: Any, label: Text) -> Text:
    """A process one of whose connections Hubble dropped gets a mark that reads without colour."""
    if joiner is not None and node.exec_id in joiner.dropping:
        label.append(DROPPED_MARK, style="bold red")
    return label


def with_verdict(joiner: FlowJoiner | None, node: Any, index: int, label: Text) -> Text:
    """Append Hubble's verdict for the connection of a network event (nothing when unknown)."""
    if joiner is None or not joiner.flows_observed:
        return label
    event = PolicyEvent(*list(node.events or ())[index])
    verdict = joiner.event_verdict(event.detail, event.time)
    if verdict:
        label.append(" -> ", style="dim")
        label.append_text(safe_text(verdict, "bold red" if verdict.startswith("DROPPED") else "green"))
    return label


def changed(joiner: FlowJoiner | None, item: Any) -> bool:
    """True once per new batch of joined verdicts, so event leaves are relabelled with them."""
    observed = joiner.flows_observed if joiner is not None else 0
    if getattr(item, "_observed", 0) == observed:
        return False
    item._observed = observed
    return True


def with_connections(joiner: FlowJoiner | None, node: Any, text: Text) -> Text:
    """The process detail's connections: destination, how many sockets, Hubble's verdict."""
    if joiner is None:
        return text
    records = joiner.connections_of(node.exec_id)
    if not records:
        return text
    rows: Counter[tuple[str, str]] = Counter()
    for record in records:
        where = f"{record.protocol} {record.remote_addr}:{record.remote_port}" if record.role != "accept" \
            else f"{record.protocol} :{record.local_port} <- {record.remote_addr}"
        rows[(where, verdict_text(record) or "no flow seen")] += 1
    text.append("\nconnections (from the flow join, newest first)\n", style="bold")
    for (where, verdict), count in list(rows.items())[:CONNECTIONS_SHOWN]:
        text.append("  ")
        text.append_text(safe_text(where, "cyan"))
        text.append(f"  x{count}  " if count > 1 else "  ")
        text.append_text(safe_text(verdict, "bold red" if verdict.startswith("DROPPED") else ""))
        text.append("\n")
    dropped = sum(1 for r in records if r.verdict == DROPPED)
    if dropped:
        text.append(f"  {dropped} of {len(records)} dropped by Hubble\n", style="bold red")
    return text


__all__ = ["changed", "feed", "mark_row", "with_connections", "with_verdict"]
