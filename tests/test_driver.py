"""tui/driver.py in a real terminal (tmux): the input thread sleeps while nothing is typed, and keys,
a lone Esc among them, still arrive."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.helpers.tmux import TmuxRun, process_gone, tmux_available

pytestmark = pytest.mark.skipif(not tmux_available(), reason="tmux is not installed (deploy/setup.sh --test)")

UNREACHABLE = ["--hubble-server", "127.0.0.1:1", "--tetragon-server", "127.0.0.1:1", "--probes", "none"]
TEXTUAL_DRIVER = {"TEXTUAL_DRIVER": "textual.drivers.linux_driver:LinuxDriver"}


def input_thread_wakeups(pid: int, seconds: float) -> int:
    """Voluntary context switches of Textual's input thread over `seconds`: one per wake-up."""
    tasks = Path(f"/proc/{pid}/task")
    thread = next(task for task in tasks.iterdir() if (task / "comm").read_text().strip() == "textual-input")

    def switches() -> int:
        status = (thread / "status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("voluntary_ctxt_switches")).split()[1])

    before = switches()
    time.sleep(seconds)
    return switches() - before


@pytest.mark.parametrize("env", [None, TEXTUAL_DRIVER], ids=["ebtop's driver", "Textual's driver"])
def test_an_idle_input_thread_sleeps_and_keys_still_arrive(tmp_path: Path, env) -> None:
    run = TmuxRun(UNREACHABLE, tmp_path, size=(100, 30), env=env)
    try:
        run.wait_for("Flows", 60)
        pid = run.pid()
        time.sleep(1)
        wakeups = input_thread_wakeups(pid, 3.0)
        if env is None:
            assert wakeups <= 3, f"the input thread woke {wakeups} times in 3 s with nothing typed"
        else:  # what it replaces: Textual's thread polls ten times a second
            assert wakeups >= 15
        run.press("?")
        run.wait_for("Esc, q")
        run.press("Escape")  # a lone Esc: a key only after the parser's timeout, which needs a wake-up
        deadline = time.monotonic() + 3  # well under the idle wait (5 s): Esc must not wait for it
        while "Esc, q" in run.screen() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "Esc, q" not in run.screen(), "Esc did not close the help screen"
        time.sleep(0.5)
        run.press("q")
        # The thread is joined on the way out: it must wake at once, not at the end of its idle wait.
        assert process_gone(pid, 2.5), "q waited for the input thread"
        assert run.exit_status() == 0, run.screen()
    finally:
        run.close()
