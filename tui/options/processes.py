"""Processes pane flags, batch mode (`ebtop -b --pane processes`) and pane construction.

Tetragon filters are spelled `--tetragon-namespace` and `--tetragon-pod` because the Flows pane owns
hubble's `--namespace`/`--pod`. Batch mode prints exactly what `tetra getevents -o compact` prints, to
stdout, and stops at the end of input or after `-n N` events; an event the encoder cannot render is
reported on stderr and skipped, never fatal.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

from tui.options.common import positive_float, positive_int

if TYPE_CHECKING:
    from tui.panes.base import LivePane

SOURCES = ("auto", "tetragon", "local")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this family's flags to ebtop's parser."""
    conn = parser.add_argument_group("processes: Tetragon agent (as `tetra getevents`)")
    conn.add_argument("--tetragon-server", metavar="ADDR", action="append", default=None,
                      help="Tetragon agent address, unix:///path or host:port; repeat to watch several nodes "
                           "at once (default: unix:///var/run/tetragon/tetragon.sock when it exists, else the "
                           "address in /var/run/tetragon/tetragon-info.json, else localhost:54321)")
    conn.add_argument("--tetragon-file", metavar="FILE", default=None,
                      help="replay Tetragon JSON export lines (tetragon.log, `tetra getevents -o json`) from FILE "
                           "(- = stdin) instead of an agent")
    conn.add_argument("--record-events", metavar="FILE", default=None,
                      help="also write every received event to FILE as JSON export lines (replayable)")
    conn.add_argument("--tetragon-reader", choices=("process", "thread"), default="process",
                      help="read the Tetragon stream(s) in a second process (default: gRPC's per-message cost "
                           "then never competes with the screen) or in a thread of ebtop itself")
    conn.add_argument("--processes-source", choices=SOURCES, default="auto",
                      help="where process events come from: tetragon, local (bcc exec/exit tracepoints on this "
                           "node, needs root) or auto: Tetragon, and local instead when no --tetragon-server was "
                           "given and no agent answers within 3 s (default auto)")

    filters = parser.add_argument_group(
        "processes: filters (sent to the Tetragon agent, all given flags must match; the Flows pane's "
        "--namespace/--pod do not apply here)")
    filters.add_argument("--tetragon-namespace", metavar="NS", action="append", default=[],
                         help="only processes in this Kubernetes namespace (repeatable; \"\" = host processes)")
    filters.add_argument("--tetragon-pod", metavar="REGEX", action="append", default=[],
                         help="only processes in pods whose name matches REGEX (repeatable)")
    filters.add_argument("--process", metavar="REGEX", action="append", default=[],
                         help="only processes whose binary path matches REGEX (repeatable)")
    filters.add_argument("--event-types", metavar="TYPES", action="append", default=[],
                         help="only these event types, comma-separated: exec, exit, kprobe, tracepoint, lsm, "
                              "uprobe, usdt, loader, throttle (or PROCESS_EXEC …)")
    filters.add_argument("--health-checks", action="store_true",
                         help="also show Kubernetes exec health-check probes (hidden by default)")

    view = parser.add_argument_group("processes: display")
    view.add_argument("--timestamps", action="store_true",
                      help="prefix event lines with their time (UTC, nanoseconds), as tetra --timestamps")
    view.add_argument("--retention", type=positive_float, default=60.0, metavar="S",
                      help="keep exited processes visible for S seconds (default 60)")
    view.add_argument("--max-processes", type=positive_int, default=50_000, metavar="N",
                      help="at most N processes in memory; the oldest exited go first (default 50000)")


def event_filters(args: argparse.Namespace) -> Any:
    """The server-side filters from the flags (ValueError with the flag's name on a bad value)."""
    from tui.sources.tetragon import EventFilters, event_type_name

    types = [name for value in args.event_types for name in value.split(",") if name.strip()]
    for name in types:
        event_type_name(name)
    return EventFilters(namespaces=list(args.tetragon_namespace), pod_regex=list(args.tetragon_pod),
                        binary_regex=list(args.process), event_types=types, health_checks=args.health_checks)


def build_source(args: argparse.Namespace) -> Any:
    """Replay, Tetragon stream(s), local tracepoints, or Tetragon with a local fallback."""
    from tui.sources.event_replay import EventRecorder, ReplaySource

    if args.tetragon_file:
        return ReplaySource(args.tetragon_file)
    recorder = EventRecorder(args.record_events) if args.record_events else None
    if args.processes_source == "local":
        from tui.sources.local_exec import LocalExecSource

        return LocalExecSource(recorder=recorder)
    from tui.sources.tetragon import ProcessTetragonSource, TetragonSource

    reader = ProcessTetragonSource if getattr(args, "tetragon_reader", "process") == "process" else TetragonSource
    source = reader(args.tetragon_server or [], event_filters(args), recorder=recorder)
    if args.processes_source == "auto" and not args.tetragon_server:
        from tui.sources.local_exec import FallbackSource

        return FallbackSource(source, recorder=recorder)
    return source


