"""Processes pane flags, batch mode (`ebtop -b --pane processes`) and pane construction.

Tetragon filters are spelled `--tetragon-namespace` and `--tetragon-pod` because the Flows pane owns
hubble's `--namespace`/`--pod`. Batch mode prints exactly what `tetra getevents -o compact` prints, to
stdout, and stops at the end of input or after `-n N` events; an event the encoder cannot render is
reported on stderr and skipped, never fatal.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, TextIO

from tui.wiring.common import positive_float, positive_int

if TYPE_CHECKING:
    from tui.panes.base import LivePane

SOURCES = ("auto", "tetragon", "local")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this family's flags to ebtop's parser."""
    conn = parser.add_argument_group("processes: Tetragon agent (as `tetra getevents`)")
    conn.add_argument("--tetragon-server", metavar="ADDR", nargs="+", action="extend", default=None,
                      help="Tetragon agent address(es), unix:///path or host:port; give several (after one flag "
                           "or repeated) to watch several nodes at once (default: unix:///var/run/tetragon/tetragon.sock when it exists, else the "
                           "address in /var/run/tetragon/tetragon-info.json, else localhost:54321)")
    conn.add_argument("--tetragon-tls", action="store_true",
                      help="TLS to every TCP agent (as a tls:// address does for one)")
    conn.add_argument("--tetragon-tls-ca-cert-files", nargs="+", metavar="FILE", default=None,
                      help="CA certificates (PEM) to verify the agents with (default: system roots)")
    conn.add_argument("--tetragon-tls-client-cert-file", metavar="FILE", default=None,
                      help="client certificate for mTLS (needs --tetragon-tls or tls://)")
    conn.add_argument("--tetragon-tls-client-key-file", metavar="FILE", default=None,
                      help="client key for mTLS (needs --tetragon-tls or tls://)")
    conn.add_argument("--tetragon-tls-server-name", metavar="NAME", default=None,
                      help="name to verify the agents' certificate against (one wildcard certificate for every "
                           "DaemonSet pod: any name under it, e.g. any.tetragon.example)")
    conn.add_argument("--tetragon-tls-allow-insecure", action="store_true",
                      help="accept any agent certificate (no verification; tetra --tls-skip-verify)")
    conn.add_argument("--tetragon-file", metavar="FILE", default=None,
                      help="replay Tetragon JSON export lines (tetragon.log, `tetra getevents -o json`) from FILE "
                           "(- = stdin) instead of an agent")
    conn.add_argument("--record-events", metavar="FILE", default=None,
                      help="also write every received event to FILE as JSON export lines (replayable)")
    conn.add_argument("--tetragon-reader", choices=("process", "thread"), default="thread",
                      help="read the Tetragon stream(s) in a thread of ebtop (default: at the demo's ~140 events/s "
                           "40 MiB less and no more CPU than a second process) or in a second process (for busy "
                           "nodes, thousands of events/s: gRPC's per-message cost then never competes with the "
                           "screen)")
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
    filters.add_argument("--host", action="store_true",
                         help="also host processes (outside any pod) when --tetragon-namespace narrows the stream, "
                              "as tetra --host")
    filters.add_argument("--policy-names", metavar="NAME", action="append", default=[],
                         help="only events of these tracing policies, comma-separated or repeated (as tetra)")
    filters.add_argument("--include-fields", metavar="PATHS", action="append", default=[],
                         help="keep only these fields of each event, comma-separated paths such as "
                              "process.binary,parent (tetra -f; ebtop's -f is hubble's --follow)")
    filters.add_argument("--exclude-fields", metavar="PATHS", action="append", default=[],
                         help="drop these fields from each event (tetra -F); wins over --include-fields")

    view = parser.add_argument_group("processes: display")
    view.add_argument("--timestamps", action="store_true",
                      help="prefix event lines with their time (UTC, nanoseconds), as tetra --timestamps")
    view.add_argument("--stack-traces", action=argparse.BooleanOptionalAction, default=True,
                      help="batch mode: print kprobe kernel/user stack traces after the line (default on, as tetra)")
    view.add_argument("--ima-hash", action=argparse.BooleanOptionalAction, default=True,
                      help="batch mode: print LSM events' IMA hashes after the line (default on, as tetra)")
    view.add_argument("--retention", type=positive_float, default=60.0, metavar="S",
                      help="keep exited processes visible for S seconds (default 60)")
    view.add_argument("--max-processes", type=positive_int, default=50_000, metavar="N",
                      help="at most N processes in memory; the oldest exited go first (default 50000)")


