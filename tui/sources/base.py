"""What every source shares: a visible lifecycle state, a bounded hand-off buffer, and backoff.

Sources run in threads or asyncio tasks and never touch widgets. The UI drains their buffers on a
timer, so the buffer is the only meeting point and it must never grow without bound.
"""

from __future__ import annotations

import contextlib
import enum
import random
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from google.protobuf.message import DecodeError

T = TypeVar("T")
M = TypeVar("M")


def parse_or_none(parse: Callable[[bytes], M], data: bytes) -> M | None:
    """Decode one message; None for bytes that are not one (a broken or hostile peer, a bad proxy).

    Readers skip and count such messages instead of letting one bad message end the stream.
    """
    try:
        return parse(data)
    except DecodeError:
        return None


MALFORMED_NOTE = "── malformed message from the server skipped ({count} so far) ──"


class SourceState(enum.Enum):
    """Lifecycle of a source, as shown in a pane's status line."""

    IDLE = "idle"
    CONNECTING = "connecting"
    STREAMING = "streaming"
    RETRYING = "retrying"
    ENDED = "ended"
    FAILED = "failed"
    DISABLED = "disabled"


@dataclass
class SourceStatus:
    """A snapshot of a source's state with the reason a person needs to act on it."""

    state: SourceState = SourceState.IDLE
    reason: str = ""
    retry_at: float | None = None
    changed_at: float = field(default_factory=time.monotonic)

    def describe(self, now: float | None = None) -> str:
        """One short phrase, e.g. ``retrying in 4s: connection refused``."""
        now = time.monotonic() if now is None else now
        text = self.state.value
        if self.state is SourceState.RETRYING and self.retry_at is not None:
            text = f"retrying in {max(0, round(self.retry_at - now))}s"
        return f"{text}: {self.reason}" if self.reason else text


