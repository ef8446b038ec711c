"""The one batch loop (`ebtop -b`) for every pane, and the one exit-code table.

A pane family's `run_batch` builds its source (a bad flag, value or file is a `UsageError`: exit 2) and a
printer, then calls `run`. The loop starts the source, prints what it delivers, writes the source's
problems and failures to stderr as they appear, and ends like the tools ebtop imitates (`hubble
observe`, `tetra getevents`): at the end of input, when the printer has enough, or with exit 1 when the
source fails. Without `--reconnect` an unreachable server or a broken stream is a failure (exit 1, with
the reason) instead of a retry loop, and a server that does not answer within `--connect-timeout` is
unreachable.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from tui.sources.base import Source, SourceState
from tui.wiring.common import positive_float

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

EXIT_CODES = """\
Exit codes (every pane, batch mode and interactive):
  0  done: end of input, -n reached, end of the requested history, or stopped by the user
  1  runtime failure: server unreachable or not answering within --connect-timeout, stream broken
     (without --reconnect), no privileges for eBPF, a replay file with no readable line
  2  usage: bad flag or value (filter values included), a file that cannot be read
  128+N  ended by signal N: 143 SIGTERM, 129 SIGHUP or a lost terminal, 130 SIGINT (tui/shutdown.py)
"""

POLL_SECONDS = 0.02
_RETRY_PREFIX = re.compile(r"^retrying in \d+s: ")
DRAIN_LIMIT = 1000


class UsageError(Exception):
    """A command-line problem found while building a source (exit 2)."""


def add_arguments(group: argparse._ArgumentGroup) -> None:
    """The batch loop's own flags (they apply to every pane family that reads a server)."""
    group.add_argument("--reconnect", action="store_true",
                       help="batch mode: keep retrying an unreachable server or a broken stream (with "
                            "backoff) instead of failing with exit 1")
    group.add_argument("--connect-timeout", type=positive_float, default=5.0, metavar="S",
                       help="a server that does not answer within S seconds is unreachable: batch mode exits "
                            "1 (unless --reconnect), a pane retries with backoff (default 5)")


def run(source: Source[Any], emit: Callable[[Any], None], *, err: TextIO, out: TextIO | None = None,
        done: Callable[[], bool] = lambda: False, reconnect: bool = False,
        connect_timeout: float | None = 5.0, say_counters: tuple[str, ...] = ()) -> int:
    """Start `source`, `emit` every item it delivers until `done()` or the source ends; the exit code.

    `say_counters`: the source's counters of skipped input (malformed messages) that nothing else in its
    output says; each rise is written to stderr with the count so far (a pane shows them in its status).
    """
    out = out or sys.stdout
    said = dict.fromkeys(say_counters, 0)
    shown = 0
    last_state: SourceState | None = None
    started = time.monotonic()
    streamed = False
    source.start()
    try:
        while True:
            items = source.buffer.drain(DRAIN_LIMIT)
            for item in items:
                emit(item)
                if done():
                    return EXIT_OK
            shown = _report_problems(source, shown, err)
            if said:
                _say_counters(source, said, err)
            state = source.state()
            streamed = streamed or state is SourceState.STREAMING
            if state is not last_state and (state is SourceState.FAILED
                                            or (state is SourceState.RETRYING and reconnect)):
                text = source.describe()
                if not any(str(problem) in text for problem in source.problems):  # said already
                    print(f"ebtop: {source.label}: {text}", file=err)
            last_state = state
            if state in (SourceState.FAILED, SourceState.ENDED) and not len(source.buffer):
                out.flush()
                shown = _report_problems(source, shown, err)
                if source.problems and state is SourceState.ENDED:
                    print(f"ebtop: {source.status.get().reason}", file=err)
                return EXIT_FAILURE if state is SourceState.FAILED else EXIT_OK
            if not reconnect and not len(source.buffer):
                if state is SourceState.RETRYING:
                    what = "stream broken" if streamed else "unreachable"
                    why = _RETRY_PREFIX.sub("", source.describe())
                    print(f"ebtop: {source.label}: {what}: {why} (--reconnect keeps retrying)", file=err)
                    return EXIT_FAILURE
                if (connect_timeout and source.remote and not streamed
                        and state in (SourceState.IDLE, SourceState.CONNECTING)
                        and time.monotonic() - started > connect_timeout):
                    print(f"ebtop: {source.label}: no answer within {connect_timeout:g} s "
                          "(--connect-timeout; --reconnect keeps trying)", file=err)
                    return EXIT_FAILURE
            if not items:
                out.flush()
                time.sleep(POLL_SECONDS)
    except BrokenPipeError:
        if out is sys.stdout:
            with contextlib.suppress(OSError):
                sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the interpreter's flush at exit
        return EXIT_OK
    finally:
        if said:
            with contextlib.suppress(BrokenPipeError, ValueError):
                _say_counters(source, said, err)
        source.stop()
        with contextlib.suppress(BrokenPipeError, ValueError):
            out.flush()


def use_color(choice: str, stream: TextIO) -> bool:
    """`--color auto`: only on a terminal, without NO_COLOR and not on TERM=dumb (fatih/color's rule)."""
    if choice == "always":
        return True
    if choice == "never":
        return False
    isatty = getattr(stream, "isatty", lambda: False)()
    return bool(isatty) and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def _say_counters(source: Source[Any], said: dict[str, int], err: TextIO) -> None:
    """Each named counter that rose since it was last said, with its count so far."""
    counts = source.counters()
    for name, before in said.items():
        value = counts.get(name, 0)
        if value > before:
            said[name] = value
            print(f"ebtop: {source.label}: {name}: {value} skipped so far", file=err)


def _report_problems(source: Source[Any], shown: int, err: TextIO) -> int:
    problems = source.problems
    for problem in problems[shown:]:
        print(f"ebtop: {problem}", file=err)
    return len(problems)


def usage_error(message: str, err: TextIO) -> int:
    print(f"ebtop: {message}", file=err)
    return EXIT_USAGE
