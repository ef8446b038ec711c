"""OS-level thread names (`ebtop-ui`, `hubble-reader`, …) so `top -H` and `ps -L` tell ebtop's threads apart.

Python 3.11 names threads only inside Python; the kernel's name stays `python`. One hook names every
thread the `threading` module starts (ebtop's sources and Textual's own writer and input threads)
from its Python name, once, as it starts.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
import threading
from typing import Any

PR_SET_NAME = 15
TASK_COMM_LEN = 15  # the kernel keeps 15 bytes of a thread's name


def set_os_thread_name(name: str) -> bool:
    """Name the calling thread in the kernel (Linux); False where that is not possible."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        encoded = name.encode("ascii", "replace")[:TASK_COMM_LEN]
        return libc.prctl(PR_SET_NAME, ctypes.c_char_p(encoded), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _name_on_start(frame: Any, event: str, arg: Any) -> None:
    """A one-shot profile hook: runs as a thread starts, names it, and removes itself."""
    sys.setprofile(None)
    with contextlib.suppress(Exception):
        set_os_thread_name(threading.current_thread().name)


def name_threads(main_name: str = "ebtop-ui") -> None:
    """Name the calling (UI) thread and every thread started from now on."""
    set_os_thread_name(main_name)
    threading.setprofile(_name_on_start)
