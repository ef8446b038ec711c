"""The Syscalls pane's latency and counter views, fed fixed kernel histograms: drawn as bpftrace's
hist() with p50/p99, regrouped with g, reached with v like every view."""

from __future__ import annotations

from textual.widgets import Static

from tui.app import EbtopApp
from tui.model.latency import HistDelta
from tui.panes.latency_views import LatencyView
from tui.panes.syscalls import VIEWS, SyscallsPane
from tui.render.glyphs import UNICODE
from tui.sources.counters import CounterDelta, CounterSpec

POD = "3f2a9c1e-7b4d-4e8a-9c1f-2d3e4f5a6b7c"


def fed_pane() -> SyscallsPane:
    pane = SyscallsPane(chars=UNICODE)
    pane.ingest(None, [
        HistDelta("runqlat", {(4242, "nginx", "a1b2c3d4e5f6", POD): {3: 40, 4: 90, 5: 30},
                              (900, "python3", "", ""): {1: 5, 12: 15}}),
        HistDelta("biolatency", {("254:0", "W"): {9: 400}, ("254:0", "R"): {8: 3}}),
        CounterDelta(CounterSpec("syscalls", "sys_enter_openat", "comm"), {"cat": 3, "evil\x1b[2J": 1}, 5.0),
    ])
    return pane


def view_text(pane: SyscallsPane, view: str) -> str:
    return str(pane.query_one(f"#{view}", LatencyView).query_one(Static).render())


async def press_until(pilot, pane: SyscallsPane, view: str) -> None:
    for _ in range(len(VIEWS)):
        if pane.view == view:
            return
        await pilot.press("v")
        await pilot.pause()
    raise AssertionError(f"v never reached {view}")


async def test_runqlat_view_draws_bpftrace_hist_and_regroups() -> None:
    pane = fed_pane()
    app = EbtopApp([pane], initial="syscalls")
    async with app.run_test(size=(120, 40)) as pilot:
        await press_until(pilot, pane, "runqlat")
        text = view_text(pane, "runqlat")
        lines = text.splitlines()
        assert lines[0].startswith("@usecs:   180 events  p50 ")
        assert "[4, 8)                40 |" in text and "[8, 16)               90 |" + "@" * 52 + "|" in text
        await pilot.press("g")  # by process
        await pilot.pause()
        text = view_text(pane, "runqlat")
        assert text.splitlines()[0].startswith("@usecs[nginx, 4242]:   160 events")
        assert "@usecs[python3, 900]:   20 events" in text
        await pilot.press("g", "g")  # by pod
        await pilot.pause()
        text = view_text(pane, "runqlat")
        assert f"@usecs[{POD}]:" in text and "@usecs[(host)]:" in text


async def test_biolatency_and_counters_views() -> None:
    pane = fed_pane()
    app = EbtopApp([pane], initial="syscalls")
    async with app.run_test(size=(120, 40)) as pilot:
        await press_until(pilot, pane, "biolatency")
        text = view_text(pane, "biolatency")
        assert text.splitlines()[0].startswith("@usecs[254:0, W]:   400 events  p50 ")
        assert "[256, 512)           400 |" in text
        await press_until(pilot, pane, "counters")
        text = view_text(pane, "counters")
        assert "@sys_enter_openat[cat]: 3" in text
        assert "evil^[[2J" in text  # escaped
        await pilot.press("c")
        await pilot.pause()
        assert "@sys_enter_openat[cat]" not in view_text(pane, "counters")
