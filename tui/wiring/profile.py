"""Profile options, the interactive pane, and batch mode printing folded stacks.

`ebtop -b --pane profile --duration 10 [--pid P]` samples every CPU for 10 s (from the moment the
perf events are attached) and prints one `comm;outermost;...;leaf COUNT` line per distinct stack,
busiest first: what flamegraph.pl, inferno-flamegraph and speedscope read, and what
`profile-bpfcc -f` prints.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TextIO

from tui.model.stacks import ProfileInterval, StackCounts, folded_lines
from tui.wiring.common import positive_float, positive_int

if TYPE_CHECKING:
    from tui.panes.base import LivePane
    from tui.sources.profile import ProfileSource

MAX_HZ = 1000
BATCH_VIEWS = ("list",)  # folded stacks only; --view has no other meaning here


def profile_hz(text: str) -> int:
    value = positive_int(text)
    if value > MAX_HZ:
        raise argparse.ArgumentTypeError(f"at most {MAX_HZ} samples per second per CPU: {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this family's flags to ebtop's parser."""
    group = parser.add_argument_group("profile: on-CPU stack sampling (root or CAP_BPF+CAP_PERFMON, perf events)")
    group.add_argument("--profile-hz", type=profile_hz, default=49, metavar="HZ",
                       help="samples per second on every CPU (default 49, as bcc's profile; at most 1000)")
    group.add_argument("--duration", type=positive_float, default=None, metavar="S",
                       help="batch mode with --pane profile: sample S seconds, then print folded stacks "
                            "(without it: until Ctrl-C)")
    group.add_argument("--pid", type=positive_int, default=None, metavar="PID",
                       help="profile only this process (filtered in the kernel; the pane starts scoped to it)")


def make_source(args: argparse.Namespace, batch: bool = False) -> ProfileSource:
    from tui.sources.profile import ProfileSource

    return ProfileSource(hz=args.profile_hz, pid=args.pid, interval=1.0,
                         mount_tracefs=getattr(args, "mount_tracefs", True),
                         duration=args.duration if batch else None)


def check_usage(args: argparse.Namespace) -> str | None:
    """A flag that cannot apply here, as a message (exit 2), or None."""
    if args.duration is not None and not (args.batch and args.pane == "profile"):
        return "--duration applies to batch mode of the profile pane only (-b --pane profile)"
    return None


def run_batch(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Sample, then print folded stacks; 1 when eBPF or perf events are not available here."""
    from tui import batch

    out = out or sys.stdout
    err = err or sys.stderr
    problem = check_usage(args)
    if problem:
        return batch.usage_error(problem, err)
    source = make_source(args, batch=True)
    counts = StackCounts(max_stacks=100_000)
    said_start = False

    def emit(item: object) -> None:
        nonlocal said_start
        if not said_start:  # the source's first item comes as the perf events are attached
            said_start = True
            target = f" (pid {args.pid})" if args.pid else ""
            length = f" for {args.duration:g} s" if args.duration else " until Ctrl-C"
            print(f"ebtop: sampling every CPU at {args.profile_hz} Hz{length}{target}", file=err, flush=True)
        if isinstance(item, ProfileInterval):
            counts.add_interval(item)

    interrupted: KeyboardInterrupt | None = None
    try:
        code = batch.run(source, emit, out=out, err=err, connect_timeout=None)
    except KeyboardInterrupt as stop:  # Ctrl-C or a signal: print what was counted (as profile does),
        interrupted, code = stop, 0  # then let it reach cli, which exits 128+N (tui/shutdown.py)
    for item in source.buffer.drain():
        emit(item)
    if code:
        return code
    try:
        lines = folded_lines(counts.samples())
        if lines:
            print("\n".join(lines), file=out, flush=True)
    except BrokenPipeError:
        return 0
    summary = (f"ebtop: {counts.total:,} samples in {source.sampled_seconds:.1f} s at {args.profile_hz} Hz, "
               f"{counts.idle:,} idle left out, {counts.unnamed_share:.0%} of frames unnamed "
               "(missing frame pointers or symbols)")
    if counts.lost_stacks:
        summary += f", {counts.lost_stacks:,} stacks lost"
    print(summary, file=err)
    if interrupted is not None:
        raise interrupted
    return 0


def create_pane(args: argparse.Namespace) -> LivePane:
    """Build the interactive pane from parsed arguments."""
    from tui.panes.profile import ProfilePane

    problem = check_usage(args)
    if problem:  # a usage failure before the UI starts (exit 2, as argparse does)
        print(f"ebtop: {problem}", file=sys.stderr)
        raise SystemExit(2)
    return ProfilePane(make_source(args), pid=args.pid, start_now=args.pane == "profile")