def event_filters(args: argparse.Namespace) -> Any:
    """The filters from the flags; FilterError (a usage error) on a bad event type or regex."""
    from tui.filters.tetragon import EventFilters, split_event_types

    policies = [name.strip() for value in getattr(args, "policy_names", []) for name in value.split(",")
                if name.strip()]
    filters = EventFilters(namespaces=list(args.tetragon_namespace), pod_regex=list(args.tetragon_pod),
                           binary_regex=list(args.process), event_types=split_event_types(args.event_types),
                           health_checks=args.health_checks, policy_names=policies,
                           host=bool(getattr(args, "host", False)),
                           include_fields=list(getattr(args, "include_fields", [])),
                           exclude_fields=list(getattr(args, "exclude_fields", [])))
    filters.predicate()  # compiled once here, so every mode refuses what an agent would refuse
    return filters


def local_keep(filters: Any) -> Any:
    """What a replay or the local source applies in place of an agent: the filters, then the field filters."""
    passes = filters.predicate()
    field_filters = list(filters.request().field_filters)
    if not field_filters:
        return passes
    from tui.filters.tetragon_fields import apply_field_filters

    def keep(response: Any) -> bool:
        if not passes(response):
            return False
        apply_field_filters(response, field_filters)
        return True

    return keep


def tetragon_tls(args: argparse.Namespace) -> Any:
    """The --tetragon-tls-* flags as TlsOptions (a tls:// address turns TLS on for that agent alone)."""
    from tui.sources.hubble_tls import TlsOptions

    return TlsOptions(enabled=bool(getattr(args, "tetragon_tls", False)),
                      ca_cert_files=tuple(getattr(args, "tetragon_tls_ca_cert_files", None) or ()),
                      client_cert_file=getattr(args, "tetragon_tls_client_cert_file", None),
                      client_key_file=getattr(args, "tetragon_tls_client_key_file", None),
                      server_name=getattr(args, "tetragon_tls_server_name", None),
                      allow_insecure=bool(getattr(args, "tetragon_tls_allow_insecure", False)))


def build_source(args: argparse.Namespace) -> Any:
    """Replay, Tetragon stream(s), local tracepoints, or Tetragon with a local fallback.

    An agent applies the filters itself; a replay and the local source apply the same predicate.
    """
    from tui.sources.event_replay import EventRecorder, ReplaySource

    filters = event_filters(args)
    if args.tetragon_file:
        return ReplaySource(args.tetragon_file, keep=local_keep(filters))
    recorder = EventRecorder(args.record_events) if args.record_events else None
    if args.processes_source == "local":
        from tui.sources.local_exec import LocalExecSource

        return LocalExecSource(recorder=recorder, keep=local_keep(filters))
    from tui.sources.tetragon import ProcessTetragonSource, TetragonSource

    reader = ProcessTetragonSource if getattr(args, "tetragon_reader", "thread") == "process" else TetragonSource
    source = reader(args.tetragon_server or [], filters, recorder=recorder, tls=tetragon_tls(args),
                    connect_timeout=float(getattr(args, "connect_timeout", 5.0)))
    if args.processes_source == "auto" and not args.tetragon_server:
        from tui.sources.local_exec import FallbackSource

        return FallbackSource(source, recorder=recorder, keep=local_keep(filters))
    return source


