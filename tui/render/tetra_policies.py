"""Loaded tracing policies as `tetra tracingpolicy list` shows them, plus the events each one produced.

Columns: ID, NAME, STATE, FILTERID, NAMESPACE ((global) when empty), SENSORS, KERNELMEMORY, MODE and the
action counters (NPOST posted events; NENFORCE signals, overrides, enforcer notifications and sets done;
NMONITOR the same held back by monitor mode), then what ebtop adds: EVENTS seen in this session and, for a
policy in error, the agent's error text. With several agents a NODE column comes first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rich.text import Text

from tui.render.safe import safe_text

COLUMNS = ("ID", "NAME", "STATE", "FILTERID", "NAMESPACE", "SENSORS", "KERNELMEMORY", "MODE",
           "NPOST", "NENFORCE", "NMONITOR", "EVENTS")
_ERROR_STATES = {"load_error", "error"}
_STATE_PREFIX = "TP_STATE_"
_MODE_PREFIX = "TP_MODE_"


@dataclass(frozen=True)
class PolicyRow:
    """One policy on one agent, as text cells."""

    node: str
    cells: tuple[str, ...]
    error: str

    @property
    def failed(self) -> bool:
        return self.cells[2] in _ERROR_STATES


def _enum_text(message: Any, field: str, prefix: str) -> str:
    enum = message.DESCRIPTOR.fields_by_name[field].enum_type
    value = enum.values_by_number.get(getattr(message, field))
    name = value.name if value is not None else str(getattr(message, field))
    return name.removeprefix(prefix).lower()


def memory_text(size: int) -> str:
    """Bytes as tetra prints them (decimal units): `1.25 MB`, `512 B`."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1000
    return f"{size} B"


def policy_row(policy: Any, node: str = "", events: int = 0) -> PolicyRow:
    counters = policy.stats.action_counters
    enforced = counters.signal + counters.override + counters.notify_enforcer + counters.set
    monitored = counters.monitor_signal + counters.monitor_override + counters.monitor_notify_enforcer \
        + counters.monitor_set
    cells = (str(policy.id), policy.name, _enum_text(policy, "state", _STATE_PREFIX), str(policy.filter_id),
             policy.namespace or "(global)", ",".join(policy.sensors), memory_text(policy.kernel_memory_bytes),
             _enum_text(policy, "mode", _MODE_PREFIX), str(counters.post), str(enforced), str(monitored),
             str(events))
    return PolicyRow(node, cells, policy.error)


def policy_rows(by_node: Mapping[str, Iterable[Any]], events: Mapping[str, int] | None = None) -> list[PolicyRow]:
    """Rows for every agent's policies, failed policies first, then by node and ID."""
    events = events or {}
    rows = [policy_row(policy, node, events.get(policy.name, 0))
            for node, policies in by_node.items() for policy in policies]
    rows.sort(key=lambda row: (not row.failed, row.node, int(row.cells[0]) if row.cells[0].isdigit() else 0))
    return rows


def row_texts(row: PolicyRow, with_node: bool) -> list[Text]:
    """Rich cells for the pane: untrusted strings as data; a failed policy's state in red with a marker."""
    cells = [safe_text(cell) for cell in row.cells]
    if row.failed:
        cells[2] = Text("! " + row.cells[2], style="bold red")
        cells[1].stylize("bold")
    texts = ([safe_text(row.node)] if with_node else []) + cells
    texts.append(safe_text(row.error, "red") if row.error else Text(""))
    return texts


def header(with_node: bool) -> list[str]:
    return (["NODE"] if with_node else []) + list(COLUMNS) + ["ERROR"]
