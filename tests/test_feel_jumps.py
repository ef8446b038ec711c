"""Issue 10: Enter on a Syscalls row opens its process in Processes, and Esc comes back to where the user was."""

from __future__ import annotations

from textual.widgets import DataTable, TabbedContent

from tests.helpers.pilot import until
from tests.test_processes_pane import FixedSource, demo_events
from tests.test_syscall_pane import AT
from tui.app import EbtopApp
from tui.model.probes import OpenEvent
from tui.model.processes import ProcessForest
from tui.model.syscalls import SyscallInterval, SyscallSample
from tui.panes.processes import ProcessesPane
from tui.panes.syscalls import SyscallsPane
from tui.render.glyphs import UNICODE


def _app() -> tuple[EbtopApp, ProcessesPane, SyscallsPane]:
    procs = ProcessesPane(FixedSource(demo_events(200)), forest=ProcessForest(retention=3600), live_clock=False)
    syscalls = SyscallsPane(chars=UNICODE, by="pid")
    app = EbtopApp([procs, syscalls], initial="syscalls")
    return app, procs, syscalls


async def _count_a_known_pid(pilot: object, procs: ProcessesPane, syscalls: SyscallsPane) -> int:
    """A pid the Processes tree knows, with syscalls counted for it in the Syscalls pane."""
    procs.tick(False)
    assert await until(pilot, lambda: len(procs.forest.by_pid) > 0)
    pid = sorted(p for _, p in procs.forest.by_pid)[0]
    syscalls.add_interval(SyscallInterval(AT, 5.0, [SyscallSample("known", 0, 900, pid=pid)], by_pid=True))
    return pid


async def test_esc_after_enter_on_an_opens_row_comes_back_to_the_opens_view() -> None:
    app, procs, syscalls = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        pid = await _count_a_known_pid(pilot, procs, syscalls)
        syscalls.add_event(OpenEvent(pid, "known", 3, 0, "/etc/hosts", "openat", AT))
        tabs = app.query_one(TabbedContent)
        app.action_show_tab("syscalls")
        syscalls.action_show_view("opens")
        opens = syscalls.query_one("#opens", DataTable)
        assert await until(pilot, lambda: tabs.active == "syscalls" and opens.row_count == 1)
        opens.focus()
        await pilot.press("enter")
        assert await until(pilot, lambda: tabs.active == "processes")
        await pilot.press("escape")
        assert await until(pilot, lambda: tabs.active == "syscalls"), tabs.active
        assert syscalls.view == "opens"  # the view the user was in, not the default one
        await pilot.press("2")  # by hand now: Esc in Processes has nothing to go back to
        assert await until(pilot, lambda: tabs.active == "processes")
        await pilot.press("escape")
        await pilot.pause()
        assert tabs.active == "processes"


async def test_a_jump_then_leaving_by_hand_forgets_where_it_came_from() -> None:
    app, procs, syscalls = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        await _count_a_known_pid(pilot, procs, syscalls)
        tabs = app.query_one(TabbedContent)
        top = syscalls.query_one("#top", DataTable)
        assert await until(pilot, lambda: top.row_count == 1)
        top.focus()
        await pilot.press("enter")
        assert await until(pilot, lambda: tabs.active == "processes")
        await pilot.press("3", "2")  # away and back by hand
        assert await until(pilot, lambda: tabs.active == "processes")
        await pilot.press("escape")
        await pilot.pause()
        assert tabs.active == "processes"
