"""The command line parses, prints its help and version, and lists every family's flags."""

from __future__ import annotations

import subprocess
import sys

from tui import __version__
from tui.cli import build_parser


def test_version_flag() -> None:
    out = subprocess.run([sys.executable, "-m", "tui", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"ebtop {__version__}"


def test_help_mentions_demo_and_batch() -> None:
    text = build_parser().format_help()
    assert "--demo" in text and "--batch" in text and "--pane" in text


def test_serve_puts_the_app_on_a_local_web_page(tmp_path) -> None:
    """`ebtop --serve PORT` answers on localhost with textual-serve's page for the ebtop command."""
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "tui", "--serve", str(port), "--demo"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        page = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not page:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read().decode()
            except OSError:
                time.sleep(0.2)
        assert "ebtop" in page
    finally:
        proc.terminate()
        proc.wait(10)
