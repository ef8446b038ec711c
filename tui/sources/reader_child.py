"""The reader child's entry point: `python -m tui.sources.reader_child FD` (see reader_process.py).

The first message on the pipe names what to run (a module-level function, pickled by name) and its
arguments; the function gets the pipe as its first argument, as multiprocessing's spawn gave it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from multiprocessing.connection import Connection


def main(argv: list[str]) -> int:
    conn = Connection(int(argv[1]))
    try:
        _name, target, args = conn.recv()
    except (EOFError, OSError):
        return 0  # the parent went away before saying what to run
    try:
        target(conn, *args)
    finally:
        with contextlib.suppress(OSError):
            conn.close()
    return 0


if __name__ == "__main__":
    # os._exit: everything the parent needs went over the pipe; a gRPC thread still winding down
    # must not hold the child in interpreter shutdown after its parent asked it to stop.
    code = 1
    try:
        code = main(sys.argv)
    finally:
        os._exit(code)
