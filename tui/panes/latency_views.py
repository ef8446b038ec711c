"""The Syscalls pane's latency and custom-counter views: kernel histograms drawn as bpftrace's hist().

`LatencyModel` keeps what the latency and counter sources deliver (cumulative since the view was
first opened; `c` clears); `LatencyView` draws one kind: a bpftrace `hist()` block per key, busiest
first, with p50/p99 beside the map line, or the counters as `@name[key]: count` lines. The pane
(tui/panes/syscalls.py) lists these views after its own, switched with v/V like every view.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.model.latency import UNITS, KeyedHistograms, percentile
from tui.render.bpftrace_hist import hist_rows, key_text
from tui.render.safe import safe_text
from tui.sources.counters import CounterDelta, CounterSpec
from tui.wiring.counters import counter_lines
from tui.wiring.latency import HIST_BY, grouping

LATENCY_VIEWS = {"runqlat": "run-queue latency", "biolatency": "block I/O latency",
                 "syscall-latency": "syscall latency", "counters": "custom counters"}
HIST_KINDS = ("runqlat", "biolatency", "syscall-latency")
KEYS_SHOWN = 12
NO_PERF = {"runqlat": "sched tracepoints", "biolatency": "block tracepoints",
           "syscall-latency": "raw_syscalls tracepoints"}


def short(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    scale = "us" if unit == "usecs" else "ns"
    for step, name in ((1e6, "s" if scale == "us" else "ms"), (1e3, "ms" if scale == "us" else "us")):
        if value >= step:
            return f"{value / step:.1f}{name}"
    return f"{value:.0f}{scale}"


class LatencyModel:
    """Histograms per kind and counter totals per spec, as the sources deliver them."""

    def __init__(self) -> None:
        self.hists = {kind: KeyedHistograms(kind) for kind in HIST_KINDS}
        self.counters: dict[CounterSpec, dict[object, int]] = {}
        self.by = "all"

    @staticmethod
    def accepts(item: object) -> bool:
        from tui.model.latency import HistDelta

        return isinstance(item, HistDelta | CounterDelta)

    def add(self, item: Any) -> str:
        """Take one item; returns the view it changed."""
        if isinstance(item, CounterDelta):
            row = self.counters.setdefault(item.spec, {})
            for key, count in item.counts.items():
                row[key] = row.get(key, 0) + count
            return "counters"
        if item.kind in self.hists:
            self.hists[item.kind].add(item)
        return item.kind

    def clear(self, view: str) -> None:
        if view in self.hists:
            self.hists[view].clear()
        elif view == "counters":
            self.counters = {spec: {} for spec in self.counters}

    def lines(self, view: str, empty: str, bar: int = 52, needle: str = "") -> list[Text]:
        """The view's text; `needle` (the pane's `/` filter) keeps the keys and counter lines that contain it."""
        if view == "counters":
            return self._counter_lines(empty, needle.lower())
        hists = self.hists[view]
        unit = UNITS[view]
        merged = hists.merged(grouping(view, self.by if view == "runqlat" else "all"))
        if not merged:
            return [Text(empty)]
        out: list[Text] = []
        ranked = sorted(merged.items(), key=lambda kv: (-sum(kv[1]), key_text(kv[0])))
        if needle:
            ranked = [kv for kv in ranked if needle.lower() in key_text(kv[0]).lower()]
            if not ranked:
                return [Text(f"no key matches the filter /{needle}")]
        for key, buckets in ranked[:KEYS_SHOWN]:
            head = f"@{unit}[{key_text(key)}]: " if key else f"@{unit}: "
            line = safe_text(head)
            line.append(f"  {sum(buckets):,} events  p50 {short(percentile(buckets, 0.5), unit)}  "
                        f"p99 {short(percentile(buckets, 0.99), unit)}", style="bold")
            out.append(line)
            out.extend(Text(row) for row in hist_rows(buckets, bar))
            out.append(Text(""))
        if len(ranked) > KEYS_SHOWN:
            out.append(Text(f"... {len(ranked) - KEYS_SHOWN} more keys (busiest {KEYS_SHOWN} shown)"))
        if hists.lost:
            out.append(Text(f"{hists.lost:,} events not counted: the kernel's histogram map was full"))
        return out

    def _counter_lines(self, empty: str, needle: str = "") -> list[Text]:
        if not self.counters:
            return [Text("no custom counters: start ebtop with --count TRACEPOINT[:KEY], "
                         "e.g. --count syscalls:sys_enter_openat:comm")]
        out: list[Text] = []
        for spec, counts in self.counters.items():
            out.append(Text(f"{spec.label}: {sum(counts.values()):,} hits", style="bold"))
            lines = [line for line in counter_lines(spec, counts) if needle in line.lower()]
            out.extend(safe_text(line) for line in lines[-3 * KEYS_SHOWN:])
            out.append(Text(""))
        return out


class LatencyView(VerticalScroll):
    """One latency or counter view; `g` regroups the run-queue histograms, `c` clears this view."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g", "regroup", "Group by", show=False),
        Binding("c", "clear", "Clear", show=False),
    ]

    def __init__(self, kind: str, model: LatencyModel, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kind = kind
        self.model = model
        self.note = ""
        self.filter_text = ""  # the pane's `/` filter

    def compose(self):  # noqa: ANN201 - Textual's ComposeResult
        yield Static("", classes="sc-text", markup=False)

    def show(self, note: str = "") -> None:
        self.note = note
        empty = note or f"no {LATENCY_VIEWS[self.kind]} events yet (the program loads when this view opens)"
        width = self.size.width or (self.app.size.width - 2 if self.is_attached else 80)
        bar = max(10, min(52, width - 30))  # 16 + 8 + " |" + "|" around the bar, padding, scrollbar
        self.query_one(Static).update(Text("\n").join(self.model.lines(self.kind, empty, bar, self.filter_text)))

    def on_resize(self, _event: object) -> None:
        self.show(self.note)

    def header_parts(self) -> list[str]:
        if self.kind == "runqlat":
            return [f"by {self.model.by} (g)"]
        if self.kind in HIST_KINDS:
            return [f"{self.model.hists[self.kind].total:,} events"]
        return []

    def action_regroup(self) -> None:
        if self.kind == "runqlat":
            self.model.by = HIST_BY[(HIST_BY.index(self.model.by) + 1) % len(HIST_BY)]
            self.show(self.note)

    def action_clear(self) -> None:
        self.model.clear(self.kind)
        self.show(self.note)


def open_view(sources: list[Any], view: str) -> None:
    """Ask the latency source to load `view`'s program (first open); counters load at start."""
    from tui.sources.latency import LatencySource

    for source in sources:
        if isinstance(source, LatencySource) and view in HIST_KINDS:
            source.want(view)
