"""ebtop in a real terminal (tmux): hostile TERM/locale settings, tiny sizes, and losing the terminal.

These run the real program in a real pty; they check what a person would see and that ebtop ends
promptly (within 5 s) when its terminal goes away or it is told to stop.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.helpers.tmux import TmuxRun, process_gone, tmux_available

pytestmark = pytest.mark.skipif(not tmux_available(), reason="tmux is not installed (deploy/setup.sh --test)")

# The demo servers make the panes live; no eBPF is needed for these checks.
ARGS = ["--demo", "--demo-rate", "20"]


@pytest.fixture
def run_ebtop(tmp_path: Path):
    runs: list[TmuxRun] = []

    def start(size: tuple[int, int] = (80, 24), env: dict[str, str | None] | None = None,
              args: list[str] | None = None) -> TmuxRun:
        run = TmuxRun(ARGS + (args or []), tmp_path, size=size, env=env)
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.close()


@pytest.mark.parametrize(
    "env",
    [
        {"TERM": None, "LANG": "C.UTF-8"},
        {"TERM": "xterm", "LANG": "C"},
        {"TERM": "screen", "LANG": "C", "LC_ALL": "C"},
        {"TERM": "xterm-256color", "NO_COLOR": "1"},
    ],
    ids=["TERM-unset", "xterm-LANG-C", "screen-C", "NO_COLOR"],
)
def test_starts_and_quits_in_hostile_terminals(run_ebtop, env: dict[str, str | None]) -> None:
    run = run_ebtop(env=env)
    run.wait_for("hubble")  # the status bar: the app is mounted and keys reach it
    screen = run.screen()
    assert "Traceback" not in screen
    run.press("q")
    assert run.exit_status() == 0, run.stderr()
    assert "Traceback" not in run.stderr()


def test_a_tiny_terminal_says_so_and_q_quits(run_ebtop) -> None:
    run = run_ebtop(size=(40, 12))
    run.wait_for("Terminal too small: 40x12", 90)  # the shared CI box can be slow to start the demo
    run.press("q")
    assert run.exit_status() == 0, run.stderr()
    assert "Traceback" not in run.stderr()


@pytest.mark.parametrize("size", [(60, 15), (80, 24)], ids=["60x15", "80x24"])
def test_small_terminals_render_and_help_opens(run_ebtop, size: tuple[int, int]) -> None:
    run = run_ebtop(size=size)
    run.wait_for("hubble", 90)  # the status bar: the app is mounted and keys reach it
    run.press("?")
    run.wait_for("Esc, q")
    run.press("Escape")
    time.sleep(0.5)  # a key right after ESC would read as Alt+key
    run.press("3")
    run.wait_for("Syscalls")
    run.press("q")
    assert run.exit_status() == 0, run.stderr()
    assert "Traceback" not in run.stderr()


def test_losing_the_terminal_ends_ebtop_within_5s(run_ebtop) -> None:
    run = run_ebtop()
    run.wait_for("Flows")
    pid = run.pid()
    run.kill_server()
    assert process_gone(pid, 5.0), "ebtop still running 5 s after its terminal went away"


def assert_terminal_restored(run: TmuxRun) -> None:
    """What tmux says the program left behind: the normal screen, no mouse reporting."""
    assert run.terminal_flag("alternate_on") == "0", "left the terminal in the alternate screen"
    assert run.terminal_flag("mouse_any_flag") == "0", "left mouse reporting on"


WAYS_OUT = {"SIGTERM": signal.SIGTERM, "SIGHUP": signal.SIGHUP, "SIGINT": signal.SIGINT, "q": None}


def leave(run: TmuxRun, pid: int, how: str) -> None:
    import os

    signum = WAYS_OUT[how]
    if signum is None:
        run.press(how)
    else:
        os.kill(pid, signum)


@pytest.mark.parametrize("how", list(WAYS_OUT))
def test_every_way_out_ends_within_5s_and_restores_the_terminal(run_ebtop, how: str) -> None:
    run = run_ebtop()
    run.wait_for("hubble")  # the status bar: the app is mounted (its mouse mode is on)
    assert run.terminal_flag("alternate_on") == "1" and run.terminal_flag("mouse_any_flag") == "1"
    pid = run.pid()
    leave(run, pid, how)
    assert process_gone(pid, 5.0), f"ebtop still running 5 s after {how}"
    expected = 0 if WAYS_OUT[how] is None else 128 + WAYS_OUT[how]
    assert run.exit_status() == expected
    assert_terminal_restored(run)
    assert "Traceback" not in run.stderr()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signals_end_ebtop_within_5s_even_when_its_terminal_is_frozen(run_ebtop, signum: int) -> None:
    """A stalled SSH session: the terminal stops reading, Textual's writes block, the signal must still win."""
    import os
    import subprocess

    run = run_ebtop()
    run.wait_for("Flows")
    pid = run.pid()
    server = subprocess.run(["tmux", "-L", run.name, "display", "-p", "#{pid}"], capture_output=True,
                            text=True, check=True).stdout.strip()
    os.kill(int(server), signal.SIGSTOP)  # tmux stops draining the pty
    try:
        time.sleep(2)  # the demo keeps drawing until the pty buffer is full and writes block
        os.kill(pid, signum)
        assert process_gone(pid, 5.0), f"ebtop still running 5 s after {signal.Signals(signum).name} " \
                                       "with a frozen terminal"
    finally:
        os.kill(int(server), signal.SIGCONT)


