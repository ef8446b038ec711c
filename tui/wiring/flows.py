"""Flows pane flags (hubble's names), batch mode (`ebtop -b --pane flows`) and pane construction.

Filter flags are hubble observe's own (`--namespace`, `--pod`, `--verdict`, …, `--not` for the next one);
the Processes pane's Tetragon filters are spelled `--tetragon-namespace`, `--tetragon-pod` to keep
these free. Batch mode prints exactly what `hubble observe -o compact` would, to stdout: without
--follow the last 20 flows (`--last`/`-n N`, `--first`, `--since`, `--until` choose others) and exits; a
file is read to its end, filtered as the server would filter.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TextIO

from tui.batch import use_color  # noqa: F401 - the one colour rule, re-exported
from tui.filters.hubble import (
    DEST,
    FilterError,
    FilterFlag,
    History,
    add_filter_arguments,
    build_request,
    describe_filters,
)
from tui.wiring import print_process
from tui.wiring.common import positive_int
from tui.wiring.flow_map import BATCH_VIEWS  # noqa: F401 - the views --view accepts for flows

if TYPE_CHECKING:
    from tui.panes.base import LivePane
    from tui.proto.observer import observer_pb2
    from tui.render.hubble_compact import CompactOptions


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this family's flags to ebtop's parser."""
    conn = parser.add_argument_group("flows: Hubble server (as the hubble CLI; env HUBBLE_SERVER, HUBBLE_TLS…)")
    conn.add_argument("--hubble-server", metavar="ADDR", default=None,
                      help="Hubble Relay or agent address (default unix:///var/run/cilium/hubble.sock when it "
                           "exists, else localhost:4245); a tls:// prefix turns on TLS")
    conn.add_argument("--hubble-tls", action="store_true", help="use TLS")
    conn.add_argument("--hubble-tls-ca-cert-files", nargs="+", metavar="FILE", default=None,
                      help="CA certificates (PEM) to verify the server with (default: system roots)")
    conn.add_argument("--hubble-tls-client-cert-file", metavar="FILE", default=None,
                      help="client certificate for mTLS (needs --hubble-tls or tls://)")
    conn.add_argument("--hubble-tls-client-key-file", metavar="FILE", default=None,
                      help="client key for mTLS (needs --hubble-tls or tls://)")
    conn.add_argument("--hubble-tls-server-name", metavar="NAME", default=None,
                      help="name to verify the server certificate against (e.g. instance.hubble-relay.cilium.io)")
    conn.add_argument("--hubble-tls-allow-insecure", action="store_true",
                      help="accept any server certificate (no verification)")
    conn.add_argument("--hubble-file", metavar="FILE", default=None,
                      help="replay `hubble observe -o json` lines from FILE (- = stdin) instead of a server")
    conn.add_argument("--hubble-reader", choices=("thread", "process"), default="thread",
                      help="read the gRPC stream in a thread (default: cheapest, lowest UI lag on small "
                           "machines) or in a second process (more flows/s: gRPC's per-message cost leaves "
                           "the UI's interpreter, at the price of one more busy process)")
    conn.add_argument("--record-flows", metavar="FILE", default=None,
                      help="also write every received response to FILE as JSON lines (replayable)")

    filters = parser.add_argument_group("flows: filters (hubble observe semantics: sent to the server; applied by ebtop to --hubble-file)")
    add_filter_arguments(filters)

    history = parser.add_argument_group("flows: history")
    history.add_argument("--last", type=positive_int, metavar="N", default=None,
                         help="start with the last N flows (per node through Relay)")
    history.add_argument("--first", type=positive_int, metavar="N", default=None,
                         help="the first N flows in the server's buffer (does not follow)")
    history.add_argument("--since", metavar="TIME", default=None,
                         help="flows since TIME: a duration ago (5m, 1h30m) or RFC3339")
    history.add_argument("--until", metavar="TIME", default=None, help="flows until TIME (does not follow)")
    history.add_argument("-f", "--follow", action="store_true", default=None,
                         help="batch mode: keep following (without it, batch mode prints the last 20 flows and exits)")

    view = parser.add_argument_group("flows: display")
    from tui.wiring.flow_map import add_view_argument

    add_view_argument(view)
    view.add_argument("--print-node-name", action="store_true", help="print the node name on each line")
    view.add_argument("--print-policy-names", action="store_true",
                      help="print the policies that allowed or denied policy-verdict flows")
    print_process.add_argument(view)
    view.add_argument("--ip-translation", action=argparse.BooleanOptionalAction, default=True,
                      help="show pod, service or DNS names instead of IPs (default on)")
    view.add_argument("--numeric", action="store_true", help="same as --no-ip-translation")
    from tui.wiring.output import add_flow_printer_arguments

    add_flow_printer_arguments(view)
    view.add_argument("--flow-buffer", type=positive_int, metavar="N", default=10_000,
                      help="flows kept for the list and detail view (default 10000)")
    view.add_argument("--window", type=positive_int, metavar="S", default=60,
                      help="seconds covered by the top talkers, drops, DNS and HTTP views (default 60)")


