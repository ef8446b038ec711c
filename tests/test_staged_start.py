"""Staged start-up (tui.app.PaneSlot): the tab strip is drawn first, the shown tab's pane is built
next and the others after it; sources wait for `wait_before_start` (the demo servers coming up)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from textual.widgets import Input, TabbedContent, Tabs

from tui.app import STARTING_TEXT, EbtopApp, PaneSlot
from tui.panes.problem import ProblemPane

ROOT = Path(__file__).resolve().parents[1]
TABS = ("flows", "processes", "syscalls", "profile")


class StartCounting(ProblemPane):
    """A pane that records when the app starts it (what `LivePane.start` does to its sources)."""

    def __init__(self, title: str, pane_id: str) -> None:
        super().__init__(title, pane_id, "not under test")
        self.started = 0

    def start(self) -> None:
        self.started += 1
        super().start()


def _slots(built: list[str], make=StartCounting, before=None) -> list[PaneSlot]:
    def build(name: str):
        if before is not None:
            before(name)
        built.append(name)
        return make(name.title(), name)

    return [PaneSlot(name, name.title(), lambda name=name: build(name)) for name in TABS]


async def _until(pilot, condition, steps: int = 200) -> None:
    for _ in range(steps):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError("condition not met")


async def test_tabs_are_laid_out_before_any_pane_is_built_and_the_shown_one_comes_first() -> None:
    built: list[str] = []
    strip_width_at_first_build: list[int] = []
    app: EbtopApp

    def before(name: str) -> None:
        if not built:
            strip_width_at_first_build.append(app.query_one(Tabs).region.width)
            assert STARTING_TEXT in str(app.query_one(f"#{name} .pane-starting").render())

    app = EbtopApp(_slots(built, before=before), initial="syscalls")
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: len(app.panes) == len(TABS))
        assert built[0] == "syscalls"
        assert sorted(built) == sorted(TABS)
        assert strip_width_at_first_build and strip_width_at_first_build[0] > 0  # the strip had a frame
        assert [pane.id for pane in app.panes] == list(TABS)  # tab order, whatever the build order
        assert not app.query(".pane-starting")
        assert app.query_one(TabbedContent).active == "syscalls"
        assert all(pane.started == 1 for pane in app.panes)


async def test_a_tab_chosen_during_start_up_is_shown_and_built_next() -> None:
    built: list[str] = []
    app: EbtopApp

    def before(name: str) -> None:
        if name == "flows":  # a key arriving while the first pane is being built
            app.action_show_tab("profile")

    app = EbtopApp(_slots(built, before=before), initial="flows")
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: len(app.panes) == len(TABS))
        assert built[:2] == ["flows", "profile"]
        assert app.query_one(TabbedContent).active == "profile"


async def test_a_hidden_pane_built_later_does_not_take_the_tab() -> None:
    class Focusing(StartCounting):
        def compose(self):
            yield Input()

        def on_mount(self) -> None:
            self.query_one(Input).focus()

    def make(title: str, name: str):
        return (Focusing if name == "processes" else StartCounting)(title, name)

    built: list[str] = []
    app = EbtopApp(_slots(built, make=make), initial="flows")
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: len(app.panes) == len(TABS))
        await pilot.pause()
        await pilot.pause()
        assert app.query_one(TabbedContent).active == "flows"


async def test_sources_start_only_once_the_gate_opens() -> None:
    gate = threading.Event()
    built: list[str] = []
    app = EbtopApp(_slots(built), initial="flows", wait_before_start=gate.wait)
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: len(app.panes) == len(TABS))
        assert all(pane.started == 0 for pane in app.panes)
        gate.set()
        await _until(pilot, lambda: all(pane.started == 1 for pane in app.panes))


async def test_a_gate_that_fails_ends_the_app_with_its_error() -> None:
    def fail() -> None:
        raise RuntimeError("the demo servers did not start: boom")

    app = EbtopApp(_slots([]), initial="flows", wait_before_start=fail)
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: app._exit)  # noqa: SLF001
    assert isinstance(app.start_error, RuntimeError)
    assert app.return_code == 1


def test_the_demo_failing_to_start_is_reported_by_the_command(tmp_path: Path) -> None:
    """Through `tui.cli`: the app is up (staged) while the demo child fails; the message and status
    are the same as when the failure came before the app."""
    script = tmp_path / "run.py"
    script.write_text(
        "import sys\n"
        "import tui.demo.runner as runner\n"
        "real = runner.DemoProcess.__init__\n"
        "def init(self, seed, rate):\n"
        "    real(self, seed, rate)\n"
        "    self.process.kill()\n"  # the child dies before saying it is ready
        "runner.DemoProcess.__init__ = init\n"
        "from tui.cli import main\n"
        "sys.exit(main(['--demo', '--probes', 'none']))\n")
    out = subprocess.run(["script", "-qec", f"{sys.executable} {script}", "/dev/null"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 1, out.stdout[-2000:]
    assert "ebtop: the demo servers did not start" in out.stdout


async def test_the_tick_builds_the_rest_when_the_frame_that_should_never_comes() -> None:
    """The next build is triggered by the frame after the last one; if that frame never comes (an
    idle screen), the drain tick builds the rest (BUILD_STALL_SECONDS later)."""
    built: list[str] = []
    app = EbtopApp(_slots(built), initial="flows")
    real = app.call_after_refresh

    def no_frame_for_builds(callback, *args, **kwargs):
        if getattr(callback, "__name__", "") == "_build_next" and built:
            return True  # dropped: as if no frame came after the first pane
        return real(callback, *args, **kwargs)

    app.call_after_refresh = no_frame_for_builds  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: len(app.panes) == len(TABS), steps=600)
        assert sorted(built) == sorted(TABS)
