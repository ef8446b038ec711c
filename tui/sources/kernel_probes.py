"""The event-style probes (file opens, TCP, block I/O): load, drain their ring buffers, read drops.

Each probe family is its own bcc program, so one that cannot load (a tracepoint missing on this
kernel) turns off only its view. Ring buffers are consumed on the source's worker timer and the BPF
side submits with BPF_RB_NO_WAKEUP, so no event costs a wakeup. The timer is slow (1 s) while nobody
looks at the events: each ring holds over a second of a busy machine's events (`capacity`), and a ring
that fills faster is drained fast again (`poll_period`). Events become the small frozen dataclasses
of `tui.model.probes` and go to `sink`.
No Textual here; call everything from the kernel source's worker thread.
"""

from __future__ import annotations

import ctypes
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tui.model.probes import BlockEvent, BlockHistDelta, ConnectEvent, DropCount, OpenEvent, RetransEvent
from tui.sources import bpf_env
from tui.sources.bpf_env import close_bpf, load_bpf, program_text

Sink = Callable[[object], None]
TCP_STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
              6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING",
              12: "NEW_SYN_RECV"}
OPEN_SYSCALLS = ("open", "openat", "openat2")
RING_HEADER = 8  # bytes the kernel puts before each ring buffer record (8-byte aligned)
PAGE = 4096


def poll_period(taken: int, elapsed: float, capacity: int, slow: float, fast: float) -> float:
    """Seconds until a ring should be drained again: `slow`, unless `taken` events in `elapsed` s
    would fill half of its `capacity` within `slow` s (then `fast`, so a busy machine loses nothing)."""
    if elapsed > 0 and taken * slow > capacity * elapsed / 2:
        return fast
    return slow


def tracepoint_exists(category: str, name: str) -> bool:
    base = bpf_env.tracefs_dir()
    return base is not None and (base / "events" / category / name / "format").exists()


def comm_of(raw: bytes) -> str:
    return bytes(raw).split(b"\0", 1)[0].decode("utf-8", "replace")


def address(family: int, raw: Any) -> str:
    data = bytes(raw)
    if family == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, data[:4])
    return socket.inet_ntop(socket.AF_INET6, data[:16])


def disk_name(dev: str, sys_dev: str = "/sys/dev/block") -> str:
    """`MAJ:MIN` -> the device's name (`sda`, `nvme0n1`, `loop3`) from its uevent, or "" when unknown."""
    try:
        text = Path(sys_dev, dev, "uevent").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key == "DEVNAME":
            return value.strip()
    return ""


