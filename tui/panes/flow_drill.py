"""Drill-down from an aggregate row to the flows behind it (Enter on talkers, drops, DNS, HTTP rows).

A row's key holds the aggregate key its flows were counted under (`FlowDigest` fields joined by
`\\x1f`, see `tui.panes.flow_views.VIEWS`); a flow belongs to the row when its digest has that key.
The ring keeps flows as bytes without their digest (counted once, then dropped), so matching digests
the flow again; the pane's filter scan spreads that over ticks within its time budget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tui.model.flow_aggregates import OTHER, FlowDigest, digest
from tui.model.flows import FlowRecord, RecordKind

SEP = "\x1f"


@dataclass(frozen=True)
class Drill:
    """A drill-down in force: what the header says, and which records it keeps."""

    title: str
    match: Callable[[FlowRecord], bool]


def _talker(parts: list[str]) -> tuple[object, ...]:
    source, destination, port, protocol = parts
    return (source, destination, int(port), protocol)


def _drop(parts: list[str]) -> tuple[object, ...]:
    reason, source, destination, port, protocol = parts
    return (reason, source, destination, int(port), protocol)


def _drop_title(parts: list[str]) -> str:
    reason, source, destination, port, protocol = parts
    where = f"{destination}:{port}" if protocol in ("TCP", "UDP", "SCTP") else f"{destination} {protocol}"
    return f"drops {reason} from {source} to {where}"


def _http(parts: list[str]) -> tuple[object, ...]:
    destination, method, status = parts
    return (destination, method, int(status))


# view -> (digest field, row key parts -> the field's value, header title)
DRILL_FIELDS: dict[str, tuple[str, Callable[[list[str]], tuple[object, ...]], Callable[[list[str]], str]]] = {
    "talkers": ("talker", _talker, lambda p: f"{p[0]} -> {p[1]}:{p[2]}/{p[3]}" if p[3] in ("TCP", "UDP", "SCTP")
                else f"{p[0]} -> {p[1]} {p[3]}"),
    "drops": ("drop", _drop, _drop_title),
    "dns": ("dns", tuple, lambda p: f"DNS {p[2]} {p[1]} {p[0]} for {p[3]}"),
    "http": ("http", _http, lambda p: f"HTTP {p[1]} {p[0]} {p[2]}"),
}


def talker_of_key(row_key: str) -> tuple[str, str, int, str] | None:
    """The talker key of a Talkers row (None for the folded `(other)` row or a malformed key)."""
    try:
        talker = _talker(row_key.split(SEP))
    except (TypeError, ValueError):
        return None
    if talker[0] == OTHER and not talker[1]:
        return None
    return talker  # type: ignore[return-value]


def flow_digest(record: FlowRecord) -> FlowDigest | None:
    if record.kind is not RecordKind.FLOW:
        return None
    return record.digest or digest(record.response().flow)


def drill_for(view: str, row_key: str) -> tuple[str, Callable[[FlowRecord], bool]] | None:
    """(title, match) for the row `row_key` of the aggregate view `view`, or None."""
    spec = DRILL_FIELDS.get(view)
    if spec is None:
        return None
    field, value_of, title_of = spec
    parts = row_key.split(SEP)
    try:
        wanted = value_of(parts)
    except (TypeError, ValueError):
        return None

    def match(record: FlowRecord) -> bool:
        found = flow_digest(record)
        return found is not None and getattr(found, field) == wanted

    return title_of(parts), match
