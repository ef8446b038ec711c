"""The terminal watcher: a hang-up without SIGHUP ends ebtop, and an idle watcher never wakes up."""

from __future__ import annotations

import os
import pty
import threading
import time
from pathlib import Path

from tui.shutdown import HANGUP, Shutdown


class Recording(Shutdown):
    """The real watcher; the exit request is recorded instead of ending the test process."""

    def __init__(self, fds: list[int]) -> None:
        super().__init__()
        self._terminal_fds = fds
        self.codes: list[int] = []
        self.asked = threading.Event()

    def request(self, code: int) -> bool:
        self.codes.append(code)
        self.asked.set()
        return True


def _wakeups(native_id: int) -> int:
    """How often the thread gave up the CPU of its own accord (each sleep or blocking call that waited)."""
    for line in Path(f"/proc/self/task/{native_id}/status").read_text().splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            return int(line.split()[1])
    raise AssertionError("no voluntary_ctxt_switches line")


def test_the_watcher_sleeps_until_the_terminal_hangs_up() -> None:
    master, slave = pty.openpty()
    shutdown = Recording([slave])
    watcher = threading.Thread(target=shutdown._watch_terminal, daemon=True)  # noqa: SLF001
    try:
        watcher.start()
        deadline = time.monotonic() + 5
        while watcher.native_id is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert watcher.native_id is not None
        time.sleep(0.1)  # in its poll by now
        before = _wakeups(watcher.native_id)
        time.sleep(0.8)  # a watcher polling every 0.25 s would wake three times here
        assert _wakeups(watcher.native_id) - before == 0
        assert shutdown.codes == []  # the terminal is still there
        os.close(master)  # the other side goes away: the pty reports POLLHUP
        master = -1
        assert shutdown.asked.wait(5), "no hang-up noticed after the terminal went away"
        assert shutdown.codes == [HANGUP]
        watcher.join(5)
        assert not watcher.is_alive()
    finally:
        for fd in (master, slave):
            if fd >= 0:
                os.close(fd)


def test_a_hang_up_after_the_app_ended_is_not_a_request() -> None:
    master, slave = pty.openpty()
    shutdown = Recording([slave])
    watcher = threading.Thread(target=shutdown._watch_terminal, daemon=True)  # noqa: SLF001
    try:
        watcher.start()
        time.sleep(0.1)
        shutdown._watch_stop.set()  # noqa: SLF001 - what detach_app does once the app has ended
        os.close(master)
        master = -1
        watcher.join(5)
        assert not watcher.is_alive()
        assert shutdown.codes == []
    finally:
        for fd in (master, slave):
            if fd >= 0:
                os.close(fd)
