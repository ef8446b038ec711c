"""Issue 10: with no cluster reachable, the pane's body says what was tried, the whole reason and the next steps.

Real gRPC: the Hubble source dials a loopback port nobody listens on (refused), then the demo server
comes up on that port and the explanation gives way to the flows.
"""

from __future__ import annotations

import socket

from tests.helpers.pilot import until
from tests.helpers.screen import screen_text
from tests.test_hubble_loopback import serve_hubble, source_from_cli
from tui.app import EbtopApp
from tui.model.flows import FlowStore
from tui.panes.flows import FlowsPane
from tui.panes.no_source import CONNECTING_GRACE_SECONDS, NoSourceNotice, waiting_attempts
from tui.sources.base import SourceState


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _notice(pane: FlowsPane) -> NoSourceNotice:
    return pane.query_one(NoSourceNotice)


async def test_unreachable_hubble_is_explained_in_the_body_and_flows_replace_it() -> None:
    port = _free_port()
    pane = FlowsPane(FlowStore(), source_from_cli(f"127.0.0.1:{port}"))
    app = EbtopApp([pane])
    server = None
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            assert await until(pilot, lambda: bool(_notice(pane).display) and "reason" in screen_text(app)), \
                screen_text(app)
            shown = " ".join(screen_text(app).split())  # wrapped lines read as one text
            assert f"127.0.0.1:{port}" in shown  # what was tried
            assert "refused" in shown.lower() or "failed to connect" in shown.lower()  # gRPC's reason, whole
            assert "kubectl -n kube-system port-forward svc/hubble-relay 4245:80" in shown
            assert "--hubble-server" in shown and "ebtop --demo" in shown
            server = serve_hubble(f"127.0.0.1:{port}", rate=100, history=50)
            assert await until(pilot, lambda: pane.store.flows > 0 and not _notice(pane).display, pauses=600), \
                screen_text(app)
            assert "port-forward" not in screen_text(app)
    finally:
        if server is not None:
            server.stop(grace=0)


def test_connecting_shows_only_after_the_grace_and_a_shown_notice_does_not_blink() -> None:
    source = source_from_cli("127.0.0.1:1")  # never started: its state is what the test sets
    source.status.set(SourceState.CONNECTING, "127.0.0.1:1")
    began = source.status.get().changed_at
    assert waiting_attempts([source], 0, now=began + 0.5) == []  # a server that is there answers in this time
    assert [label for label, _ in waiting_attempts([source], 0, now=began + CONNECTING_GRACE_SECONDS)] == [
        source.label]
    assert waiting_attempts([source], 0, now=began + 0.5, shown=True) == source.attempts()  # retry passes connecting
    source.status.set(SourceState.RETRYING, "refused")
    assert waiting_attempts([source], 0) == source.attempts()
    assert waiting_attempts([source], 1) == []  # something arrived: nothing to explain
    source.status.set(SourceState.STREAMING)
    assert waiting_attempts([source], 0, shown=True) == []


async def test_the_notice_is_readable_at_80x24() -> None:
    pane = FlowsPane(FlowStore(), source_from_cli(f"127.0.0.1:{_free_port()}"))
    app = EbtopApp([pane])
    async with app.run_test(size=(80, 24)) as pilot:
        assert await until(pilot, lambda: "Next steps" in screen_text(app)), screen_text(app)
        shown = screen_text(app)
        assert "kubectl -n kube-system port-forward svc/hubble-relay 4245:80" in " ".join(shown.split())  # wrapped
        assert all(len(line) <= 80 for line in shown.splitlines())


def test_the_notice_text_does_not_change_while_the_countdown_runs() -> None:
    """An idle ebtop must not re-lay out its body every second: the countdown is the status line's."""
    import time

    from tui.panes.no_source import HUBBLE, notice_text

    source = source_from_cli("127.0.0.1:1")  # never started: its state is what the test sets
    texts = set()
    for seconds_left in (9, 5, 1):
        source.status.set(SourceState.RETRYING, "refused", retry_at=time.monotonic() + seconds_left)
        assert f"retrying in {seconds_left}s" in source.describe()  # the status line counts down
        texts.add(notice_text(HUBBLE, waiting_attempts([source], 0)).plain)
    assert len(texts) == 1


async def test_unreachable_tetragon_is_explained_in_the_processes_body() -> None:
    from tui.panes.processes import ProcessesPane
    from tui.sources.base import Backoff
    from tui.sources.tetragon import TetragonSource

    port = _free_port()
    source = TetragonSource([f"127.0.0.1:{port}"], backoff_factory=lambda: Backoff(0.05, 0.2))
    pane = ProcessesPane(source)
    app = EbtopApp([pane], initial="processes")
    async with app.run_test(size=(120, 40)) as pilot:
        assert await until(pilot, lambda: "Next steps" in screen_text(app), pauses=200), screen_text(app)
        shown = " ".join(screen_text(app).split())
        assert f"127.0.0.1:{port}" in shown and "Tetragon" in shown
        assert "kubectl -n kube-system port-forward ds/tetragon 54321:54321" in shown
        assert "--tetragon-server" in shown and "ebtop --demo" in shown
