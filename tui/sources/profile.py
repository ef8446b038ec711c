"""The on-CPU profile source: `bpf/profile.c` on a software CPU-clock perf event on every CPU.

The kernel counts samples per (pid, cgroup, user stack, kernel stack, comm); once per interval this
source takes the counts out of the map (lookup-and-delete, so nothing is counted twice), names the
stacks' addresses (`tui.sources.symbols`), labels each cgroup with its container and pod
(`tui.sources.cgroups`, the join helper's resolver) and puts one `ProfileInterval` in the buffer,
plus a `CostReport` each second while the pane asks for its own cost.
Stack ids that no count used for a whole interval are deleted, so the stack map never fills up.
No Textual here; everything bcc is called from the source's own thread, and the finally of `run`
detaches the perf events on every way out (`stop()`, `stop_all_sources()`, an exception).
"""

from __future__ import annotations

import contextlib
import ctypes
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from tui.model.probes import CostReport
from tui.model.stacks import Frame, ProfileInterval, StackSample
from tui.sources.base import Source, SourceState
from tui.sources.bpf_env import BpfUnavailable, close_bpf, load_bpf, program_text

DEFAULT_HZ = 49
COUNT_ENTRIES = 16384
STACK_ENTRIES = 16384
EFAULT = 14
COST_SECONDS = 1.0
NO_PERF_EVENTS = ("this kernel has no perf events (CONFIG_PERF_EVENTS), so there is no CPU-clock sampling: "
                  "the Profile pane needs it; the tracepoint views (Syscalls) still work")
LOST_STACK = Frame("[lost stack]", "[ebtop]", named=False)
NO_STACK = Frame("[no stack]", "[ebtop]", named=False)


def perf_events_available(proc_sys: str = "/proc/sys/kernel") -> bool:
    """A kernel built without perf events has no `perf_event_paranoid` sysctl."""
    return Path(proc_sys, "perf_event_paranoid").exists()


class CgroupLabels:
    """cgroup id -> (container short id, pod UID), cached; empty strings outside Kubernetes."""

    def __init__(self, capacity: int = 4096) -> None:
        from tui.sources.cgroups import CgroupResolver

        self.resolver = CgroupResolver()
        self.capacity = capacity
        self._cache: OrderedDict[int, tuple[str, str]] = OrderedDict()

    def __call__(self, cgroup_id: int) -> tuple[str, str]:
        found = self._cache.get(cgroup_id)
        if found is None:
            try:
                pod = self.resolver.pod_of_id(cgroup_id)
            except OSError:
                pod = None
            found = (pod.short_id, pod.pod_uid) if pod is not None else ("", "")
            self._cache[cgroup_id] = found
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        return found


class ProfileSource(Source[object]):
    """Stack samples per interval (`ProfileInterval`) and, while wanted, the sampler's own cost."""

    thread_name = "ebtop-profile"

    def __init__(self, hz: int = DEFAULT_HZ, pid: int | None = None, interval: float = 1.0,
                 cost: bool = False, mount_tracefs: bool = True, symbolizer: Any = None,
                 labels: Any = None, duration: float | None = None) -> None:
        """`duration`: sample that many seconds from the moment the perf events are attached, put the
        last interval in the buffer and end (batch mode); None samples until stopped."""
        target = f" pid {pid}" if pid else ""
        super().__init__(f"profile {hz} Hz{target}", maxlen=256)
        self.hz = int(hz)
        self.pid = pid
        self.interval = float(interval)
        self.duration = duration
        self.sampled_seconds = 0.0
        self.cost = cost
        self.mount_tracefs = mount_tracefs
        self._symbolizer = symbolizer
        self._labels = labels
        self._read_now = False
        self.samples_read = 0
        self.lost_stacks = 0

    # -- control, from any thread ------------------------------------------------------------
    def set_cost(self, enabled: bool) -> None:
        self.cost = enabled

    def read_now(self) -> None:
        """End the interval at once (batch mode at the end of its duration)."""
        self._read_now = True

    def counters(self) -> dict[str, int]:
        return {**super().counters(), "samples": self.samples_read, "lost stacks": self.lost_stacks}

    # -- the worker --------------------------------------------------------------------------
    def run(self) -> None:
        if not self.bpf_preflight(self.mount_tracefs, note_disabling=False):
            return
        if not perf_events_available():
            self.add_problem(NO_PERF_EVENTS)
            self.status.set(SourceState.FAILED, NO_PERF_EVENTS)
            return
        self.status.set(SourceState.CONNECTING, "compiling the CPU sampler")
        bpf = None
        meter = None
        try:
            bpf = self._load()
            if self._symbolizer is None:
                from tui.sources.symbols import Symbolizer

                self._symbolizer = Symbolizer()
            if self._labels is None:
                self._labels = CgroupLabels()
            reader = _Reader(bpf, self._symbolizer, self._labels)
            self.status.set(SourceState.STREAMING, f"sampling every CPU at {self.hz} Hz")
            attached = time.monotonic()
            self.buffer.put(ProfileInterval([], 0.0))  # "attached": batch mode says so on stderr
            end = attached + self.duration if self.duration else None
            deadline = attached + self.interval
            if end is not None:
                deadline = min(deadline, end)
            cost_deadline = 0.0
            finished = False
            while not self.stopping.is_set() and not finished:
                self.stopping.wait(min(0.1, max(0.0, deadline - time.monotonic())))
                now = time.monotonic()
                finished = end is not None and now >= end
                meter = self._sync_meter(meter)
                if meter is not None and now >= cost_deadline:
                    costs = meter.read({f"profile:{k.decode()}": f.fd for k, f in bpf.funcs.items()})
                    if costs:
                        self.buffer.put(CostReport(tuple(costs)))
                    cost_deadline = now + COST_SECONDS
                if now >= deadline or self._read_now or self.stopping.is_set() or finished:
                    self._read_now = False
                    interval = reader.read()
                    self.sampled_seconds = now - attached
                    self.samples_read += sum(s.count for s in interval.samples)
                    self.lost_stacks += interval.lost_stacks
                    self.buffer.put(interval)
                    deadline = now + self.interval if end is None else min(now + self.interval, end)
        except BpfUnavailable as exc:
            self.add_problem(f"CPU sampler not loaded: {exc}")
            self.status.set(SourceState.FAILED, str(exc))
        finally:
            close_bpf(bpf)
            if meter is not None:
                meter.close()
            if self.status.get().state is not SourceState.FAILED:
                self.status.set(SourceState.ENDED, "sampler detached")

    def _load(self) -> Any:
        cflags = [f"-DCOUNT_ENTRIES={COUNT_ENTRIES}", f"-DSTACK_ENTRIES={STACK_ENTRIES}"]
        if self.pid:
            cflags.append(f"-DFILTER_PID={int(self.pid)}")
        bpf = load_bpf(program_text("profile.c"), cflags=cflags)
        try:
            from bcc import PerfSWConfig, PerfType

            bpf.attach_perf_event(ev_type=PerfType.SOFTWARE, ev_config=PerfSWConfig.CPU_CLOCK,
                                  fn_name=b"on_cpu_sample", sample_freq=self.hz, cpu=-1)
        except Exception as exc:
            close_bpf(bpf)
            raise BpfUnavailable(f"perf event not attached ({exc}); {NO_PERF_EVENTS}") from exc
        return bpf

    def _sync_meter(self, meter: Any) -> Any:
        if self.cost and meter is None:
            from tui.sources.kernel_cost import CostMeter

            meter = CostMeter()
            if meter.fd is None:
                self.add_problem(f"own cost not measured ({meter.reason})")
                self.cost = False
                return None
        elif not self.cost and meter is not None:
            meter.close()
            meter = None
        return meter


