"""The one second-process reader (tui/sources/reader_process.py), over real gRPC on loopback.

What the child learns reaches the parent in order: state, problems (a failing ServerStatus, once
swallowed), and its death, which is a visible failure rather than a source that looks alive.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from tui.demo.hubble_server import HubbleDemoServer, HubbleDemoService
from tui.demo.server_base import bind, new_server
from tui.filters.hubble import History, build_request
from tui.proto.observer import observer_pb2_grpc
from tui.sources.base import SourceState
from tui.sources.hubble import HubbleSource
from tui.sources.hubble_process import ProcessHubbleSource
from tui.sources.hubble_tls import resolve


class BrokenStatusService(HubbleDemoService):
    """A real Observer whose flows work and whose ServerStatus always fails."""

    def ServerStatus(self, request, context):  # noqa: N802 - gRPC method name
        context.abort(grpc.StatusCode.INTERNAL, "status store is down")


def serve_broken_status() -> HubbleDemoServer:
    service = BrokenStatusService(seed=1, rate=0, history=50, lost_events_every=0, start_time=None)
    server = new_server()
    observer_pb2_grpc.add_ObserverServicer_to_server(service, server)
    target = bind(server, "127.0.0.1:0")
    server.start()
    return HubbleDemoServer(server=server, target=target, service=service)


def wait_for(check: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


@pytest.mark.parametrize("reader", [HubbleSource, ProcessHubbleSource])
def test_server_status_errors_reach_problems(reader: type) -> None:
    server = serve_broken_status()
    request = build_request([], History(), live=True)
    source = reader(resolve(server.target), request, status_interval=0.2)
    try:
        source.start()
        assert wait_for(lambda: any("status store is down" in p for p in source.problems))
        assert source.state() is SourceState.STREAMING  # the flows still arrive
        assert len(source.buffer) > 0
        if reader is HubbleSource:
            assert source.counters()["server status errors"] >= 1
        problems = source.problems
        assert len([p for p in problems if "ServerStatus" in p]) == 1  # said once, not every 0.2 s
    finally:
        source.stop()
        server.stop()


def test_a_dead_reader_process_is_a_failure_not_a_quiet_source() -> None:
    from tui.demo.hubble_server import serve_hubble

    server = serve_hubble(rate=5, history=10)
    source = ProcessHubbleSource(resolve(server.target), build_request([], History(), live=True))
    try:
        source.start()
        assert wait_for(lambda: source.state() is SourceState.STREAMING)
        source._reader._process.kill()  # noqa: SLF001 - the child dies as an OOM kill would end it
        assert wait_for(lambda: source.state() is SourceState.FAILED, 10)
        assert "the reader process exited" in source.describe()
    finally:
        source.stop()
        server.stop()


def test_stop_is_idempotent_and_ends_the_child() -> None:
    from tui.demo.hubble_server import serve_hubble

    server = serve_hubble(rate=5, history=10)
    source = ProcessHubbleSource(resolve(server.target), build_request([], History(), live=True))
    try:
        source.start()
        assert wait_for(lambda: len(source.buffer) > 0)
        source.stop()
        source.stop()
        assert not source.running and not source._reader.alive  # noqa: SLF001
    finally:
        server.stop()


def test_a_status_error_while_connecting_is_still_said_once_streaming() -> None:
    """The poller can answer before the stream is up (a loaded machine): that must not use up the saying."""
    source = HubbleSource(resolve("127.0.0.1:1"), build_request([], History(), live=True))
    source.status.set(SourceState.CONNECTING, "127.0.0.1:1")
    source._status_error("ServerStatus: status store is down")
    assert source.problems == []  # while connecting, the stream's own state says what is wrong
    source.status.set(SourceState.STREAMING, "127.0.0.1:1")
    source._status_error("ServerStatus: status store is down")
    source._status_error("ServerStatus: status store is down")
    assert [p for p in source.problems if "status store is down" in p] == [f"{source.label}: ServerStatus: "
                                                                           "status store is down"]


def process_names() -> list[tuple[int, int, str]]:
    """(pid, ppid, command line) of every process, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        found.append((int(entry.name), ppid, cmdline))
    return found


def test_the_child_is_ours_and_no_resource_tracker_starts() -> None:
    """The reader child is this process's own child, and multiprocessing's resource tracker (a third
    process of about 12 MiB that spawn starts) is not started for it (issue 11)."""
    from tui.demo.hubble_server import serve_hubble

    server = serve_hubble(rate=5, history=10)
    source = ProcessHubbleSource(resolve(server.target), build_request([], History(), live=True))
    try:
        source.start()
        assert wait_for(lambda: len(source.buffer) > 0)
        pid = source._reader.pid  # noqa: SLF001
        mine = [(child, cmdline) for child, ppid, cmdline in process_names() if ppid == os.getpid()]
        assert [child for child, _ in mine] == [pid]  # the one child, no tracker beside it
        assert "tui.sources.reader_child" in mine[0][1]
        assert not [cmdline for _, _, cmdline in process_names() if "resource_tracker" in cmdline]
    finally:
        source.stop()
        server.stop()


PARENT = """
import sys, time
from tui.filters.hubble import History, build_request
from tui.sources.hubble_process import ProcessHubbleSource
from tui.sources.hubble_tls import resolve
source = ProcessHubbleSource(resolve(sys.argv[1]), build_request([], History(), live=True))
source.start()
while len(source.buffer) == 0:
    time.sleep(0.05)
print(source._reader.pid, flush=True)
time.sleep(600)
"""


def test_the_child_ends_when_its_parent_is_killed() -> None:
    """SIGKILL leaves the parent no chance to say stop: the child sees its pipe close and ends."""
    from tui.demo.hubble_server import serve_hubble

    server = serve_hubble(rate=5, history=10)
    parent = subprocess.Popen([sys.executable, "-c", PARENT, server.target], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[1])
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert Path(f"/proc/{child}").exists()
        parent.kill()
        parent.wait()
        assert wait_for(lambda: not Path(f"/proc/{child}").exists() or zombie(child), 30)
    finally:
        parent.kill()
        parent.wait()
        server.stop()


def zombie(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    return True
