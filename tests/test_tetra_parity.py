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


# --- batch mode through the real parser and the real replay ---------------------------------------

def _run(tmp_path, lines: list[str], *flags: str) -> tuple[int, str, str]:
    import io

    from tui.cli import build_parser
    from tui.wiring import processes

    path = tmp_path / "events.json"
    path.write_text("\n".join(lines) + "\n")
    args = build_parser().parse_args(["-b", "--pane", "processes", "--tetragon-file", str(path), *flags])
    out, err = io.StringIO(), io.StringIO()
    code = processes.run_batch(args, out, err)
    return code, out.getvalue(), err.getvalue()


def _line(response: events_pb2.GetEventsResponse) -> str:
    from tui.proto.jsonlines import format_line

    return format_line(response)


def test_rate_limit_event_in_a_replay_is_shown_and_the_replay_goes_on(tmp_path) -> None:
    limited = events_pb2.GetEventsResponse(node_name="node1")
    limited.rate_limit_info.number_of_dropped_process_events = 77
    later = exec_event("/usr/bin/wget")
    code, out, err = _run(tmp_path, [_line(exec_event()), _line(limited), _line(later)])
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("🚀 process default/xwing /usr/bin/curl")
    assert lines[1] == "77 events dropped by the agent's rate limit"
    assert lines[2].startswith("🚀 process default/xwing /usr/bin/wget")
    assert "cannot print" not in err


def test_json_output_passes_replay_lines_through_unchanged(tmp_path) -> None:
    odd = '{"process_exec": {"process": {"binary": "/bin/a<b", "exec_id": "x"}}, "node_name": "n", "future_field": 1}'
    kept = [odd, _line(exec_event())]
    code, out, _ = _run(tmp_path, [*kept, _line(kprobe_event("p"))], "-o", "json", "--event-types", "exec")
    assert code == 0
    assert out.splitlines() == kept  # byte for byte, unknown fields and key order included


def test_json_output_with_field_filters_reencodes_the_kept_fields(tmp_path) -> None:
    import json

    code, out, _ = _run(tmp_path, [_line(exec_event())], "-o", "json", "--include-fields", "process.binary")
    assert code == 0
    assert json.loads(out) == {"process_exec": {"process": {"binary": "/usr/bin/curl"}}, "node_name": "node1"}


def test_stack_traces_can_be_turned_off(tmp_path) -> None:
    event = kprobe_event("p")
    entry = event.process_kprobe.kernel_stack_trace.add()
    entry.address, entry.symbol, entry.offset = 0xFFFF0001, "do_sys_open", 0x10
    _, out_on, _ = _run(tmp_path, [_line(event)])
    _, out_off, _ = _run(tmp_path, [_line(event)], "--no-stack-traces")
    assert "Kernel:" in out_on and "do_sys_open" in out_on
    assert out_off.count("\n") == 1 and "Kernel:" not in out_off


def test_outputs_tetra_does_not_have_are_usage_errors(tmp_path) -> None:
    code, out, err = _run(tmp_path, [_line(exec_event())], "-o", "table")
    assert code == 2 and not out and "not a processes output" in err
