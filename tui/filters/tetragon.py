"""Tetragon filter flags -> a GetEventsRequest allow/deny list, checked and compiled once.

`tetra getevents` sends one allow Filter (every given flag must match; the values of one flag are
alternatives) and, unless health checks are wanted, a deny Filter for Kubernetes exec probes. The same
request is sent to an agent, which filters; and compiled with `tetragon_match.EventFilter` where no agent
filters (a `--tetragon-file` replay, local exec events), so every flag means the same in every mode.
Building the predicate also checks the values: a bad regex or event type is a `FilterError` up front
(exit 2 in batch mode, the pane's problem when live) instead of a server error later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tui.filters import FilterError
from tui.filters.tetragon_match import EventFilter, Predicate
from tui.proto.tetragon import events_pb2

EVENT_TYPE_NAMES = {
    "process_exec": "PROCESS_EXEC", "process_exit": "PROCESS_EXIT", "process_kprobe": "PROCESS_KPROBE",
    "process_tracepoint": "PROCESS_TRACEPOINT", "process_loader": "PROCESS_LOADER",
    "process_uprobe": "PROCESS_UPROBE", "process_throttle": "PROCESS_THROTTLE", "process_lsm": "PROCESS_LSM",
    "process_usdt": "PROCESS_USDT",
}
_EVENT_TYPES = frozenset(events_pb2.EventType.keys())


def event_type_name(name: str) -> str:
    """`process_exec`, `PROCESS_EXEC` or `exec` -> `PROCESS_EXEC`; FilterError for unknown names."""
    key = name.strip().upper()
    if not key.startswith("PROCESS_"):
        key = "PROCESS_" + key
    if key not in _EVENT_TYPES:
        valid = ", ".join(sorted(EVENT_TYPE_NAMES.values()))
        raise FilterError(f"--event-types: unknown event type {name!r} (expected one of {valid})")
    return key


def split_event_types(values: Sequence[str]) -> list[str]:
    """`--event-types exec,exit --event-types lsm` -> ['exec', 'exit', 'lsm'] (checked)."""
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    for name in names:
        event_type_name(name)
    return names


@dataclass
class EventFilters:
    """What the agent should send: one allow Filter (every set field must match) plus a deny list."""

    namespaces: list[str] = field(default_factory=list)
    pod_regex: list[str] = field(default_factory=list)
    binary_regex: list[str] = field(default_factory=list)
    event_types: list[str] = field(default_factory=list)
    health_checks: bool = False
    policy_names: list[str] = field(default_factory=list)
    host: bool = False
    """tetra --host: host processes too (namespace "", which matches processes outside any pod)."""
    include_fields: list[str] = field(default_factory=list)
    exclude_fields: list[str] = field(default_factory=list)

    def request(self) -> events_pb2.GetEventsRequest:
        request = events_pb2.GetEventsRequest()
        namespaces = list(self.namespaces)
        if self.host and "" not in namespaces:
            namespaces.append("")
        allow = events_pb2.Filter(namespace=namespaces, pod_regex=self.pod_regex,
                                  binary_regex=self.binary_regex, policy_names=self.policy_names)
        for name in self.event_types:
            allow.event_set.append(events_pb2.EventType.Value(event_type_name(name)))
        if allow.ByteSize():
            request.allow_list.append(allow)
        if not self.health_checks:
            deny = request.deny_list.add()
            deny.health_check.value = True
        if self.include_fields or self.exclude_fields:
            from tui.filters.tetragon_fields import field_filters

            request.field_filters.extend(field_filters(self.include_fields, self.exclude_fields))
        return request

    def describe(self) -> str:
        """The filters in force, as flags (for the status line); empty when none narrow the stream."""
        parts = ["--tetragon-namespace " + (v or '""') for v in self.namespaces]
        parts += [f"--tetragon-pod {v}" for v in self.pod_regex]
        parts += [f"--process {v}" for v in self.binary_regex]
        if self.event_types:
            parts.append(f"--event-types {','.join(self.event_types)}")
        parts += [f"--policy-names {v}" for v in self.policy_names]
        if self.host:
            parts.append("--host")
        return " ".join(parts)

    def predicate(self) -> Predicate:
        """The request as a local predicate (FilterError for a value an agent would refuse)."""
        return request_predicate(self.request())


def request_predicate(request: events_pb2.GetEventsRequest) -> Predicate:
    """allow_list/deny_list of a GetEventsRequest, applied as the agent applies them."""
    return EventFilter.from_request(request).passes
