"""Real runs of `ebtop -b --pane syscalls`: a note is printed on the first run only (root only).

The note under test is the one this kind of machine gives (kernel headers for another release);
where the checks find no such note the test has nothing to show and skips. A note about what the run
did (ebtop mounted tracefs) is said every time (tests/test_syscall_batch.py runs that one twice).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tui.sources import bpf_env
from tui.sources.notes import said_once

pytestmark = pytest.mark.kernel
ROOT = Path(__file__).resolve().parents[1]


def batch(state: Path) -> str:
    env = {**os.environ, "XDG_STATE_HOME": str(state)}
    done = subprocess.run([sys.executable, "-m", "tui", "-b", "--pane", "syscalls", "-n", "1", "--interval", "1"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "@[" in done.stdout
    return done.stderr


def test_a_note_is_said_on_the_first_batch_run_only(tmp_path: Path) -> None:
    notes = [p.line() for p in bpf_env.check_preconditions() if said_once(p)]
    if not notes:
        pytest.skip("the preconditions give no note on this machine")
    first = batch(tmp_path)
    assert all(f"ebtop: {note}" in first for note in notes)
    second = batch(tmp_path)
    assert not any(note in second for note in notes)
    assert (tmp_path / "ebtop" / "notes-seen").read_text().splitlines() == sorted(notes)
    (tmp_path / "ebtop" / "notes-seen").unlink()  # as --help says: delete the file to see them again
    assert all(note in batch(tmp_path) for note in notes)


def test_help_says_how_to_see_the_notes_again() -> None:
    done = subprocess.run([sys.executable, "-m", "tui", "--help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    text = " ".join(done.stdout.split())
    assert "notes-seen" in text and "delete that file to see them again" in text
