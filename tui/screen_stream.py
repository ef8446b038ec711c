"""The screen gets its own file descriptor, so capturing fds 1 and 2 around a bcc compile takes only bcc's text.

bcc and LLVM write diagnostics straight to fds 1 and 2 ("Unable to find kernel headers" goes to stdout),
and Textual's Linux driver draws on `sys.__stderr__`, i.e. fd 2 as well. ebtop redirects fds 1 and 2
while it compiles (tui.sources.bpf_env.load_bpf); with the screen on a duplicate of the terminal, what
Textual draws meanwhile still reaches the terminal and is never mistaken for a compiler message.
"""

from __future__ import annotations

import os
import sys

_state = {"detached": False}


def detached() -> bool:
    """Whether the screen draws on its own descriptor (then fd 1 may be captured too: nothing of ebtop's is there)."""
    return _state["detached"]


def detach_screen() -> None:
    """Point sys.__stderr__/sys.stderr at a duplicate of fd 2 (before the app builds its driver); idempotent."""
    if _state["detached"] or sys.__stderr__ is None:
        return
    old = sys.__stderr__
    try:
        old.flush()
        fd = os.dup(old.fileno())
    except (OSError, ValueError):
        return
    os.set_inheritable(fd, False)
    stream = os.fdopen(fd, "w", encoding=old.encoding, errors=old.errors, buffering=1)
    replace_stderr = sys.stderr is old
    sys.__stderr__ = stream
    if replace_stderr:
        sys.stderr = stream
    _state["detached"] = True
