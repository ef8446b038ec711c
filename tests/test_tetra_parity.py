"""`tetra getevents` flags ebtop lacked: --host, --policy-names, -f/-F field filters, RATE_LIMIT_INFO."""

from __future__ import annotations

import pytest

from tui.filters import FilterError
from tui.filters.tetragon import EventFilters
from tui.filters.tetragon_fields import apply_field_filters, field_filters
from tui.proto.tetragon import events_pb2
from tui.render.tetra_compact import UnknownEventType, rate_limit_line, render_line


def exec_event(binary: str = "/usr/bin/curl", namespace: str | None = "default") -> events_pb2.GetEventsResponse:
    response = events_pb2.GetEventsResponse(node_name="node1")
    process = response.process_exec.process
    process.exec_id, process.binary, process.arguments = "e1", binary, "cilium.io"
    process.pid.value = 42
    if namespace is not None:
        process.pod.namespace, process.pod.name = namespace, "xwing"
    response.process_exec.parent.binary = "/bin/sh"
    response.process_exec.parent.exec_id = "p1"
    return response


def kprobe_event(policy: str) -> events_pb2.GetEventsResponse:
    response = events_pb2.GetEventsResponse(node_name="node1")
    kprobe = response.process_kprobe
    kprobe.process.exec_id, kprobe.process.binary = "e2", "/usr/bin/cat"
    kprobe.function_name, kprobe.policy_name = "fd_install", policy
    return response


def test_policy_names_filter_is_sent_and_applied_locally() -> None:
    filters = EventFilters(policy_names=["sensitive-files"])
    assert list(filters.request().allow_list[0].policy_names) == ["sensitive-files"]
    passes = filters.predicate()
    assert passes(kprobe_event("sensitive-files"))
    assert not passes(kprobe_event("other"))
    assert not passes(exec_event())  # an exec has no policy


def test_host_adds_the_empty_namespace() -> None:
    filters = EventFilters(namespaces=["shop"], host=True)
    assert list(filters.request().allow_list[0].namespace) == ["shop", ""]
    passes = filters.predicate()
    assert passes(exec_event(namespace=None)) and passes(exec_event(namespace="shop"))
    assert not passes(exec_event(namespace="default"))
    assert "--host" in filters.describe()


def test_field_filters_go_into_the_request() -> None:
    request = EventFilters(include_fields=["process.binary,parent.binary"], exclude_fields=["parent"]).request()
    assert [(list(f.fields.paths), f.action) for f in request.field_filters] == [
        (["process.binary", "parent.binary"], events_pb2.INCLUDE), (["parent"], events_pb2.EXCLUDE)]


def test_include_keeps_only_the_paths_exclude_wins() -> None:
    response = apply_field_filters(exec_event(), field_filters(["process.binary,parent"], ["parent.binary"]))
    body = response.process_exec
    assert body.process.binary == "/usr/bin/curl" and not body.process.arguments and not body.process.HasField("pid")
    assert body.parent.exec_id == "p1" and not body.parent.binary
    assert response.node_name == "node1"  # top-level fields untouched


def test_exclude_only() -> None:
    response = apply_field_filters(exec_event(), field_filters([], ["process.pod,parent"]))
    assert not response.process_exec.process.HasField("pod") and not response.process_exec.HasField("parent")
    assert response.process_exec.process.binary == "/usr/bin/curl"


def test_unknown_field_path_is_a_usage_error() -> None:
    with pytest.raises(FilterError, match="no event has a field"):
        field_filters(["process.nonsense"], [])


def test_rate_limit_info_is_reported_in_place() -> None:
    response = events_pb2.GetEventsResponse(node_name="node1")
    response.rate_limit_info.number_of_dropped_process_events = 1234
    response.time.seconds = 0
    with pytest.raises(UnknownEventType):
        render_line(response)  # tetra's encoder stops here
    assert rate_limit_line(response) == "1234 events dropped by the agent's rate limit"
    assert rate_limit_line(response, timestamps=True) == (
        "1970-01-01T00:00:00.000000000Z 1234 events dropped by the agent's rate limit")
    assert rate_limit_line(response, color=True) == "\x1b[31m1234 events dropped by the agent's rate limit\x1b[0m"
    assert rate_limit_line(exec_event()) is None
