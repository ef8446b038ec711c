"""`ebtop -b --pane flows --view map`: the service map of what was read, one edge a line or Graphviz DOT.

The source is the Flows family's own (`tui.wiring.flows.make_source`: the same server, file, filter
and history flags) and the loop the one batch loop (`tui.batch.run`); every flow read is counted on
the map, over everything read rather than the live views' `--window`, so the edges' flows add up to
the flows read. `-o dot` writes DOT instead of edge lines; other `-o` modes print flows, not a map.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

VIEWS = ("list", "map")
BATCH_VIEWS = VIEWS
EVERYTHING_READ = 10**12  # seconds: a window no replay outlasts


def add_view_argument(group: argparse._ArgumentGroup) -> None:
    from tui.wiring.latency import SYSCALL_VIEWS

    group.add_argument("--view", choices=(*VIEWS, *SYSCALL_VIEWS), default="list",
                       help="flows view: list (the flow lines, default) or map (the service map; in batch "
                            "mode one edge a line over everything read, -o dot for Graphviz); syscalls "
                            "batch: top (default), runqlat, biolatency, syscall-latency, connect-latency "
                            "(histograms as bpftrace prints hist()) or counters (--count)")


def run_map_batch(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Read like the flow batch does, then print the map's edges; the exit code (see tui.batch)."""
    from tui import batch
    from tui.model.flows import FlowStore, RecordKind
    from tui.render.service_map_text import dot_lines, edge_lines
    from tui.wiring.flows import batch_source

    out = out or sys.stdout
    err = err or sys.stderr
    output = getattr(args, "output", "compact") or "compact"
    if output not in ("compact", "dot"):
        return batch.usage_error(f"--view map prints edge lines or -o dot, not -o {output}", err)
    source = batch_source(args, err)
    if isinstance(source, int):
        return source
    store = FlowStore(capacity=1, window=EVERYTHING_READ, max_keys=getattr(args, "map_max_keys", 2000))

    def emit(record) -> None:  # noqa: ANN001 - FlowRecord
        if record.kind in (RecordKind.GAP, RecordKind.NOTE):
            print(f"ebtop: {record.text}", file=err)
        else:
            store.add(record)

    code = batch.run(source, emit, out=out, err=err, reconnect=bool(getattr(args, "reconnect", False)),
                     connect_timeout=getattr(args, "connect_timeout", 5.0))
    snapshot = store.service_map.snapshot()
    lines = dot_lines(snapshot) if output == "dot" else edge_lines(snapshot)
    try:
        out.write("".join(line + "\n" for line in lines))
        out.flush()
    except BrokenPipeError:
        return batch.EXIT_OK
    return code