class EventProbe:
    """A loaded probe program with one ring buffer and a drop counter."""

    name = "probe"
    view = ""
    source_file = ""
    ring = b""
    ring_pages = 64
    event_bytes = 64  # sizeof the C event struct (for `capacity`)

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.errors = 0
        self.events = 0  # events taken from the ring so far
        self.bpf: Any = load_bpf(program_text(self.source_file), cflags=self.cflags())
        self._drops_seen = 0
        self.bpf[self.ring].open_ring_buffer(self._callback)

    def cflags(self) -> list[str]:
        return [f"-DRING_PAGES={self.ring_pages}"]

    def _callback(self, _ctx: Any, data: Any, _size: int) -> int:
        self.events += 1
        try:
            self.sink(self.decode(self.bpf[self.ring].event(data)))
        except Exception:  # a bad event must not kill the worker, nor print over the TUI
            self.errors += 1
        return 0

    def decode(self, raw: Any) -> object:
        raise NotImplementedError

    @property
    def capacity(self) -> int:
        """About how many events the ring holds before the kernel drops (counted in `drops`)."""
        record = -(-(self.event_bytes + RING_HEADER) // 8) * 8
        return self.ring_pages * PAGE // record

    def poll(self) -> int:
        """Consume whatever the ring buffer holds, without blocking; how many events it held."""
        before = self.events
        self.bpf.ring_buffer_consume()
        return self.events - before

    def read_interval(self) -> None:
        """Report per-interval data (drops, kernel histograms) to the sink."""
        total = self.bpf[b"drops"][ctypes.c_int(0)].value
        if total > self._drops_seen:
            self.sink(DropCount(self.name, total - self._drops_seen))
        self._drops_seen = total

    def program_fds(self) -> dict[str, int]:
        return {name.decode(): fn.fd for name, fn in self.bpf.funcs.items()}

    def close(self) -> None:
        close_bpf(self.bpf)
        self.bpf = None


class OpensProbe(EventProbe):
    name = "opens"
    view = bpf_env.VIEW_OPENS
    source_file = "opens.c"
    ring = b"open_events"
    ring_pages = 128  # 512 KiB: about 1,700 opens, over a second of a busy machine's at the slow poll
    path_len = 256
    event_bytes = 40 + path_len

    def cflags(self) -> list[str]:
        flags = [*super().cflags(), f"-DPATH_LEN={self.path_len}"]
        if tracepoint_exists("syscalls", "sys_enter_open"):
            flags.append("-DHAVE_OPEN=1")
        if tracepoint_exists("syscalls", "sys_enter_openat2"):
            flags.append("-DHAVE_OPENAT2=1")
        return flags

    def __init__(self, sink: Sink) -> None:
        self.wall_offset_ns = time.time_ns() - time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        super().__init__(sink)

    def decode(self, raw: Any) -> OpenEvent:
        path = bytes(raw.path).split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        return OpenEvent(raw.pid, comm_of(raw.comm), raw.ret, raw.flags, path, OPEN_SYSCALLS[raw.which % 3],
                         (raw.ts + self.wall_offset_ns) / 1e9)


class TcpProbe(EventProbe):
    name = "tcp"
    view = bpf_env.VIEW_CONNLAT
    source_file = "tcp.c"
    ring = b"tcp_events"
    ring_pages = 32  # about 1,600 connects and retransmits
    event_bytes = 72

    def decode(self, raw: Any) -> object:
        comm = comm_of(raw.comm)
        daddr = address(raw.family, raw.daddr)
        if raw.kind == 3:
            return RetransEvent(raw.pid, comm, address(raw.family, raw.saddr), raw.sport, daddr, raw.dport,
                                TCP_STATES.get(raw.state, str(raw.state)))
        return ConnectEvent(raw.pid, comm, daddr, raw.dport, raw.latency_ns, raw.kind == 1)


class BlockProbe(EventProbe):
    name = "blockio"
    view = bpf_env.VIEW_SLOWIO
    source_file = "blockio.c"
    ring = b"bio_events"
    ring_pages = 16  # about 1,000 slow I/Os (slower than --slow-io-ms only)
    event_bytes = 56

    def __init__(self, sink: Sink, slow_ms: float = 10.0) -> None:
        self.slow_ns = int(slow_ms * 1e6)
        self._disks: dict[str, str] = {}
        super().__init__(sink)
        self._hist_seen = [0] * 64

    def cflags(self) -> list[str]:
        flags = [*super().cflags(), f"-DSLOW_NS={self.slow_ns}ULL"]
        if tracepoint_exists("block", "block_io_start"):
            flags.append("-DHAVE_IO_START=1")
        return flags

    def decode(self, raw: Any) -> BlockEvent:
        dev = f"{raw.dev >> 20}:{raw.dev & 0xFFFFF}"  # the kernel's dev_t: 12 bits major, 20 minor
        rwbs = bytes(raw.rwbs).split(b"\0", 1)[0].decode("ascii", "replace")
        disk = self._disks.get(dev)
        if disk is None:
            disk = self._disks[dev] = disk_name(dev)
        return BlockEvent(dev, raw.sector, raw.bytes, raw.latency_ns, rwbs, raw.pid, comm_of(raw.comm), disk)

    def read_interval(self) -> None:
        super().read_interval()
        slots = {}
        for index, value in enumerate(self._hist_values(self.bpf[b"lat_hist"])):
            if value != self._hist_seen[index]:
                slots[index] = value - self._hist_seen[index]
                self._hist_seen[index] = value
        if slots:
            self.sink(BlockHistDelta(slots))

    @staticmethod
    def _hist_values(table: Any) -> list[int]:
        """The 64 slots in one bpf() call (one per slot on a kernel without batch map operations)."""
        values = [0] * 64
        try:
            for key, value in table.items_lookup_batch():
                values[key.value] = value.value
        except Exception:
            values = [table[ctypes.c_int(index)].value for index in range(64)]
        return values


PROBES: dict[str, type[EventProbe]] = {"opens": OpensProbe, "tcp": TcpProbe, "blockio": BlockProbe}
PROBE_VIEWS = {
    "opens": (bpf_env.VIEW_OPENS,),
    "tcp": (bpf_env.VIEW_RETRANS, bpf_env.VIEW_CONNLAT),
    "blockio": (bpf_env.VIEW_SLOWIO,),
}
