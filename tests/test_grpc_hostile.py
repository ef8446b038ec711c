"""Hostile peers on real loopback sockets: a TCP listener that never speaks HTTP/2, a server that freezes.

Every channel has a connect deadline and keepalive pings, so neither leaves a source `connecting` or
`streaming` forever: the state turns to retrying with a reason that says what happened.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tui.proto.observer import observer_pb2
from tui.sources.base import Backoff, SourceState
from tui.sources.hubble import HubbleSource
from tui.sources.hubble_tls import Endpoint
from tui.sources.tetragon import TetragonSource

ROOT = Path(__file__).resolve().parents[1]


def wait_for(predicate, timeout: float = 20.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


class SilentPeer:
    """Accepts TCP connections and never writes a byte (a wrong port, a stuck proxy)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


def test_hubble_gives_up_on_a_peer_that_never_speaks_http2() -> None:
    peer = SilentPeer()
    source = HubbleSource(Endpoint(peer.address), observer_pb2.GetFlowsRequest(follow=True),
                          connect_timeout=0.5, backoff=Backoff(0.05, 0.1))
    source.start()
    try:
        assert wait_for(lambda: "no answer" in source.status.get().reason, timeout=15), source.status.get()
        status = source.status.get()
        assert status.state in (SourceState.RETRYING, SourceState.CONNECTING)
        assert peer.address in status.reason and "within 0.5 s" in status.reason
        assert peer.accepted  # it really was a TCP peer that answered the connect
    finally:
        source.stop()
        peer.close()


def test_tetragon_gives_up_on_a_peer_that_never_speaks_http2() -> None:
    peer = SilentPeer()
    source = TetragonSource([peer.address], backoff_factory=lambda: Backoff(0.05, 0.1), connect_timeout=0.5)
    source.start()
    try:
        assert wait_for(lambda: "no answer" in source.describe(), timeout=15), source.describe()
        assert peer.address in source.describe()
    finally:
        source.stop()
        peer.close()


SERVER = """
import sys, time
from tui.demo.hubble_server import serve_hubble
server = serve_hubble("127.0.0.1:0", rate=40)
print(server.target, flush=True)
time.sleep(600)
"""


@pytest.fixture
def hubble_process():  # noqa: ANN201
    proc = subprocess.Popen([sys.executable, "-c", SERVER], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    target = proc.stdout.readline().strip()
    yield proc, target
    os.kill(proc.pid, signal.SIGCONT)
    proc.kill()
    proc.wait(10)


def test_a_frozen_hubble_server_is_noticed(hubble_process) -> None:  # noqa: ANN001
    proc, target = hubble_process
    source = HubbleSource(Endpoint(target), observer_pb2.GetFlowsRequest(follow=True),
                          backoff=Backoff(0.05, 0.1), keepalive=(1.0, 1.0))
    source.start()
    try:
        assert wait_for(lambda: source.buffer.received > 20), source.status.get()
        assert source.status.get().state is SourceState.STREAMING
        os.kill(proc.pid, signal.SIGSTOP)  # the server stops answering anything, TCP stays up
        assert wait_for(lambda: source.status.get().state is not SourceState.STREAMING, timeout=30), \
            source.status.get()
        reason = source.status.get().reason
        assert "keepalive" in reason or "no answer" in reason, reason
    finally:
        source.stop()
