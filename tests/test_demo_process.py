"""The demo servers in their own process: reachable through the real clients, gone with ebtop."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import grpc

from tui.demo.runner import DemoError, spawn_demo
from tui.proto.observer import observer_pb2, observer_pb2_grpc

ROOT = Path(__file__).resolve().parents[1]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_spawned_demo_serves_flows_and_goes_with_stop() -> None:
    demo = spawn_demo(seed=3, rate=40)
    demo.wait_ready()
    child = demo.process.pid
    assert child != os.getpid() and _alive(child)
    with grpc.insecure_channel(demo.hubble_target) as channel:
        stub = observer_pb2_grpc.ObserverStub(channel)
        responses = list(stub.GetFlows(observer_pb2.GetFlowsRequest(number=5), timeout=10))
    assert sum(response.HasField("flow") for response in responses) == 5
    demo.stop()
    assert not _alive(child)
    assert not demo.workdir.exists()


def test_demo_process_ends_when_ebtop_is_killed() -> None:
    """SIGKILL leaves no orphan: the child reads EOF on its stdin and leaves."""
    script = ("import os, sys; from tui.demo.runner import spawn_demo; d = spawn_demo(); d.wait_ready(); "
              "print(d.process.pid, flush=True); os.kill(os.getpid(), 9)")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    child = int(out.stdout.split()[0])
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_a_demo_that_cannot_start_says_why(monkeypatch) -> None:
    monkeypatch.setenv("PYTHONPATH", "/nonexistent")
    monkeypatch.setattr(sys, "executable", "/bin/false")
    demo = spawn_demo()
    try:
        demo.wait_ready(timeout=5)
    except DemoError as error:
        assert "did not start" in str(error)
    else:
        raise AssertionError("a demo child that exits at once must raise DemoError")
