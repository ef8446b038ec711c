"""Keys that arrive in one terminal read with `/` (a paste, fast typing) go into the filter box.

Textual hands queued keys to the focused widget before a plain `/` binding has moved focus to the
box: they were lost or ran as commands. Flows is pinned in tests/test_flows_view_filter.py; these
pin the Syscalls, Profile and Processes panes.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from tests.helpers.pilot import until
from tests.test_profile_pane import fed_pane as profile_pane
from tests.test_syscall_pane import fed_pane as syscalls_pane
from tui.app import EbtopApp


def burst(app: EbtopApp, text: str) -> None:
    """Queue every key before the first is handled, as one terminal read does."""
    for char in text:
        app.post_message(events.Key("slash" if char == "/" else char, char))


async def test_syscalls_keys_after_slash_reach_the_box() -> None:
    pane = syscalls_pane()
    app = EbtopApp([pane], initial="syscalls")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        burst(app, "/usr/bin")  # `b` would cycle the grouping, `s` the sort, `r` reverse it
        box = pane.query_one("#sc-filter", Input)
        assert await until(pilot, lambda: box.value == "usr/bin"), box.value
        assert pane.filter_text == "usr/bin" and app.focused is box
        assert pane.by == "comm"  # no key went to the table


async def test_profile_keys_after_slash_reach_the_box() -> None:
    pane = profile_pane()
    app = EbtopApp([pane], initial="profile")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        burst(app, "/lib/z")
        box = pane.query_one("#pf-filter", Input)
        assert await until(pilot, lambda: box.value == "lib/z"), box.value
        assert pane.filter_text == "lib/z" and app.focused is box


async def test_processes_keys_after_slash_reach_the_box() -> None:
    from tests.test_processes_pane import FixedSource, demo_events, settle
    from tui.model.processes import ProcessForest
    from tui.panes.processes import ProcessesPane

    pane = ProcessesPane(FixedSource(demo_events(120)), forest=ProcessForest(retention=3600), live_clock=False)
    app = EbtopApp([pane], initial="processes")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, pane)
        burst(app, "/pyte")  # `p` would pause the tree, `y` open the policies, `e` hide the event log
        box = pane.query_one("#process-filter", Input)
        assert await until(pilot, lambda: box.value == "pyte"), box.value
        assert app.focused is box
        assert not pane.paused and not pane.has_class("-policies")  # no key went to the tree
