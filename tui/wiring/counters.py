"""`--count TRACEPOINT[:KEY]`: custom counters, checked against tracefs, printed like bpftrace.

`ebtop -b --pane syscalls --count syscalls:sys_enter_openat:comm -n 1` prints, every interval, a
`[HH:MM:SS]` line and `@sys_enter_openat[cat]: 3` lines, smallest first, as
`bpftrace -e 'tracepoint:syscalls:sys_enter_openat { @sys_enter_openat[comm] = count(); }
interval:s:5 { time("[%H:%M:%S]\\n"); print(@sys_enter_openat); clear(@sys_enter_openat); }'`.
KEY is comm (default), pid, container, pod, or an integer field of the tracepoint (its format file).
A tracepoint or field that does not exist is a usage error (exit 2) that names the closest ones.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import TextIO

from tui.sources.counters import LABEL_KEYS, CounterDelta, CounterSpec
from tui.sources.tracepoints import closest, events_dir, list_tracepoints, read_fields


def parse_counter(text: str) -> CounterSpec:
    """argparse type of `--count`: `category:name[:key]`, checked when tracefs can be read."""
    parts = text.strip().split(":")
    if len(parts) not in (2, 3) or not all(parts):
        raise argparse.ArgumentTypeError(f"expected TRACEPOINT[:KEY] such as syscalls:sys_enter_openat:comm, "
                                         f"got {text!r}")
    category, name = parts[0], parts[1]
    key = parts[2] if len(parts) == 3 else "comm"
    try:
        events = events_dir()
        if events is not None and not os.access(events, os.R_OK | os.X_OK):
            events = None
    except OSError:  # tracefs not readable by this user (not root)
        events = None
    if events is None:  # no tracefs here (or not readable): the source reports it when it starts
        if key not in LABEL_KEYS and not key.isidentifier():
            raise argparse.ArgumentTypeError(f"bad key {key!r}")
        return CounterSpec(category, name, key)
    fields = read_fields(events, category, name)
    if fields is None:
        known = list_tracepoints(events)
        near = closest(f"{category}:{name}", known, 3) or closest(name, [k.split(":", 1)[1] for k in known], 3)
        hint = f"; closest: {', '.join(near)}" if near else ""
        raise argparse.ArgumentTypeError(f"no tracepoint {category}:{name} on this kernel{hint}")
    if key in LABEL_KEYS:
        return CounterSpec(category, name, key)
    integers = {f.name: f for f in fields if f.integer}
    if key not in integers:
        others = [f.name for f in fields if not f.integer]
        near = closest(key, [*integers, *LABEL_KEYS], 3)
        why = f" ({key} is not an integer)" if key in others else ""
        hint = f"; closest: {', '.join(near)}" if near else ""
        raise argparse.ArgumentTypeError(
            f"{category}:{name} has no integer field {key}{why}{hint}; keys: {', '.join([*LABEL_KEYS, *integers])}")
    return CounterSpec(category, name, key, signed=integers[key].signed)


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--count", dest="counters", type=parse_counter, action="append", default=[],
                       metavar="TRACEPOINT[:KEY]",
                       help="count a tracepoint in the kernel, by comm (default), pid, container, pod or one "
                            "of its integer fields, e.g. syscalls:sys_enter_openat:comm, "
                            "sched:sched_process_fork:pid (repeatable; a Syscalls view, and in batch mode "
                            "@name[key]: count lines like bpftrace)")


def counter_lines(spec: CounterSpec, counts: dict[object, int]) -> list[str]:
    """bpftrace's print of a count() map: `@name[key]: count`, smallest first."""
    ordered = sorted(counts.items(), key=lambda kv: (kv[1], str(kv[0])))
    return [f"@{spec.map_name}[{key}]: {count}" for key, count in ordered]


def run_batch(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print `-n` intervals of every counter (all until interrupted when 0); 1 when it cannot load."""
    from tui import batch
    from tui.render.safe import escape_control
    from tui.sources.counters import CounterSource

    out = out or sys.stdout
    err = err or sys.stderr
    count = args.count
    source = CounterSource(list(args.counters), interval=args.interval,
                           duration=args.interval * count if count > 0 else None,
                           mount_tracefs=getattr(args, "mount_tracefs", True))
    printed = 0
    pending: list[CounterDelta] = []

    def emit(item: object) -> None:
        """One interval is one delta per counter: print them together, as bpftrace's interval probe."""
        nonlocal printed, pending
        if not isinstance(item, CounterDelta):
            return
        pending.append(item)
        if len(pending) < len(source.specs):
            return
        group, pending = pending[: len(source.specs)], pending[len(source.specs):]
        out.write(time.strftime("[%H:%M:%S]") + "\n")
        for delta in group:
            lines = counter_lines(delta.spec, delta.counts)
            if lines:
                out.write("\n".join(escape_control(line) for line in lines) + "\n")
        out.write("\n")
        out.flush()
        printed += 1

    return batch.run(source, emit, out=out, err=err, done=lambda: 0 < count <= printed, connect_timeout=None)
