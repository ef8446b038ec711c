"""The one `-o/--output` flag of batch mode, and the Flows pane's printer flags (`--time-format`, `--debug`).

`-o` is shared by the pane families, each accepting its own tool's values: flows take `hubble observe`'s
(compact, dict, table/tab, json, jsonpb; dot with `--view map`), processes take `tetra getevents`'s
(compact, json). A value the pane cannot print is a usage error (exit 2), and so is `-o table` with
`--follow`: like hubble, the table is only padded once the input has ended.
"""

from __future__ import annotations

import argparse
from typing import TextIO

from tui.render.go_time import DEFAULT_TIME_FORMAT, TIME_FORMATS, time_format_name

FLOW_OUTPUTS = ("compact", "dict", "table", "tab", "json", "jsonpb", "dot")
PROCESS_OUTPUTS = ("compact", "json")
ALL_OUTPUTS = tuple(dict.fromkeys(FLOW_OUTPUTS + PROCESS_OUTPUTS))


class OutputError(ValueError):
    """`-o`, `--time-format` or a combination the pane cannot print (a usage error)."""


def _output_type(text: str) -> str:
    name = text.strip().lower()
    if name not in ALL_OUTPUTS:
        raise argparse.ArgumentTypeError(f"unknown output {text!r} (choose from {', '.join(ALL_OUTPUTS)})")
    return "table" if name == "tab" else name


def _time_format_type(text: str) -> str:
    try:
        return time_format_name(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_output_argument(group: argparse._ArgumentGroup) -> None:
    """`-o/--output`, in the general group (one flag for every pane)."""
    group.add_argument("-o", "--output", type=_output_type, default="compact", metavar="MODE",
                       help="batch mode output: flows compact|dict|table|json|jsonpb (as hubble observe; "
                            "dot for --view map), processes compact|json (as tetra getevents; json writes "
                            "each event's protojson as received) (default compact)")


def add_flow_printer_arguments(group: argparse._ArgumentGroup) -> None:
    """hubble observe's printer flags that ebtop did not have."""
    group.add_argument("--time-format", type=_time_format_type, default=DEFAULT_TIME_FORMAT, metavar="NAME",
                       help=f"timestamp layout of compact, dict and table output: {', '.join(TIME_FORMATS)} "
                            "(default StampMilli; UTC, as hubble)")
    group.add_argument("-D", "--debug", action="store_true",
                       help="batch mode: print every node status event on stderr (default: only errors and "
                            "unavailable nodes, as hubble)")


def flow_output(args: argparse.Namespace) -> str:
    """The flows `-o` value after the combination checks (OutputError: exit 2)."""
    output = getattr(args, "output", "compact") or "compact"
    if output not in FLOW_OUTPUTS:
        raise OutputError(f"-o {output} is not a flows output (choose from compact, dict, table, json, jsonpb, dot)")
    if output == "table" and getattr(args, "follow", None):
        raise OutputError("-o table cannot be combined with --follow (the table is padded once input ends)")
    if output == "dot" and getattr(args, "view", None) != "map":
        raise OutputError("-o dot needs --view map")
    return output


def process_output(args: argparse.Namespace) -> str:
    """The processes `-o` value (OutputError: exit 2)."""
    output = getattr(args, "output", "compact") or "compact"
    if output not in PROCESS_OUTPUTS:
        raise OutputError(f"-o {output} is not a processes output (choose from compact, json)")
    return output


def flow_printer(args: argparse.Namespace, out: TextIO, err: TextIO, color: bool):  # noqa: ANN201 - FlowPrinter
    """The batch printer for flows (`printer.write` per response, `printer.close()` at the end)."""
    from dataclasses import replace

    from tui.render.hubble_output import FlowPrinter
    from tui.wiring.flows import compact_options

    output = flow_output(args)
    options = replace(compact_options(args), time_format=getattr(args, "time_format", DEFAULT_TIME_FORMAT))
    return FlowPrinter(output, options, color=color, debug=bool(getattr(args, "debug", False)), out=out, err=err)


def print_raw_filters(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """`--print-raw-filters`: the request's allowlist/denylist as hubble prints them; exit 0 (2 on a bad flag)."""
    from tui.filters import FilterError
    from tui.filters.hubble import build_request, raw_filters_yaml
    from tui.wiring.flows import filter_flags, history_of

    try:
        request = build_request(filter_flags(args), history_of(args), live=not getattr(args, "batch", False))
    except FilterError as error:
        print(f"ebtop: {error}", file=err)
        return 2
    out.write(raw_filters_yaml(request))
    return 0
