"""The syscall counting program (`bpf/syscalls.c`): load it, set its mode, read counts per interval.

The kernel keeps cumulative counters; each read takes the difference to the previous read, so no
count is lost to a read-then-clear race. Keys idle for a whole interval are deleted to keep the
maps small (a deleted key that fires again simply starts from zero).
No Textual here; call everything from one thread (the kernel source's worker).
"""

from __future__ import annotations

import contextlib
import ctypes
import time
from typing import Any

from tui.model.syscalls import SyscallInterval, SyscallSample
from tui.sources.bpf_env import close_bpf, load_bpf, program_text

COMM_ENTRIES = 16384
PID_ENTRIES = 32768
START_ENTRIES = 16384
EXIT_TRACEPOINT = b"raw_syscalls:sys_exit"
EXIT_FUNCTION = b"tracepoint__raw_syscalls__sys_exit"
MODES = {"comm": 0, "pid": 1, "cgroup": 2}
TABLES = {"comm": b"by_comm", "pid": b"by_pid", "cgroup": b"by_cgroup"}


def decode_comm(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def cgroup_labels(path: str) -> tuple[str, str]:
    """(container, pod) labels of a cgroup path: the container's short id and `pod UID` under
    kubepods, else the path itself for both (`system.slice/ssh.service`; `/` is the root cgroup)."""
    from tui.sources.cgroups import parse_cgroup_path

    pod = parse_cgroup_path(path)
    if pod is None:
        plain = path.strip("/") or "/"
        return plain, plain
    pod_label = f"pod {pod.pod_uid}"
    return (pod.short_id or pod_label), pod_label


class SyscallCounter:
    """One loaded `syscalls.c`; `read()` returns what changed since the previous read."""

    def __init__(self, mode: str = "comm", failed: bool = False, latency: bool = False,
                 exit_tracepoint: bool = True) -> None:
        """`exit_tracepoint=False` builds the counter without `raw_syscalls:sys_exit` (no tracefs):
        counts still work through the raw tracepoint, failures and time are not available."""
        cflags = [f"-DCOMM_ENTRIES={COMM_ENTRIES}", f"-DPID_ENTRIES={PID_ENTRIES}",
                  f"-DSTART_ENTRIES={START_ENTRIES}"]
        if not exit_tracepoint:
            cflags.append("-DNO_EXIT_TRACEPOINT=1")
            failed = latency = False
        self.exit_available = exit_tracepoint
        self.bpf: Any = load_bpf(program_text("syscalls.c"), cflags=cflags)
        self._prev: dict[str, dict[bytes, tuple[int, int, int]]] = {mode: {} for mode in MODES}
        self._cgroups: Any = None  # a CgroupResolver, made on the first read in cgroup mode
        self._rescanned = False  # the cgroup mount was walked during this read
        self._prev_lost = 0
        self._last_read = time.monotonic()
        self.mode = "comm"
        self.failed = False
        self.latency = False
        self.exit_attached = exit_tracepoint  # bcc auto-attached it
        self.configure(mode=mode, failed=failed, latency=latency)
        self.read()  # baseline: counts made while loading are not an interval

    # -- control ------------------------------------------------------------------------------
    def configure(self, mode: str | None = None, failed: bool | None = None, latency: bool | None = None) -> None:
        """Switch what the kernel counts; the exit probe is attached only when failures or time are wanted."""
        if mode is not None:
            if mode not in MODES:
                raise ValueError(f"mode must be one of {sorted(MODES)}")
            self.mode = mode
        if failed is not None:
            self.failed = failed
        if latency is not None:
            self.latency = latency
        cfg = self.bpf[b"config"]
        value = cfg.Leaf()
        value.mode = MODES[self.mode]
        value.latency = 1 if self.latency else 0
        cfg[ctypes.c_int(0)] = value
        want_exit = (self.failed or self.latency) and self.exit_available
        if want_exit and not self.exit_attached:
            self.bpf.attach_tracepoint(tp=EXIT_TRACEPOINT, fn_name=EXIT_FUNCTION)
            self.exit_attached = True
        elif not want_exit and self.exit_attached:
            self.bpf.detach_tracepoint(EXIT_TRACEPOINT)
            self.exit_attached = False

    def program_fds(self) -> dict[str, int]:
        """Name -> fd of each loaded program (for run-time stats)."""
        return {name.decode(): fn.fd for name, fn in self.bpf.funcs.items()}

    # -- reading ------------------------------------------------------------------------------
    def read(self) -> SyscallInterval:
        now = time.monotonic()
        seconds = now - self._last_read
        self._last_read = now
        table = self.bpf[TABLES[self.mode]]
        prev = self._prev[self.mode]
        current: dict[bytes, tuple[int, int, int]] = {}
        samples: list[SyscallSample] = []
        idle = []
        for key, value in table.items_lookup_batch():
            raw = bytes(key)
            counts = (value.count, value.failed, value.ns)
            current[raw] = counts
            before = prev.get(raw, (0, 0, 0))
            delta = (counts[0] - before[0], counts[1] - before[1], counts[2] - before[2])
            if delta == (0, 0, 0):
                if raw in prev:
                    idle.append(key)
                continue
            if self.mode == "cgroup":
                path = self._cgroup_path(key.cgroup)
                container, pod = cgroup_labels(path)
                samples.append(SyscallSample("", key.id, delta[0], delta[1], delta[2], None, cgroup=path,
                                             container=container, pod=pod))
                continue
            comm = decode_comm(bytes(key.comm))
            pid = key.pid if self.mode == "pid" else None
            samples.append(SyscallSample(comm, key.id, delta[0], delta[1], delta[2], pid))
        if idle:
            self._delete(table, idle)
            for key in idle:
                current.pop(bytes(key), None)
        self._prev[self.mode] = current
        lost_total = self.bpf[b"lost"][ctypes.c_int(0)].value
        lost, self._prev_lost = lost_total - self._prev_lost, lost_total
        self._rescanned = False
        return SyscallInterval(time.time(), seconds, samples, by_pid=self.mode == "pid",
                               by_cgroup=self.mode == "cgroup",
                               failed_counted=self.failed, latency_counted=self.latency, lost=lost)

    def _cgroup_path(self, cgroup_id: int) -> str:
        """The cgroup v2 path of an id (`/system.slice/ssh.service`), or `cgroup ID` when it is gone.

        The cgroup mount is walked at most once per read, so a cgroup removed since it counted
        costs no walk per key."""
        from tui.sources.cgroups import CgroupResolver

        if self._cgroups is None:
            self._cgroups = CgroupResolver()
        path = self._cgroups.cached(cgroup_id)
        if path is None and not self._rescanned:
            self._rescanned = True
            self._cgroups.rescan()
            path = self._cgroups.cached(cgroup_id)
        return path or f"cgroup {cgroup_id}"

    @staticmethod
    def _delete(table: Any, keys: list[Any]) -> None:
        array = (table.Key * len(keys))(*keys)
        try:
            table.items_delete_batch(array)
        except Exception:
            for key in keys:  # older kernels without batch ops
                with contextlib.suppress(KeyError):
                    del table[key]

    def close(self) -> None:
        close_bpf(self.bpf)
        self.bpf = None
