"""The local kernel source: bcc programs compiled, attached and read on a worker thread.

The worker checks preconditions first (each missing one becomes a `Problem` line naming the views it
turns off), compiles the syscall counter and then the event probes, reads the counters every
interval (the first one after a second, so counts show quickly), drains the ring buffers every
0.1 s, and detaches everything when stopped. Whatever stops the process (exit, SIGTERM, SIGHUP, a
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

INTERVAL_STEPS = (1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0)
FIRST_INTERVAL = 1.0
COST_SECONDS = 1.0
POLL_SECONDS = 0.1
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
        """Takes effect now: the running interval ends at the next poll and the new one starts (it
        used to run out first, so after 15 s -> 1 s the header said 1 s while the table froze)."""
        self.interval = max(0.2, float(seconds))
        self._wake_read.set()

    def set_cost(self, enabled: bool) -> None:
        """Measure ebtop's own BPF cost (bpftop's method) only while someone looks at it."""
        self.cost = enabled

    def configure(self, mode: str | None = None, failed: bool | None = None, latency: bool | None = None) -> None:
        """Change what the kernel counts; applied by the worker before its next poll."""
        with self._lock:
            for name, value in (("mode", mode), ("failed", failed), ("latency", latency)):
                if value is not None:
                    setattr(self, name, value)
                    self._pending[name] = value

    def read_now(self) -> None:
        """Ask for an interval to end now (after a mode switch, so the view fills at once)."""
        self._wake_read.set()

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
        """Poll ring buffers every 0.1 s and read counters at each deadline; the event probes are
        compiled after the first counts are out, so the top-10 shows as early as possible."""
        probes_pending = True
        cost_deadline = 0.0
        reported: set[str] = set()
        while not self._stop.is_set():
            now = time.monotonic()
            self._stop.wait(max(0.0, min(POLL_SECONDS, deadline - now)))
            with self._lock:
                pending, self._pending = self._pending, {}
            if pending:
                counter.configure(**pending)
            for probe in probes:
                probe.poll()
            now = time.monotonic()
            if self._sync_meter() is not None and now >= cost_deadline:
                self._report_cost(counter, probes)  # the first read after switching on is a baseline
                cost_deadline = now + COST_SECONDS
            if now >= deadline or self._wake_read.is_set():
                self._wake_read.clear()
                interval = counter.read()
                self.buffer.put(interval)
                if self.first_counts_at is None:
                    self.first_counts_at = now
                for probe in probes:
                    probe.read_interval()
                self._count_decode_errors(probes, reported)
                deadline = now + self.interval
                if probes_pending:
                    probes_pending = False
                    probes.extend(self._load_probes(off))  # the caller's list: closed in its finally
                    self.active_probes = tuple(p.name for p in probes)
                self.status.set(SourceState.STREAMING, self._streaming_reason(probes))