def create_pane(args: argparse.Namespace) -> LivePane:
    """Build the interactive pane from parsed arguments."""
    from tui.model.processes import ProcessForest
    from tui.panes.processes import ProcessesPane

    try:
        source = build_source(args)
    except ValueError as error:
        from tui.panes.placeholder import PlaceholderPane

        message = f"Processes: {error}"
        pane = PlaceholderPane("Processes", "processes")
        pane.status_line = lambda: message  # type: ignore[method-assign]
        return pane
    forest = ProcessForest(retention=args.retention, max_nodes=args.max_processes)
    return ProcessesPane(source, forest=forest, timestamps=args.timestamps,
                         live_clock=not args.tetragon_file)


# --- batch mode ------------------------------------------------------------------------------------

def use_color(mode: str, stream: TextIO) -> bool:
    """fatih/color's rule for `auto`: a terminal, no NO_COLOR, and TERM not dumb."""
    if mode == "always":
        return True
    if mode == "never":
        return False
    isatty = getattr(stream, "isatty", lambda: False)()
    return isatty and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


class BatchPrinter:
    """Prints compact lines; counts what it printed and what it could not render."""

    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
        from tui.render.safe import escape_control

        self.out = out
        self.err = err
        self.color = use_color(args.color, out)
        self.timestamps = args.timestamps
        self.limit = args.count
        self.printed = 0
        self.unrendered = 0
        self._escape = escape_control if getattr(out, "isatty", lambda: False)() and not self.color else None

    @property
    def done(self) -> bool:
        return bool(self.limit) and self.printed >= self.limit

    def print(self, response: Any) -> None:
        from tui.render.tetra_compact import CompactEncodeError, render_extra_lines, render_line

        try:
            line = render_line(response, color=self.color, timestamps=self.timestamps)
            extra = render_extra_lines(response, color=self.color)
        except CompactEncodeError as error:
            self.unrendered += 1
            print(f"ebtop: cannot print event as a compact line: {error}", file=self.err)
            return
        if self._escape is not None:
            line = self._escape(line)
            extra = [self._escape(text) for text in extra]
        self.out.write(line + "\n")
        for text in extra:
            self.out.write(text + "\n")
        self.printed += 1


def run_batch(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print this pane's lines to stdout; return the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        printer = BatchPrinter(args, out, err)
        if args.tetragon_file:
            return _batch_file(args, printer)
        return _batch_stream(args, printer)
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the interpreter's flush at exit
        return 0


def _batch_file(args: argparse.Namespace, printer: BatchPrinter) -> int:
    from tui.proto.jsonlines import JsonLineError
    from tui.sources.event_replay import describe_errors, iter_events, open_input

    try:
        handle = open_input(args.tetragon_file)
    except OSError as error:
        print(f"ebtop: cannot read {args.tetragon_file}: {error.strerror or error}", file=printer.err)
        return 1
    errors: list[JsonLineError] = []
    reported = 0
    try:
        for response in iter_events(handle, errors):
            while reported < len(errors):
                print(f"ebtop: {args.tetragon_file}: {errors[reported]}", file=printer.err)
                reported += 1
            printer.print(response)
            if printer.done:
                break
        while reported < len(errors):
            print(f"ebtop: {args.tetragon_file}: {errors[reported]}", file=printer.err)
            reported += 1
    finally:
        if handle is not sys.stdin:
            handle.close()
        printer.out.flush()
    if errors:
        print(f"ebtop: {describe_errors(errors)}", file=printer.err)
    return 0


def _batch_stream(args: argparse.Namespace, printer: BatchPrinter) -> int:
    from tui.sources.base import SourceState

    try:
        source = build_source(args)
    except ValueError as error:
        print(f"ebtop: {error}", file=printer.err)
        return 2
    source.start()
    last_status = ""
    try:
        while not printer.done:
            batch = source.buffer.drain(1000)
            for response in batch:
                printer.print(response)
                if printer.done:
                    break
            status = source.describe()
            if status != last_status:
                last_status = status
                print(f"ebtop: {status}", file=printer.err)
            state = source.state()
            if state in (SourceState.FAILED, SourceState.ENDED) and not len(source.buffer):
                return 1 if state is SourceState.FAILED else 0
            if not batch:
                printer.out.flush()
                time.sleep(0.02)
    finally:
        source.stop()
        printer.out.flush()
    return 0
