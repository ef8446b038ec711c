"""`ebtop -b --pane processes`: compact lines to stdout, problems to stderr, as `tetra getevents -o compact`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tui.demo.tetragon_server import serve_tetragon

FIXTURE = Path(__file__).parent / "data" / "processes_pane.jsonl"


def ebtop(*args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", "-b", "--pane", "processes", *args], input=stdin,
                          capture_output=True, text=True, timeout=timeout)


def test_file_to_compact_lines_until_end_of_input() -> None:
    out = ebtop("--tetragon-file", str(FIXTURE), "--health-checks")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 120
    hidden = ebtop("--tetragon-file", str(FIXTURE)).stdout.splitlines()  # health checks hidden, as live
    assert len(hidden) == 108 and set(hidden) < set(lines)
    assert lines[0].startswith("🚀 process shop/frontend-7d9c5b7f8-x2lqp /usr/sbin/nginx")
    assert any(line.startswith("🔌 connect ") for line in lines)
    assert any(line.startswith("💥 exit    ") and line.endswith("SIGKILL") for line in lines)


def test_count_timestamps_and_stdin() -> None:
    out = ebtop("--tetragon-file", "-", "-n", "3", "--timestamps", stdin=FIXTURE.read_text())
    lines = out.stdout.splitlines()
    assert out.returncode == 0 and len(lines) == 3
    assert lines[0].startswith("2023-11-14T22:13:19.500000000Z 🚀 process ")


def test_bad_lines_and_unrenderable_events_go_to_stderr_and_are_not_fatal(tmp_path: Path) -> None:
    good = FIXTURE.read_text().splitlines()[:5]
    data = [good[0], "{broken", good[1], '{"rate_limit_info": {"number_of_dropped_process_events": "7"}}',
            good[2], '{"process_exec": {"parent": {"binary": "/x"}}}', *good[3:]]
    path = tmp_path / "events.json"
    path.write_text("\n".join(data) + "\n")
    out = ebtop("--tetragon-file", str(path))
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert len(lines) == 6
    assert lines[2] == "7 events dropped by the agent's rate limit"  # in place; tetra would stop here
    assert f"{path}:2: skipped bad line: not JSON" in out.stderr
    assert "rate_limit_info" not in out.stderr
    assert "process field is not set" in out.stderr
    assert "1 bad line skipped (line 2)" in out.stderr


def test_color_always_and_never() -> None:
    coloured = ebtop("--tetragon-file", str(FIXTURE), "-n", "1", "--color", "always").stdout
    assert coloured.startswith("\x1b[34m🚀 process\x1b[0m \x1b[32mshop/frontend-7d9c5b7f8-x2lqp\x1b[0m")
    plain = ebtop("--tetragon-file", str(FIXTURE), "-n", "1", "--color", "never").stdout
    assert "\x1b" not in plain


def test_server_stream_with_filters_stops_after_n() -> None:
    server = serve_tetragon(rate=0)
    try:
        out = ebtop("--tetragon-server", server.target, "-n", "50", "--tetragon-namespace", "tools",
                    "--event-types", "exec,exit")
    finally:
        server.stop()
    lines = out.stdout.splitlines()
    assert out.returncode == 0, out.stderr
    assert len(lines) == 50
    assert all(line.split()[2].startswith("tools/") for line in lines)
    assert all(line.startswith(("🚀 process", "💥 exit")) for line in lines)
    assert out.stderr == ""  # like tetra getevents: nothing on stderr while all is well


def test_missing_file_and_bad_event_type_are_reported() -> None:
    missing = ebtop("--tetragon-file", "/nonexistent/events.json")
    assert missing.returncode == 2 and "cannot read /nonexistent/events.json" in missing.stderr
    bad = ebtop("--tetragon-server", "127.0.0.1:1", "--event-types", "bogus")
    assert bad.returncode == 2 and "unknown event type 'bogus'" in bad.stderr
