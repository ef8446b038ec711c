"""`hubble observe -o compact|dict|table|json|jsonpb`: one printer for every batch output mode.

What goes where follows hubble's printer: flows and lost events to stdout; node status events to
stderr, only NODE_ERROR and NODE_UNAVAILABLE unless `--debug` (then all). `dict` prints one
`KEY: value` block per flow separated by `------------`; `table` buffers every row and pads the columns
at the end as Go's tabwriter does (minimum width 2, padding 3, no colours), which is why hubble refuses
`table` together with `--follow`. `json` and `jsonpb` are the same on hubble 1.19: the whole
GetFlowsResponse as protojson, one object a line (control, bidi and invisible characters inside strings
written as \\u escapes: the same JSON, but nothing a terminal acts on).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TextIO

from tui.proto.flow import flow_pb2
from tui.proto.protojson import to_go_json
from tui.proto.relay import relay_pb2
from tui.render.go_time import format_time
from tui.render.hubble_compact import (
    CompactOptions,
    Pieces,
    enum_name,
    flow_columns,
    flow_pieces,
    join_cut_off,
    lost_events_pieces,
    node_status_text,
    pieces_ansi,
    pieces_plain,
)
from tui.render.safe import escape_control, safe_json

OUTPUTS = ("compact", "dict", "table", "json", "jsonpb")
"""The `-o` values for flows (hubble's); `tab` is hubble's alias for table."""

DICT_SEPARATOR = "------------"
_TAB_MIN_WIDTH = 2
_TAB_PADDING = 3
_NOISY_STATES = (relay_pb2.NODE_ERROR, relay_pb2.NODE_UNAVAILABLE)


def output_name(text: str) -> str:
    """Canonical `-o` value (`tab` = table, `jsonpb` and `json` kept as typed); ValueError otherwise."""
    name = text.strip().lower()
    if name == "tab":
        name = "table"
    if name not in OUTPUTS:
        raise ValueError(f"unknown output {text!r} for flows (choose from {', '.join(OUTPUTS)})")
    return name


def tabulate(rows: list[list[str]]) -> list[str]:
    """Go's tabwriter (minwidth 2, padding 3, spaces): every cell but a row's last padded to its column."""
    widths: list[int] = []
    for row in rows:
        for index, cell in enumerate(row[:-1]):
            width = max(_TAB_MIN_WIDTH, len(cell) + _TAB_PADDING)
            if index == len(widths):
                widths.append(width)
            elif width > widths[index]:
                widths[index] = width
    return ["".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + (row[-1] if row else "")
            for row in rows]


@dataclass
class FlowPrinter:
    """Writes GetFlowsResponses in one output mode; `close()` flushes what `table` buffered."""

    output: str = "compact"
    options: CompactOptions = field(default_factory=CompactOptions)
    color: bool = False
    debug: bool = False
    out: TextIO | None = None
    err: TextIO | None = None
    line: int = 0
    _rows: list[list[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.output = output_name(self.output)
        if self.output == "table":
            self.color = False  # hubble: the tabwriter is not compatible with colours

    # -- helpers --------------------------------------------------------------------------------------
    def _text(self, pieces: Pieces) -> str:
        return pieces_ansi(pieces) if self.color else pieces_plain(pieces)

    def _time(self, message: object, name: str) -> str:
        if not message.HasField(name):  # type: ignore[attr-defined]
            return "N/A"
        ts = getattr(message, name)
        return format_time(ts.seconds, ts.nanos, self.options.time_format)

    def _header(self) -> None:
        if self.line == 0:
            self._rows.append(["TIMESTAMP", *(["NODE"] if self.options.node_name else []),
                               "SOURCE", "DESTINATION", "TYPE", "VERDICT", "SUMMARY"])

    # -- entry points ---------------------------------------------------------------------------------
    def write(self, response: object) -> bool:
        """Print one response; True when it was a flow (what `-n N` counts)."""
        kind = response.WhichOneof("response_types")  # type: ignore[attr-defined]
        if kind == "flow":
            self._flow(response)
            return True
        if kind == "lost_events":
            self._lost(response)
        elif kind == "node_status":
            self._node_status(response)
        return False

    def close(self) -> None:
        """Write the padded table (the other modes print as they go)."""
        if self._rows and self.out is not None:
            for text in tabulate(self._rows):
                self.out.write(text + "\n")
            self._rows.clear()
        if self.out is not None:
            self.out.flush()

    # -- kinds ----------------------------------------------------------------------------------------
    def _flow(self, response: object) -> None:
        assert self.out is not None
        flow: flow_pb2.Flow = response.flow  # type: ignore[attr-defined]
        if self.output in ("json", "jsonpb"):
            self.out.write(safe_json(to_go_json(response)) + "\n")  # type: ignore[arg-type]
        elif self.output == "compact":
            self.out.write(self._text(flow_pieces(flow, self.options)) + "\n")
        else:
            cols = flow_columns(flow, self.options)
            node = escape_control(flow.node_name)
            if self.output == "table":
                self._header()
                self._rows.append([self._time(flow, "time"), *([node] if self.options.node_name else []),
                                   pieces_plain(cols.source), pieces_plain(cols.destination), cols.type,
                                   pieces_plain(cols.verdict), pieces_plain(cols.summary)])
            else:
                lines = [DICT_SEPARATOR] if self.line else []
                lines.append(f"  TIMESTAMP: {self._time(flow, 'time')}")
                if self.options.node_name:
                    lines.append(f"       NODE: {node}")
                lines += [f"     SOURCE: {self._text(cols.source)}",
                          f"DESTINATION: {self._text(cols.destination)}",
                          f"       TYPE: {cols.type}",
                          f"    VERDICT: {self._text(cols.verdict)}",
                          f"    SUMMARY: {self._text(cols.summary)}"]
                self.out.write("\n".join(lines) + "\n")
        self.line += 1

    def _lost(self, response: object) -> None:
        assert self.out is not None
        lost = response.lost_events  # type: ignore[attr-defined]
        source = enum_name(flow_pb2.LostEventSource, lost.source)
        cpu = lost.cpu.value if lost.HasField("cpu") else 0
        summary = f"CPU({cpu}) - {lost.num_events_lost}"
        if self.output in ("json", "jsonpb"):
            self.out.write(safe_json(to_go_json(response)) + "\n")  # type: ignore[arg-type]
        elif self.output == "compact":
            self.out.write(self._text(lost_events_pieces(response, self.options.time_format)) + "\n")
        elif self.output == "table":
            self._header()
            self._rows.append(["", *([""] if self.options.node_name else []), source, "", "EVENTS LOST", "",
                               summary])
        else:
            lines = [DICT_SEPARATOR] if self.line else []
            lines.append("  TIMESTAMP: ")
            if self.options.node_name:
                lines.append("       NODE: ")
            lines += [f"     SOURCE: {source}", "       TYPE: EVENTS LOST", "    VERDICT: ",
                      f"    SUMMARY: {summary}"]
            self.out.write("\n".join(lines) + "\n")
        self.line += 1

    def _node_status(self, response: object) -> None:
        status = response.node_status  # type: ignore[attr-defined]
        if not self.debug and status.state_change not in _NOISY_STATES:
            return
        assert self.err is not None
        if self.output in ("json", "jsonpb"):
            self.err.write(safe_json(to_go_json(response)) + "\n")  # type: ignore[arg-type]
        elif self.output == "dict":
            lines = [DICT_SEPARATOR] if self.line else []
            if not self.line:
                self.line += 1
            message = escape_control(status.message)
            lines += [f"  TIMESTAMP: {self._time(response, 'time')}",
                      f"      STATE: {enum_name(relay_pb2.NodeState, status.state_change)}",
                      f"      NODES: {join_cut_off([escape_control(n) for n in status.node_names])}",
                      f"    MESSAGE: {_go_quote(message) if message else 'N/A'}"]
            self.err.write("\n".join(lines) + "\n")
        else:
            self.err.write(node_status_text(response, time_format=self.options.time_format) + "\n")
        self.err.flush()


def _go_quote(text: str) -> str:
    """Go's %q for already-escaped text: double quotes with `"` and `\\` backslashed."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
