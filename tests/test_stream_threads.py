"""The flow and event streams are read on the source's own thread, without grpcio's channel spin
thread handing each message over (tui.sources.hubble_tls.SINGLE_THREADED_STREAMS: two futex wake-ups
less per message). Real streams from the demo servers over loopback gRPC."""

from __future__ import annotations

import sys
import time

from tui.demo.hubble_server import serve_hubble
from tui.demo.tetragon_server import serve_tetragon
from tui.filters.hubble import build_request
from tui.filters.tetragon import EventFilters
from tui.sources.base import Backoff
from tui.sources.hubble import HubbleSource
from tui.sources.hubble_tls import resolve
from tui.sources.tetragon import TetragonSource


def spin_threads() -> int:
    """Threads whose stack is inside grpcio's channel spin loop."""
    count = 0
    for frame in sys._current_frames().values():  # noqa: SLF001
        while frame is not None:
            if frame.f_code.co_name == "channel_spin":
                count += 1
                break
            frame = frame.f_back
    return count


def wait_for_items(buffer, wanted: int, timeout: float = 30.0) -> int:
    got = 0
    deadline = time.monotonic() + timeout
    while got < wanted and time.monotonic() < deadline:
        got += len(buffer.drain())
        time.sleep(0.02)
    return got


def test_a_flow_stream_needs_no_spin_thread() -> None:
    server = serve_hubble(rate=100, history=50)
    source = HubbleSource(resolve(server.target), build_request([], live=True),
                          backoff=Backoff(base=0.05, cap=0.2), connect_timeout=2.0)
    try:
        source.start()
        assert wait_for_items(source.buffer, 200) >= 200  # streaming: history and live flows
        assert spin_threads() == 0
    finally:
        source.stop()
        server.stop()


def test_an_event_stream_needs_no_spin_thread() -> None:
    server = serve_tetragon(rate=100)
    source = TetragonSource([server.target], EventFilters(health_checks=True),
                            backoff_factory=lambda: Backoff(base=0.05, cap=0.2))
    try:
        source.start()
        assert wait_for_items(source.buffer, 200) >= 200
        assert spin_threads() == 0
    finally:
        source.stop()
        server.stop()
