"""Latency histograms from the kernel: run queue, block I/O, syscalls (own programs), TCP connect.

Each kind is its own bcc program (`bpf/runqlat.c`, `bpf/biolat.c`, `bpf/syslat.c`) loaded only when
asked for (`want(kind)`: when its view is first opened, or at once in batch mode), so a histogram
nobody looks at costs nothing; one that cannot load here becomes a problem line naming its view.
Buckets are counted in the kernel; once per interval their counts are taken out of the map
(lookup-and-delete) and put in the buffer as one `HistDelta` per kind. The worker sleeps until an
interval ends (until a view is wanted, when none is); `want`, `read_now` and `stop` wake it. TCP
connect latency reuses the tracepoint-only connect probe of the Syscalls pane (`TcpProbe`): its
events are bucketed here.
No Textual; bcc is called from the source's thread only, and `run`'s finally detaches everything.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
import time
from typing import Any

from tui.model.latency import KINDS, HistDelta
from tui.model.probes import ConnectEvent, Log2Hist
from tui.model.syscall_names import syscall_name
from tui.sources.base import Source, SourceState
from tui.sources.bpf_env import BpfUnavailable, close_bpf, load_bpf, program_text

PROGRAMS = {"runqlat": "runqlat.c", "biolatency": "biolat.c", "syscall-latency": "syslat.c"}
START_ENTRIES = 32768
HIST_ENTRIES = 16384
POLL_SECONDS = 0.1  # the connect probe's ring while it fills fast
IDLE_POLL_SECONDS = 1.0  # ... else (it holds about 1,600 events: kernel_probes.TcpProbe)
OPS = {ord("R"): "R", ord("W"): "W", ord("D"): "D", ord("F"): "F", ord("N"): "N"}


def dev_name(dev: int) -> str:
    """The kernel's dev_t in a tracepoint (12 bits major, 20 minor) as `major:minor`."""
    return f"{dev >> 20}:{dev & 0xFFFFF}"


class LatencySource(Source[object]):
    """One `HistDelta` per loaded kind and interval."""

    thread_name = "ebtop-latency"

    def __init__(self, kinds: tuple[str, ...] = (), interval: float = 1.0, duration: float | None = None,
                 labels: Any = None, mount_tracefs: bool = True, pid: int | None = None) -> None:
        super().__init__("latency histograms", maxlen=1024)
        self.interval = float(interval)
        self.duration = duration
        self.mount_tracefs = mount_tracefs
        self.pid = pid
        self._labels = labels
        self._wanted: set[str] = set(kinds)
        self._lock = threading.Lock()
        self._read_now = False
        self._kick = threading.Event()  # wakes the worker before the interval ends
        self.wakes = 0
        self.loaded: tuple[str, ...] = ()
        self.failed_kinds: dict[str, str] = {}
        self.intervals_read = 0

    def want(self, kind: str) -> None:
        """Load `kind`'s program (from any thread; the worker wakes and loads it at once)."""
        if kind in KINDS:
            with self._lock:
                self._wanted.add(kind)
            self._kick.set()

    def set_interval(self, seconds: float) -> None:
        self.interval = max(0.2, float(seconds))
        self._kick.set()

    def read_now(self) -> None:
        self._read_now = True
        self._kick.set()

    def close(self) -> None:
        """`stop()` calls this after setting `stopping`: the sleeping worker wakes and detaches."""
        self._kick.set()

    def run(self) -> None:
        if not self.bpf_preflight(self.mount_tracefs):
            return
        if self._labels is None:
            from tui.sources.profile import CgroupLabels

            self._labels = CgroupLabels()
        readers: dict[str, Any] = {}
        try:
            started = time.monotonic()
            end = started + self.duration if self.duration else None
            deadline = started + self.interval
            self.status.set(SourceState.STREAMING, "waiting for a histogram view")
            while not self.stopping.is_set():
                self._load_wanted(readers)
                if end is not None and not readers and self.failed_kinds:
                    self.status.set(SourceState.FAILED, "; ".join(self.failed_kinds.values()))
                    return
                if not readers and end is None:
                    deadline = time.monotonic() + self.interval  # nothing to read: sleep until wanted
                    self._kick.wait()
                else:
                    self._kick.wait(self._timeout(readers, deadline, end))
                self._kick.clear()  # what a kick asks for is in its own flag, read below and above
                self.wakes += 1
                for reader in readers.values():
                    reader.poll()
                now = time.monotonic()
                finished = end is not None and now >= end
                if now >= deadline or self._read_now or finished or self.stopping.is_set():
                    self._read_now = False
                    for kind, reader in readers.items():
                        self.buffer.put(reader.read(kind))
                    self.intervals_read += 1
                    deadline = now + self.interval
                if finished:
                    break
        finally:
            for reader in readers.values():
                with contextlib.suppress(Exception):
                    reader.close()
            if self.status.get().state is not SourceState.FAILED:
                self.status.set(SourceState.ENDED, "histograms detached")

    @staticmethod
    def _timeout(readers: dict[str, Any], deadline: float, end: float | None) -> float:
        """Seconds until the interval ends (or the run), or a connect ring must be drained sooner."""
        due = min(deadline, end) if end is not None else deadline
        now = time.monotonic()
        for reader in readers.values():
            due = min(due, now + reader.poll_period())
        return max(0.0, due - now)

    def _load_wanted(self, readers: dict[str, Any]) -> None:
        with self._lock:
            missing = [k for k in self._wanted if k not in readers and k not in self.failed_kinds]
        for kind in sorted(missing):
            self.status.set(SourceState.STREAMING, f"compiling the {kind} histogram")
            try:
                readers[kind] = (_ConnectReader() if kind == "connect-latency"
                                 else _HistReader(kind, self._labels, self.pid))
            except BpfUnavailable as exc:
                self.failed_kinds[kind] = f"{kind} not loaded: {exc}"
                self.add_problem(self.failed_kinds[kind])
        self.loaded = tuple(sorted(readers))
        if missing:
            names = ", ".join(self.loaded) or "none"
            self.status.set(SourceState.STREAMING, f"histograms every {self.interval:g}s: {names}")


