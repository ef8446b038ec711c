"""Flags of issue 14 mean the same on the command line and in the config file; where one cannot apply
or names something that does not exist, ebtop exits 2 and says what would work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tui.cli import build_parser
from tui.config import apply_defaults
from tui.sources.tracepoints import events_dir

ROOT = Path(__file__).resolve().parent.parent


def ebtop(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *argv], capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C"})


def tracefs_readable() -> bool:
    try:
        found = events_dir()
        return found is not None and (found / "sched" / "sched_process_fork" / "format").read_text() != ""
    except OSError:
        return False


@pytest.mark.parametrize("argv, says", [
    (("--duration", "2"), "--duration applies to batch mode of the profile pane only"),
    (("-b", "--pane", "processes", "--duration", "2"), "--duration applies to batch mode"),
    (("-b", "--pane", "profile", "--profile-hz", "5000"), "at most 1000"),
    (("-b", "--pane", "profile", "--view", "runqlat"), "--view runqlat is not a view of the profile pane"),
    (("-b", "--pane", "syscalls", "--count", "nocolon"), "expected TRACEPOINT[:KEY]"),
])
def test_usage_errors_exit_2(argv: tuple[str, ...], says: str) -> None:
    done = ebtop(*argv)
    assert done.returncode == 2, done.stderr
    assert says in done.stderr
    assert done.stdout == ""


@pytest.mark.skipif(not tracefs_readable(), reason="tracefs formats not readable here (root only)")
def test_unknown_tracepoint_and_field_name_the_closest() -> None:
    done = ebtop("-b", "--pane", "syscalls", "--count", "syscalls:sys_enter_opnat")
    assert done.returncode == 2
    assert "no tracepoint syscalls:sys_enter_opnat" in done.stderr and "syscalls:sys_enter_openat" in done.stderr
    done = ebtop("-b", "--pane", "syscalls", "--count", "sched:sched_process_fork:chld_pid")
    assert done.returncode == 2
    assert "no integer field chld_pid" in done.stderr and "closest: child_pid" in done.stderr


def test_config_file_sets_counters_and_hz(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('profile-hz = 99\n[syscalls]\ncount = ["sched:sched_process_fork:pid", '
                      '"syscalls:sys_enter_openat"]\nhist-by = "pod"\n')
    parser = build_parser()
    loaded = apply_defaults(parser, config)
    assert not getattr(loaded, "problems", loaded), loaded
    args = parser.parse_args([])
    assert args.profile_hz == 99
    assert args.hist_by == "pod"
    assert [(c.tracepoint, c.key) for c in args.counters] == [("sched:sched_process_fork", "pid"),
                                                              ("syscalls:sys_enter_openat", "comm")]
    assert args.count == 0  # -n / --iterations is untouched by the counters
