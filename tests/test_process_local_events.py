"""Local exec/exit records become Tetragon-shaped events (no BPF needed: a made-up /proc)."""

from __future__ import annotations

import base64
import socket
import time
from pathlib import Path

from tui.model.processes import ProcessForest
from tui.render.tetra_compact import render_line
from tui.sources.base import Backoff, SourceState
from tui.sources.local_exec import (
    EV_EXEC,
    EV_EXIT,
    FallbackSource,
    LocalEventBuilder,
    ProcReader,
    RawEvent,
    join_argv,
    make_exec_id,
)
from tui.sources.tetragon import TetragonSource


def fake_proc(root: Path, pid: int, ppid: int, comm: str, argv: list[str], start_ticks: int = 100) -> None:
    directory = root / str(pid)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "stat").write_text(f"{pid} ({comm}) S {ppid} " + " ".join(["0"] * 17) + f" {start_ticks} 0 0\n")
    (directory / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
    (directory / "status").write_text("Name:\tx\nUid:\t0\t1000\t0\t0\n")


def raw(kind: int, pid: int, ktime: int, **fields) -> RawEvent:
    base = dict(type=kind, pid=pid, tid=pid, uid=0, ktime=ktime, fork_ktime=0, parent_tgid=0, code=0,
                has_code=False, signal=0, comm="x", filename="")
    base.update(fields)
    return RawEvent(**base)


def test_exec_ids_and_arguments_follow_tetragon() -> None:
    assert base64.b64decode(make_exec_id("node1", 42, 7)) == b"node1:42:7"
    assert join_argv(["-c", "sleep 0.1; exit 3"]) == '-c "sleep 0.1; exit 3"'


def test_fork_exec_exit_chain_builds_the_tree(tmp_path: Path) -> None:
    fake_proc(tmp_path, 100, 1, "python3", ["python3", "t.py"])
    builder = LocalEventBuilder("n1", ProcReader(str(tmp_path)), boot_wall=1_000_000.0)
    fake_proc(tmp_path, 200, 100, "sh", ["sh", "-c", "sleep 0.1; exit 3"])
    sh_exec = builder.build(raw(EV_EXEC, 200, 5_000, fork_ktime=4_000, parent_tgid=100, filename="/bin/sh"))
    fake_proc(tmp_path, 201, 200, "sleep", ["sleep", "0.1"])
    sleep_exec = builder.build(raw(EV_EXEC, 201, 6_000, fork_ktime=5_500, parent_tgid=200, filename="/bin/sleep"))
    sleep_exit = builder.build(raw(EV_EXIT, 201, 9_000, has_code=True, code=0))
    subshell_exit = builder.build(raw(EV_EXIT, 202, 9_500, fork_ktime=7_000, parent_tgid=200))
    sh_exit = builder.build(raw(EV_EXIT, 200, 10_000, has_code=True, code=3))
    assert render_line(sh_exec) == '🚀 process n1 /bin/sh "-c \\"sleep 0.1; exit 3\\""'
    assert sh_exec.process_exec.process.flags == "execve clone"
    assert sh_exec.process_exec.parent.binary == "python3" or sh_exec.process_exec.parent.flags == "procFS"
    assert render_line(sh_exit).endswith(" 3")
    assert sh_exec.time.ToNanoseconds() == 1_000_000 * 10**9 + 5_000
    forest = ProcessForest()
    forest.add_many([sh_exec, sleep_exec, sleep_exit, subshell_exit, sh_exit])
    sh = forest.get(sh_exec.process_exec.process.exec_id)
    sleep = forest.get(sleep_exec.process_exec.process.exec_id)
    subshell = forest.get(subshell_exit.process_exit.process.exec_id)
    assert sh.status == 3 and sh.failed and sleep.parent_id == sh.exec_id and sleep.status == 0
    assert subshell.forked and subshell.parent_id == sh.exec_id and subshell.binary == "/bin/sh"
    assert forest.get(sh.parent_id).pid == 100


def test_exec_without_fork_replaces_the_image(tmp_path: Path) -> None:
    builder = LocalEventBuilder("n1", ProcReader(str(tmp_path)), boot_wall=0.0)
    fake_proc(tmp_path, 300, 1, "bash", ["bash", "-c", "exec curl x"])
    first = builder.build(raw(EV_EXEC, 300, 1_000, fork_ktime=900, parent_tgid=1, filename="/bin/bash"))
    fake_proc(tmp_path, 300, 1, "curl", ["curl", "x"])
    second = builder.build(raw(EV_EXEC, 300, 2_000, filename="/usr/bin/curl"))
    assert second.process_exec.process.flags == "execve"
    assert second.process_exec.process.parent_exec_id == first.process_exec.process.exec_id
    forest = ProcessForest()
    forest.add_many([first, second])
    assert forest.get(first.process_exec.process.exec_id).binary == "/usr/bin/curl"


def test_signal_death_and_unknown_exit(tmp_path: Path) -> None:
    builder = LocalEventBuilder("n1", ProcReader(str(tmp_path)), boot_wall=0.0)
    killed = builder.build(raw(EV_EXIT, 400, 1_000, signal=9, comm="sleep"))
    assert killed.process_exit.signal == "SIGKILL"
    assert render_line(killed) == "💥 exit    n1 sleep  SIGKILL"


def test_snapshot_emits_running_processes_parents_first(tmp_path: Path) -> None:
    fake_proc(tmp_path, 1, 0, "init", ["/sbin/init"], start_ticks=1)
    fake_proc(tmp_path, 50, 1, "sshd", ["sshd", "-D"], start_ticks=5)
    fake_proc(tmp_path, 60, 50, "bash", ["-bash"], start_ticks=9)
    builder = LocalEventBuilder("n1", ProcReader(str(tmp_path)), boot_wall=0.0)
    events = list(builder.snapshot())
    assert [e.process_exec.process.pid.value for e in events] == [1, 50, 60]
    forest = ProcessForest()
    forest.add_many(events)
    bash = next(n for n in forest.nodes.values() if n.pid == 60)
    assert [n.pid for n in forest.chain(bash)] == [1, 50] and "procFS" in bash.flags


class StandIn:
    """A local source stand-in: the fallback's switching is under test, not the kernel side."""

    problems: list[str] = []

    def __init__(self, buffer, recorder=None, keep=None) -> None:
        self.buffer = buffer
        self.version = "local exec tracepoints"
        self.received = 0
        self.started = self.stopped = False

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.stopped = True

    def state(self) -> SourceState:
        return SourceState.STREAMING

    def describe(self, now=None) -> str:
        return "streaming: local exec tracepoints"


def test_fallback_switches_to_local_when_no_agent_answers() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    tetragon = TetragonSource([f"127.0.0.1:{port}"], backoff_factory=lambda: Backoff(0.05, 0.1))
    fallback = FallbackSource(tetragon, after=0.3, local_factory=StandIn)
    fallback.start()
    try:
        deadline = time.monotonic() + 10
        while fallback.local is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert fallback.local is not None and fallback.local.started
        assert fallback.buffer is fallback.local.buffer
        assert "no Tetragon" in fallback.describe() and "127.0.0.1" in fallback.describe()
        assert fallback.version == "local exec tracepoints"
    finally:
        fallback.stop()
    assert fallback.local.stopped


def test_fallback_keeps_recording_into_the_same_file(tmp_path: Path) -> None:
    from tui.sources.event_replay import EventRecorder

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    recorder = EventRecorder(str(tmp_path / "rec.json"))
    tetragon = TetragonSource([f"127.0.0.1:{port}"], recorder=recorder, backoff_factory=lambda: Backoff(0.05, 0.1))
    fallback = FallbackSource(tetragon, recorder=recorder, after=0.2, local_factory=StandIn)
    fallback.start()
    try:
        deadline = time.monotonic() + 10
        while fallback.local is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert fallback.local is not None
        assert not recorder._out.closed  # the Tetragon side let go of it without closing it
    finally:
        fallback.stop()