def filter_flags(args: argparse.Namespace) -> list[FilterFlag]:
    return list(getattr(args, DEST, None) or [])


def history_of(args: argparse.Namespace, live: bool = True) -> History:
    """The history flags; in batch mode `-n N` is `--last N` (hubble observe's count)."""
    last = getattr(args, "last", None)
    count = int(getattr(args, "count", 0) or 0)
    if not live and last is None and count > 0:
        last = count
    return History(last=last, first=getattr(args, "first", None),
                   since=getattr(args, "since", None), until=getattr(args, "until", None),
                   follow=getattr(args, "follow", None))


def compact_options(args: argparse.Namespace) -> CompactOptions:
    from tui.render.hubble_compact import CompactOptions
    from tui.settings import FlowDisplay

    display = FlowDisplay.from_args(args)
    return CompactOptions(node_name=display.print_node_name, ip_translation=display.translate_ips,
                          policy_names=display.print_policy_names,
                          time_format=display.time_format or "StampMilli")  # live and batch alike


def _tls(args: argparse.Namespace):  # noqa: ANN202 - TlsOptions, imported lazily
    from tui.sources.hubble_tls import TlsOptions

    return TlsOptions(enabled=bool(getattr(args, "hubble_tls", False)),
                      ca_cert_files=tuple(getattr(args, "hubble_tls_ca_cert_files", None) or ()),
                      client_cert_file=getattr(args, "hubble_tls_client_cert_file", None),
                      client_key_file=getattr(args, "hubble_tls_client_key_file", None),
                      server_name=getattr(args, "hubble_tls_server_name", None),
                      allow_insecure=bool(getattr(args, "hubble_tls_allow_insecure", False)))


def make_source(args: argparse.Namespace, live: bool):  # noqa: ANN201 - HubbleSource | FileSource
    """The source the flags ask for; raises FilterError / ConnectionConfigError with the message.

    The filters are compiled here in every mode, so a value a server would refuse is a usage error
    up front; a file replay applies them itself (and since/until, first/last), as hubble's file reader.
    """
    from tui.filters.flow_match import request_predicate

    if getattr(args, "_hubble_not_pending", False):
        raise FilterError("--not must be followed by a filter flag")
    history = history_of(args, live)
    request = build_request(filter_flags(args), history, live=live)
    keep = request_predicate(request)
    path = getattr(args, "hubble_file", None)
    if path:
        from tui.sources.flow_replay import FileSource

        return FileSource(path, keep=keep, first=history.first, last=history.last)
    from tui.sources.flow_replay import FlowRecorder
    from tui.sources.hubble import HubbleSource
    from tui.sources.hubble_process import ProcessHubbleSource
    from tui.sources.hubble_tls import resolve

    endpoint = resolve(getattr(args, "hubble_server", None), _tls(args))
    record = getattr(args, "record_flows", None)
    recorder = FlowRecorder(record) if record else None
    timeout = float(getattr(args, "connect_timeout", 5.0))  # live and batch: an attempt's answer deadline
    if getattr(args, "hubble_reader", "thread") == "process":
        return ProcessHubbleSource(endpoint, request, recorder=recorder, connect_timeout=timeout)
    return HubbleSource(endpoint, request, recorder=recorder, connect_timeout=timeout)


