"""EbtopApp: the three tabs, global bindings, and the one drain timer that feeds every pane."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from textual import events
from textual.actions import ActionParseResult
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.dom import DOMNode
from textual.driver import Driver
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static, TabbedContent, TabPane

from tui import __version__
from tui.colors import NO_COLOR_CSS, strip_colors
from tui.help_screen import HelpScreen
from tui.keys import help_groups, key_name, own_bindings
from tui.panes.ascii_widgets import ASCII_CSS, ascii_key, use_ascii_widgets
from tui.panes.base import LivePane
from tui.panes.footer import BoundedFooter
from tui.render.glyphs import unicode_supported
from tui.shutdown import QUIT_WAIT, SHUTDOWN, stop_in_parallel
from tui.sources.base import BoundedBuffer

TICK_SECONDS = 0.1
# Nothing arrived for the visible pane and nothing waits to be drawn: tick this often instead. Ages
# and countdowns in the status line are whole seconds, so they stay right; data, a key, a resize or
# the mouse bring the fast tick back at once (bench/README.md, UI cost: the idle figure).
IDLE_TICK_SECONDS = 1.0
BUILD_STALL_SECONDS = 0.5  # staged start-up: longest wait for the frame that triggers the next build
QUIET_TICKS = 10  # fast ticks with nothing to draw before slowing down (> FrameGovernor's slowest frame)
GC_FULL_THRESHOLD = 50  # CPython's default is 10
# Textual's discarded widgets (footer keys rebuilt on every tab switch) and cached strips are
# reference cycles that outlive generation 1; with the threshold above and the frozen start-up
# objects, CPython ran about one full collection in 4 minutes and RSS grew ~3.5 MiB/min while tabs
# rotated. A full pass this often keeps it flat (bench/README.md, Memory while tabs rotate).
GC_FULL_SECONDS = 15.0
# Below this the panes cannot show a header, a few rows and the status line: a notice replaces them.
MIN_WIDTH, MIN_HEIGHT = 60, 15

ABOUT = (
    f"ebtop {__version__}: Flows (Hubble), Processes (Tetragon or local exec tracepoints) and "
    "Syscalls (bcc) in one screen. Every action has a key; the mouse is optional."
)


class Wake(Message):
    """Data reached the visible pane while the tick was slow (posted from a source's thread)."""


@dataclass(frozen=True)
class PaneSlot:
    """A tab whose pane is built after the first frame.

    Building the four panes (their imports, models and widgets, and Textual styling every widget)
    took longer than the whole first-frame budget (issue 11: 0.5 s). With slots the first frame shows
    the tab strip at once; the visible tab's pane is built next, the others one per loop step after it.
    """

    id: str
    title: str
    build: Callable[[], LivePane]


STARTING_TEXT = "starting…"


class EbtopApp(App[int]):
    """A top-style monitor with one tab per pane; see `tui.cli` for how panes are built."""

    TITLE = "ebtop"
    CSS = """
    #status { height: 1; background: $panel; color: $text; padding: 0 1; }
    #status.-two-lines { height: 2; }
    #tabs { height: 1fr; }
    #too-small { display: none; height: 1fr; padding: 1 1; content-align: center middle; }
    EbtopApp.-too-small #tabs, EbtopApp.-too-small #status { display: none; }
    EbtopApp.-too-small #too-small { display: block; }
    TabPane { padding: 0; }
    .pane-starting { padding: 0 1; color: $text-muted; }
    """ + NO_COLOR_CSS
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("question_mark,f1", "help", "Help", key_display="?"),
        Binding("1", "show_tab('flows')", "Flows tab", show=False),
        Binding("2", "show_tab('processes')", "Processes tab", show=False),
        Binding("3", "show_tab('syscalls')", "Syscalls tab", show=False),
        Binding("4", "show_tab('profile')", "Profile tab", show=False),
        Binding("right_square_bracket", "next_tab", "Next tab", show=False, key_display="]"),
        Binding("left_square_bracket", "previous_tab", "Previous tab", show=False, key_display="["),
        Binding("tab", "focus_next", "Next widget (the focused one is always marked)", show=False),
        Binding("shift+tab", "focus_previous", "Previous widget", show=False),
        Binding("ctrl+z", "suspend_process", "Suspend to the shell (fg resumes)", show=False),
        Binding("ctrl+p", "command_palette", "Command palette (ebtop's actions)", show=False),
    ]

    def __init__(self, panes: Sequence[LivePane | PaneSlot], initial: str = "flows",
                 notices: Sequence[str] = (), wait_before_start: Callable[[], None] | None = None) -> None:
        """`panes`: built panes, or slots built after the first frame (`PaneSlot`).
        `wait_before_start`: blocks until the sources may connect (the demo servers coming up); it runs
        in a thread while the first frames draw, and what it raises ends the app (`start_error`)."""
        super().__init__()
        self._tabs_order = [entry for entry in panes]
        self.panes = [entry for entry in panes if isinstance(entry, LivePane)]
        self._slots = [entry for entry in panes if isinstance(entry, PaneSlot)]
        ids = [self._tab_id(entry) for entry in panes]
        self.initial = initial if initial in ids or not ids else ids[0]
        self._wait_before_start = wait_before_start
        self._may_start = wait_before_start is None
        self.start_error: BaseException | None = None
        self._build_step = 0.0  # when the staged start-up last moved (tick fallback: _build_stalled)
        self._mounting: asyncio.Future[None] | None = None  # the pane being put in its tab
        self.notices = list(notices)
        self._user_chose_tab = False
        self._status_text = ""
        self._notice_size: tuple[int, int] | None = None  # the size the too-small notice was written for
        self._quiet_ticks = 0
        self.idle = False  # ticking every IDLE_TICK_SECONDS (nothing to draw) instead of TICK_SECONDS
        self.ticks = 0  # ticks run so far (what the tests count)
        self._armed: list[BoundedBuffer[Any]] = []
        self._fast: Timer | None = None
        self._slow: Timer | None = None
        self.sub_title = f"v{__version__}"
        strip_colors(self)  # NO_COLOR / --colors never: no colour codes at all (tui/colors.py)
        self.ascii = not unicode_supported()  # LANG=C, TERM=linux: Textual's glyphs too (tui/panes/ascii_widgets.py)
        if self.ascii:
            use_ascii_widgets()
            self.CSS = type(self).CSS + ASCII_CSS

    def get_driver_class(self) -> type[Driver]:
        """Textual's Linux driver with an input thread that sleeps while nothing is typed (tui/driver.py)."""
        from tui.driver import driver_class

        return driver_class() or super().get_driver_class()

    def get_key_display(self, binding: Binding) -> str:
        """The footer's key labels; ASCII names (`Enter`, not `⏎`) where the terminal needs them."""
        display = super().get_key_display(binding)
        return ascii_key(display, binding.key) if self.ascii else display

    @staticmethod
    def _tab_id(entry: LivePane | PaneSlot) -> str:
        if isinstance(entry, PaneSlot):
            return entry.id
        return entry.id or entry.tab_title.lower()

    def compose(self) -> ComposeResult:
        with TabbedContent(initial=self.initial, id="tabs"):
            for entry in self._tabs_order:
                if isinstance(entry, PaneSlot):
                    with TabPane(entry.title, id=entry.id):
                        yield Static(STARTING_TEXT, classes="pane-starting", markup=False)
                    continue
                with TabPane(entry.tab_title, id=self._tab_id(entry)):
                    yield entry
        yield Static("", id="status", markup=False)
        yield Static("", id="too-small", markup=False)
        yield BoundedFooter()  # Textual's Footer keeps every key it ever showed (tui/panes/footer.py)

    def on_mount(self) -> None:
        # Fewer full GC passes: the models keep tens of thousands of live objects and each full
        # collection scans all of them (80-200 ms pauses about once a second at 10,000 process
        # events/s; with 50 the pane's loop-lag p99 went 122 -> 33 ms, bench/README.md Processes).
        gen0, gen1, _ = gc.get_threshold()
        gc.set_threshold(gen0, gen1, GC_FULL_THRESHOLD)
        for notice in self.notices:
            self.notify(notice, title="configuration", severity="warning", timeout=10, markup=False)
        if self._may_start:
            self._start_panes()
        else:
            threading.Thread(target=self._wait_then_start, name="ebtop-start", daemon=True).start()
        self._install_signal_handlers()
        self.app_resume_signal.subscribe(self, self._repaint_after_resume)
        self._fast = self.set_interval(TICK_SECONDS, self._tick)
        self.set_interval(GC_FULL_SECONDS, self._collect_garbage)
        if self._slots:  # the first frame (tabs only) is drawn before any pane is built
            self._build_step = time.monotonic()
            self.call_after_refresh(self._build_next)
        else:
            # A pane that focuses a widget while mounting makes TabbedContent show its tab: put the
            # tab asked for back in front once everything is mounted.
            self.call_after_refresh(self._show_initial)

    # -- staged start-up ---------------------------------------------------------------------------
    def _wait_then_start(self) -> None:
        """In a thread: `wait_before_start`, then the sources start on the loop (or the app ends)."""
        assert self._wait_before_start is not None
        try:
            self._wait_before_start()
        except Exception as error:  # noqa: BLE001 - handed to the caller through start_error
            if self._exit or SHUTDOWN.requested is not None:  # ending anyway: the demo was stopped
                return
            self.start_error = error
            with contextlib.suppress(RuntimeError):  # the app has already gone
                self.call_from_thread(self.exit, 1, return_code=1)
            return
        with contextlib.suppress(RuntimeError):
            self.call_from_thread(self._allow_start)

    def _allow_start(self) -> None:
        self._may_start = True
        if not self._exit:
            self._start_panes()
            self.wake()  # their first items are drawn on the fast tick

    def _start_panes(self) -> None:
        for pane in self.panes:
            pane.start()

    def _build_next(self) -> None:
        """Build one waiting pane (the shown tab's first), put it in its tab, and come back after the
        next frame for the rest: keys and frames stay live while the others are built."""
        self._build_step = time.monotonic()
        if self._exit or not self._slots:
            return
        shown = self.query_one(TabbedContent).active
        slot = next((slot for slot in self._slots if slot.id == shown), self._slots[0])
        self._slots.remove(slot)
        pane = slot.build()
        holder = self.query_one(f"#{slot.id}", TabPane)
        holder.query(".pane-starting").remove()
        self._mounting = asyncio.ensure_future(self._mount_in(holder, pane, focus=slot.id == shown))
        self._mounting.add_done_callback(self._mount_finished)

    def _mount_finished(self, mounting: asyncio.Future[None]) -> None:
        """A failed mount is a crash like any other (a future's error would go unseen)."""
        if not mounting.cancelled() and mounting.exception() is not None:
            self._handle_exception(mounting.exception())  # type: ignore[arg-type]

    def _build_stalled(self) -> bool:
        """Panes still wait but no step has run for a while: the frame that was to trigger the next
        one never came (the tick builds it instead)."""
        return bool(self._slots) and time.monotonic() - self._build_step > BUILD_STALL_SECONDS and \
            (self._mounting is None or self._mounting.done())

    async def _mount_in(self, holder: TabPane, pane: LivePane, focus: bool) -> None:
        """Mount `pane`; once laid out it ticks and its sources start: what they brought before its
        widgets existed would be counted but never drawn."""
        await holder.mount(pane)
        # Its first layout next: a list fed before it has a size scrolled past its rows.
        self.call_after_refresh(self._pane_ready, pane, focus)

    def _pane_ready(self, pane: LivePane, focus: bool) -> None:
        self._build_step = time.monotonic()
        if self._exit:
            return
        order = self.tab_ids
        self.panes.append(pane)
        self.panes.sort(key=lambda built: order.index(built.id) if built.id in order else len(order))
        if self._may_start:
            pane.start()
        if focus:
            self.call_after_refresh(self._focus_shown)
        self.call_after_refresh(self._build_next if self._slots else self._finish_start)
        self.wake()
        self.refresh_status()

    def _finish_start(self) -> None:
        """Every pane is built: the tab asked for stays in front (a hidden pane focusing one of its
        widgets while mounting makes TabbedContent show it), and start-up objects leave the GC's sight."""
        if self._exit:
            return
        tabs = self.query_one(TabbedContent)
        if not self._user_chose_tab and self.initial and tabs.active != self.initial:
            tabs.active = self.initial
            self.call_after_refresh(self._focus_shown)
        gc.freeze()

    def exit(self, result: int | None = None, return_code: int = 0, message: Any = None) -> None:
        """A pane being mounted (staged start-up) is mounted first: Textual's teardown would remove
        its children under its `on_mount`. No pane is built after this."""
        self._slots.clear()
        mounting = self._mounting
        if mounting is not None and not mounting.done():
            mounting.add_done_callback(lambda _done: super(EbtopApp, self).exit(result, return_code, message))
            return
        super().exit(result, return_code, message)

    def _focus_shown(self) -> None:
        """The shown pane, just built, takes the keys unless the user has moved them already."""
        if self._exit:
            return
        active = self.active_pane()
        focused = self.focused
        if active is not None and (focused is None or active not in focused.ancestors_with_self):
            from textual.widgets import Tabs

            if focused is None or isinstance(focused, Tabs):
                active.focus_default()

    def _show_initial(self) -> None:
        if self._user_chose_tab:
            return
        tabs = self.query_one(TabbedContent)
        if self.initial and tabs.active != self.initial:
            tabs.active = self.initial
        active = self.active_pane()
        if active is not None:
            self.set_focus(None)
            active.focus_default()
        # Start-up objects (Textual, gRPC, protobuf descriptors) live for the whole run: move them out
        # of the collector's sight so full collections only scan what the models keep.
        gc.freeze()

    def _collect_garbage(self) -> None:
        gc.collect()

    def on_unmount(self) -> None:
        """Stop every pane's sources at once, waiting `QUIT_WAIT` at most: one slow close (a gRPC
        channel, bcc detaching probes) must not hold the terminal; `SHUTDOWN.leave` finishes the job."""
        SHUTDOWN.detach_app()
        stop_in_parallel([pane.stop for pane in self.panes], QUIT_WAIT)

    async def action_quit(self) -> None:
        """`q`: on a real terminal, out at once (`Shutdown.leave_now`: terminal restored, recordings
        finished, no widget teardown); elsewhere (tests, --serve) Textual's own exit."""
        if SHUTDOWN.can_leave_now():
            SHUTDOWN.leave_now(0, self._leave_application_mode)
        self.exit()

    def _leave_application_mode(self) -> None:
        """What Textual's exit does to the terminal: mouse, paste and focus reporting off, the normal
        screen and the saved terminal mode back, every frame already queued written first."""
        driver = self._driver
        if driver is not None:
            driver.stop_application_mode()
            driver.close()

    def _install_signal_handlers(self) -> None:
        """Hand the way out to `tui.shutdown` (signals, a lost terminal): it asks this app to exit.

        The request comes from a signal handler or the terminal watcher, so it goes through the
        loop's thread-safe call; the watchdog there ends the process if the normal exit hangs.
        """
        loop = asyncio.get_running_loop()

        def request_exit(code: int) -> None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(lambda: self.exit(code, return_code=code))

        SHUTDOWN.attach_app(request_exit, self._stop_panes)

    def _stop_panes(self) -> None:
        for pane in self.panes:
            with contextlib.suppress(Exception):
                pane.stop()

    def active_pane(self) -> LivePane | None:
        active = self.query_one(TabbedContent).active
        return next((pane for pane in self.panes if pane.id == active), None)

    def _check_size(self) -> bool:
        """Too small for the panes (40x12): say so, and how to go on, instead of a one-row tree.
        Counting goes on underneath; the panes come back as soon as the terminal is large enough."""
        width, height = self.size
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        if small and (width, height) != self._notice_size:  # redrawn only when the size changes
            self._notice_size = (width, height)
            self.query_one("#too-small", Static).update(
                f"Terminal too small: {width}x{height}. ebtop needs at least {MIN_WIDTH}x{MIN_HEIGHT} "
                "(80x24 shows every view). Enlarge the window, or use ebtop -b for plain output. q quits.")
        if not small:
            self._notice_size = None
        self.set_class(small, "-too-small")
        return small

    @property
    def tick_interval(self) -> float:
        """Seconds between drain ticks now: TICK_SECONDS, or IDLE_TICK_SECONDS while nothing moves."""
        return IDLE_TICK_SECONDS if self.idle else TICK_SECONDS

    def _tick(self) -> None:
        if self._exit or not self.is_running:  # leaving: the panes' widgets are being removed
            return
        self.ticks += 1
        if self._build_stalled():
            self._build_next()
        try:
            if self._check_size():
                for pane in self.panes:
                    pane.tick(False)
                self._pace(None)
                return
        except NoMatches:
            pass
        try:
            active = self.active_pane()
            self.query_one("#status", Static)
        except NoMatches:  # a modal screen is on top, or the app is shutting down: count, do not render
            active = None
        for pane in self.panes:
            pane.tick(pane is active)
        if active is not None:
            self.refresh_status()
        self._pace(active)

    def refresh_status(self) -> None:
        """Write the active pane's status line if it changed (after every tick and every key action)."""
        try:
            active = self.active_pane()
            status = self.query_one("#status", Static)
        except NoMatches:  # a modal screen is on top, or the app is shutting down
            return
        if active is None:
            return
        text = active.status_line()
        if text == self._status_text:  # same height: no layout pass needed
            return
        self._status_text = text
        # Wider than the terminal: a second line rather than losing the end (lost events
        # and ebtop's drops come first in every pane's status, so 80 columns show them).
        two = len(text) > max(1, status.size.width)
        if two != status.has_class("-two-lines"):
            status.set_class(two, "-two-lines")
            status.update(text)
        else:
            status.update(text, layout=False)

    # -- the adaptive tick ---------------------------------------------------------------------------
    def _pace(self, active: LivePane | None) -> None:
        """Slow the tick once nothing has moved for QUIET_TICKS ticks; speed it up when something does.

        Moving: the visible pane (not paused) took items, a pane left items behind (its drain limit
        or budget: a backlog must drain at full speed), or a pane asks for frames (`wants_ticks`).
        Hidden and paused panes still drain on the slow tick (their buffers are bounded).
        """
        moving = bool(self._slots) or any(pane.behind or pane.wants_ticks() for pane in self.panes)
        if active is not None and not active.paused and active.last_drained:
            moving = True
        if moving:
            self._quiet_ticks = 0
            if self.idle:
                self.wake()
            return
        self._quiet_ticks += 1
        if not self.idle and self._quiet_ticks >= QUIET_TICKS:
            self._slow_down(active)

    def _slow_down(self, active: LivePane | None) -> None:
        self.idle = True
        if self._fast is not None:
            self._fast.pause()
        if self._slow is None:
            self._slow = self.set_interval(IDLE_TICK_SECONDS, self._tick)
        else:
            self._slow.reset()
        if active is not None and not active.paused:  # its first new item wakes the fast tick
            self._armed = [source.buffer for source in active.sources]
            for buffer in self._armed:
                buffer.notify = self._data_arrived

    def wake(self) -> None:
        """Back to the fast tick at once (data for the visible pane, a key, a resize, the mouse)."""
        self._quiet_ticks = 0
        if not self.idle:
            return
        self.idle = False
        for buffer in self._armed:
            buffer.notify = None
        self._armed = []
        if self._slow is not None:
            self._slow.pause()
        if self._fast is not None:
            self._fast.resume()  # the tick it held back runs at once

    def _data_arrived(self) -> None:
        """From a source's thread, once per slow period: the tick runs now, not up to a second later."""
        self.post_message(Wake())

    def on_wake(self, _message: Wake) -> None:
        self.wake()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseEvent, events.Resize)):
            self.wake()
        await super().on_event(event)

    async def run_action(self, action: str | ActionParseResult, default_namespace: DOMNode | None = None,
                         namespaces: Mapping[str, DOMNode] | None = None) -> bool:
        """Every key binding, palette command and click runs here: its effect on the status line
        (`PAUSED`, another tab's sources) shows at once, not on the next tick."""
        handled = await super().run_action(action, default_namespace, namespaces)
        if handled and not self._exit:
            self.refresh_status()
        return handled

    @property
    def tab_ids(self) -> list[str]:
        """Every tab in order, its pane built or not yet (a key during start-up shows its tab)."""
        return [self._tab_id(entry) for entry in self._tabs_order]

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """The keys leave the tab that was left (by key, click or jump) before it is hidden.

        Textual blurs a focused widget as it is hidden and gives the focus to a visible-looking
        sibling in the same hidden pane (the Processes tree's event log), and TabbedContent then shows
        that pane again: `1` from Processes bounced back about one time in two. With nothing focused
        the new pane's own `on_show` focuses its main widget."""
        focused = self.focused
        left = None if focused is None else next(
            (node for node in focused.ancestors_with_self if isinstance(node, TabPane)), None)
        if left is not None and left is not event.pane:
            self.set_focus(None, scroll_visible=False)

    def action_show_tab(self, tab: str) -> None:
        self._user_chose_tab = True
        if tab in self.tab_ids:
            self._switch_to(tab)

    def _step_tab(self, step: int) -> None:
        self._user_chose_tab = True
        ids = self.tab_ids
        active = self.query_one(TabbedContent).active
        if active in ids:
            self._switch_to(ids[(ids.index(active) + step) % len(ids)])

    def _switch_to(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_next_tab(self) -> None:
        self._step_tab(1)

    def _repaint_after_resume(self, _app: object) -> None:
        """After Ctrl-Z and fg the terminal shows a cleared alternate screen while the compositor
        believes its last frame is there (same size, so no resize): paint every cell again."""
        for screen in (*self._background_screens, self.screen):
            screen.refresh(repaint=True, layout=True)

    def action_previous_tab(self) -> None:
        self._step_tab(-1)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Ctrl-P's palette: Textual's commands, the tabs, then every described key of the active pane.

        The same bindings the help screen lists (`tui.keys.own_bindings`), each run in the widget
        that declares it, so the palette and the keys do the same thing.
        """
        yield from super().get_system_commands(screen)
        yield SystemCommand("Help: ebtop's keys", "? or F1", self.action_help)
        for pane in self.panes:
            yield SystemCommand(f"Show the {pane.tab_title} tab", "1-4, [ and ]",
                                partial(self.action_show_tab, pane.id or ""))
        active = self.active_pane()
        if active is None:
            return
        seen: set[str] = set()
        for node in [active, *active.query("*")]:
            for binding in own_bindings(node):
                if binding.action in seen:
                    continue
                seen.add(binding.action)
                keys = " ".join(key_name(key.strip()) for key in binding.key.split(","))
                yield SystemCommand(f"{active.tab_title}: {binding.description}", f"key {keys}",
                                    partial(self.run_action, binding.action, node))

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        active = self.active_pane()
        # The same rows as README's key table (tui/keys.py): one vocabulary, written once.
        groups = help_groups(self, [active] if active is not None else [])
        rows = [(group, keys, description) for group, items in groups for keys, description in items]
        self.push_screen(HelpScreen(rows, ABOUT))
