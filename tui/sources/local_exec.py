"""Local process events from bcc tracepoints, shaped like Tetragon's, for nodes without Tetragon.

`bpf/exec.c` reports exec and exit (fork, exit_group and fatal signals are folded in by the kernel
side) through a ring buffer; `LocalEventBuilder` turns them into `GetEventsResponse` messages with
`process_exec`/`process_exit`, so the same forest, pane and batch printer work unchanged. Exec ids are
made as Tetragon makes them, base64("<node>:<ktime ns>:<pid>"). Arguments and cwd are read from /proc
at exec time, best effort (a process may be gone before it is read). Processes running at start are
read from /proc once and emitted as `procFS` execs, as the agent does at its own start.

`FallbackSource` tries Tetragon first and switches to this source when no agent answers.
"""

from __future__ import annotations

import base64
import os
import signal as _signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui.proto.tetragon import events_pb2, tetragon_pb2
from tui.sources.base import BoundedBuffer, Source, SourceState

EV_EXEC = 1
EV_EXIT = 2
RINGBUF_PAGES = 256
FORK_ENTRIES = 65_536
FALLBACK_AFTER = 3.0
POLL_TIMEOUT_MS = 500  # the ring buffer wait: events end it at once, stop is seen within this
LOST_READ_SECONDS = 1.0  # how often the kernel's lost-record counter is read
MAX_IMAGES = 65_536
_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PF_KTHREAD = 0x00200000  # include/linux/sched.h: the task is a kernel thread


def make_exec_id(node: str, ktime_ns: int, pid: int) -> str:
    """Tetragon's exec id: base64 of `<node>:<ktime>:<pid>`."""
    return base64.b64encode(f"{node}:{ktime_ns}:{pid}".encode()).decode()


def join_argv(argv: list[str]) -> str:
    """Tetragon's `arguments`: argv[1:] joined by spaces, elements holding a space wrapped in quotes."""
    return " ".join(f'"{arg}"' if " " in arg else arg for arg in argv)


def proc_text(raw: bytes) -> str:
    """Bytes from /proc or the kernel as text: invalid UTF-8 shown escaped (`\\xff`), never an error.

    Any user can name its process with arbitrary bytes (prctl PR_SET_NAME); a strict decode killed the
    whole source, and surrogateescape text cannot be put in a protobuf string.
    """
    return raw.decode("utf-8", "backslashreplace")


def signal_name(number: int) -> str:
    try:
        return _signal.Signals(number).name
    except ValueError:
        return f"SIG{number}"


@dataclass
class RawEvent:
    """One record from the ring buffer (the fields of `struct event_t`)."""

    type: int
    pid: int
    tid: int
    uid: int
    ktime: int
    fork_ktime: int
    parent_tgid: int
    code: int
    has_code: bool
    signal: int
    comm: str
    filename: str


class ProcReader:
    """Best-effort reads from /proc (a process may exit before it is read)."""

    def __init__(self, root: str = "/proc") -> None:
        self.root = Path(root)

    def argv(self, pid: int) -> list[str] | None:
        try:
            raw = (self.root / str(pid) / "cmdline").read_bytes()
        except OSError:
            return None
        if not raw:
            return None
        return [proc_text(part) for part in raw.rstrip(b"\0").split(b"\0")]

    def cwd(self, pid: int) -> str:
        try:
            return proc_text(os.readlink(os.fsencode(self.root / str(pid) / "cwd")))
        except OSError:
            return ""

    def exe(self, pid: int) -> str:
        try:
            return proc_text(os.readlink(os.fsencode(self.root / str(pid) / "exe")))
        except OSError:
            return ""

    def stat(self, pid: int) -> tuple[str, int, int] | None:
        """(comm, ppid, start ticks since boot); the comm is any 15 bytes, so it is read as bytes."""
        try:
            raw = (self.root / str(pid) / "stat").read_bytes()
            fields = raw[raw.rindex(b")") + 2:].split()
            return proc_text(raw[raw.index(b"(") + 1: raw.rindex(b")")]), int(fields[1]), int(fields[19])
        except (OSError, ValueError, IndexError):
            return None

    def kernel_thread(self, pid: int) -> bool:
        """Whether `pid` is a kernel thread (PF_KTHREAD in /proc/PID/stat's flags: kthreadd and its children)."""
        try:
            text = (self.root / str(pid) / "stat").read_text()
            return bool(int(text[text.rindex(")") + 2:].split()[6]) & PF_KTHREAD)
        except (OSError, ValueError, IndexError):
            return False

    def uid(self, pid: int) -> int | None:
        try:
            for line in (self.root / str(pid) / "status").read_text().splitlines():
                if line.startswith("Uid:"):
                    return int(line.split()[2])  # effective uid, as Tetragon's `uid`
        except (OSError, ValueError, IndexError):
            return None
        return None

    def pids(self) -> list[int]:
        try:
            return [int(name) for name in os.listdir(self.root) if name.isdigit()]
        except OSError:
            return []