class _Reader:
    """Takes the counts out of the kernel's maps and names their stacks (the worker's helper)."""

    def __init__(self, bpf: Any, symbolizer: Any, labels: Any) -> None:
        self.bpf = bpf
        self.symbolizer = symbolizer
        self.labels = labels
        self._stats_seen = [0] * 5
        self._ids_before: set[int] = set()
        self._last = time.monotonic()

    def _take_counts(self) -> list[tuple[Any, int]]:
        table = self.bpf[b"counts"]
        try:  # the batch call yields plain ints for the u64 values
            return [(k, int(getattr(v, "value", v))) for k, v in table.items_lookup_and_delete_batch()]
        except Exception:  # kernels without batch map operations
            items = [(k, int(v.value)) for k, v in table.items()]
            for key, _ in items:
                with contextlib.suppress(KeyError):
                    del table[key]
            return items

    def read(self) -> ProfileInterval:
        now = time.monotonic()
        seconds, self._last = now - self._last, now
        stacks = self.bpf[b"stacks"]
        items = self._take_counts()
        self.symbolizer.new_interval()
        kernel_cache: dict[int, tuple[Frame, ...]] = {}
        used: set[int] = set()
        samples = []
        missing = 0  # a count whose stack id was already gone from the map
        for key, count in items:
            frames: list[Frame] = []
            lost_here = False
            if key.user_stack >= 0:
                used.add(key.user_stack)
                addrs = _walk(stacks, key.user_stack)
                if addrs is None:
                    lost_here = True
                    missing += count
                else:
                    frames.extend(reversed(self.symbolizer.user_frames(key.pid, addrs)))
            elif key.user_stack != -EFAULT:
                lost_here = True
            if key.kernel_stack >= 0:
                used.add(key.kernel_stack)
                named = kernel_cache.get(key.kernel_stack)
                if named is None:
                    addrs = _walk(stacks, key.kernel_stack)
                    if addrs is None:
                        missing += count
                        lost_here = True
                    named = tuple(reversed(self.symbolizer.kernel_frames(addrs or [])))
                    kernel_cache[key.kernel_stack] = named
                frames.extend(named)
            elif key.kernel_stack != -EFAULT:
                lost_here = True
            if lost_here:
                frames.insert(0, LOST_STACK)
            if not frames:
                frames.append(NO_STACK)
            container, pod = self.labels(key.cgroup)
            comm = bytes(key.comm).split(b"\0", 1)[0].decode("utf-8", "replace")
            samples.append(StackSample(key.pid, comm, tuple(frames), count, key.cgroup, container, pod))
        stale = self._ids_before - used
        for stack_id in stale:
            with contextlib.suppress(Exception):
                del stacks[ctypes.c_int(stack_id)]
        self._ids_before = used
        stats = self.bpf[b"stats"]
        values = [stats[ctypes.c_int(i)].value for i in range(5)]
        delta = [v - s for v, s in zip(values, self._stats_seen, strict=True)]
        self._stats_seen = values
        return ProfileInterval(samples, seconds, taken=delta[0], idle=delta[1], map_full=delta[2],
                               lost_stacks=delta[3] + delta[4] + missing)


def _walk(stacks: Any, stack_id: int) -> list[int] | None:
    """The addresses of a stack, leaf first; None when the id is gone from the map."""
    try:
        return [addr for addr in stacks.walk(stack_id) if addr]
    except (KeyError, Exception):
        return None
