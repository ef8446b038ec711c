"""Policy violations over the window: drops and audit verdicts by policy, reason, source and destination.

A row counts the policy-verdict events that denied (`Denied`), the datapath drop events that a policy
caused (`Drops`) and the audit-mode verdicts (`Audit`: what enforcement would drop). The policy is
named from the flow's `*_denied_by` where it has one, else `default deny` (no rule allowed it).
Enforced drops sort first, then audit verdicts, then by count.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.model.flow_aggregates import OTHER, WindowCounter
from tui.model.map_digest import P_AUDIT, P_DENIED, P_DROP, MapNode, PolicyKey


@dataclass(frozen=True)
class PolicyRow:
    policy: str
    reason: str
    client: MapNode | None
    server: MapNode | None
    flows: int
    rate: float
    denied: int
    drops: int
    audit: int

    @property
    def enforced(self) -> bool:
        return bool(self.denied or self.drops)

    @property
    def source(self) -> str:
        return self.client.label if self.client is not None else OTHER

    @property
    def destination(self) -> str:
        return self.server.label if self.server is not None else ""

    @property
    def verdict_text(self) -> str:
        return "DROPPED" if self.enforced else "AUDIT: would drop"


class PolicyVerdicts:
    """Windowed counts of policy drops and audit verdicts, keyed by `PolicyKey`."""

    def __init__(self, window: int = 60, max_keys: int = 2000) -> None:
        self.counter = WindowCounter(4, window, max_keys)  # flows, denied, drops, audit

    def add(self, second: int, key: PolicyKey, column: int) -> None:
        self.counter.add(second, key, column)

    def rows(self, limit: int = 200) -> list[PolicyRow]:
        span = self.counter.span() or 1
        rows = []
        for key, values in self.counter.totals.items():
            if isinstance(key, PolicyKey):
                rows.append(PolicyRow(key.policy, key.reason, key.client, key.server, values[0], values[0] / span,
                                      values[P_DENIED], values[P_DROP], values[P_AUDIT]))
            else:
                rows.append(PolicyRow(OTHER, "", None, None, values[0], values[0] / span,
                                      values[P_DENIED], values[P_DROP], values[P_AUDIT]))
        rows.sort(key=lambda r: (not r.enforced, -r.flows, r.policy, r.reason, r.source, r.destination))
        return rows[:limit]
