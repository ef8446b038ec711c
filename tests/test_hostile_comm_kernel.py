"""Root kernel test: a process that names itself with terminal control sequences cannot reach stdout.

Any unprivileged user can set its comm with prctl(PR_SET_NAME) to `ESC[2J ESC[H`, an OSC title or a
newline that forges an `@[…]: N` line; `ebtop -b --pane syscalls` running as root prints it escaped,
one key per line, under the count the kernel really made.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.workload import Workload, build

ROOT = Path(__file__).resolve().parents[1]
HEADER = re.compile(rb"^\[\d\d:\d\d:\d\d\]$")
LINE = re.compile(rb"^@\[(.+)\]: (\d+)$")
CLEAR_AND_FORGE = "\x1b[2J\x1b[H\n@[x]:9"  # 15 bytes: the whole comm
TITLE = "\x1b]0;pwn\x07\u202e"  # an OSC title, then a right-to-left override


@pytest.mark.kernel
def test_hostile_comm_is_escaped_in_syscalls_batch(tmp_path: Path) -> None:
    binary = build(tmp_path)
    batch = subprocess.Popen([sys.executable, "-m", "tui.cli", "-b", "--pane", "syscalls", "-n", "3",
                              "--interval", "1"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert batch.stdout is not None
    raw = b""
    started = False
    for line in batch.stdout:
        raw += line
        if line == b"\n" and not started:  # first interval printed: the probe is attached
            for comm in (CLEAR_AND_FORGE, TITLE):
                worker = Workload(binary, comm, "getppid", 50_000)
                worker.go()
                assert worker.wait() == 0
            started = True
    assert batch.wait(timeout=60) == 0, batch.stderr.read() if batch.stderr else b""
    assert started
    assert not re.search(rb"[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80\xae", raw), raw
    keys = {}
    for line in raw.split(b"\n"):
        if not line:
            continue
        match = LINE.match(line)
        assert HEADER.match(line) or match, line
        if match:
            keys[match.group(1)] = max(keys.get(match.group(1), 0), int(match.group(2)))
    assert keys.get(rb"^[[2J^[[H\n@[x]:9", 0) >= 50_000, keys  # escaped, on one line, with its real count
    assert keys.get(rb"^[]0;pwn\x07\u202e", 0) >= 50_000, keys
    assert b"x" not in keys  # no forged key
