"""`q` in a real terminal (tmux): the fast way out still finishes recordings and cleans up the demo."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.helpers.tmux import TmuxRun, process_gone, tmux_available

pytestmark = pytest.mark.skipif(not tmux_available(), reason="tmux is not installed (deploy/setup.sh --test)")


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _demo_dir(pid: int) -> Path | None:
    """The `--dir` of the demo servers' child process (tui.demo.runner)."""
    for child in _children(pid):
        try:
            argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"tui.demo.runner" in argv and b"--dir" in argv:
            return Path(argv[argv.index(b"--dir") + 1].decode())
    return None


def _complete_lines(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n"), f"the recording ends in the middle of a line: {text[-80:]!r}"
    return [json.loads(line) for line in text.splitlines()]


def test_q_finishes_the_recordings_and_removes_the_demo_directory(tmp_path: Path) -> None:
    flows, events = tmp_path / "flows.json", tmp_path / "events.json"
    run = TmuxRun(["--demo", "--demo-rate", "40", "--record-flows", str(flows), "--record-events", str(events)],
                  tmp_path, size=(120, 40))
    try:
        run.wait_for("hubble", 60)
        pid = run.pid()
        deadline = time.monotonic() + 30
        # More than one write buffer (8 KiB) each: a recording cut short would end inside a line.
        while time.monotonic() < deadline and not (flows.exists() and flows.stat().st_size > 20_000
                                                   and events.exists() and events.stat().st_size > 20_000):
            time.sleep(0.1)
        demo = _demo_dir(pid)
        assert demo is not None and demo.exists()
        run.press("q")
        assert process_gone(pid, 5.0), "ebtop still running 5 s after q"
        assert run.exit_status() == 0, run.stderr()
        assert "Traceback" not in run.stderr()
        assert run.terminal_flag("alternate_on") == "0" and run.terminal_flag("mouse_any_flag") == "0"
        assert len(_complete_lines(flows)) > 10
        assert len(_complete_lines(events)) > 10
        assert not demo.exists(), "the demo's socket directory was left behind"
    finally:
        run.close()


RECORDING_THEN_LEAVE = """
import sys
import threading

from tui.proto.jsonlines import JsonLinesRecorder
from tui.proto.observer import observer_pb2
from tui.shutdown import SHUTDOWN
from tui.sources.base import Source

count = int(sys.argv[2])
written = threading.Event()


class Writer(Source):
    def run(self):
        for n in range(count):
            self.recorder(observer_pb2.GetFlowsResponse(node_name=f"node-{n}"))
        written.set()
        self.stopping.wait()


source = Writer("writer")
source.recorder = JsonLinesRecorder(sys.argv[1])
source.start()
written.wait(30)
SHUTDOWN.leave_now(3, restore=lambda: None)
"""


def test_leaving_at_once_still_closes_a_recording(tmp_path: Path) -> None:
    """The fast way out ends with os._exit (no interpreter exit, no flush): the recording is closed first."""
    import subprocess
    import sys

    path = tmp_path / "flows.json"
    done = subprocess.run([sys.executable, "-c", RECORDING_THEN_LEAVE, str(path), "3000"], capture_output=True,
                          text=True, timeout=60, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 3, done.stderr
    lines = _complete_lines(path)
    assert [line["node_name"] for line in lines] == [f"node-{n}" for n in range(3000)]
