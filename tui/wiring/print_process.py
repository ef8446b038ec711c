"""`ebtop -b --pane flows --print-process`: each flow line gets ` pid=PID binary=PATH` when its process is known.

The processes come from Tetragon's socket kprobes (`--tetragon-file` or `--tetragon-server`, any mix
with `--hubble-file` / `--hubble-server`), joined through the socket index (`tui.model.join`). A
flow waits until the process events of its own time have been read (`OrderedJoin`): replaying the
same files gives the same lines every time; a live event stream that is late holds a flow at most
`WAIT_S`. Lines of flows whose process is unknown stay exactly `hubble observe -o compact`.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any, TextIO

from tui.model.join import OrderedJoin

WAIT_S = 1.5
"""A live flow is printed at most this long after it arrived, process known or not."""
MAX_QUEUED_EVENTS = 50_000
"""Events read ahead of the flows; beyond this the event source waits (a replay) or drops (live)."""


def add_argument(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--print-process", action="store_true",
                       help="batch mode: append ` pid=PID binary=PATH` to flows whose process is known, joined "
                            "from Tetragon's socket events (--tetragon-file or --tetragon-server; "
                            "deploy/tracingpolicy-join.yaml makes an agent send them)")


def suffix(process: Any) -> str:
    return f" {process.label()}" if process is not None else ""


def event_source(args: argparse.Namespace) -> Any:
    """Where the socket events come from: the Tetragon file, the Tetragon agent(s), or this node's kernel.

    `--processes-source local` (or no `--tetragon-server` and no agent socket on this node) reads the
    local kernel's `sock:inet_sock_set_state` instead (root): the node's own processes and pods.
    """
    from tui.sources.event_replay import ReplaySource

    if getattr(args, "tetragon_file", None):
        return ReplaySource(args.tetragon_file)
    from tui.sources.tetragon import DEFAULT_SOCKET, EventFilters, TetragonSource, default_targets

    servers = getattr(args, "tetragon_server", None)
    local = getattr(args, "processes_source", "auto") == "local" or (
        not servers and getattr(args, "processes_source", "auto") == "auto" and not os.path.exists(DEFAULT_SOCKET))
    if local:
        from tui.sources.kernel_sockets import KernelSocketSource

        return KernelSocketSource()
    return TetragonSource(servers or default_targets(), EventFilters(event_types=["PROCESS_KPROBE"]))


class ProcessAnnotator:
    """Wraps the flow printer: holds each flow until the join can answer, then prints it with its process."""

    def __init__(self, events: Any, print_line: Callable[[Any, str], None], *, live_events: bool,
                 wait_s: float = WAIT_S, clock: Callable[[], float] = time.monotonic,
                 err: TextIO | None = None) -> None:
        self.events = events
        self.err = err
        self.print_line = print_line
        self.join = OrderedJoin()
        self.live_events = live_events
        self.wait_s = wait_s
        self.clock = clock

    def start(self) -> None:
        self.events.start()

    def stop(self) -> None:
        self.events.stop()

    def _pull_events(self) -> None:
        from tui.sources.base import SourceState

        while len(self.join._events) < MAX_QUEUED_EVENTS:
            items = self.events.buffer.drain(5_000)
            if not items:
                break
            for item in items:
                self.join.add_event(item)
        if self.events.state() in (SourceState.ENDED, SourceState.FAILED) and not len(self.events.buffer):
            self.join.events_ended = True

    def emit(self, response: Any) -> None:
        self._pull_events()
        self.join.add_flow(response, arrived=self.clock())
        self._print(self.join.ready(now=self.clock(), wait=self.wait_s if self.live_events else None))

    def finish(self, timeout_s: float = 30.0) -> None:
        """The flows ended: let a file of events catch up (a live stream: up to `wait_s`), print the rest."""
        deadline = self.clock() + (timeout_s if not self.live_events else self.wait_s)
        while len(self.join) and self.clock() < deadline:
            self._pull_events()
            self._print(self.join.ready())
            if self.join.events_ended or not len(self.join):
                break
            time.sleep(0.01)
        self._pull_events()
        self._print(self.join.finish())
        if self.err is not None:
            for problem in getattr(self.events, "problems", []):
                print(f"ebtop: {problem}", file=self.err)
            if not self.join.joiner.socket_events:
                print(f"ebtop: --print-process: no socket events from {getattr(self.events, 'label', 'the source')} "
                      "(a Tetragon agent needs deploy/tracingpolicy-join.yaml)", file=self.err)

    def _print(self, ready: list[tuple[Any, Any, Any]]) -> None:
        for response, _, process in ready:
            self.print_line(response, suffix(process))


def annotator_for(args: argparse.Namespace, print_line: Callable[[Any, str], None],
                  err: TextIO | None = None) -> ProcessAnnotator:
    events = event_source(args)
    if hasattr(events, "open"):
        events.open()  # a missing file is a usage error now, not a silent absence of processes
    return ProcessAnnotator(events, print_line, live_events=not getattr(args, "tetragon_file", None), err=err)


def print_with_suffix(response: Any, text_suffix: str, line_of: Callable[[Any], str | None], out: TextIO) -> None:
    line = line_of(response)
    if line is not None:
        out.write(line + text_suffix + "\n")


__all__ = ["ProcessAnnotator", "add_argument", "annotator_for", "event_source", "suffix"]