class StatusHolder:
    """Thread-safe holder for a source's status; sources call `set`, the UI calls `get`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._status = SourceStatus()

    def set(self, state: SourceState, reason: str = "", retry_at: float | None = None) -> None:
        with self._lock:
            self._status = SourceStatus(state, reason, retry_at)

    def get(self) -> SourceStatus:
        with self._lock:
            return self._status


class BoundedBuffer(Generic[T]):
    """A FIFO between a producer thread and the UI drain timer that drops the oldest when full.

    `deque.append` and `popleft` are atomic under the GIL, so no lock is needed; the count of items
    ebtop itself had to drop is kept so panes can show it apart from server-side losses.
    """

    def __init__(self, maxlen: int = 100_000) -> None:
        self.maxlen = maxlen
        self._items: deque[T] = deque(maxlen=maxlen)
        self.dropped = 0
        self.received = 0
        # Called once, from the producer's thread, by the next `put` (then cleared): how an app
        # whose tick slowed down while nothing arrived hears at once that something did.
        self.notify: Callable[[], None] | None = None

    def put(self, item: T) -> None:
        if len(self._items) >= self.maxlen:
            self.dropped += 1
        self.received += 1
        self._items.append(item)
        notify = self.notify
        if notify is not None:
            self.notify = None
            notify()

    def put_many(self, items: Iterable[T]) -> None:
        for item in items:
            self.put(item)

    def drain(self, limit: int | None = None) -> list[T]:
        """Take up to `limit` items (all when None) in arrival order."""
        items = self._items
        count = len(items) if limit is None else min(limit, len(items))
        pop = items.popleft
        return [pop() for _ in range(count)]

    def __len__(self) -> int:
        return len(self._items)


class Backoff:
    """Exponential backoff with full jitter, as gRPC clients are advised to use when reconnecting."""

    def __init__(self, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.base * (2**self.attempt))
        self.attempt += 1
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def reset(self) -> None:
        self.attempt = 0


_STARTED: weakref.WeakSet[Source[object]] = weakref.WeakSet()


def stop_all_sources(timeout: float = 2.0) -> None:
    """Stop every source started in this process (the shutdown path: signals, crash, exit).

    Sources are stopped in parallel so one slow `close()` does not hold up the others past the exit
    deadline; each stop is idempotent, so a pane that already stopped its sources costs nothing.
    """
    threads = []
    for source in list(_STARTED):
        thread = threading.Thread(target=source.stop, args=(timeout,), name="ebtop-stop", daemon=True)
        thread.start()
        threads.append(thread)
    deadline = time.monotonic() + timeout + 0.5
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


def started_sources() -> list[Source[object]]:
    """Every source started in this process and not yet collected (the way out's work list)."""
    return list(_STARTED)


class Source(Generic[T]):
    """The one contract every source meets; panes and batch mode depend on this class only.

    A subclass implements `run()`: the blocking body that fills `buffer` and sets `status`, and
    returns when the source is done or `stopping` is set. Everything else is shared:

    - `start()` runs `run()` in a named daemon thread (a pane may run it as a Textual thread worker
      instead, by calling `run()` itself); `stop()` sets `stopping`, calls `close()` to interrupt
      blocking I/O and release what the source holds (streams, BPF programs, its recorder), and joins.
      Both are idempotent.
    - `label` says what the source reads (`hubble unix:///var/run/cilium/hubble.sock`, `replay f.json`).
    - `problems` are lines a person must read (bad lines, skipped messages, missing privileges),
      shown by the pane; `counters()` are the numbers behind them, shown in the status line or detail.
    """

    thread_name = "ebtop-source"
    remote = False  # reads a server: batch mode's --connect-timeout applies while it has not answered

    def __init__(self, label: str, buffer: BoundedBuffer[T] | None = None, maxlen: int = 200_000) -> None:
        self.label = label
        self.buffer: BoundedBuffer[T] = buffer if buffer is not None else BoundedBuffer(maxlen)
        self.status = StatusHolder()
        self.stopping = threading.Event()
        self._problems: list[str] = []
        self._problems_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.recorder: Any = None  # a JsonLinesRecorder (--record-*): `stop()` closes it

    # -- what a subclass implements --------------------------------------------------------------
    def run(self) -> None:
        """Fill the buffer until done or `stopping` is set (blocking; runs in the source's thread)."""
        raise NotImplementedError

    def close(self) -> None:
        """Interrupt blocking reads and release resources; called once by `stop()`, from any thread."""

    def counters(self) -> dict[str, int]:
        """Named counts a person may need (received, dropped by ebtop, malformed, reconnects …)."""
        return {"received": self.buffer.received, "dropped": self.buffer.dropped}

    # -- shared lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Run `run()` in a daemon thread; a second call does nothing."""
        if self._thread is not None:
            return
        self.stopping.clear()
        _STARTED.add(self)
        self._thread = threading.Thread(target=self._run_guarded, name=self.thread_name, daemon=True)
        self._thread.start()

    def _run_guarded(self) -> None:
        """A source that dies says why on screen, instead of leaving a stale `streaming`."""
        try:
            self.run()
        except Exception as error:  # noqa: BLE001 - shown to the user, never swallowed
            self.status.set(SourceState.FAILED, f"{type(error).__name__}: {error}")
            self.add_problem(f"{self.label}: stopped by {type(error).__name__}: {error}")

    def stop(self, timeout: float = 2.0) -> None:
        """Stop and release; safe to call twice, before `start()`, or from a signal path."""
        self.stopping.set()
        if not self._closed:
            self._closed = True
            with contextlib.suppress(Exception):  # stopping must never raise
                self.close()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread() and thread.is_alive():
            thread.join(timeout)
        recorder = self.recorder
        if recorder is not None and not self.running:
            with contextlib.suppress(Exception):
                recorder.close()  # after the reader ended, so no line is cut off

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- what panes read ---------------------------------------------------------------------------
    def add_problem(self, text: str, limit: int = 50) -> None:
        """Keep a line for the pane (the first `limit`; later ones are counted in `counters`)."""
        with self._problems_lock:
            if len(self._problems) < limit:
                self._problems.append(text)

    def bpf_preflight(self, mount: bool, note_disabling: bool = True) -> bool:
        """The eBPF preconditions for a kernel source's worker: what is wrong noted as problems, the
        source FAILED on a fatal one (False then), so every kernel source starts the same way."""
        from tui.sources import bpf_env

        self.status.set(SourceState.CONNECTING, "checking eBPF preconditions")
        problems = bpf_env.check_preconditions(mount=mount)
        for problem in problems:
            if problem.fatal or (note_disabling and problem.disables):
                self.add_problem(problem.line())
        if bpf_env.fatal(problems):
            self.status.set(SourceState.FAILED, next(p for p in problems if p.fatal).line())
            return False
        return True

    @property
    def problems(self) -> list[str]:
        with self._problems_lock:
            return list(self._problems)

    def facts(self) -> list[str]:
        """Short phrases about the peer for the status line (server version, ring fill, nodes)."""
        return []

    def attempts(self) -> list[tuple[str, SourceStatus]]:
        """What this source tries to reach, each with its status (a pane explains the ones that fail):
        by default the source itself; a source over several servers lists each."""
        return [(self.label, self.status.get())]

    def watch(self, shown: bool, view: str = "") -> None:
        """What the consuming pane shows now (called every tick): a source that can work less while
        nobody looks (the kernel source drains its rings once a second then) adapts; others ignore it."""

    def describe(self, now: float | None = None) -> str:
        """The status phrase for the status line (`streaming: localhost:4245`)."""
        return self.status.get().describe(now)

    def state(self) -> SourceState:
        return self.status.get().state
