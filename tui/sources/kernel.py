"""The local kernel source: bcc programs compiled, attached and read on a worker thread.

The worker checks preconditions first (each missing one becomes a `Problem` line naming the views it
turns off), compiles the syscall counter and then the event probes, reads the counters every
interval (the first one after a second, so counts show quickly), drains the ring buffers every
0.1 s while the pane shows their events (`watch`) or they fill fast, else every second (a 10 Hz
worker was a third of an idle ebtop's CPU), and detaches everything when stopped. It sleeps until
the next of those is due; a setting, `read_now`, a view being shown or `stop` wakes it at once.
Whatever stops the process (exit, SIGTERM, SIGHUP, a
lost terminal, an exception), `tui.shutdown` stops the source, so the probes are detached; this module
installs no signal handler of its own (a default action here would skip the terminal restore).
The UI reads `status`, `problems`, and drains `buffer` (`SyscallInterval`s and the probes' events, in
one bounded buffer: the pane dispatches by type); it never waits for bcc.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from tui.shutdown import track
from tui.sources import bpf_env
from tui.sources.base import Source, SourceState
from tui.sources.bpf_env import BpfUnavailable, Problem
from tui.sources.kernel_probes import poll_period

INTERVAL_STEPS = (1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0)
FIRST_INTERVAL = 1.0
COST_SECONDS = 1.0
POLL_SECONDS = 0.1  # ring buffers, while their events are on screen or a ring fills fast
IDLE_POLL_SECONDS = 1.0  # ring buffers, while nobody looks (each ring holds over a second: kernel_probes)
EVENT_VIEWS = frozenset({"opens", "retrans", "connect", "slowio"})  # the pane's views drawn from the rings
ALL_PROBES = ("opens", "tcp", "blockio")


def step_interval(current: float, direction: int) -> float:
    """The next interval up (+1) or down (-1) the steps, as `+`/`-` move it."""
    if direction > 0:
        return next((s for s in INTERVAL_STEPS if s > current + 1e-9), INTERVAL_STEPS[-1])
    return next((s for s in reversed(INTERVAL_STEPS) if s < current - 1e-9), INTERVAL_STEPS[0])


class KernelSource(Source[object]):
    """Syscall counts per interval plus the event probes, produced on one worker thread.

    `problems` are `Problem`s (str() is the line to show): each says which views it turns off.
    """

    thread_name = "ebtop-kernel"

    def __init__(self, interval: float = 5.0, mode: str = "comm", failed: bool = False,
                 latency: bool = False, probes: Iterable[str] = ALL_PROBES, slow_ms: float = 10.0,
                 cost: bool = False, mount_tracefs: bool = True, first_interval: float | None = FIRST_INTERVAL,
                 preconditions: Callable[[], list[Problem]] | None = None, notes_once: Any = None) -> None:
        """`notes_once` (a `tui.sources.notes.SeenNotes`, batch mode): notes already said are left
        out of `problems`, and the rest are remembered as said."""
        super().__init__("local eBPF (bcc)", maxlen=50_000)
        self.findings: list[Problem] = []
        self.decode_errors = 0
        self.interval = float(interval)
        self.mode = mode
        self.failed = failed
        self.latency = latency
        self.probe_names = tuple(probes)
        self.slow_ms = slow_ms
        self.cost = cost  # BPF run-time stats on; they cost every BPF program two clock reads per run
        self._meter: Any = None
        self._meter_failed = False
        self.mount_tracefs = mount_tracefs
        self.first_interval = first_interval
        self.active_probes: tuple[str, ...] = ()
        self.started_at: float | None = None
        self.first_counts_at: float | None = None
        self._preconditions = preconditions
        self.notes_once = notes_once
        self._pending: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._stop = self.stopping
        self._wake_read = threading.Event()
        self._kick = threading.Event()  # wakes the worker before its next due time
        self._watching = False  # the pane shows a view drawn from the rings (`watch`)
        self._deadline = 0.0  # the running interval ends (monotonic)
        self._cost_deadline = 0.0
        self._next_poll = 0.0
        self._last_poll: float | None = None
        self._probes_pending = True
        self._reported: set[str] = set()
        self.wakes = 0  # worker wake-ups: each drains the rings (what `watch` saves, tests count it)
        self.counter_reads = 0

    # -- control, from any thread -------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        track(self)  # the one way out (tui/shutdown.py) stops it on a signal, a crash or exit
        self.started_at = time.monotonic()
        super().start()

    def stop(self, timeout: float = 5.0) -> None:
        """The worker detaches every probe on its way out; give it time to."""
        super().stop(timeout)

    @property
    def problems(self) -> list[Problem]:  # type: ignore[override]
        return list(self.findings)

    # -- what panes read (the Source contract) ---------------------------------------------------
    def describe(self, now: float | None = None) -> str:
        return self.status.get().describe(now)

    def facts(self) -> list[str]:
        return []

    def counters(self) -> dict[str, int]:
        return {"received": self.buffer.received, "dropped": self.buffer.dropped,
                "decode errors": self.decode_errors}

    def set_interval(self, seconds: float) -> None:
        """Takes effect now: the running interval ends at once and the new one starts (it used to
        run out first, so after 15 s -> 1 s the header said 1 s while the table froze)."""
        self.interval = max(0.2, float(seconds))
        self._wake_read.set()
        self._kick.set()

    def set_cost(self, enabled: bool) -> None:
        """Measure ebtop's own BPF cost (bpftop's method) only while someone looks at it."""
        if enabled != self.cost:
            self.cost = enabled
            self._kick.set()

    def watch(self, shown: bool, view: str = "top") -> None:
        """What the pane shows (call it every tick: cheap): the rings are drained at 10 Hz only while
        `shown` on a view drawn from them, else every second; a view just shown is filled at once."""
        watching = shown and view in EVENT_VIEWS
        if watching and not self._watching:
            self._kick.set()
        self._watching = watching

    def close(self) -> None:
        """`stop()` calls this after setting `stopping`: the sleeping worker wakes and detaches."""
        self._kick.set()

    def configure(self, mode: str | None = None, failed: bool | None = None, latency: bool | None = None) -> None:
        """Change what the kernel counts; applied by the worker before its next poll."""
        with self._lock:
            for name, value in (("mode", mode), ("failed", failed), ("latency", latency)):
                if value is not None:
                    setattr(self, name, value)
                    self._pending[name] = value
        self._kick.set()

    def read_now(self) -> None:
        """Ask for an interval to end now (after a mode switch, so the view fills at once)."""
        self._wake_read.set()
        self._kick.set()

    # -- the worker ---------------------------------------------------------------------------
    def run(self) -> None:
        counter = None
        probes: list[Any] = []
        try:
            self.status.set(SourceState.CONNECTING, "checking eBPF preconditions")
            check = self._preconditions or (lambda: bpf_env.check_preconditions(mount=self.mount_tracefs))
            problems = check()
            if self.notes_once is not None:
                from tui.sources.notes import said_once

                shown = self.notes_once.unseen(problems)
                self.notes_once.remember(str(p) for p in shown if said_once(p))
                self.findings = list(shown)
            else:
                self.findings = list(problems)
            if bpf_env.fatal(problems):
                first = next(p for p in problems if p.fatal)
                self.status.set(SourceState.FAILED, first.line())
                return
            off = bpf_env.disabled_views(problems)
            self.status.set(SourceState.CONNECTING, "compiling the syscall counter")
            from tui.sources.kernel_syscalls import SyscallCounter

            with self._lock:
                self._pending.clear()
                want_exit = bpf_env.VIEW_FAILED not in off
                counter = SyscallCounter(self.mode, self.failed, self.latency, exit_tracepoint=want_exit)
            if self._stop.is_set():
                return
            deadline = time.monotonic() + (self.first_interval or self.interval)
            self.status.set(SourceState.STREAMING, "counting syscalls; probes load after the first counts")
            self._loop(counter, probes, deadline, off)
        except BpfUnavailable as exc:
            self._add_problem(Problem(f"syscall counter not loaded: {exc}", "", (bpf_env.VIEW_COUNTS,), True))
            self.status.set(SourceState.FAILED, str(exc))
        except Exception as exc:  # keep the UI alive and say what happened
            self.status.set(SourceState.FAILED, f"{type(exc).__name__}: {exc}")
        finally:
            for probe in probes:
                with contextlib.suppress(Exception):
                    probe.close()
            if counter is not None:
                with contextlib.suppress(Exception):
                    counter.close()
            self._sync_meter(force_off=True)
            if self.status.get().state is not SourceState.FAILED:
                self.status.set(SourceState.ENDED, "probes detached")

    def _streaming_reason(self, probes: list[Any]) -> str:
        names = ", ".join(p.name for p in probes) or "none"
        return f"counting syscalls every {self.interval:g}s; probes: {names}"

    def _add_problem(self, problem: Problem) -> None:
        self.findings = [*self.findings, problem]

    def _count_decode_errors(self, probes: list[Any], reported: set[str]) -> None:
        """A probe event that does not decode is skipped; counted, and said once per probe."""
        self.decode_errors = sum(probe.errors for probe in probes)
        for probe in probes:
            if probe.errors and probe.name not in reported:
                reported.add(probe.name)
                self._add_problem(Problem(f"{probe.name} probe: events that could not be decoded are skipped "
                                          f"({probe.errors} so far)", ""))

    def _load_probes(self, off: set[str]) -> list[Any]:
        from tui.sources.kernel_probes import PROBE_VIEWS, PROBES, BlockProbe

        loaded = []
        for name in self.probe_names:
            if self._stop.is_set():
                break
            views = PROBE_VIEWS[name]
            if all(view in off for view in views):
                continue
            self.status.set(SourceState.STREAMING, f"counting syscalls; compiling the {name} probe")
            try:
                if PROBES[name] is BlockProbe:
                    loaded.append(BlockProbe(self.buffer.put, slow_ms=self.slow_ms))
                else:
                    loaded.append(PROBES[name](self.buffer.put))
            except BpfUnavailable as exc:
                self._add_problem(Problem(f"{name} probe not loaded: {exc}", "", views))
        return loaded

    def _sync_meter(self, force_off: bool = False) -> Any:
        """Open or close the stats fd to follow `self.cost`; the meter, or None when off."""
        want = self.cost and not force_off and not self._meter_failed
        if want and self._meter is None:
            from tui.sources.kernel_cost import CostMeter

            self._meter = CostMeter()
            if self._meter.fd is None:
                self._meter_failed = True
                self._add_problem(Problem(f"own cost not measured ({self._meter.reason})", "",
                                          (bpf_env.VIEW_COST,)))
                self._meter = None
        elif not want and self._meter is not None:
            self._meter.close()
            self._meter = None
        return self._meter

    def _report_cost(self, counter: Any, probes: list[Any]) -> None:
        from tui.model.probes import CostReport

        fds = dict(counter.program_fds())
        for probe in probes:
            fds.update({f"{probe.name}:{k}": v for k, v in probe.program_fds().items()})
        costs = self._meter.read(fds)
        if costs:
            self.buffer.put(CostReport(tuple(costs)))

    def _loop(self, counter: Any, probes: list[Any], deadline: float, off: set[str]) -> None:
        """Run `_step` whenever something is due or the worker is woken; the event probes are
        compiled after the first counts are out, so the top-10 shows as early as possible."""
        self._deadline = deadline
        while not self._stop.is_set():
            timeout = self._step(counter, probes, off, time.monotonic())
            if self._stop.is_set():
                break
            self._kick.wait(timeout)  # set during the step: returns at once
            self._kick.clear()  # what a kick asks for is in its own flag, read by the next step

    def _step(self, counter: Any, probes: list[Any], off: set[str], now: float) -> float:
        """One wake-up at `now`: apply settings, drain the rings, read the counters when the interval
        is over (or asked for); returns the seconds until the next thing is due."""
        self.wakes += 1
        with self._lock:
            pending, self._pending = self._pending, {}
        if pending:
            counter.configure(**pending)
        elapsed = now - self._last_poll if self._last_poll is not None else 0.0
        self._last_poll = now
        period = POLL_SECONDS if self._watching else IDLE_POLL_SECONDS
        for probe in probes:
            taken = probe.poll()
            period = min(period, poll_period(taken, elapsed, probe.capacity, IDLE_POLL_SECONDS, POLL_SECONDS))
        self._next_poll = now + period
        if self._sync_meter() is not None and now >= self._cost_deadline:
            self._report_cost(counter, probes)  # the first read after switching on is a baseline
            self._cost_deadline = now + COST_SECONDS
        if now >= self._deadline or self._wake_read.is_set():
            self._wake_read.clear()
            self._read_counts(counter, probes, off, now)
        due = [self._deadline]
        if probes:
            due.append(self._next_poll)
        if self._meter is not None:
            due.append(self._cost_deadline)
        return max(0.0, min(due) - now)

    def _read_counts(self, counter: Any, probes: list[Any], off: set[str], now: float) -> None:
        """The interval is over: its counts and the probes' per-interval data go to the buffer."""
        self.counter_reads += 1
        self.buffer.put(counter.read())
        if self.first_counts_at is None:
            self.first_counts_at = now
        for probe in probes:
            probe.read_interval()
        self._count_decode_errors(probes, self._reported)
        self._deadline = now + self.interval
        if self._probes_pending:
            self._probes_pending = False
            probes.extend(self._load_probes(off))  # the caller's list: closed in its finally
            self.active_probes = tuple(p.name for p in probes)
        self.status.set(SourceState.STREAMING, self._streaming_reason(probes))
