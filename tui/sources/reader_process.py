"""Reading a gRPC stream in a second process: the one mechanism the Hubble and Tetragon sources share.

A Python gRPC client spends most of its time per message in gRPC's own machinery (the C core, the
channel's spin thread, the iterator), all under the GIL it would share with the UI. A child started
fresh (never forked: the parent may already run gRPC threads) runs the ordinary thread-based reader and
forwards what it reads as plain tuples, in batches about 100 times a second (`FLUSH_SECONDS`) while
items arrive; with nothing arriving it blocks (a wake-up every `IDLE_SECONDS` at most), it never polls. State
changes travel in the same ordered stream (`ForwardingStatus`), so the parent source looks exactly like
the thread-based one. The child ends when the parent says so, when the parent goes away (pipe closed)
or when its reader is done, after a last `("end",)` item.

The child is `python -m tui.sources.reader_child FD` started with `subprocess`, not multiprocessing's
spawn: spawn also starts multiprocessing's resource tracker, a third process of about 12 MiB that the
readers never need (they share no semaphores or memory), and re-imports the parent's `__main__` in
the child. The pipe is one end of a socketpair passed as that fd, wrapped in the same
`multiprocessing.connection.Connection` (pickled messages), so both sides talk as before.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from tui.sources.base import SourceState, StatusHolder

FLUSH_SECONDS = 0.01
IDLE_SECONDS = 1.0  # with nothing arriving, how often the child looks at its reader and `before_flush`
END = ("end",)


# -- child side ----------------------------------------------------------------------------------

def quiet_stderr() -> None:
    """The child shares the terminal with the TUI: gRPC's C-core logs and Python tracebacks must not
    scribble over it (everything the parent needs arrives as items)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


class Outbox:
    """What the child has for the parent, in arrival order; `wait()` blocks until there is some."""

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self.stopped = False

    def put(self, item: Any) -> None:
        with self._lock:
            self._items.append(item)
            if len(self._items) == 1:
                self._ready.notify()

    def take(self) -> list[Any]:
        with self._lock:
            items, self._items = self._items, []
        return items

    def wait(self, timeout: float) -> bool:
        """Block until an item is there or `stop()` was called (True), or `timeout` passed (False)."""
        with self._lock:
            return self._ready.wait_for(lambda: bool(self._items) or self.stopped, timeout)

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            self._ready.notify_all()

    def __len__(self) -> int:
        return len(self._items)


class ForwardingStatus(StatusHolder):
    """Child side: every state change also goes to the parent as `("status", *tag, state, reason, delay)`."""

    def __init__(self, outbox: Outbox, *tag: Any) -> None:
        super().__init__()
        self._outbox = outbox
        self._tag = tag

    def set(self, state: SourceState, reason: str = "", retry_at: float | None = None) -> None:
        super().set(state, reason, retry_at)
        delay = None if retry_at is None else retry_at - time.monotonic()
        self._outbox.put(("status", *self._tag, state.value, reason, delay))


def apply_status(holder: StatusHolder, state: str, reason: str, delay: float | None) -> None:
    """Parent side of `ForwardingStatus`: the same state, with the retry time moved to this clock."""
    holder.set(SourceState(state), reason, None if delay is None else time.monotonic() + delay)


def _watch_parent(conn: Connection, outbox: Outbox) -> None:
    """Block on the pipe: any message from the parent (its stop) or the pipe closing stops the child."""
    with contextlib.suppress(EOFError, OSError):
        conn.recv()
    outbox.stop()


def forward(conn: Connection, outbox: Outbox, alive: Callable[[], bool],
            before_flush: Callable[[], None] | None = None) -> None:
    """Child main loop: flush the outbox to the parent until told to stop or the reader is done.

    It sleeps in `Outbox.wait` while nothing arrives; once items come it lets `FLUSH_SECONDS` pass
    so they travel as one batch."""
    threading.Thread(target=_watch_parent, args=(conn, outbox), name="parent-watch", daemon=True).start()
    try:
        while not outbox.stopped:
            if outbox.wait(IDLE_SECONDS) and not outbox.stopped:
                time.sleep(FLUSH_SECONDS)  # gather a batch
            if outbox.stopped:
                break  # the parent asked to stop (or went away)
            if before_flush is not None:
                before_flush()
            items = outbox.take()
            if items:
                conn.send(items)
            if not alive() and not len(outbox):
                conn.send([END])
                break
    except (BrokenPipeError, EOFError, OSError):
        pass


# -- parent side ---------------------------------------------------------------------------------

PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the directory holding `tui`, for the child's path


def child_command(fd: int) -> list[str]:
    """The child's command line: this Python, the child module, the fd of its end of the pipe."""
    return [sys.executable, "-m", "tui.sources.reader_child", str(fd)]


def child_env() -> dict[str, str]:
    """The parent's environment with `tui` importable in the child whatever its working directory."""
    env = dict(os.environ)
    path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = PACKAGE_ROOT + (os.pathsep + path if path else "")
    return env


class ReaderProcess:
    """The child, its pipe and its batches, for a source's `run()` (its receiver) and `close()`."""

    def __init__(self, name: str, target: Callable[..., None], args: tuple[Any, ...]) -> None:
        self.name = name
        self.target = target  # a module-level function: it travels pickled (by name) to the child
        self.args = args
        self.ended = False  # the child said it was done (else it died or was stopped)
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None

    def spawn(self) -> None:
        ours, theirs = socket.socketpair()  # both ends non-inheritable; only `theirs` is passed on
        try:
            self._process = subprocess.Popen(child_command(theirs.fileno()), pass_fds=(theirs.fileno(),),
                                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL, env=child_env(), close_fds=True)
        finally:
            theirs.close()
        self._conn = Connection(ours.detach())
        with contextlib.suppress(BrokenPipeError, OSError):
            self._conn.send((self.name, self.target, self.args))  # what the child runs, first message

    def batches(self) -> Iterator[list[Any]]:
        """Each batch the child sends, until its end item, its exit, or `stop()`."""
        conn = self._conn
        if conn is None:
            return
        while True:
            try:
                items = conn.recv()
            except (EOFError, OSError):
                return
            if items and items[-1] == END:
                self.ended = True
                yield items[:-1]
                return
            yield items

    def stop(self, timeout: float = 5.0) -> None:
        process, conn = self._process, self._conn
        if process is None:
            return
        with contextlib.suppress(BrokenPipeError, OSError):
            if conn is not None:
                conn.send("stop")
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if conn is not None:
            conn.close()

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None
