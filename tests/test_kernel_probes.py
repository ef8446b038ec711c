"""The event probes in the real kernel: each sees a known event it was made to see (root only)."""

from __future__ import annotations

import errno
import mmap
import os
import secrets
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.model.probes import (
    BlockEvent,
    BlockHistDelta,
    ConnectEvent,
    OpenEvent,
    ProbeModel,
    RetransEvent,
)

pytestmark = pytest.mark.kernel


@pytest.fixture
def collected() -> list:
    return []


def probe(cls, sink, **kwargs) -> Iterator:
    made = cls(sink.append, **kwargs)
    try:
        yield made
    finally:
        made.close()


def drain_until(made, items: list, predicate, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        made.poll()
        if predicate(items):
            return
        time.sleep(0.05)


def test_file_open_seen_with_path_and_result(tmp_path: Path, collected: list) -> None:
    from tui.sources.kernel_probes import OpensProbe

    missing = tmp_path / f"missing-{secrets.token_hex(4)}"
    present = tmp_path / f"present-{secrets.token_hex(4)}"
    present.write_text("x")
    before = time.time()
    for made in probe(OpensProbe, collected):
        with pytest.raises(FileNotFoundError):
            missing.open().close()
        fd = os.open(present, os.O_RDONLY)
        os.close(fd)
        drain_until(made, collected, lambda items: any(getattr(e, "path", "") == str(present) for e in items))
    opens = [e for e in collected if isinstance(e, OpenEvent)]
    (miss,) = [e for e in opens if e.path == str(missing)]
    assert miss.ret == -errno.ENOENT and miss.pid == os.getpid() and miss.syscall == "openat"
    (hit,) = [e for e in opens if e.path == str(present)]
    assert hit.ret == fd and hit.flags & os.O_ACCMODE == os.O_RDONLY
    assert before - 1.0 <= miss.at <= hit.at <= time.time() + 1.0  # kernel time moved onto the wall clock


def test_loopback_connect_latency_and_refused_connect(collected: list) -> None:
    from tui.sources.kernel_probes import TcpProbe

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]  # bound, not listening: connects are refused
    for made in probe(TcpProbe, collected):
        client = socket.create_connection(("127.0.0.1", port))
        refused = socket.socket()
        with pytest.raises(ConnectionRefusedError):
            refused.connect(("127.0.0.1", closed_port))
        drain_until(made, collected, lambda items: sum(isinstance(e, ConnectEvent) for e in items) >= 2)
        client.close()
        refused.close()
    server.close()
    closed.close()
    events = [e for e in collected if isinstance(e, ConnectEvent) and e.pid == os.getpid()]
    (ok,) = [e for e in events if e.dport == port]
    assert ok.ok and ok.daddr == "127.0.0.1" and 0 < ok.latency_ns < 1_000_000_000
    (bad,) = [e for e in events if e.dport == closed_port]
    assert not bad.ok
    model = ProbeModel()
    for event in events:
        model.add(event)
    assert model.connects.ok == 1 and model.connects.failed == 1 and model.connects.hist.total == 1
    assert model.connects.slowest() == [ok]


def test_retransmits_keep_the_connecting_owner(collected: list) -> None:
    """A listener with a full backlog that never accepts drops SYNs; the client retransmits them."""
    from tui.sources.kernel_probes import TcpProbe

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    clients = []
    for made in probe(TcpProbe, collected):
        for _ in range(4):
            client = socket.socket()
            client.setblocking(False)
            client.connect_ex(("127.0.0.1", port))
            clients.append(client)
        drain_until(made, collected, lambda items: any(isinstance(e, RetransEvent) for e in items), timeout=8)
    for client in clients:
        client.close()
    server.close()
    retrans = [e for e in collected if isinstance(e, RetransEvent) and e.dport == port]
    assert retrans, "no retransmit seen"
    assert all(e.pid == os.getpid() for e in retrans)  # owner from connect time, not swapper
    assert {e.state for e in retrans} <= {"SYN_SENT", "ESTABLISHED"}


def test_block_histogram_counts_direct_write_completions(collected: list) -> None:
    from tui.sources.kernel_probes import BlockProbe

    path = Path("/var/tmp") / f"ebtop-bio-{secrets.token_hex(4)}"
    block = mmap.mmap(-1, 1 << 16)  # page-aligned buffer for O_DIRECT
    block.write(b"e" * (1 << 16))
    try:
        for made in probe(BlockProbe, collected, slow_ms=0.0):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_DIRECT", 0), 0o600)
            try:
                for i in range(8):
                    os.pwrite(fd, block, i << 16)
                os.fsync(fd)
            finally:
                os.close(fd)
            made.poll()
            made.read_interval()
            drain_until(made, collected, lambda items: any(isinstance(e, BlockEvent) for e in items))
    finally:
        path.unlink(missing_ok=True)
    hist = [e for e in collected if isinstance(e, BlockHistDelta)]
    assert hist and sum(sum(h.slots.values()) for h in hist) >= 8
    slow = [e for e in collected if isinstance(e, BlockEvent)]  # threshold 0: every completion
    assert len(slow) >= 8 and all(e.latency_ns > 0 and ":" in e.dev for e in slow)
    assert any("W" in e.rwbs for e in slow)
    # biosnoop's columns: the submitting task and the device's name
    mine = [e for e in slow if e.pid == os.getpid()]
    assert mine and all(e.comm == Path("/proc/self/comm").read_text().strip() for e in mine)
    for event in mine:
        uevent = Path(f"/sys/dev/block/{event.dev}/uevent").read_text()
        assert event.disk and f"DEVNAME={event.disk}\n" in uevent