def create_pane(args: argparse.Namespace) -> LivePane:
    """Build the interactive pane from parsed arguments."""
    from tui.model.processes import ProcessForest
    from tui.panes.processes import ProcessesPane

    try:
        source = build_source(args)
    except ValueError as error:
        from tui.panes.problem import ProblemPane

        return ProblemPane("Processes", "processes", str(error))
    from tui.settings import ProcessDisplay
    from tui.sources.tetragon_state import state_source_for

    display = ProcessDisplay.from_args(args)
    forest = ProcessForest(retention=display.retention, max_nodes=display.max_processes)
    pane = ProcessesPane(source, forest=forest, timestamps=display.timestamps,
                         live_clock=display.live_clock, state=state_source_for(source))
    from tui.wiring.join import shared_joiner

    joiner = shared_joiner(args)  # this pane feeds it socket events; the Flows pane asks it
    joiner.forest = forest  # parent chains in the flow detail
    pane.joiner = joiner
    return pane


# --- batch mode ------------------------------------------------------------------------------------

class BatchPrinter:
    """Prints compact lines; counts what it printed and what it could not render."""

    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
        from tui.render.safe import escape_control

        self.out = out
        self.err = err
        from tui.batch import use_color

        self.color = use_color(args.color, out)
        self.timestamps = args.timestamps
        self.stack_traces = getattr(args, "stack_traces", True)
        self.ima_hash = getattr(args, "ima_hash", True)
        self.json = getattr(args, "output", "compact") == "json"
        self.limit = args.count
        self.printed = 0
        self.unrendered = 0
        self._escape = escape_control if getattr(out, "isatty", lambda: False)() and not self.color else None

    @property
    def done(self) -> bool:
        return bool(self.limit) and self.printed >= self.limit

    def print(self, response: Any) -> None:
        from tui.render.tetra_compact import (
            CompactEncodeError,
            rate_limit_line,
            render_extra_lines,
            render_line,
        )
        from tui.sources.tetragon import StreamGap

        if isinstance(response, StreamGap):  # an outage of the stream: said where it happened, on stderr
            print(f"ebtop: {response.text()}", file=self.err)
            return

        if self.json:  # tetra -o json: the event's protojson, one line
            from tui.proto.protojson import to_go_json
            from tui.render.safe import safe_json

            self.out.write(safe_json(to_go_json(response, html_escape=False)) + "\n")
            self.printed += 1
            return
        try:
            line = rate_limit_line(response, color=self.color, timestamps=self.timestamps)
            if line is not None:  # tetra stops at this event; ebtop says how many the agent dropped and goes on
                extra = []
            else:
                line = render_line(response, color=self.color, timestamps=self.timestamps)
                extra = render_extra_lines(response, color=self.color)
                kind = response.WhichOneof("event")
                if (kind == "process_kprobe" and not self.stack_traces) or (kind == "process_lsm" and not self.ima_hash):
                    extra = []
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
    """Print this pane's lines like `tetra getevents -o compact`; the exit code (see tui.batch)."""
    from tui import batch
    from tui.sources.event_replay import ReplaySource

    out = out or sys.stdout
    err = err or sys.stderr
    try:
        source = build_source(args)
        if isinstance(source, ReplaySource):
            source.open()
    except ValueError as error:  # FilterError included
        return batch.usage_error(str(error), err)
    except OSError as error:
        return batch.usage_error(f"cannot read {args.tetragon_file}: {error.strerror or error}", err)
    from tui.wiring.output import OutputError, process_output

    try:
        output = process_output(args)
    except OutputError as error:
        return batch.usage_error(str(error), err)
    if output == "json" and isinstance(source, ReplaySource) and not (args.include_fields or args.exclude_fields):
        from tui.wiring.tetra_json import replay_json_lines

        return replay_json_lines(source, args, out, err)
    printer = BatchPrinter(args, out, err)
    return batch.run(source, printer.print, out=out, err=err, done=lambda: printer.done,
                     say_counters=("malformed", "decode errors"),  # the source counts them, no record says them
                     reconnect=bool(getattr(args, "reconnect", False)),
                     connect_timeout=getattr(args, "connect_timeout", 5.0))
