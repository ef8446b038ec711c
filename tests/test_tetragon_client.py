"""The real Tetragon client over loopback gRPC against the demo agent: filters, restarts, replay, record."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tui.demo.tetragon_scenario import tetragon_events
from tui.demo.tetragon_server import serve_tetragon
from tui.proto.jsonlines import format_line
from tui.sources.base import Backoff, BoundedBuffer, SourceState
from tui.sources.event_replay import EventRecorder, ReplaySource, iter_events
from tui.sources.tetragon import (
    EventFilters,
    ProcessTetragonSource,
    TetragonSource,
    default_targets,
    event_type_name,
    normalize_target,
    socket_permission_problem,
)


def fast_backoff() -> Backoff:
    return Backoff(base=0.05, cap=0.2)


def wait_for(predicate, timeout: float = 20.0, step: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def collect(buffer: BoundedBuffer, count: int, timeout: float = 30.0) -> list:
    got: list = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        batch = buffer.drain()
        if batch:
            got.extend(batch)
        else:
            time.sleep(0.005)
    return got


def body(response):
    return getattr(response, response.WhichOneof("event"))


def make_source(reader: str, targets: list[str], filters: EventFilters | None = None, **kwargs) -> TetragonSource:
    """The thread reader (in this process) or the process reader (a spawned child), same interface."""
    if reader == "process":
        return ProcessTetragonSource(targets, filters, backoff=(0.05, 0.2), **kwargs)
    return TetragonSource(targets, filters, backoff_factory=fast_backoff, **kwargs)


@pytest.mark.parametrize("reader", ["thread", "process"])
def test_ten_thousand_events_with_filters_applied_by_the_server(reader: str) -> None:
    server = serve_tetragon(rate=0)
    filters = EventFilters(namespaces=["shop"], pod_regex=["^api-"], binary_regex=["^/(usr/)?bin/|^/app/"],
                           event_types=["process_exec", "PROCESS_EXIT", "kprobe"])
    source = make_source(reader, [server.target], filters, buffer=BoundedBuffer(1_000_000))
    try:
        source.start()
        got = collect(source.buffer, 10_000)
    finally:
        source.stop()
        server.stop()
    assert len(got) >= 10_000
    assert source.buffer.dropped == 0
    kinds = {r.WhichOneof("event") for r in got}
    assert kinds <= {"process_exec", "process_exit", "process_kprobe"} and "process_exec" in kinds
    for response in got:
        process = body(response).process
        assert process.pod.namespace == "shop" and process.pod.name.startswith("api-")
        assert process.binary.startswith(("/bin/", "/usr/bin/", "/app/"))
        assert not process.pod.container.maybe_exec_probe  # health checks denied by default
    assert source.version == "v1.7.0-demo"


def test_unfiltered_stream_has_what_the_filters_removed() -> None:
    server = serve_tetragon(rate=0)
    source = TetragonSource([server.target], EventFilters(health_checks=True), backoff_factory=fast_backoff)
    try:
        source.start()
        got = collect(source.buffer, 3_000)
    finally:
        source.stop()
        server.stop()
    namespaces = {body(r).process.pod.namespace for r in got if body(r).HasField("process")}
    assert {"shop", "tools"} <= namespaces
    assert any(body(r).process.pod.container.maybe_exec_probe for r in got)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("reader", ["thread", "process"])
def test_recovers_after_the_agent_restarts_on_the_same_port(reader: str) -> None:
    address = f"127.0.0.1:{free_port()}"
    server = serve_tetragon(address, rate=0)
    source = make_source(reader, [address])
    source.start()
    try:
        assert wait_for(lambda: source.received > 100)
        assert source.state() is SourceState.STREAMING
        server.stop(grace=0)
        assert wait_for(lambda: source.state() is SourceState.RETRYING)
        assert "127.0.0.1" in source.describe()
        before = source.received
        server = serve_tetragon(address, rate=0)
        assert wait_for(lambda: source.received > before + 100)
        assert source.state() is SourceState.STREAMING
        assert source.streams[0].connects >= 2
    finally:
        source.stop()
        server.stop()


def test_several_servers_are_merged_into_one_buffer() -> None:
    first, second = serve_tetragon(rate=0, seed=1), serve_tetragon(rate=0, seed=2)
    source = TetragonSource([first.target, second.target], backoff_factory=fast_backoff)
    try:
        source.start()
        assert wait_for(lambda: all(s.received > 50 for s in source.streams))
        assert source.describe().startswith("2/2 streaming")
    finally:
        source.stop()
        first.stop()
        second.stop()


def test_unreachable_server_retries_with_the_reason() -> None:
    source = TetragonSource([f"127.0.0.1:{free_port()}"], backoff_factory=fast_backoff)
    try:
        source.start()
        assert wait_for(lambda: source.state() is SourceState.RETRYING)
        assert "UNAVAILABLE" in source.describe()
    finally:
        source.stop()


def test_bad_filter_fails_with_the_servers_reason() -> None:
    server = serve_tetragon(rate=0)
    source = TetragonSource([server.target], EventFilters(binary_regex=["("]), backoff_factory=fast_backoff)
    try:
        source.start()
        assert wait_for(lambda: source.state() is SourceState.FAILED)
        assert "INVALID_ARGUMENT" in source.describe()
    finally:
        source.stop()
        server.stop()


def test_record_then_replay_gives_identical_events(tmp_path: Path) -> None:
    server = serve_tetragon(rate=0)
    path = tmp_path / "capture.json"
    source = TetragonSource([server.target], recorder=EventRecorder(str(path)), backoff_factory=fast_backoff)
    try:
        source.start()
        live = collect(source.buffer, 2_000)
    finally:
        source.stop()
        server.stop()
    replayed = list(iter_events(path.read_text().splitlines()))
    assert len(replayed) >= len(live) >= 2_000
    assert replayed[: len(live)] == live


def test_replay_counts_bad_lines_with_numbers(tmp_path: Path) -> None:
    good = [format_line(r) for _, r in zip(range(50), (r for _, r in tetragon_events(1, 50.0, 0)), strict=False)]
    lines = good[:10] + ["{not json"] + good[10:20] + ['{"process_exec": {"process": {"pid": "x"}}}'] + good[20:]
    path = tmp_path / "events.json"
    path.write_text("\n".join(lines) + "\n")
    replay = ReplaySource(str(path))
    replay.run_sync()
    assert replay.state() is SourceState.ENDED
    assert replay.received == 50 and replay.bad_lines == 2
    assert [e.line_number for e in replay.errors] == [11, 22]
    assert "2 bad lines skipped (line 11, 22)" in replay.describe()
    assert replay.problems[0].startswith(f"{path}:11: skipped bad line: not JSON")
    assert len(replay.buffer.drain()) == 50


def test_replay_of_missing_file_fails_clearly(tmp_path: Path) -> None:
    replay = ReplaySource(str(tmp_path / "nope.json"))
    replay.run_sync()
    assert replay.state() is SourceState.FAILED and "cannot read" in replay.describe()


def test_default_target_order(tmp_path: Path) -> None:
    sock = tmp_path / "tetragon.sock"
    info = tmp_path / "tetragon-info.json"
    assert default_targets(str(sock), str(info)) == ["localhost:54321"]
    info.write_text(json.dumps({"server_address": "10.0.0.5:5555"}))
    assert default_targets(str(sock), str(info)) == ["10.0.0.5:5555"]
    sock.write_text("")
    assert default_targets(str(sock), str(info)) == [f"unix://{sock}"]
    assert normalize_target("node1") == "node1:54321" and normalize_target("/run/t.sock") == "unix:///run/t.sock"


def test_event_type_names() -> None:
    assert event_type_name("exec") == "PROCESS_EXEC" and event_type_name("process_lsm") == "PROCESS_LSM"
    with pytest.raises(ValueError, match="unknown event type"):
        event_type_name("bogus")


def test_socket_that_refuses_the_user_gets_a_message() -> None:
    directory = Path(tempfile.mkdtemp(prefix="ebtop-sock-"))
    os.chmod(directory, 0o755)
    path = directory / "tetragon.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    os.chmod(path, 0o660)
    try:
        if os.geteuid() == 0:
            code = ("import sys; from tui.sources.tetragon import socket_permission_problem as p; "
                    f"print(p('unix://{path}'))")
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, user=65534, group=65534, extra_groups=[],
                                 cwd="/", env={"PYTHONPATH": str(Path(__file__).resolve().parents[1])})
            message = out.stdout + out.stderr
        else:
            message = socket_permission_problem(f"unix://{path}") or ""
        assert "permission denied" in message and "run ebtop as root" in message, message
    finally:
        listener.close()
        shutil.rmtree(directory, ignore_errors=True)
