"""Real BPF: a loopback TCP connect and its accepted socket are attributed to the right pids (root only)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tui.model.join import FlowJoiner
from tui.model.sockets import ACCEPT, CONNECT

pytestmark = pytest.mark.kernel

SERVER = """
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
c, _ = s.accept(); c.recv(16); c.close(); s.close()
sys.stdin.readline()  # stay alive until the test has read the events (its binary is read from /proc)
"""
CLIENT = """
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print(c.getsockname()[1], flush=True)
c.sendall(b"hello"); c.close()
sys.stdin.readline()
"""


@pytest.fixture(scope="module")
def source():
    from tui.sources.kernel_sockets import KernelSocketSource

    src = KernelSocketSource()
    src.load()  # compile and attach now: events from here on are seen
    yield src
    src.stop()


def _events(source, want, deadline_s: float = 5.0) -> list:
    got = []
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        source.poll()
        got += source.buffer.drain()
        if want(got):
            break
        time.sleep(0.02)
    return got


def test_connect_and_accept_on_loopback_belong_to_their_pids(source) -> None:
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    port = int(server.stdout.readline())
    before = time.time_ns()
    client = subprocess.Popen([sys.executable, "-c", CLIENT, str(port)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    cport = int(client.stdout.readline())
    key_c = ("127.0.0.1", cport, "127.0.0.1", port)
    key_s = ("127.0.0.1", port, "127.0.0.1", cport)

    def tuple_of(e):
        return (e.local_addr, e.local_port, e.remote_addr, e.remote_port)

    def complete(got) -> bool:
        closes = {tuple_of(e) for e in got if e.what == "close"}
        return key_c in closes and key_s in closes

    try:
        events = [e for e in _events(source, complete) if tuple_of(e) in (key_c, key_s)]
    finally:
        for child in (client, server):
            child.communicate("\n", timeout=10)
    connects = [e for e in events if e.what == CONNECT]
    accepts = [e for e in events if e.what == ACCEPT]
    assert len(connects) == 1 and tuple_of(connects[0]) == key_c
    assert connects[0].process.pid == client.pid
    assert connects[0].process.binary == os.path.realpath(sys.executable)
    assert len(accepts) == 1 and tuple_of(accepts[0]) == key_s
    assert accepts[0].process.pid == server.pid
    assert complete(events)
    # times are on the wall clock, in order
    assert before - 10**9 < connects[0].t_ns <= accepts[0].t_ns < time.time_ns()

    joiner = FlowJoiner()
    for event in sorted(events, key=lambda e: e.t_ns):
        joiner.add_sock_event(event)
    join = joiner.index.lookup("TCP", "127.0.0.1", cport, "127.0.0.1", port, connects[0].t_ns + 1000)
    assert join.client is not None and join.client.process.pid == client.pid
    assert join.server is not None and join.server.process.pid == server.pid
    reply = joiner.index.lookup("TCP", "127.0.0.1", port, "127.0.0.1", cport, accepts[0].t_ns + 1000)
    assert reply.process is not None and reply.process.pid == client.pid


def test_a_refused_connect_is_reported_and_closed(source) -> None:
    import socket

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nobody listens there now
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)
    events = _events(source, lambda got: any(e.what == "close" and e.remote_port == port for e in got))
    mine = [e for e in events if e.remote_port == port]
    assert [e.what for e in mine] == [CONNECT, "close"]
    assert mine[0].process.pid == os.getpid()
