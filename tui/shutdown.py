"""The one way out of ebtop: signals, a lost terminal, a crash and `q` all end the same way.

The way out is: the app exits (Textual leaves the alternate screen and turns mouse reporting off), the
panes stop their sources, and every source started in this process is stopped (BPF programs detach,
streams end). Nothing here kills the process with the signal's default action: that would skip the
terminal restore (the bug this module replaces: the kernel source re-raised SIGTERM before Textual
could restore the screen).

Whatever the terminal does, ebtop is gone within `EXIT_DEADLINE` seconds of the request: a watchdog
waits `EXIT_GRACE` seconds for the normal path (a frozen terminal blocks Textual's writes; a source may
hang in `close()`), then stops the sources itself, writes the terminal reset without blocking, and
leaves with `os._exit`.

A terminal can also go away without a SIGHUP (ebtop under `setsid`, `su -c` in a killed tmux): the
pty then reads EOF and reports POLLHUP. A watcher thread blocks in poll() on the terminal's
descriptors (no timeout: a hang-up ends the poll, so an idle ebtop is not woken four times a second)
and takes that as a hang-up, instead of Textual's input loop spinning on EOF at 100% CPU.

Once the app has ended and the terminal is restored, `Shutdown.leave` gives whatever is still
stopping `QUIT_WAIT` seconds in all (every source stops in its own thread), then ends the process
without waiting longer: a gRPC channel closing or bcc detaching probes one by one would hold the
shell prompt back for seconds, and the kernel does both for a process that exits (BPF programs,
perf events, links and the stats fd are released with their file descriptors; sockets close; the
reader and demo children see their pipe close and end). Only a recording (`--record-*`) is always
waited for, so its file is complete.

`q` on a real terminal goes faster still (`Shutdown.leave_now`): the app restores the terminal the
way Textual does (its driver leaves application mode and its writer thread flushes), the recordings
are finished, `on_leave` clean-ups run (the demo's socket directory), and the process ends at once:
Textual's own teardown of every widget (a third of a second and more) has nothing to save.

Batch mode has no app: the signal handler raises `Interrupted` in the main thread, the batch loop's
`finally` stops its source, and `tui.cli` returns the signal's exit status (128 + N).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import select
import signal
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, Protocol

from tui.sources.base import started_sources, stop_all_sources

EXIT_GRACE = 2.0  # seconds the normal way out gets before the watchdog acts
EXIT_DEADLINE = 4.0  # the process is gone by then, whatever the terminal does
HANGUP_GRACE = 1.0  # after a hang-up (no terminal left to restore) the watchdog acts sooner
QUIT_WAIT = 0.2  # after the app ended: how long the way out waits for sources still stopping
RECORDING_WAIT = 2.5  # the fast way out: how long a recording source gets to finish its file
SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
HANGUP = 128 + signal.SIGHUP
# What Textual turns on in application mode, turned off: mouse reporting (all modes), focus events,
# bracketed paste; cursor shown; the main screen back.
TERMINAL_RESET = (b"\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l\x1b[?1004l\x1b[?2004l"
                  b"\x1b[?25h\x1b[?1049l")
_LOST = select.POLLHUP | select.POLLERR | select.POLLNVAL


class Stoppable(Protocol):
    def stop(self, timeout: float = ...) -> None: ...


_TRACKED: weakref.WeakSet[Any] = weakref.WeakSet()


def track(source: Stoppable) -> None:
    """Stop `source` on the way out too (for sources that do not subclass `Source` yet)."""
    _TRACKED.add(source)


def stop_everything(timeout: float = 2.0) -> None:
    """Every started source: the `Source` registry, then the tracked ones, each idempotent."""
    stop_all_sources(timeout)
    for source in list(_TRACKED):
        with contextlib.suppress(Exception):
            source.stop(timeout)


def stop_in_parallel(calls: list[Callable[[], object]], wait: float) -> int:
    """Run each call in its own daemon thread and wait `wait` seconds in all; how many still run."""
    threads = [threading.Thread(target=call, name="ebtop-stop", daemon=True) for call in calls]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + wait
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return sum(thread.is_alive() for thread in threads)


def _quiet(call: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        with contextlib.suppress(Exception):
            call()
    return run


def _recording(sources: list[Any]) -> bool:
    return any(getattr(source, "recorder", None) is not None for source in sources)


class Interrupted(KeyboardInterrupt):
    """A signal in batch mode: unwinds the main thread like Ctrl-C, carrying the exit status."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class Shutdown:
    """Signal handlers, the terminal watcher and the exit watchdog; one per process (`SHUTDOWN`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._installed = False
        self._requested: int | None = None
        self._app_exit: Callable[[int], None] | None = None
        self._stop_panes: Callable[[], None] | None = None
        self._terminal_fds: list[int] = []
        self._saved_mode: list[Any] | None = None
        self._watch_stop = threading.Event()
        self._cleanups: list[Callable[[], object]] = []

    @property
    def requested(self) -> int | None:
        """The exit status asked for (128 + signal), or None while nobody asked."""
        return self._requested

    # -- setup, from tui.cli -------------------------------------------------------------------------
    def install(self, interactive: bool) -> None:
        """Handlers for SIGTERM, SIGHUP and SIGINT, an atexit stop, and the terminal's mode to restore.

        Only from the main thread (Python delivers signals there); a no-op elsewhere (tests).
        """
        if self._installed or threading.current_thread() is not threading.main_thread():
            return
        self._installed = True
        atexit.register(stop_everything)  # a crash or a plain return still detaches every probe
        for signum in SIGNALS:
            signal.signal(signum, self._on_signal)
        if interactive:
            self._terminal_fds = [fd for fd in (0, 1, 2) if _isatty(fd)]
            if self._terminal_fds:
                import termios

                with contextlib.suppress(termios.error, OSError):
                    self._saved_mode = termios.tcgetattr(self._terminal_fds[0])

    def attach_app(self, request_exit: Callable[[int], None], stop_panes: Callable[[], None]) -> None:
        """The running app's thread-safe exit request and pane stopper; watch the terminal for a hang-up."""
        if not self._installed:
            return
        self._app_exit = request_exit
        self._stop_panes = stop_panes
        if self._terminal_fds:
            self._watch_stop.clear()
            threading.Thread(target=self._watch_terminal, name="ebtop-tty-watch", daemon=True).start()

    def detach_app(self) -> None:
        """The app has ended: signals from now on unwind the main thread.

        If the app ended on its own because the terminal went away, the rest of the exit (sources,
        the demo servers) still gets the hang-up deadline.
        """
        self._app_exit = None
        self._watch_stop.set()
        if self._terminal_fds and self._terminal_lost():
            self.request(HANGUP)

    # -- the way out ---------------------------------------------------------------------------------
    def leave(self, code: int, wait: float = QUIT_WAIT) -> int:  # noqa: RET503 - ends the process
        """After the app ended: stop every source in parallel for `wait` seconds at most, then end the
        process with `code` at once (see the module docstring).

        Only for the app on a real terminal (`install(interactive=True)` found one); elsewhere (tests
        calling `main()`, a recording) every source is stopped the patient way."""
        sources = [*started_sources(), *_TRACKED]
        if not (self._installed and self._terminal_fds) or _recording(sources):
            stop_everything()  # a recording's file must be complete: the normal, patient way
            return code
        stop_in_parallel([_quiet(source.stop) for source in sources], wait)
        # The interpreter's own way out would now join every non-daemon thread, run bcc's and
        # multiprocessing's atexit handlers (detach probe by probe, join the reader children) and
        # tear gRPC down: seconds on a loaded box, none of it needed once the kernel cleans up.
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)

    def on_leave(self, cleanup: Callable[[], object]) -> None:
        """Run `cleanup` on the fast way out (`leave_now`), which skips the callers' `finally` blocks."""
        self._cleanups.append(cleanup)

    def can_leave_now(self) -> bool:
        """An app on a real terminal (`install(interactive=True)` found one) may end the process itself."""
        return self._installed and bool(self._terminal_fds) and self._app_exit is not None

    def leave_now(self, code: int, restore: Callable[[], object]) -> None:
        """End the process from the running app: `restore` the terminal (the driver's own way; the
        non-blocking reset if that fails), finish every recording, run the `on_leave` clean-ups,
        then `os._exit(code)`. BPF programs, perf events, sockets and the children's pipes are the
        kernel's to release (see the module docstring)."""
        self.detach_app()
        try:
            restore()
        except Exception:  # noqa: BLE001 - the terminal must come back whatever the driver did
            self.restore_terminal()
        sources = [*started_sources(), *_TRACKED]
        stop_in_parallel([_quiet(source.stop) for source in sources if _recording([source])], RECORDING_WAIT)
        for cleanup in self._cleanups:
            with contextlib.suppress(Exception):
                cleanup()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)

    def request(self, code: int) -> bool:
        """Ask ebtop to end with `code` (from any thread); False when no app runs (batch mode)."""
        with self._lock:
            first = self._requested is None
            if first:
                self._requested = code
        if first and self._installed:
            threading.Thread(target=self._watchdog, args=(code,), name="ebtop-exit-watchdog",
                             daemon=True).start()
        app_exit = self._app_exit
        if app_exit is None:
            return False
        with contextlib.suppress(Exception):  # the loop may be closing already
            app_exit(code)
        return True

    def _on_signal(self, signum: int, frame: object) -> None:
        code = 128 + signum
        if not self.request(code):
            raise Interrupted(code)

    def _watchdog(self, code: int) -> None:
        # A hung-up terminal has nothing to restore and Textual's exit may spin writing to it.
        grace = HANGUP_GRACE if code == HANGUP else EXIT_GRACE
        time.sleep(grace)
        stopper = threading.Thread(target=self._stop_all, name="ebtop-exit-stop", daemon=True)
        stopper.start()
        stopper.join(max(0.1, EXIT_DEADLINE - grace - 0.5))
        if code != HANGUP:
            restorer = threading.Thread(target=self.restore_terminal, name="ebtop-exit-tty", daemon=True)
            restorer.start()
            restorer.join(0.3)
        os._exit(code)  # no flush of stdio: a frozen terminal would block it

    def _stop_all(self) -> None:
        """The panes' sources (some are not `Source`s yet), then every registered source."""
        if self._stop_panes is not None:
            with contextlib.suppress(Exception):
                self._stop_panes()
        stop_everything(timeout=1.0)

    def restore_terminal(self) -> None:
        """Reset what the app turned on, with writes that never block (the terminal may be frozen)."""
        import termios

        for fd in self._terminal_fds[:1]:
            try:
                path = os.ttyname(fd)
                tty = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
            except OSError:
                return  # the terminal is gone: nothing to restore
            try:
                with contextlib.suppress(OSError):
                    os.write(tty, TERMINAL_RESET)
                if self._saved_mode is not None:
                    with contextlib.suppress(termios.error, OSError):
                        termios.tcsetattr(tty, termios.TCSANOW, self._saved_mode)
            finally:
                os.close(tty)

    def _watch_terminal(self) -> None:
        """A pty whose other side closed reports POLLHUP: take it as a hang-up (no SIGHUP may come).

        The poll waits for nothing but that (mask 0: hang-up, error and invalid are reported
        whatever the mask), with no timeout; once the app has ended the thread is left blocked (a
        daemon: the process exit ends it) and a later hang-up is ignored.
        """
        while not self._watch_stop.is_set():
            lost = self._terminal_lost(timeout=None)
            if self._watch_stop.is_set():
                return
            if lost:
                self.request(HANGUP)
                return

    def _terminal_lost(self, timeout: float | None = 0) -> bool:
        poller = select.poll()
        for fd in self._terminal_fds:
            poller.register(fd, 0)  # hang-up, error and invalid are reported whatever the mask
        try:
            return any(mask & _LOST for _, mask in poller.poll(None if timeout is None else timeout * 1000))
        except OSError:
            return True


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


SHUTDOWN = Shutdown()

