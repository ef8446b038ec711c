"""`--hubble-file -` / `--tetragon-file -` in the interactive app: the capture from stdin, keys from /dev/tty.

The app reads its keys from fd 0. When fd 0 is also the capture, the replay's JSON turns into
keystrokes (tabs switch, the pane pauses) and the keys steal lines from the replay. So before the app
starts the capture is moved to a new descriptor and fd 0 becomes the controlling terminal; where that
cannot work (stdin is the terminal itself, there is no controlling terminal, or two replays want stdin)
ebtop refuses with a usage error (exit 2) instead of guessing.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TextIO

STDIN_FLAGS = ("hubble_file", "tetragon_file")

_data: TextIO | None = None


class StdinReplayError(Exception):
    """Interactive stdin replay that cannot be separated from the keyboard (a usage error)."""


def stdin_data() -> TextIO:
    """Where a `-` replay reads: the moved capture in the app, stdin itself in batch mode."""
    return _data if _data is not None else sys.stdin


def separate_keys_from_data(args: argparse.Namespace, tty_path: str = "/dev/tty") -> bool:
    """Move a piped capture off fd 0 and put the terminal there; True when it did. Raises StdinReplayError."""
    global _data
    flags = [name for name in STDIN_FLAGS if getattr(args, name, None) == "-"]
    if not flags:
        return False
    spelled = " and ".join(f"--{name.replace('_', '-')} -" for name in flags)
    if len(flags) > 1:
        raise StdinReplayError(f"{spelled}: only one replay can read stdin; give the other one a file name")
    if os.isatty(0):
        raise StdinReplayError(f"{spelled}: stdin is the terminal the keys come from; pipe the capture in "
                               f"(… | ebtop {spelled}) or give its file name")
    try:
        tty = os.open(tty_path, os.O_RDWR | os.O_NOCTTY)
    except OSError as error:
        raise StdinReplayError(f"{spelled}: the keys need the controlling terminal ({tty_path}: "
                               f"{error.strerror}); without one use batch mode (-b)") from None
    data_fd = os.dup(0)
    os.dup2(tty, 0)
    os.close(tty)
    os.set_inheritable(data_fd, False)
    _data = os.fdopen(data_fd, encoding="utf-8", errors="replace")
    return True
