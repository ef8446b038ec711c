"""The app shell: tabs by key, the generated help screen, quitting by q and Ctrl-C, config notices."""

from __future__ import annotations

from textual.widgets import Static, TabbedContent

from tui.app import EbtopApp
from tui.help_screen import HelpScreen
from tui.panes.problem import ProblemPane


def _app(**kwargs: object) -> EbtopApp:
    panes = [ProblemPane("Flows", "flows", "not under test"), ProblemPane("Processes", "processes", "not under test"),
             ProblemPane("Syscalls", "syscalls", "not under test")]
    return EbtopApp(panes, **kwargs)  # type: ignore[arg-type]


async def test_number_keys_switch_tabs() -> None:
    app = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.query_one(TabbedContent).active == "flows"
        await pilot.press("3")
        assert app.query_one(TabbedContent).active == "syscalls"
        await pilot.press("left_square_bracket")
        assert app.query_one(TabbedContent).active == "processes"
        await pilot.pause(0.25)
        assert "Processes" in str(app.query_one("#status", Static).render())


async def test_help_screen_lists_bindings_and_closes() -> None:
    app = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = {(keys, description) for _, keys, description in app.screen.rows}
        assert ("q Ctrl-C", "Quit") in keys  # readable key names (tui/keys.py), one row per action
        assert ("? F1", "Help") in keys
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)


async def test_ctrl_c_and_q_quit_even_from_a_text_box() -> None:
    from textual.widgets import Input

    for key, focus_input in (("ctrl+c", True), ("ctrl+c", False), ("q", False)):
        app = _app()
        async with app.run_test(size=(40, 12)) as pilot:
            if focus_input:  # Ctrl-C has priority: it quits while a text box has the keys
                await app.screen.mount(Input())
                app.screen.query_one(Input).focus()
            await pilot.pause()
            assert app.return_code is None  # running: nothing asked it to exit yet
            await pilot.press(key)
            await pilot.pause()
            assert app.return_code == 0, f"{key} did not quit"


async def test_config_notices_are_shown() -> None:
    app = _app(notices=["config.toml:3: interval: expected a number; ignored"])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert any("interval" in n.message for n in app._notifications)  # noqa: SLF001


async def test_initial_tab_wins_over_a_pane_that_focuses_on_mount() -> None:
    from textual.widgets import Input

    class Focusing(ProblemPane):
        def compose(self):
            yield Input()

        def on_mount(self) -> None:
            self.query_one(Input).focus()

    app = EbtopApp([Focusing("Flows", "flows", "not under test"), ProblemPane("Processes", "processes", "not under test"),
                    ProblemPane("Syscalls", "syscalls", "not under test")], initial="syscalls")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.pause()
        assert app.query_one(TabbedContent).active == "syscalls"


async def test_leaving_a_tab_whose_focused_widget_has_a_focusable_sibling_stays_left() -> None:
    """Textual blurs a focused widget as its tab is hidden and focuses a sibling in the same hidden
    pane, and TabbedContent then shows that pane again (Processes: the tree and its event log)."""
    from textual.widgets import RichLog, Tree

    class TreeAndLog(ProblemPane):
        def compose(self):
            yield Tree("root", id="tree")
            yield RichLog(id="log")

        def on_show(self) -> None:
            self.query_one("#tree").focus()

    app = EbtopApp([ProblemPane("Flows", "flows", "not under test"), TreeAndLog("Processes", "processes", "x"),
                    ProblemPane("Syscalls", "syscalls", "not under test")], initial="processes")
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(5):
            await pilot.pause()
        assert app.focused is app.query_one("#tree")
        for key, tab in (("1", "flows"), ("2", "processes"), ("3", "syscalls"), ("2", "processes"), ("1", "flows")):
            await pilot.press(key)
            for _ in range(5):
                await pilot.pause()
            assert app.query_one(TabbedContent).active == tab, f"{key}: bounced to {app.query_one(TabbedContent).active}"
