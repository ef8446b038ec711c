"""Batch mode ends like the tools it imitates, with one exit-code table for every pane.

`hubble observe` without --follow prints the last 20 flows and exits; with --follow it streams; an
unreachable server is exit 1 within a connect timeout unless --reconnect. Runs `ebtop` as a process
against the demo servers over real sockets.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from tui.cli import build_parser
from tui.demo.hubble_server import serve_hubble
from tui.demo.tetragon_server import serve_tetragon

ROOT = Path(__file__).resolve().parents[1]


def ebtop(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", "-b", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def flow_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "EVENTS LOST" not in line]


def test_without_follow_the_last_20_then_exit_and_n_is_last() -> None:
    server = serve_hubble(rate=0, history=200)
    try:
        default = ebtop("--pane", "flows", "--hubble-server", server.target)
        last_100 = ebtop("--pane", "flows", "--hubble-server", server.target, "--last", "100")
        n_5 = ebtop("--pane", "flows", "--hubble-server", server.target, "-n", "5")
    finally:
        server.stop()
    assert default.returncode == 0, default.stderr
    assert len(flow_lines(default.stdout)) == 20
    assert last_100.returncode == 0 and len(flow_lines(last_100.stdout)) == 100
    assert flow_lines(default.stdout) == flow_lines(last_100.stdout)[-20:]  # the newest 20, oldest first
    assert n_5.returncode == 0 and flow_lines(n_5.stdout) == flow_lines(last_100.stdout)[-5:]


def test_follow_streams_past_the_history() -> None:
    server = serve_hubble(rate=200, history=10)
    child = subprocess.Popen([sys.executable, "-m", "tui", "-b", "--pane", "flows", "--hubble-server",
                              server.target, "-f"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout is not None
        lines = [child.stdout.readline() for _ in range(60)]  # more than --last's 20 and the history's 10
        assert all(lines) and child.poll() is None  # still running: it follows
    finally:
        child.terminate()
        child.wait(10)
        server.stop()


def test_unreachable_server_is_exit_1_with_the_reason() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once closed
    flows = ebtop("--pane", "flows", "--hubble-server", f"127.0.0.1:{port}")
    assert flows.returncode == 1 and flows.stdout == ""
    assert f"hubble 127.0.0.1:{port}: unreachable: UNAVAILABLE" in flows.stderr
    assert "--reconnect keeps retrying" in flows.stderr
    processes = ebtop("--pane", "processes", "--tetragon-server", f"127.0.0.1:{port}")
    assert processes.returncode == 1 and f"tetragon 127.0.0.1:{port}: unreachable" in processes.stderr


def test_a_server_that_never_answers_fails_after_the_connect_timeout() -> None:
    with socket.socket() as listener:  # accepts TCP, never speaks HTTP/2
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        started = time.monotonic()
        out = ebtop("--pane", "flows", "--hubble-server", f"127.0.0.1:{port}", "--connect-timeout", "1")
        took = time.monotonic() - started
    assert out.returncode == 1
    # the batch loop's timer or the source's own attempt deadline, whichever fires first: both name the flag's 1 s
    assert "no answer" in out.stderr and "within 1 s" in out.stderr, out.stderr
    assert took < 20  # gRPC's own connect deadline is 20 s: ebtop's timeout ended it first


def test_reconnect_keeps_retrying() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    child = subprocess.Popen([sys.executable, "-m", "tui", "-b", "--pane", "flows", "--hubble-server",
                              f"127.0.0.1:{port}", "--reconnect"], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stderr is not None
        line = child.stderr.readline()
        assert "retrying in" in line and "UNAVAILABLE" in line
        server = serve_hubble(f"127.0.0.1:{port}", rate=0, history=30)  # it comes up: the retry reaches it
        try:
            out, err = child.communicate(timeout=60)
        finally:
            server.stop()
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    assert len(flow_lines(out)) == 20


def test_several_tetragon_servers_after_one_flag() -> None:
    first, second = serve_tetragon(rate=0), serve_tetragon(rate=0)
    try:
        args = build_parser().parse_args(["--tetragon-server", first.target, second.target])
        assert args.tetragon_server == [first.target, second.target]
        repeated = build_parser().parse_args(["--tetragon-server", first.target, "--tetragon-server", second.target])
        assert repeated.tetragon_server == [first.target, second.target]
        out = ebtop("--pane", "processes", "--tetragon-server", first.target, second.target, "-n", "40")
    finally:
        first.stop()
        second.stop()
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) >= 40


def test_the_exit_code_table_is_in_help() -> None:
    text = build_parser().format_help()
    assert "Exit codes (every pane" in text
    for code in ("0  done", "1  runtime failure", "2  usage"):
        assert code in text


def test_custom_counters_batch_prints_n_intervals_through_the_one_loop() -> None:
    import os
    import re

    import pytest

    if os.geteuid() != 0:
        pytest.skip("custom counters need root")
    out = ebtop("--pane", "syscalls", "--count", "syscalls:sys_enter_getppid:comm", "-n", "2", "--interval", "0.5")
    assert out.returncode == 0, out.stderr
    assert len(re.findall(r"^\[\d\d:\d\d:\d\d\]$", out.stdout, re.MULTILINE)) == 2
