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
