"""Typed settings per pane family, built once from the parsed flags (`from_args`).

The parser (`tui.cli.build_parser`, with config.toml and the environment applied as its defaults by
`tui.config`) is the one place values are checked and converted. A family's settings are a frozen
dataclass of its flags' values, so panes and sources receive typed values instead of reading the
argparse namespace by name, and each value has one owner: the Syscalls interval, for instance, goes
from `SyscallSettings.interval` into the kernel source, and the pane reads it back from there.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields
from typing import Any, Self


class FromArgs:
    """`from_args`: each field from the parsed flag of the same name (a missing flag is an error)."""

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Self:
        return cls(**{field.name: getattr(args, field.name) for field in fields(cls)})  # type: ignore[arg-type]


@dataclass(frozen=True)
class SyscallSettings(FromArgs):
    """The Syscalls pane's counting and probes (`--interval`, `--by`, `--probes`, …)."""

    interval: float
    by: str
    sort: str
    failed: bool
    syscall_latency: bool
    probes: tuple[str, ...]
    mount_tracefs: bool
    slow_io_ms: float

    @property
    def count_failures(self) -> bool:
        """Failures are counted when shown or sorted by."""
        return self.failed or self.sort == "failures"


@dataclass(frozen=True)
class ProcessDisplay(FromArgs):
    """How the Processes pane keeps and shows processes."""

    timestamps: bool
    retention: float
    max_processes: int
    tetragon_file: Any  # a replay runs on event time, not the wall clock

    @property
    def live_clock(self) -> bool:
        return not self.tetragon_file


@dataclass(frozen=True)
class FlowDisplay(FromArgs):
    """How the Flows pane and batch lines show flows, and how much they keep."""

    print_node_name: bool
    print_policy_names: bool
    ip_translation: bool
    numeric: bool
    flow_buffer: int
    window: int
    time_format: str | None

    @property
    def translate_ips(self) -> bool:
        """Names instead of IPs: on unless `--no-ip-translation` (or `ip-translation = false`) or `--numeric`."""
        return self.ip_translation and not self.numeric
