"""`--hubble-file -` in the interactive app: the capture comes from stdin, the keys from the terminal.

Before, stdin was both: the JSON turned into keystrokes (tabs switched, the pane paused by itself)
and the keys stole lines. Where the two cannot be told apart, ebtop refuses with exit 2.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.tmux import TmuxRun, tmux_available

ROOT = Path(__file__).resolve().parents[1]
CAPTURE = ROOT / "tests" / "data" / "hubble_flows.jsonl"
# stdin redirected from the capture, the way `ebtop --hubble-file - < flows.json` (or a pipe) starts it.
FROM_FILE = ("-c", "import os, sys; fd = os.open(sys.argv.pop(1), os.O_RDONLY); os.dup2(fd, 0); "
                   "from tui.cli import main; sys.exit(main(sys.argv[1:]))")


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}


@pytest.mark.skipif(not tmux_available(), reason="tmux missing")
def test_interactive_stdin_replay_reads_every_flow_and_real_keys(tmp_path: Path) -> None:
    lines = sum(1 for line in CAPTURE.read_text().splitlines() if line.strip())
    events = ROOT / "tests" / "data" / "processes_pane.jsonl"
    run = TmuxRun([str(CAPTURE), "--hubble-file", "-", "--tetragon-file", str(events), "--probes", "none"],
                  tmp_path, size=(120, 40), python_args=FROM_FILE)
    try:
        screen = run.wait_for(f"end of stdin: {lines} responses", timeout=30)
        assert "PAUSED" not in screen and "Flows ·" in screen and "Traceback" not in screen, screen
        run.press("p")  # a real key reaches the app
        run.wait_for("PAUSED", timeout=10)
        run.press("q")
        assert run.exit_status(timeout=15) == 0, run.screen()
    finally:
        run.close()


@pytest.mark.skipif(not tmux_available(), reason="tmux missing")
def test_stdin_that_is_the_terminal_is_refused(tmp_path: Path) -> None:
    run = TmuxRun(["--hubble-file", "-", "--probes", "none"], tmp_path, size=(120, 20))
    try:
        assert run.exit_status(timeout=20) == 2, run.screen()
        assert "stdin is the terminal the keys come from" in run.screen()
    finally:
        run.close()


def test_no_controlling_terminal_or_two_stdin_replays_are_usage_errors(tmp_path: Path) -> None:
    base = [sys.executable, "-m", "tui", "--probes", "none"]
    with CAPTURE.open("rb") as stdin:
        done = subprocess.run(["setsid", "-w", *base, "--hubble-file", "-"], stdin=stdin, cwd=ROOT,
                              capture_output=True, text=True, timeout=60, env=_env(tmp_path))
    assert done.returncode == 2 and "controlling terminal" in done.stderr and "-b" in done.stderr, done.stderr
    with CAPTURE.open("rb") as stdin:
        done = subprocess.run([*base, "--hubble-file", "-", "--tetragon-file", "-"], stdin=stdin, cwd=ROOT,
                              capture_output=True, text=True, timeout=60, env=_env(tmp_path))
    assert done.returncode == 2 and "only one replay can read stdin" in done.stderr, done.stderr


def test_batch_mode_still_reads_stdin(tmp_path: Path) -> None:
    with CAPTURE.open("rb") as stdin:
        done = subprocess.run([sys.executable, "-m", "tui", "-b", "--hubble-file", "-", "-n", "3"], stdin=stdin,
                              cwd=ROOT, capture_output=True, text=True, timeout=60, env=_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 3
