"""Batch mode of the Syscalls pane's latency views: histograms printed as bpftrace prints `hist()`.

`ebtop -b --pane syscalls --view runqlat -n 1 --interval 5` prints, every interval, a `[HH:MM:SS]`
line and the map, then starts the next interval from zero, as
`bpftrace -e '... @usecs = hist(...); interval:s:5 { time("[%H:%M:%S]\\n"); print(@usecs);
clear(@usecs); }'` does (runqlat.bt, biolatency.bt). Keys: runqlat by `--hist-by` (all, process as
`[comm, pid]`, container, pod), biolatency `[dev, op]` (op R, W, D discard, F flush, N other),
syscall latency `[syscall]` in nanoseconds, connect latency one map.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Hashable
from typing import TextIO

from tui.model.latency import UNITS, KeyedHistograms
from tui.render.bpftrace_hist import map_lines

HIST_BY = ("all", "process", "container", "pod")
HIST_VIEWS = ("runqlat", "biolatency", "syscall-latency", "connect-latency")
SYSCALL_VIEWS = ("top", *HIST_VIEWS, "counters")
HOST = "(host)"


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--hist-by", choices=HIST_BY, default="all",
                       help="run-queue latency histograms: one for all (default), per process, per "
                            "container or per pod (the runqlat view's g key)")


def grouping(kind: str, by: str) -> Callable[[tuple], Hashable]:
    """How the kernel's keys are merged into the histograms one view or batch map shows."""
    if kind == "runqlat":
        if by == "process":
            return lambda key: (key[1], key[0])  # [comm, pid], as runqlat -P prints them
        if by == "container":
            return lambda key: (key[2] or HOST,)
        if by == "pod":
            return lambda key: (key[3] or HOST,)
        return lambda key: ()
    if kind == "connect-latency":
        return lambda key: ()
    return lambda key: key


def hist_map_lines(kind: str, hists: KeyedHistograms, by: str = "all") -> list[str]:
    merged = hists.merged(grouping(kind, by))
    if not merged:
        return []
    return map_lines(UNITS[kind], [(key or None, buckets) for key, buckets in merged.items()])


def pane_sources(args: argparse.Namespace) -> list:
    """The Syscalls pane's extra sources: the latency histograms (each program loads when its view is
    first opened) and, with --count, the custom counters."""
    from tui.sources.latency import LatencySource

    mount = getattr(args, "mount_tracefs", True)
    sources: list = [LatencySource(interval=1.0, mount_tracefs=mount)]
    if getattr(args, "counters", None):
        from tui.sources.counters import CounterSource

        sources.append(CounterSource(list(args.counters), interval=args.interval, mount_tracefs=mount))
    return sources


def route_batch(args: argparse.Namespace) -> int | None:
    """The Syscalls batch modes of issue 14: a histogram view, or the custom counters; None = the top-10."""
    view = getattr(args, "view", "list") or "list"
    if view in HIST_VIEWS:
        return run_batch(args)
    counters = getattr(args, "counters", None) or []
    if view == "counters" and not counters:
        print("ebtop: --view counters needs at least one --count TRACEPOINT[:KEY]", file=sys.stderr)
        return 2
    if counters:
        from tui.wiring.counters import run_batch as run_counters

        return run_counters(args)
    return None


def run_batch(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print `-n` intervals of one histogram (all until interrupted when 0); 1 when it cannot load."""
    from tui import batch
    from tui.model.latency import HistDelta
    from tui.sources.latency import LatencySource

    out = out or sys.stdout
    err = err or sys.stderr
    kind = args.view
    count = args.count
    source = LatencySource(kinds=(kind,), interval=args.interval,
                           mount_tracefs=getattr(args, "mount_tracefs", True),
                           duration=args.interval * count if count > 0 else None)
    printed = 0

    def emit(delta: object) -> None:
        nonlocal printed
        if not isinstance(delta, HistDelta):
            return
        hists = KeyedHistograms(kind)  # each interval from zero, as clear(@usecs) after print
        hists.add(delta)
        print(time.strftime("[%H:%M:%S]"), file=out)
        lines = hist_map_lines(kind, hists, getattr(args, "hist_by", "all"))
        if lines:  # an empty map prints nothing, as bpftrace's print() of a cleared map
            print("\n".join(lines), file=out)
        out.flush()
        printed += 1

    return batch.run(source, emit, out=out, err=err, done=lambda: 0 < count <= printed, connect_timeout=None)