SETSID = """
import os
import sys

# ebtop in a session of its own: the pty is not its controlling terminal, so losing it sends no SIGHUP
# (as under `setsid`, or `su -c` in a tmux that gets killed). The parent keeps the tmux pane's shell busy.
pid_file = sys.argv[1]
child = os.fork()
if child:
    sys.exit(os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]))
os.setsid()
with open(pid_file, "w") as handle:
    handle.write(str(os.getpid()))
from tui.cli import main

sys.exit(main(sys.argv[2:]))
"""


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.kernel
def test_losing_the_terminal_without_a_hangup_ends_ebtop_and_unloads_the_probes(tmp_path: Path) -> None:
    pid_file = tmp_path / "ebtop.pid"
    run = TmuxRun([str(pid_file), *ARGS], tmp_path, python_args=("-c", SETSID))
    try:
        run.wait_for("hubble")
        deadline = time.monotonic() + 10
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        pid = int(pid_file.read_text())
        assert os.getsid(pid) == pid  # its own session: no SIGHUP will come
        ids = _loaded_programs(pid)
        run.kill_server()
        assert process_gone(pid, 5.0), f"ebtop still running 5 s after its terminal went away " \
                                       f"({_cpu_seconds(pid):.1f} s CPU)"
        assert _still_loaded(ids) == []
    finally:
        run.close()


CRASH_AFTER_TICKS = """
import sys
from tui.panes.syscalls import SyscallsPane

original = SyscallsPane.tick
ticks = [0]


def tick(self, visible):
    ticks[0] += 1
    if ticks[0] == int(sys.argv[1]):
        raise RuntimeError("injected crash for the test")
    return original(self, visible)


SyscallsPane.tick = tick
from tui.cli import main

sys.exit(main(sys.argv[2:]))
"""


def _bpf_prog_ids(pid: int) -> set[int]:
    ids = set()
    for fdinfo in Path(f"/proc/{pid}/fdinfo").iterdir():
        try:
            for line in fdinfo.read_text().splitlines():
                if line.startswith("prog_id:"):
                    ids.add(int(line.split()[1]))
        except OSError:
            continue
    return ids


def _prog_loaded(prog_id: int) -> bool:
    import ctypes
    import os

    lib = ctypes.CDLL("libbcc.so.0", use_errno=True)
    fd = lib.bpf_prog_get_fd_by_id(prog_id)
    if fd >= 0:
        os.close(fd)
        return True
    return False


@pytest.mark.kernel
def test_a_crash_restores_the_terminal_and_unloads_the_probes(tmp_path: Path) -> None:
    run = TmuxRun(["80", "--demo", "--pane", "syscalls"], tmp_path, python_args=("-c", CRASH_AFTER_TICKS))
    try:
        run.wait_for("Syscalls")
        pid = run.pid()
        deadline = time.monotonic() + 6
        ids: set[int] = set()
        while time.monotonic() < deadline and not ids:
            ids = _bpf_prog_ids(pid)
            time.sleep(0.2)
        assert ids, "the syscall counter never loaded"
        status = run.exit_status(timeout=20)
        assert status not in (None, 0)
        screen = run.screen()
        assert "injected crash for the test" in screen  # the traceback is printed on the normal screen
        assert run.terminal_flag("alternate_on") == "0"
        assert run.terminal_flag("mouse_any_flag") == "0"
        assert process_gone(pid, 5.0)
        assert _still_loaded(ids) == []
    finally:
        run.close()


def _still_loaded(ids: set[int], timeout: float = 2.0) -> list[int]:
    """Programs of a process that is gone: the kernel frees them after a grace period, not at once."""
    deadline = time.monotonic() + timeout
    left = [prog for prog in ids if _prog_loaded(prog)]
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [prog for prog in left if _prog_loaded(prog)]
    return left


def _loaded_programs(pid: int, settle: float = 2.0, timeout: float = 40.0) -> set[int]:
    """The BPF programs the process holds, once the set stopped growing for `settle` seconds."""
    deadline = time.monotonic() + timeout
    ids: set[int] = set()
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        now = _bpf_prog_ids(pid)
        if now != ids:
            ids, stable_since = now, time.monotonic()
        elif ids and time.monotonic() - stable_since >= settle:
            return ids
        time.sleep(0.2)
    assert ids, "no BPF program was ever loaded"
    return ids


@pytest.mark.kernel
@pytest.mark.parametrize("how", list(WAYS_OUT))
def test_every_way_out_with_all_panes_running_unloads_every_probe(tmp_path: Path, how: str) -> None:
    """Flows and Processes from the demo servers, Syscalls from the kernel: then leave by `how`."""
    run = TmuxRun(ARGS, tmp_path, size=(120, 40))
    try:
        run.wait_for("hubble", timeout=60)  # start-up shares the CPUs with the BPF compile
        pid = run.pid()
        ids = _loaded_programs(pid)
        leave(run, pid, how)
        assert process_gone(pid, 5.0), f"ebtop still running 5 s after {how}"
        assert_terminal_restored(run)
        assert _still_loaded(ids) == [], f"BPF programs left loaded after {how}"
        assert "Traceback" not in run.stderr()
    finally:
        run.close()
