"""Custom counters: any tracepoint counted in the kernel by comm, pid, container, pod or one of the
tracepoint's own integer fields (`--count syscalls:sys_enter_openat:comm`).

One generated bcc program holds every counter: one `TRACEPOINT_PROBE` per tracepoint, one hash map
per counter, `atomic_increment` (bcc's plain `increment` loses counts across CPUs). The maps stay
cumulative; each interval reads them and hands over what changed (`CounterDelta`), so a count is never
lost to a read-then-clear race and a known number of hits is counted exactly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from tui.sources.base import Source, SourceState
from tui.sources.bpf_env import BpfUnavailable, close_bpf, load_bpf

ENTRIES = 10240
LABEL_KEYS = ("comm", "pid", "container", "pod")


@dataclass(frozen=True)
class CounterSpec:
    """One `--count` value: tracepoint category and name, and what to key by."""

    category: str
    name: str
    key: str = "comm"
    signed: bool = False  # the key field is a signed integer

    @property
    def tracepoint(self) -> str:
        return f"{self.category}:{self.name}"

    @property
    def label(self) -> str:
        return f"{self.tracepoint}:{self.key}"

    @property
    def map_name(self) -> str:
        """The map name in bpftrace-style output: `@sys_enter_openat[...]`."""
        return self.name


@dataclass(frozen=True)
class CounterDelta:
    """What changed in one counter since the previous read: key -> count."""

    spec: CounterSpec
    counts: dict[object, int]
    seconds: float


def program(specs: list[CounterSpec]) -> str:
    """The BPF C text counting every spec (one probe per tracepoint, one map per spec)."""
    parts = ["struct comm_key { char comm[16]; };"]
    for index, spec in enumerate(specs):
        key_type = "struct comm_key" if spec.key == "comm" else "u32" if spec.key == "pid" else \
            "u64" if spec.key in ("container", "pod") else "s64" if spec.signed else "u64"
        parts.append(f"BPF_HASH(count_{index}, {key_type}, u64, {ENTRIES});")
    by_tracepoint: dict[tuple[str, str], list[int]] = {}
    for index, spec in enumerate(specs):
        by_tracepoint.setdefault((spec.category, spec.name), []).append(index)
    for (category, name), indexes in by_tracepoint.items():
        body = []
        for index in indexes:
            spec = specs[index]
            if spec.key == "comm":
                body.append(f"{{ struct comm_key k = {{}}; bpf_get_current_comm(&k.comm, sizeof(k.comm)); "
                            f"count_{index}.atomic_increment(k); }}")
            elif spec.key == "pid":
                body.append(f"{{ u32 k = bpf_get_current_pid_tgid() >> 32; count_{index}.atomic_increment(k); }}")
            elif spec.key in ("container", "pod"):
                body.append(f"{{ u64 k = bpf_get_current_cgroup_id(); count_{index}.atomic_increment(k); }}")
            else:
                cast = "s64" if spec.signed else "u64"
                body.append(f"{{ {cast} k = ({cast})args->{spec.key}; count_{index}.atomic_increment(k); }}")
        parts.append(f"TRACEPOINT_PROBE({category}, {name})\n{{\n    " + "\n    ".join(body) + "\n    return 0;\n}")
    return "\n".join(parts) + "\n"


class CounterSource(Source[object]):
    """Per interval, one `CounterDelta` per counter."""

    thread_name = "ebtop-counters"

    def __init__(self, specs: list[CounterSpec], interval: float = 5.0, duration: float | None = None,
                 labels: Any = None, mount_tracefs: bool = True) -> None:
        super().__init__("custom counters " + ", ".join(s.label for s in specs), maxlen=4096)
        self.specs = list(specs)
        self.interval = float(interval)
        self.duration = duration
        self.mount_tracefs = mount_tracefs
        self._labels = labels
        self._read_now = False
        self.attached_at: float | None = None

    def set_interval(self, seconds: float) -> None:
        self.interval = max(0.2, float(seconds))

    def read_now(self) -> None:
        self._read_now = True

    def run(self) -> None:
        if not self.specs:
            self.status.set(SourceState.ENDED, "no counters asked for")
            return
        if not self.bpf_preflight(self.mount_tracefs):
            return
        self.status.set(SourceState.CONNECTING, "compiling the custom counters")
        bpf = None
        try:
            bpf = load_bpf(program(self.specs))
            if any(s.key in ("container", "pod") for s in self.specs) and self._labels is None:
                from tui.sources.profile import CgroupLabels

                self._labels = CgroupLabels()
            self.attached_at = time.monotonic()
            self.status.set(SourceState.STREAMING, f"counting {len(self.specs)} tracepoint counter(s)")
            seen: list[dict[bytes, int]] = [{} for _ in self.specs]
            last = self.attached_at
            deadline = last + self.interval
            end = last + self.duration if self.duration else None
            while not self.stopping.is_set():
                self.stopping.wait(min(0.1, max(0.0, deadline - time.monotonic())))
                now = time.monotonic()
                finished = end is not None and now >= end
                if now >= deadline or self._read_now or finished or self.stopping.is_set():
                    self._read_now = False
                    for index, spec in enumerate(self.specs):
                        self.buffer.put(CounterDelta(spec, self._read(bpf, index, spec, seen[index]), now - last))
                    last = now
                    deadline = now + self.interval
                if finished:
                    break
        except BpfUnavailable as exc:
            self.add_problem(f"custom counters not loaded: {exc}")
            self.status.set(SourceState.FAILED, str(exc))
        finally:
            close_bpf(bpf)
            if self.status.get().state is not SourceState.FAILED:
                self.status.set(SourceState.ENDED, "counters detached")

    def _read(self, bpf: Any, index: int, spec: CounterSpec, seen: dict[bytes, int]) -> dict[object, int]:
        out: dict[object, int] = {}
        for key, value in bpf[f"count_{index}".encode()].items():
            raw = bytes(key)
            total = int(value.value)
            delta = total - seen.get(raw, 0)
            seen[raw] = total
            if delta:
                label = self._label(spec, key)
                out[label] = out.get(label, 0) + delta
        return out

    def _label(self, spec: CounterSpec, key: Any) -> object:
        if spec.key == "comm":
            return bytes(key.comm).split(b"\0", 1)[0].decode("utf-8", "replace")
        if spec.key in ("container", "pod"):
            container, pod = self._labels(int(key.value))
            return (container if spec.key == "container" else pod) or "(host)"
        return int(key.value)
