"""Hostile strings end to end: markup and escape sequences in flows and events stay literal on a real screen.

ebtop replays files with Rich markup (`[/x]`, `[bold]`) and ANSI/OSC escapes in pod names, process
arguments, DNS names and URLs; in a real terminal (tmux) the text must appear escaped and literal in
the list, the aggregate views and the detail views, and nothing may clear or retitle the screen.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.helpers.tmux import TmuxRun, tmux_available

pytestmark = pytest.mark.skipif(not tmux_available(), reason="tmux is not installed (deploy/setup.sh --test)")

CLEAR = "\x1b[2J"
TITLE = "\x1b]0;pwned\x07"


def _flows(path: Path) -> None:
    base = {"time": "2026-01-01T00:00:00Z", "node_name": "worker-1"}
    dns = {"flow": {**base, "verdict": "FORWARDED", "Type": "L7", "event_type": {"type": 129},
                    "IP": {"source": "10.0.0.5", "destination": "10.0.0.10", "ipVersion": "IPv4"},
                    "l4": {"UDP": {"source_port": 40000, "destination_port": 53}},
                    "source": {"namespace": "shop", "pod_name": "[/x]web" + CLEAR, "identity": 1234},
                    "destination": {"namespace": "kube-system", "pod_name": "coredns", "identity": 102},
                    "l7": {"type": "RESPONSE", "dns": {"query": "[bold]evil" + TITLE + ".example.", "rcode": 3,
                                                       "qtypes": ["A"]}}},
           "node_name": "worker-1", "time": base["time"]}
    http = {"flow": {**base, "verdict": "FORWARDED", "Type": "L7", "event_type": {"type": 129},
                     "IP": {"source": "10.0.0.5", "destination": "10.0.0.20", "ipVersion": "IPv4"},
                     "l4": {"TCP": {"source_port": 40001, "destination_port": 8080}},
                     "source": {"namespace": "shop", "pod_name": "[/x]web" + CLEAR, "identity": 1234},
                     "destination": {"namespace": "shop", "pod_name": "api", "identity": 4321,
                                     "workloads": [{"name": "api[/]", "kind": "Deployment"}]},
                     "l7": {"type": "RESPONSE", "latency_ns": "5000000",
                            "http": {"code": 500, "method": "GET", "url": "http://api/[/x]" + CLEAR}}},
            "node_name": "worker-1", "time": base["time"]}
    path.write_text("\n".join(json.dumps(item) for item in (dns, http)) + "\n")


def _events(path: Path) -> None:
    process = {"exec_id": "aG9zdGlsZQ==", "pid": 77, "binary": "/bin/[red]sh", "cwd": "/",
               "arguments": "-c [/x]" + CLEAR + TITLE, "flags": "execve clone",
               "start_time": "2026-01-01T00:00:00Z",
               "pod": {"namespace": "shop", "name": "[bold]pod" + CLEAR,
                       "pod_labels": {"app": "[/]x"}, "container": {"image": {"name": "img[/x]"}}}}
    path.write_text(json.dumps({"process_exec": {"process": process}, "node_name": "worker-1",
                                "time": "2026-01-01T00:00:00Z"}) + "\n")


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    flows, events = tmp_path / "flows.json", tmp_path / "events.json"
    _flows(flows)
    _events(events)
    return flows, events


def _run(tmp_path: Path, files: tuple[Path, Path]) -> TmuxRun:
    flows, events = files
    return TmuxRun(["--hubble-file", str(flows), "--tetragon-file", str(events), "--probes", "none"],
                   tmp_path, size=(160, 40))


def _step(run: TmuxRun, key: str) -> str:
    run.press(key)
    time.sleep(0.6)
    return run.screen()


def test_flows_list_views_and_detail_show_hostile_strings_literally(tmp_path: Path, files) -> None:
    run = _run(tmp_path, files)
    try:
        screen = run.wait_for("[/x]web")
        assert "\\x1b[2J" in screen or "^[[2J" in screen  # escaped, as hubble does (ESC -> ^[)
        for key, expected in (("n", "[bold]evil^[]0;pwned\\x07.example."), ("h", "[/x]web^[[2J"), ("f", "http-response")):
            run.press(key)
            run.wait_for(expected)  # a fixed pause was too short under load
        run.press("up")
        run.press("enter")  # the HTTP flow's detail: every field, the URL among them
        screen = run.wait_for("http://api/[/x]^[[2J")
        assert "Traceback" not in screen, screen
        run.press("escape")
        time.sleep(0.5)
        run.press("q")
        assert run.exit_status() == 0, run.screen()
        assert "Traceback" not in run.screen()
    finally:
        run.close()


def test_process_tree_and_detail_show_hostile_strings_literally(tmp_path: Path, files) -> None:
    run = _run(tmp_path, files)
    try:
        run.wait_for("dns-response")  # the app is up and drawing, so keys reach it
        run.press("2")
        screen = run.wait_for("[bold]pod")
        assert "[red]sh" in screen and "[/x]" in screen
        screen = _step(run, "d")
        assert "[/x]" in screen and "Traceback" not in screen
        run.press("escape")
        time.sleep(0.5)
        run.press("q")
        assert run.exit_status() == 0, run.screen()
    finally:
        run.close()
