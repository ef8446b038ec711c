"""Syscalls options, the interactive pane, and batch mode printing bpftrace-comparable intervals.

`ebtop -b --pane syscalls -n 3 --interval 5` prints, every interval, a `[HH:MM:SS]` line and up
to ten `@[key]: count` lines, smallest first, as
`bpftrace -e 'tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }
interval:s:5 { time("[%H:%M:%S]\\n"); print(@, 10); clear(@); }'` does.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TextIO

from tui.model.syscalls import BY_CHOICES, KERNEL_MODE, SORT_CHOICES, SyscallTop, bpftrace_lines
from tui.render.safe import escape_control
from tui.wiring.common import positive_float

if TYPE_CHECKING:
    from tui.panes.base import LivePane
    from tui.sources.kernel import KernelSource

PROBE_CHOICES = ("opens", "tcp", "blockio")
BATCH_VIEWS = ("list", "top", "runqlat", "biolatency", "syscall-latency", "connect-latency", "counters")


def _probe_list(text: str) -> tuple[str, ...]:
    if text.strip() in ("", "none"):
        return ()
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in PROBE_CHOICES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown probe {', '.join(unknown)} (choose from {', '.join(PROBE_CHOICES)})")
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this family's flags to ebtop's parser."""
    group = parser.add_argument_group(
        "syscalls: local bcc counters (root or CAP_BPF+CAP_PERFMON)",
        "A note about the machine (kernel headers for another release) is said once: batch mode prints it "
        "on the first run, the pane shows it until n dismisses it (n dismisses any note). Both are remembered in "
        "$XDG_STATE_HOME/ebtop/notes-seen (~/.local/state/ebtop/notes-seen); delete that file to see them again.")
    group.add_argument("--interval", type=positive_float, default=5.0, metavar="S",
                       help="seconds per counting interval (default 5; + and - change it in the pane)")
    group.add_argument("--by", choices=BY_CHOICES, default="comm",
                       help="count by process name (default), by pid and name, by syscall, or by container "
                            "or pod (the kernel counts per cgroup; outside Kubernetes a row is the cgroup "
                            "path, e.g. system.slice/ssh.service)")
    group.add_argument("--sort", choices=SORT_CHOICES, default="count", help="rank rows by (default count)")
    group.add_argument("--failed", action="store_true",
                       help="count failed calls (negative return) and show only those")
    group.add_argument("--syscall-latency", action="store_true",
                       help="also total the time spent in each syscall, like syscount -L (costs more per call)")
    group.add_argument("--probes", type=_probe_list, default=PROBE_CHOICES, metavar="LIST",
                       help="event probes to load in the pane: opens,tcp,blockio or none (default all)")
    group.add_argument("--no-mount-tracefs", dest="mount_tracefs", action="store_false",
                       help="do not mount tracefs when it is missing (fall back to raw tracepoints)")
    group.add_argument("--slow-io-ms", type=positive_float, default=10.0, metavar="MS",
                       help="block I/O slower than this is listed (default 10)")
    from tui.wiring import counters, latency

    latency.add_arguments(group)
    counters.add_arguments(group)


def make_source(args: argparse.Namespace, batch: bool = False) -> KernelSource:
    from tui.settings import SyscallSettings
    from tui.sources.kernel import KernelSource
    from tui.sources.notes import SeenNotes

    settings = SyscallSettings.from_args(args)
    return KernelSource(
        interval=settings.interval,
        mode=KERNEL_MODE.get(settings.by, "comm"),
        failed=settings.count_failures,
        latency=settings.syscall_latency,
        probes=() if batch else settings.probes,
        slow_ms=settings.slow_io_ms,
        cost=False,  # the pane turns BPF run-time stats on while its cost view is shown
        mount_tracefs=settings.mount_tracefs,
        first_interval=settings.interval if batch else None if settings.interval <= 1 else 1.0,
        notes_once=SeenNotes() if batch else None,
    )


def interval_lines(top: SyscallTop, args: argparse.Namespace) -> list[str]:
    """One interval in bpftrace's print format (the syscall time, when counted, after each count)."""
    latest = top.latest
    if latest is None:
        return []
    rows = top.top(by=args.by, sort=args.sort, failed_only=args.failed)
    lines = bpftrace_lines(rows, latest.at, _key_part)
    if args.syscall_latency:
        ordered = sorted(rows, key=lambda r: (r.count, r.label))  # bpftrace_lines' order
        lines = [lines[0]] + [f"{line}  {row.ns / 1000:.0f}us" for line, row in zip(lines[1:], ordered, strict=True)]
    return lines


def _key_part(part: object) -> str:
    """A key part as printed: comm is chosen by the process itself (prctl), so it is escaped."""
    return escape_control(str(part))


def run_batch(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print `-n` intervals (all until interrupted when 0); exit 1 when eBPF cannot run here (see tui.batch)."""
    from tui import batch
    from tui.model.syscalls import SyscallInterval

    out = out or sys.stdout
    err = err or sys.stderr
    from tui.wiring.latency import route_batch

    routed = route_batch(args)  # histogram views and custom counters (issue 14)
    if routed is not None:
        return routed
    source = make_source(args, batch=True)
    top = SyscallTop()
    printed = 0

    def emit(item: object) -> None:
        nonlocal printed
        if not isinstance(item, SyscallInterval):  # batch loads no probes: intervals only
            return
        top.add(item)
        out.write("\n".join(interval_lines(top, args)) + "\n\n")
        out.flush()
        printed += 1

    return batch.run(source, emit, out=out, err=err, done=lambda: 0 < args.count <= printed,
                     connect_timeout=None)


def create_pane(args: argparse.Namespace) -> LivePane:
    """Build the interactive pane from parsed arguments."""
    from tui.panes.syscalls import SyscallsPane
    from tui.settings import SyscallSettings

    settings = SyscallSettings.from_args(args)
    from tui.sources.notes import SeenNotes

    pane = SyscallsPane(make_source(args), by=settings.by, sort=settings.sort, failed_only=settings.failed,
                        notes=SeenNotes())
    from tui.wiring.latency import pane_sources

    pane.sources.extend(pane_sources(args))  # latency histograms (loaded when their view opens), --count
    return pane