def batch_source(args: argparse.Namespace, err: TextIO):  # noqa: ANN201 - a source, or exit code 2
    """The batch source, a file opened at once: a bad filter, address or file is exit 2, said on `err`."""
    from tui import batch
    from tui.sources.flow_replay import FileSource
    from tui.sources.hubble_tls import ConnectionConfigError

    try:
        source = make_source(args, live=False)
        if isinstance(source, FileSource):
            source.open()
    except (FilterError, ConnectionConfigError) as error:
        return batch.usage_error(str(error), err)
    except OSError as error:
        return batch.usage_error(f"cannot read {args.hubble_file}: {error.strerror or error}", err)
    return source


def run_batch(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print this pane's lines like `hubble observe -o compact`; the exit code (see tui.batch)."""
    if getattr(args, "view", "list") == "map":
        from tui.wiring.flow_map import run_map_batch

        return run_map_batch(args, out, err)
    from tui import batch
    from tui.model.flows import RecordKind

    out = out or sys.stdout
    err = err or sys.stderr
    source = batch_source(args, err)
    if isinstance(source, int):
        return source
    opts = compact_options(args)
    color = use_color(getattr(args, "color", "auto"), out)
    from tui.wiring.output import OutputError, flow_printer

    try:
        printer = flow_printer(args, out, err, color)  # -o compact|dict|table|json|jsonpb, --time-format
    except OutputError as error:
        return batch.usage_error(str(error), err)
    annotator = None
    if getattr(args, "print_process", False):
        if getattr(args, "output", None) not in (None, "compact"):
            return batch.usage_error("--print-process needs the compact output (-o compact)", err)
        try:
            annotator = print_process.annotator_for(
                args, lambda response, tail: _print_response(response, opts, color, out, err, tail), err)
        except OSError as error:
            return batch.usage_error(f"cannot read {args.tetragon_file}: {error.strerror or error}", err)
        annotator.start()

    def emit(record) -> None:  # noqa: ANN001 - FlowRecord
        if record.kind in (RecordKind.GAP, RecordKind.NOTE):
            print(f"ebtop: {record.text}", file=err)
        elif annotator is not None:
            annotator.emit(record.response())
        else:
            printer.write(record.response())

    try:
        code = batch.run(source, emit, out=out, err=err, reconnect=bool(getattr(args, "reconnect", False)),
                         connect_timeout=getattr(args, "connect_timeout", 5.0))
        printer.close()
        if annotator is not None:
            annotator.finish()
    finally:
        if annotator is not None:
            annotator.stop()
    return code


def _print_response(response: observer_pb2.GetFlowsResponse, opts: CompactOptions, color: bool,
                    out: TextIO, err: TextIO, tail: str = "") -> None:
    """Print one response like hubble: flows and lost events to stdout, node problems to stderr."""
    from tui.proto.relay import relay_pb2
    from tui.render.hubble_compact import node_status_text, response_line

    if response.WhichOneof("response_types") == "node_status":
        if response.node_status.state_change in (relay_pb2.NODE_ERROR, relay_pb2.NODE_UNAVAILABLE):
            print(node_status_text(response), file=err)
        return
    line = response_line(response, opts, color)
    if line is not None:
        out.write(line + tail + "\n")


def create_pane(args: argparse.Namespace) -> LivePane:
    """Build the interactive pane from parsed arguments."""
    from tui.model.flows import FlowStore
    from tui.panes.flows import FlowsPane
    from tui.settings import FlowDisplay
    from tui.sources.hubble_tls import ConnectionConfigError

    display = FlowDisplay.from_args(args)
    store = FlowStore(capacity=display.flow_buffer, window=display.window)
    try:
        source = make_source(args, live=True)
        problem = ""
    except (FilterError, ConnectionConfigError) as error:
        source, problem = None, str(error)
    nodes = None
    endpoint = getattr(source, "endpoint", None)
    if endpoint is not None:  # a server (not a replay): Relay's node list for the nodes view (g)
        from tui.sources.hubble_nodes import HubbleNodesSource

        nodes = HubbleNodesSource(endpoint)
    pane = FlowsPane(store, source, options=compact_options(args),
                     filters=describe_filters(filter_flags(args)), problem=problem, nodes_source=nodes)
    pane.start_view = getattr(args, "view", "list") or "list"
    from tui.wiring.join import shared_joiner

    pane.joiner = shared_joiner(args)  # processes for the `o` column and the detail, fed by the Processes pane
    return pane