class LocalEventBuilder:
    """Keeps the current image of every live pid and builds Tetragon-shaped events from raw records."""

    def __init__(self, node: str, proc: ProcReader | None = None,
                 boot_wall: float | None = None) -> None:
        self.node = node
        self.proc = proc or ProcReader()
        # bpf_ktime_get_ns() is CLOCK_MONOTONIC: wall time = that + this offset
        self.boot_wall = time.time() - time.monotonic() if boot_wall is None else boot_wall
        self.images: dict[int, tetragon_pb2.Process] = {}

    # --- helpers ---------------------------------------------------------------------------------

    def _timestamp(self, message: Any, ktime_ns: int) -> None:
        message.FromNanoseconds(int(self.boot_wall * 1e9) + ktime_ns)

    def _response(self, ktime_ns: int) -> events_pb2.GetEventsResponse:
        response = events_pb2.GetEventsResponse(node_name=self.node)
        self._timestamp(response.time, ktime_ns)
        return response

    def _remember(self, pid: int, process: tetragon_pb2.Process) -> None:
        if len(self.images) >= MAX_IMAGES and pid not in self.images:
            self.images.pop(next(iter(self.images)))
        self.images[pid] = process

    def procfs_image(self, pid: int) -> tetragon_pb2.Process | None:
        """The image of a process that was running before we looked (flag `procFS`)."""
        known = self.images.get(pid)
        if known is not None:
            return known
        stat = self.proc.stat(pid)
        if stat is None:
            return None
        comm, ppid, start_ticks = stat
        ktime = start_ticks * 1_000_000_000 // _CLK_TCK
        argv = self.proc.argv(pid)
        binary = self.proc.exe(pid) or (argv[0] if argv else f"[{comm}]")
        # Kernel threads are marked (`kthread`, a word Tetragon does not use) so the pane can hide them.
        flags = "procFS kthread" if not argv and self.proc.kernel_thread(pid) else "procFS"
        process = tetragon_pb2.Process(
            exec_id=make_exec_id(self.node, ktime, pid), binary=binary,
            arguments=join_argv(argv[1:]) if argv else "", flags=flags, cwd=self.proc.cwd(pid))
        process.pid.value = pid
        uid = self.proc.uid(pid)
        if uid is not None:
            process.uid.value = uid
        self._timestamp(process.start_time, ktime)
        parent = self.images.get(ppid) if ppid else None
        if parent is not None:
            process.parent_exec_id = parent.exec_id
        elif ppid == 0:
            process.parent_exec_id = ""
        else:
            stat_parent = self.proc.stat(ppid)
            if stat_parent is not None:
                process.parent_exec_id = make_exec_id(
                    self.node, stat_parent[2] * 1_000_000_000 // _CLK_TCK, ppid)
        self._remember(pid, process)
        return process

    def snapshot(self) -> Iterator[events_pb2.GetEventsResponse]:
        """procFS execs for every running process, parents first (by start time)."""
        entries = []
        for pid in self.proc.pids():
            stat = self.proc.stat(pid)
            if stat is not None:
                entries.append((stat[2], pid))
        for _, pid in sorted(entries):
            process = self.procfs_image(pid)
            if process is None:
                continue
            response = self._response(0)
            response.time.CopyFrom(process.start_time)
            response.process_exec.process.CopyFrom(process)
            yield response

    # --- records ---------------------------------------------------------------------------------

    def build(self, raw: RawEvent) -> events_pb2.GetEventsResponse | None:
        if raw.type == EV_EXEC:
            return self.on_exec(raw)
        if raw.type == EV_EXIT:
            return self.on_exit(raw)
        return None

    def on_exec(self, raw: RawEvent) -> events_pb2.GetEventsResponse:
        pid = raw.pid
        previous = self.images.get(pid)
        if raw.fork_ktime:
            parent = self.images.get(raw.parent_tgid) or self.procfs_image(raw.parent_tgid)
            flags = "execve clone"
        elif previous is not None:
            parent, flags = previous, "execve"
        else:
            stat = self.proc.stat(pid)
            parent = self.procfs_image(stat[1]) if stat and stat[1] else None
            flags = "execve"
        argv = self.proc.argv(pid)
        cwd = self.proc.cwd(pid)
        binary = raw.filename
        if binary and not binary.startswith("/") and cwd:
            binary = os.path.normpath(os.path.join(cwd, binary))  # Tetragon reports absolute paths
        process = tetragon_pb2.Process(
            exec_id=make_exec_id(self.node, raw.ktime, pid), binary=binary,
            arguments=join_argv(argv[1:]) if argv else "", flags=flags, cwd=cwd)
        process.pid.value = pid
        process.tid.value = pid
        process.uid.value = raw.uid
        self._timestamp(process.start_time, raw.ktime)
        if parent is not None:
            process.parent_exec_id = parent.exec_id
        self._remember(pid, process)
        response = self._response(raw.ktime)
        response.process_exec.process.CopyFrom(process)
        if parent is not None:
            response.process_exec.parent.CopyFrom(parent)
        return response

    def on_exit(self, raw: RawEvent) -> events_pb2.GetEventsResponse:
        pid = raw.pid
        process = self.images.pop(pid, None)
        parent = None
        if process is None and raw.fork_ktime:
            # forked, never exec'd: a copy of the forker's image with its own id (Tetragon's clone)
            parent = self.images.get(raw.parent_tgid)
            process = tetragon_pb2.Process(exec_id=make_exec_id(self.node, raw.fork_ktime, pid), flags="clone")
            if parent is not None:
                process.binary = parent.binary
                process.arguments = parent.arguments
                process.cwd = parent.cwd
                process.parent_exec_id = parent.exec_id
            else:
                process.binary = raw.comm
            process.pid.value = pid
            process.uid.value = raw.uid
            self._timestamp(process.start_time, raw.fork_ktime)
        elif process is None:
            process = tetragon_pb2.Process(exec_id=make_exec_id(self.node, 0, pid), binary=raw.comm,
                                           flags="procFS")
            process.pid.value = pid
            process.uid.value = raw.uid
        else:
            parent = self._parent_of(process)
        response = self._response(raw.ktime)
        exit_event = response.process_exit
        exit_event.process.CopyFrom(process)
        if parent is not None:
            exit_event.parent.CopyFrom(parent)
        if raw.has_code:
            exit_event.status = raw.code & 0xFF
        elif raw.signal:
            exit_event.signal = signal_name(raw.signal)
        self._timestamp(exit_event.time, raw.ktime)
        return response

    def _parent_of(self, process: tetragon_pb2.Process) -> tetragon_pb2.Process | None:
        wanted = process.parent_exec_id
        if not wanted:
            return None
        return next((image for image in self.images.values() if image.exec_id == wanted), None)


class LocalExecSource(Source[Any]):
    """bcc tracepoints on this node -> Tetragon-shaped events in a bounded buffer (needs root).

    No agent filters these events, so the Tetragon filter flags are applied here (`keep`), with the
    predicate the demo agent uses (`tui.filters.tetragon`).
    """

    thread_name = "local-exec"

    def __init__(self, buffer: BoundedBuffer[Any] | None = None, recorder: Any = None,
                 node: str | None = None, snapshot: bool = True,
                 keep: Callable[[Any], bool] | None = None) -> None:
        self.node = node or socket.gethostname()
        super().__init__(f"local exec tracepoints on {self.node}", buffer)
        self.recorder = recorder
        self.snapshot = snapshot
        self.keep = keep
        self.version = "local exec tracepoints"
        self.received = 0
        self.filtered = 0
        self.lost = 0
        self.bad = 0
        self._stop = self.stopping
        self._ready = threading.Event()

    def wait_ready(self, timeout: float = 30.0) -> bool:
        """Block until the probes are attached (or loading failed); True when attached."""
        self._ready.wait(timeout)
        return self.status.get().state is SourceState.STREAMING

    def describe(self, now: float | None = None) -> str:
        return self.status.get().describe(now)

    def facts(self) -> list[str]:
        return [self.version]

    def counters(self) -> dict[str, int]:
        return {"received": self.received, "dropped": self.buffer.dropped, "lost": self.lost,
                "filtered": self.filtered, "decode errors": self.bad}

    def state(self) -> SourceState:
        return self.status.get().state

    def _put(self, response: Any) -> None:
        if self.keep is not None and not self.keep(response):
            self.filtered += 1
            return
        self.buffer.put(response)
        self.received += 1
        if self.recorder is not None:
            self.recorder.write(response)

    def run(self) -> None:
        from tui.sources.bpf_env import (
            BpfUnavailable,
            check_preconditions,
            close_bpf,
            fatal,
            load_bpf,
            program_text,
        )

        self.status.set(SourceState.CONNECTING, "loading local exec tracepoints")
        problems = check_preconditions()
        if fatal(problems):
            self.status.set(SourceState.FAILED, "; ".join(p.line() for p in problems if p.fatal))
            self._ready.set()
            return
        cflags = [f"-DRINGBUF_PAGES={RINGBUF_PAGES}", f"-DFORK_ENTRIES={FORK_ENTRIES}"]
        if has_group_dead():
            cflags.append("-DHAVE_GROUP_DEAD")
        bpf = None
        try:
            bpf = load_bpf(program_text("exec.c"), cflags=cflags)
        except BpfUnavailable as error:
            self.status.set(SourceState.FAILED, f"local exec tracepoints: {error}")
            self._ready.set()
            return
        try:
            builder = LocalEventBuilder(self.node)
            table = bpf[b"events"]
            decode = _decoder(table)

            def on_event(_ctx: Any, data: Any, _size: int) -> None:
                try:
                    response = builder.build(decode(data))
                except Exception as error:  # noqa: BLE001 - one bad record is counted and said, the rest go on
                    self.bad += 1
                    if self.bad == 1:
                        self.add_problem(f"{self.label}: a record skipped ({type(error).__name__}: {error})")
                    return
                if response is not None:
                    self._put(response)

            table.open_ring_buffer(on_event)
            self.status.set(SourceState.STREAMING, f"local exec tracepoints on {self.node}")
            self._ready.set()
            if self.snapshot:
                for response in builder.snapshot():
                    self._put(response)
            lost_table = bpf[b"lost"]
            lost_read = 0.0
            while not self._stop.is_set():
                # Events wake the poll at once; the timeout only bounds how late `stop` is seen. 0.5 s
                # and the lost counter read once a second: a 10 Hz loop was a visible part of an idle
                # ebtop's CPU (issue 11).
                bpf.ring_buffer_poll(POLL_TIMEOUT_MS)
                now = time.monotonic()
                if now - lost_read >= LOST_READ_SECONDS:
                    lost_read = now
                    self.lost = sum(value.value for value in lost_table.values())
            bpf.ring_buffer_consume()
            self.lost = sum(value.value for value in lost_table.values())
        finally:
            close_bpf(bpf)
            if self.state() is SourceState.STREAMING:
                self.status.set(SourceState.ENDED, "stopped")
            self._ready.set()


def has_group_dead(fmt: str = "/sys/kernel/tracing/events/sched/sched_process_exit/format") -> bool:
    """Whether sched_process_exit carries `group_dead` (newer kernels); else tid == pid is used."""
    for candidate in (fmt, fmt.replace("/sys/kernel/tracing", "/sys/kernel/debug/tracing")):
        try:
            return "group_dead" in Path(candidate).read_text()
        except OSError:
            continue
    return False


def _decoder(table: Any) -> Callable[[Any], RawEvent]:
    def decode(data: Any) -> RawEvent:
        event = table.event(data)
        return RawEvent(event.type, event.pid, event.tid, event.uid, event.ktime, event.fork_ktime,
                        event.parent_tgid, event.code, bool(event.has_code), event.signal,
                        proc_text(event.comm), proc_text(event.filename))
    return decode


class FallbackSource(Source[Any]):
    """Tetragon first; if no agent streams within a few seconds, local tracepoints instead.

    Until it has decided, it reports `connecting` (a refused first attempt is not yet a failure).
    """

    thread_name = "processes-fallback"

    def __init__(self, tetragon: Any, recorder: Any = None, after: float = FALLBACK_AFTER,
                 local_factory: Callable[..., Any] | None = None,
                 keep: Callable[[Any], bool] | None = None) -> None:
        super().__init__(tetragon.label + " or local exec tracepoints", tetragon.buffer)
        self.tetragon = tetragon
        self._recorder = recorder  # held by the active source, which closes it
        self.after = after
        self.keep = keep
        self.local: Any = None
        self._local_factory = local_factory or LocalExecSource
        self._why_not_tetragon = ""
        self._decided = threading.Event()

    @property
    def active(self) -> Any:
        return self.local if self.local is not None else self.tetragon

    @property
    def remote(self) -> bool:  # type: ignore[override]
        return self.local is None

    @property
    def version(self) -> str:
        return self.active.version

    @property
    def received(self) -> int:
        return self.tetragon.received + (self.local.received if self.local is not None else 0)

    def run(self) -> None:
        self.tetragon.start()
        try:
            deadline = time.monotonic() + self.after
            while time.monotonic() < deadline and not self.stopping.is_set():
                if self.tetragon.state() is SourceState.STREAMING:
                    return
                time.sleep(0.05)
            if self.stopping.is_set() or self.tetragon.state() is SourceState.STREAMING:
                return
            self._why_not_tetragon = self.tetragon.describe()
            self.tetragon.release_recorder()  # the same file goes on with local events
            self.tetragon.stop()
            self.local = self._local_factory(buffer=self.buffer, recorder=self._recorder, keep=self.keep)
            self.local.start()
        finally:
            self._decided.set()

    def close(self) -> None:
        self.tetragon.stop()
        self._decided.wait(2.0)
        if self.local is not None:
            self.local.stop()

    def state(self) -> SourceState:
        state = self.active.state()
        if not self._decided.is_set() and state in (SourceState.RETRYING, SourceState.FAILED, SourceState.IDLE):
            return SourceState.CONNECTING
        return state

    @property
    def problems(self) -> list[str]:
        return [*super().problems, *self.active.problems]

    def facts(self) -> list[str]:
        return self.active.facts()

    def counters(self) -> dict[str, int]:
        return self.active.counters()

    def describe(self, now: float | None = None) -> str:
        if self.local is None:
            return self.tetragon.describe(now)
        text = self.local.describe(now)
        return f"{text} (no Tetragon: {self._why_not_tetragon})" if self._why_not_tetragon else text
