"""Syscalls options and batch mode (placeholder until the syscalls pane lands)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.panes.base import LivePane


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this family's flags to ebtop's parser."""


def run_batch(args: argparse.Namespace) -> int:
    """Print this pane's lines to stdout; return the exit status."""
    print("ebtop: batch mode for the syscalls pane is not built yet", file=sys.stderr)
    return 2


def create_pane(args: argparse.Namespace) -> LivePane:
    """Build the interactive pane from parsed arguments."""
    from tui.panes.placeholder import PlaceholderPane

    return PlaceholderPane("Syscalls", "syscalls")
