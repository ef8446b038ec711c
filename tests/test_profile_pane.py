"""The Profile pane: views, scope, filter, zoom, fold, pause and clear, from a fixed set of stacks;
snapshots of each view at 120x40 and 80x24; and the real sampler filling it when root."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from tui.app import EbtopApp
from tui.model.probes import CostReport, ProgramCost
from tui.model.stacks import Frame, ProfileInterval, StackSample
from tui.panes.profile import ProfilePane
from tui.render.glyphs import UNICODE
from tui.sources.base import SourceState

POD = "3f2a9c1e-7b4d-4e8a-9c1f-2d3e4f5a6b7c"


def u(name: str, module: str) -> Frame:
    return Frame(name, module)


def k(name: str) -> Frame:
    return Frame(name, "[kernel]", kernel=True)


MAIN = (u("_start", "nginx"), u("main", "nginx"), u("ngx_worker_loop", "nginx"))
READ = (u("ngx_read", "nginx"), u("read", "libc.so.6"), k("entry_SYSCALL_64"), k("do_syscall_64"),
        k("ksys_read"), k("vfs_read"))


def fixed_intervals() -> list[object]:
    stacks = [
        StackSample(4242, "nginx", (*MAIN, u("ngx_http_parse", "nginx"), u("ngx_parse_header", "nginx")), 420,
                    cgroup=77, container="a1b2c3d4e5f6", pod=POD),
        StackSample(4242, "nginx", (*MAIN, u("ngx_http_parse", "nginx"), u("memchr", "libc.so.6")), 180,
                    cgroup=77, container="a1b2c3d4e5f6", pod=POD),
        StackSample(4242, "nginx", (*MAIN, *READ), 150, cgroup=77, container="a1b2c3d4e5f6", pod=POD),
        StackSample(4243, "nginx", (*MAIN, u("ngx_gzip", "nginx"), u("deflate", "libz.so.1")), 90,
                    cgroup=77, container="a1b2c3d4e5f6", pod=POD),
        StackSample(900, "python3", (u("python3.11+0x1f3e2", "python3.11", ),
                                     Frame("python3.11+0x9a10", "python3.11", named=False),
                                     u("_PyEval_EvalFrameDefault", "python3.11")), 110, cgroup=1),
        StackSample(17, "kworker/0:1", (k("ret_from_fork"), k("kthread"), k("worker_thread"),
                                        k("process_one_work")), 40, cgroup=1),
        StackSample(666, "evil\x1b[2J", (u("main", "evil"), u("spin\x1b]0;x\x07", "evil")), 10, cgroup=1),
    ]
    return [ProfileInterval(stacks, 10.0, taken=1200, idle=200),
            CostReport((ProgramCost("profile:on_cpu_sample", 980, 2_940_000, 10.0),))]


def fed_pane(**kwargs) -> ProfilePane:
    pane = ProfilePane(chars=UNICODE, **kwargs)
    for item in fixed_intervals():
        pane.add(item)
    return pane


def body_text(pane: ProfilePane) -> str:
    return str(pane.query_one("#pf-body", Static).render())


def header_text(pane: ProfilePane) -> str:
    return str(pane.query_one("#pf-header", Static).render())


async def test_functions_view_self_and_total() -> None:
    pane = fed_pane()
    app = EbtopApp([pane], initial="profile")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        lines = body_text(pane).splitlines()
        assert "SELF%" in lines[0] and "TOTAL%" in lines[0]
        assert "ngx_parse_header" in lines[1] and " 42.0% " in lines[1]  # 420 of 1000 samples, self
        main_line = next(line for line in lines if " main  [nginx]" in line)
        assert "  0.0%" in main_line and " 84.0% " in main_line  # never a leaf; in 840 of 1000 stacks
        assert "1,000 samples" in header_text(pane)
        assert "cost 3.0 us/sample" in header_text(pane)
        assert "evil^[[2J" not in body_text(pane)  # the comm is not a function
        assert "spin^[]0;x\\x07" in body_text(pane)  # escaped, not interpreted


async def test_unnamed_share_is_said_on_screen() -> None:
    pane = fed_pane()
    app = EbtopApp([pane], initial="profile")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        notes = str(pane.query_one("#pf-notes", Static).render())
        assert "of frames unnamed" in notes and "frame pointers" in notes


async def test_tree_folds_and_zooms() -> None:
    pane = fed_pane()
    app = EbtopApp([pane], initial="profile")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("v")
        await pilot.pause()
        text = body_text(pane)
        assert "CALLERS -> CALLEES" in text
        assert "ngx_http_parse" in text  # the hot path is open from the start
        before = len(text.splitlines())
        await pilot.press("home", "left")  # fold the first row (the nginx process)
        await pilot.pause()
        folded = body_text(pane).splitlines()
        assert len(folded) < before and "ngx_http_parse" not in "\n".join(folded)
        await pilot.press("right", "down", "down", "down")  # nginx > _start > main > ngx_worker_loop
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert pane.zooms == ["ngx_worker_loop"]
        assert "zoom ngx_worker_loop" in header_text(pane)
        assert "840 of 1,000 samples" in header_text(pane)
        await pilot.press("escape")
        await pilot.pause()
        assert pane.zooms == []


async def test_flame_rows_and_cursor_zoom() -> None:
    pane = fed_pane()
    app = EbtopApp([pane], initial="profile")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("v", "v")
        await pilot.pause()
        lines = body_text(pane).splitlines()
        assert lines[0].startswith("all: 1,000 samples")
        assert lines[1].startswith("|all")
        assert lines[2].startswith("|nginx")
        # nginx has 840 of 1000 samples: its cell is 84% of the 118 drawing columns
        width = len(lines[1])
        python_at = lines[2].index("|python3")
        assert abs(python_at - round(width * 0.84)) <= 1
        await pilot.press("down", "down", "down", "down")  # all > nginx > _start > main > ngx_worker_loop
        await pilot.pause()
        assert pane.flame_path[-1] == "ngx_worker_loop"
        await pilot.press("enter")
        await pilot.pause()
        assert body_text(pane).splitlines()[1].startswith("|ngx_worker_loop")


async def test_scope_filter_pause_clear() -> None:
    pane = fed_pane()
    app = EbtopApp([pane], initial="profile")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("g")  # busiest process
        await pilot.pause()
        assert "pid 4242 nginx" in header_text(pane)
        assert "750 of 1,000 samples" in header_text(pane)
        await pilot.press("g")  # container
        await pilot.pause()
        assert "container a1b2c3d4e5f6" in header_text(pane) and "840 of" in header_text(pane)
        await pilot.press("g")  # pod
        await pilot.pause()
        assert "pod 3f2a9c1e-7b4d" in header_text(pane)
        await pilot.press("g")  # back to all
        await pilot.press("slash")
        await pilot.pause()
        assert pane.query_one("#pf-filter", Input).has_focus
        await pilot.press(*"libz", "enter")
        await pilot.pause()
        assert "filter libz" in header_text(pane) and "90 of 1,000 samples" in header_text(pane)
        assert "deflate" in body_text(pane) and "ngx_parse_header" not in body_text(pane)
        await pilot.press("escape")  # no zoom: Esc drops the filter
        await pilot.pause()
        assert pane.filter_text == ""
        await pilot.press("p")
        frozen = body_text(pane)
        pane.add(ProfileInterval([StackSample(5, "late", (u("new_fn", "x"),), 5000)], 1.0))
        pane.tick(True)
        await pilot.pause()
        assert body_text(pane) == frozen and "PAUSED" in header_text(pane)
        await pilot.press("p")
        await pilot.pause()
        assert "new_fn" in body_text(pane)
        await pilot.press("c")
        await pilot.pause()
        assert pane.counts.total == 0 and "no samples" in body_text(pane)


async def test_fits_80x24() -> None:
    pane = fed_pane()
    app = EbtopApp([pane], initial="profile")
    async with app.run_test(size=(80, 24)) as pilot:
        for key in ("v", "v", "v"):
            await pilot.press(key)
            await pilot.pause()
            assert all(len(line) <= 78 for line in body_text(pane).splitlines())


def test_snapshot_functions_120x40(snap_compare) -> None:
    assert snap_compare(EbtopApp([fed_pane()], initial="profile"), terminal_size=(120, 40))


def test_snapshot_functions_80x24(snap_compare) -> None:
    assert snap_compare(EbtopApp([fed_pane()], initial="profile"), terminal_size=(80, 24))


def test_snapshot_tree_120x40(snap_compare) -> None:
    assert snap_compare(EbtopApp([fed_pane()], initial="profile"), terminal_size=(120, 40), press=["v"])


def test_snapshot_tree_80x24(snap_compare) -> None:
    assert snap_compare(EbtopApp([fed_pane()], initial="profile"), terminal_size=(80, 24), press=["v"])


def test_snapshot_flame_120x40(snap_compare) -> None:
    assert snap_compare(EbtopApp([fed_pane()], initial="profile"), terminal_size=(120, 40), press=["v", "v"])


def test_snapshot_flame_80x24(snap_compare) -> None:
    assert snap_compare(EbtopApp([fed_pane()], initial="profile"), terminal_size=(80, 24),
                        press=["v", "v", "down", "down"])


@pytest.mark.kernel
async def test_real_sampler_fills_the_pane(tmp_path: Path) -> None:
    from tests.helpers.hotchain import HotChain, build
    from tui.sources.profile import ProfileSource

    program = HotChain(build(tmp_path), 30, "ebtpane")
    source = ProfileSource(pid=program.pid, interval=0.5)
    pane = ProfilePane(source, pid=program.pid, chars=UNICODE)
    app = EbtopApp([pane], initial="profile")
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            program.go()
            deadline = time.monotonic() + 30
            while "ebt_leaf" not in body_text(pane) and time.monotonic() < deadline:
                await pilot.pause(0.2)
            text = body_text(pane)
            assert "ebt_leaf  [hotchain]" in text.splitlines()[1]
            assert "pid" in header_text(pane)
    finally:
        program.stop()


async def test_sort_and_reverse_functions() -> None:
    pane = fed_pane()
    app = EbtopApp([pane], initial="profile")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s")
        await pilot.pause()
        assert "_start  [nginx]" in body_text(pane).splitlines()[1]  # by total: in 840 of 1000 stacks
        await pilot.press("s", "r")
        await pilot.pause()
        assert "main  [evil]" in body_text(pane).splitlines()[1]  # by self, smallest first (0 self, 10 total)


async def test_sampling_starts_when_the_tab_is_first_shown() -> None:
    from tui.panes.syscalls import SyscallsPane
    from tui.sources.profile import ProfileSource

    source = ProfileSource()
    pane = ProfilePane(source, chars=UNICODE)
    app = EbtopApp([SyscallsPane(None), pane], initial="syscalls")
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause(0.3)
            assert source.state() is SourceState.IDLE and not source.running
            await pilot.press("4")
            await pilot.pause(0.3)
            assert source.state() is not SourceState.IDLE
    finally:
        source.stop()
