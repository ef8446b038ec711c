"""The local kernel's TCP sockets and their owners (`bpf/sockets.c`), as join facts (`SockEvent`).

For nodes without Tetragon, or for the node's own processes: `sock:inet_sock_set_state` gives the
5-tuple, the connecting task (at SYN_SENT) and, for accepted connections, the task that owns the
listening port. Each pid is mapped to its container and pod through its cgroup (`tui.sources.cgroups`);
the binary is `/proc/PID/exe` while the process lives, else its comm. Kernel times are monotonic;
they are moved onto the wall clock once, at start, so they compare with Hubble's flow times.
"""

from __future__ import annotations

import os
import time
from typing import Any

from tui.model.join import SockEvent
from tui.model.sockets import ACCEPT, CONNECT, ProcessRef
from tui.sources.base import Source, SourceState
from tui.sources.bpf_env import BpfUnavailable, close_bpf, load_bpf, program_text
from tui.sources.cgroups import CgroupResolver
from tui.sources.kernel_probes import address, comm_of

KINDS = {1: CONNECT, 2: ACCEPT, 3: "close"}
POLL_S = 0.05
RING_PAGES = 256


def monotonic_to_wall_ns() -> int:
    """Offset that turns bpf_ktime_get_ns() (CLOCK_MONOTONIC) into Unix ns."""
    return time.time_ns() - time.clock_gettime_ns(time.CLOCK_MONOTONIC)


class KernelSocketSource(Source[SockEvent]):
    """Loads the socket program, drains its ring buffer into `buffer` as SockEvents."""

    thread_name = "ebtop-kernel-sockets"

    def __init__(self, resolver: CgroupResolver | None = None, proc: str = "/proc") -> None:
        super().__init__("kernel sock:inet_sock_set_state")
        self.resolver = resolver if resolver is not None else CgroupResolver(proc=proc)
        self.proc = proc
        self.bpf: Any = None
        self.offset_ns = monotonic_to_wall_ns()
        self.decode_errors = 0
        self._binaries: dict[int, str] = {}
        self.ready = False

    def load(self) -> None:
        """Compile and attach (blocking); raises BpfUnavailable with the cause."""
        if self.bpf is not None:
            return
        self.bpf = load_bpf(program_text("sockets.c"), cflags=[f"-DRING_PAGES={RING_PAGES}"])
        self.bpf[b"sock_events"].open_ring_buffer(self._callback)
        self.ready = True

    def run(self) -> None:
        self.status.set(SourceState.CONNECTING, "loading sockets.c")
        try:
            self.load()
        except BpfUnavailable as error:
            self.add_problem(f"kernel sockets: {error}")
            self.status.set(SourceState.FAILED, str(error))
            return
        self.status.set(SourceState.STREAMING, "tracing sock:inet_sock_set_state")
        while not self.stopping.is_set():
            self.poll()
            self.stopping.wait(POLL_S)
        self.poll()

    def poll(self) -> None:
        bpf = self.bpf
        if bpf is not None:
            bpf.ring_buffer_consume()

    def close(self) -> None:
        bpf, self.bpf = self.bpf, None
        close_bpf(bpf)

    def drops(self) -> int:
        import ctypes

        if self.bpf is None:
            return 0
        return int(self.bpf[b"drops"][ctypes.c_int(0)].value)

    def counters(self) -> dict[str, int]:
        return {**super().counters(), "decode_errors": self.decode_errors}

    # -- events ------------------------------------------------------------------------------------
    def _callback(self, _ctx: Any, data: Any, _size: int) -> int:
        try:
            raw = self.bpf[b"sock_events"].event(data)
            self.buffer.put(self.decode(raw))
        except Exception:  # a bad event must not kill the worker
            self.decode_errors += 1
        return 0

    def decode(self, raw: Any) -> SockEvent:
        pid = int(raw.pid)
        what = KINDS.get(int(raw.kind), "use")
        return SockEvent(what, "TCP", address(raw.family, raw.saddr), int(raw.sport), address(raw.family, raw.daddr),
                         int(raw.dport), 0, int(raw.ts_ns) + self.offset_ns,
                         self.process(pid, comm_of(raw.comm), int(raw.cgroup)))

    def process(self, pid: int, comm: str, cgroup_id: int) -> ProcessRef:
        binary = self._binaries.get(pid)
        if binary is None:
            try:
                binary = os.readlink(f"{self.proc}/{pid}/exe")
            except OSError:
                binary = comm
            if len(self._binaries) > 4096:
                self._binaries.clear()
            self._binaries[pid] = binary
        pod = self.resolver.pod_of_id(cgroup_id) if cgroup_id else None
        if pod is None:
            pod = self.resolver.pod_of_pid(pid)
        return ProcessRef(pid=pid, binary=binary, pod=pod.pod_uid if pod else "",
                          container_id=pod.container_id if pod else "", source="kernel")


__all__ = ["KernelSocketSource", "monotonic_to_wall_ns"]