class _HistReader:
    """One loaded histogram program; `read` takes its buckets out of the kernel."""

    def __init__(self, kind: str, labels: Any, pid: int | None) -> None:
        cflags = [f"-DSTART_ENTRIES={START_ENTRIES}", f"-DHIST_ENTRIES={HIST_ENTRIES}"]
        if pid and kind == "syscall-latency":
            cflags.append(f"-DFILTER_PID={int(pid)}")
        self.bpf: Any = load_bpf(program_text(PROGRAMS[kind]), cflags=cflags)
        self.labels = labels
        self._lost_seen = 0

    def poll(self) -> None:
        """Nothing to drain between reads: the buckets stay in the kernel."""

    @staticmethod
    def poll_period() -> float:
        return float("inf")

    def program_fds(self) -> dict[str, int]:
        return {name.decode(): fn.fd for name, fn in self.bpf.funcs.items()}

    def read(self, kind: str) -> HistDelta:
        table = self.bpf[b"hist"]
        try:
            items = [(k, int(getattr(v, "value", v))) for k, v in table.items_lookup_and_delete_batch()]
        except Exception:  # no batch map operations on this kernel
            items = [(k, int(v.value)) for k, v in table.items()]
            for key, _ in items:
                with contextlib.suppress(KeyError):
                    del table[key]
        slots: dict[tuple, dict[int, int]] = {}
        for raw, count in items:
            key = self._key(kind, raw)
            row = slots.setdefault(key, {})
            row[int(raw.slot)] = row.get(int(raw.slot), 0) + count
        lost_total = self.bpf[b"lost"][ctypes.c_int(0)].value
        lost, self._lost_seen = lost_total - self._lost_seen, lost_total
        return HistDelta(kind, slots, lost)

    def _key(self, kind: str, raw: Any) -> tuple:
        if kind == "runqlat":
            comm = bytes(raw.comm).split(b"\0", 1)[0].decode("utf-8", "replace")
            container, pod = self.labels(raw.cgroup)
            return (int(raw.tgid), comm, container, pod)
        if kind == "biolatency":
            return (dev_name(int(raw.dev)), OPS.get(int(raw.op), "N"))
        return (syscall_name(int(raw.id)),)

    def close(self) -> None:
        close_bpf(self.bpf)
        self.bpf = None


class _ConnectReader:
    """TCP connect latency from the connect probe's events, bucketed per interval (usecs)."""

    def __init__(self) -> None:
        from tui.sources.kernel_probes import TcpProbe

        self.hist = Log2Hist()
        self.failed = 0
        self.probe = TcpProbe(self._sink)
        self._period = IDLE_POLL_SECONDS
        self._last_poll = time.monotonic()

    def _sink(self, event: object) -> None:
        if isinstance(event, ConnectEvent):
            if event.ok:
                self.hist.add(event.latency_ns // 1000)
            else:
                self.failed += 1

    def poll(self) -> None:
        """Drain the ring; drained again within a second, or at 10 Hz while it fills fast."""
        from tui.sources.kernel_probes import poll_period

        now = time.monotonic()
        taken = self.probe.poll()
        self._period = poll_period(taken, now - self._last_poll, self.probe.capacity, IDLE_POLL_SECONDS,
                                   POLL_SECONDS)
        self._last_poll = now

    def poll_period(self) -> float:
        return self._period

    def program_fds(self) -> dict[str, int]:
        return self.probe.program_fds()

    def read(self, kind: str) -> HistDelta:
        self.probe.poll()
        slots = {i: c for i, c in enumerate(self.hist.buckets) if c}
        self.hist = Log2Hist()
        return HistDelta(kind, {(): slots} if slots else {})

    def close(self) -> None:
        self.probe.close()
