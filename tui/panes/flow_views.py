"""Top talkers, Drops, DNS and HTTP: sortable tables updated in place from the model's aggregates.

Each table has fixed column widths and keyed rows; an update changes only the cells whose value
changed, adds new keys and removes vanished ones (dolphie's Processlist pattern), never clears and
refills, and never asks DataTable to re-measure widths. The name columns share the width the numbers
leave, computed once per resize (`column_widths`); names longer than their column lose their middle
(`trim_middle`), so pod names keep their distinguishing tail. Untrusted names are literal `Text`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from tui.model.flow_aggregates import DropRow, FlowAggregates, TalkerRow
from tui.render.glyphs import ASCII, glyphs
from tui.render.safe import escape_control
from tui.render.trim import trim_middle

CELL_PADDING = 2  # DataTable's cell_padding=1 on each side
MIN_NAME_WIDTH = 8


def row_text(cells: Iterable[object]) -> str:
    """A row as `/` matches it: its cells as shown (control characters escaped), lower case."""
    return " ".join(escape_control(str(cell)) for cell in cells).lower()


def cursor_key(table: DataTable) -> RowKey | None:
    """The key of the row under the cursor, None on an empty table."""
    if table.row_count and 0 <= table.cursor_row < table.row_count:
        return table.coordinate_to_cell_key((table.cursor_row, 0)).row_key
    return None


def restore_cursor(table: DataTable, key: RowKey | str | None, row: int | None = None) -> None:
    """Put the cursor back on the row `key` when it is still there, else on `row` (kept in range).

    Tables rebuilt or re-filtered in place use it, so the cursor follows its row, not its position.
    """
    if key is not None and key in table.rows:
        target = table.get_row_index(key)
    elif row is not None and table.row_count:
        target = max(0, min(row, table.row_count - 1))
    else:
        return
    if target != table.cursor_row:
        table.move_cursor(row=target, animate=False, scroll=True)


class SortText(Text):
    """A cell that sorts by a raw value rather than by its text."""

    sort_value: Any = None


def cell(value: object, width: int, *, numeric: bool = False, style: str = "", fmt: str = "",
         head_first: bool = False) -> SortText:
    if numeric:
        if value is None or isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            shown = "-"
            sort_value: Any = -1.0
        else:
            shown = format(value, fmt) if fmt else f"{value:,}"
            sort_value = value
        text = SortText(shown.rjust(width)[-width:] if len(shown) <= width else shown, style=style,
                        no_wrap=True, overflow="ellipsis", justify="right")
    else:
        shown = escape_control(str(value))
        sort_value = shown.lower()
        text = SortText(trim_middle(shown, width, head_first=head_first), style=style, no_wrap=True, overflow="crop")
    text.sort_value = sort_value
    return text


@dataclass(frozen=True)
class Column:
    """One table column; `width` is fixed, or for a name column (`flex`) its share of the spare width."""

    label: str
    width: int
    numeric: bool = False
    fmt: str = ""
    flex: bool = False
    head_first: bool = False  # trimming keeps more of the start (DNS names) than of the end (pods)


def Name(label: str, width: int, *, head_first: bool = False) -> Column:  # noqa: N802 - reads like a Column
    return Column(label, width, flex=True, head_first=head_first)


def column_widths(columns: Sequence[Column], available: int) -> list[int]:
    """Cell widths for `available` cells: fixed columns as declared, name columns share the rest.

    When everything fits, the names split what the fixed columns leave, in proportion to their
    declared widths. When not, the fixed columns after the last name column are left to horizontal
    scrolling and the names get the screen up to them (at most their declared widths), so an
    80-column terminal shows the counts and whole names rather than every column cut short.
    """
    flex = [index for index, column in enumerate(columns) if column.flex]
    if not flex or available <= 0:
        return [column.width for column in columns]
    declared = sum(columns[index].width for index in flex)
    padding = CELL_PADDING * len(flex)
    room = available - padding - sum(c.width + CELL_PADDING for c in columns if not c.flex)
    if room < declared:
        leading = columns[:flex[-1] + 1]
        room_leading = available - padding - sum(c.width + CELL_PADDING for c in leading if not c.flex)
        room = max(room, min(declared, room_leading))
    room = max(room, MIN_NAME_WIDTH * len(flex))
    widths = [column.width for column in columns]
    given = 0
    for index in flex[:-1]:
        widths[index] = max(MIN_NAME_WIDTH, room * columns[index].width // declared)
        given += widths[index]
    widths[flex[-1]] = max(MIN_NAME_WIDTH, room - given)
    return widths


@dataclass(frozen=True)
class ViewSpec:
    """What one aggregate table shows: its columns and how to get rows from the aggregates."""

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: Callable[[FlowAggregates], Sequence[Any]]
    key: Callable[[Any], str]
    values: Callable[[Any], tuple[object, ...]]
    style: Callable[[Any], str] = lambda row: ""
    default_sort: int = 0
    tiebreak: tuple[int, ...] = ()  # the key's columns: rows equal in the sort column keep this order


def _talker_style(row: TalkerRow) -> str:
    return "red" if row.dropped else ""


PORT_PROTOCOLS = frozenset({"TCP", "UDP", "SCTP"})


def talker_port(row: TalkerRow | DropRow) -> int | None:
    """The destination port, or None (shown `-`) for ICMP and the like: they have no port, not port 0."""
    return row.port if row.protocol in PORT_PROTOCOLS else None


# Numbers first and names last, so an 80-column terminal shows the counts and who they belong to.
VIEWS: dict[str, ViewSpec] = {
    "talkers": ViewSpec(
        "talkers", "Top talkers",
        (Column("Flows/s", 7, True, ".2f"), Column("Flows", 7, True), Column("Drop", 5, True),
         Column("Proto", 6), Column("Port", 5, True, "d"), Name("Source", 24), Name("Destination", 26),
         Column("Fwd", 7, True), Column("Other", 6, True)),
        lambda agg: agg.top_talkers(200),
        lambda r: f"{r.source}\x1f{r.destination}\x1f{r.port}\x1f{r.protocol}",
        lambda r: (r.rate, r.flows, r.dropped, r.protocol, talker_port(r), r.source, r.destination, r.forwarded,
                   r.other),
        _talker_style, default_sort=1, tiebreak=(5, 6, 4, 3)),
    "drops": ViewSpec(
        "drops", "Drops",
        (Column("Drops/s", 7, True, ".2f"), Column("Drops", 7, True), Column("Port", 5, True, "d"),
         Name("Reason", 20), Name("Source", 24), Name("Destination", 24)),
        lambda agg: agg.drop_rows(200),
        lambda r: f"{r.reason}\x1f{r.source}\x1f{r.destination}\x1f{r.port}\x1f{r.protocol}",
        lambda r: (r.rate, r.drops, talker_port(r), r.reason, r.source, r.destination),
        lambda r: "red", default_sort=1, tiebreak=(3, 4, 5, 2)),
    "dns": ViewSpec(
        "dns", "DNS",
        (Column("Resp/s", 7, True, ".2f"), Column("Resp", 6, True), Column("RCode", 8),
         Name("Query", 34, head_first=True), Column("QType", 5), Name("Source", 20)),
        lambda agg: agg.dns_rows(200),
        lambda r: f"{r.rcode}\x1f{r.qtype}\x1f{r.query}\x1f{r.source}",
        lambda r: (r.rate, r.responses, r.rcode_name, r.query, r.qtype, r.source),
        lambda r: "red" if r.is_error else "", default_sort=-1, tiebreak=(3, 2, 4, 5)),
    "http": ViewSpec(
        "http", "HTTP",
        (Column("Req/s", 7, True, ".2f"), Column("Reqs", 6, True), Column("Code", 4, True, "d"),
         Column("Method", 6), Column("p50 ms", 6, True, ".1f"), Column("p90 ms", 6, True, ".1f"),
         Column("p99 ms", 6, True, ".1f"), Name("Destination", 28)),
        lambda agg: agg.http_rows(200),
        lambda r: f"{r.destination}\x1f{r.method}\x1f{r.status}",
        lambda r: (r.rate, r.requests, r.status, r.method, r.p50_ms, r.p90_ms, r.p99_ms, r.destination),
        lambda r: "red" if r.status >= 500 else "yellow" if r.status >= 400 else "", default_sort=1,
        tiebreak=(7, 3, 2)),
}
DNS_RCODE_COLUMN, DNS_COUNT_COLUMN = 2, 1


class Descending:
    """A sort value in reverse order (so one sort can be descending on one part, ascending on the rest)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: Descending) -> bool:
        return other.value < self.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Descending) and other.value == self.value

    __hash__ = None  # type: ignore[assignment]


class AggregateTable(DataTable):
    """One aggregate view; `s` cycles the sort column, `r` reverses it."""

    BINDINGS = [
        Binding("s", "cycle_sort", "Sort"),
        Binding("r", "reverse_sort", "Reverse"),
    ]

    def __init__(self, spec: ViewSpec, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False, show_cursor=True)
        self.spec = spec
        self.sort_column = spec.default_sort
        self.sort_reverse = spec.default_sort >= 0 and spec.columns[spec.default_sort].numeric
        self._values: dict[str, tuple[object, ...]] = {}
        self._order: list[str] = []
        self.widths: list[int] = [column.width for column in spec.columns]
        self._aggregates: FlowAggregates | None = None
        self.needle = ""  # the pane's `/` filter: rows whose text holds it (lower case)

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        for index, (column, width) in enumerate(zip(self.spec.columns, self.widths, strict=True)):
            self.add_column(column.label, width=width, key=str(index))

    def on_resize(self) -> None:
        """New widths for the name columns: rebuild columns and rows once, not per cell or per tick."""
        available = self.size.width - self.styles.scrollbar_size_vertical
        widths = column_widths(self.spec.columns, available)
        if widths == self.widths:
            return
        self.widths = widths
        key = cursor_key(self)
        self.clear(columns=True)
        self._values.clear()
        self._add_columns()
        if self._aggregates is not None:
            self.update_rows(self._aggregates)
            restore_cursor(self, key)

    def update_rows(self, aggregates: FlowAggregates) -> None:
        """Keyed in-place update: changed cells only, then re-sort when the order changed.

        The cursor stays on its row's key (rows leaving above it, by the window or the `/` filter,
        would otherwise move it to another row).
        """
        self._aggregates = aggregates
        cursor_at = cursor_key(self)
        spec = self.spec
        seen: set[str] = set()
        changed = False
        needle = self.needle
        for row in spec.rows(aggregates):
            values = spec.values(row)
            if needle and needle not in row_text(values):
                continue
            key = spec.key(row)
            seen.add(key)
            style = spec.style(row)
            old = self._values.get(key)
            if old is None:
                self.add_row(*self._cells(values, style), key=key)
                changed = True
            elif old != values:
                for index, (before, after) in enumerate(zip(old, values, strict=True)):
                    if before != after:
                        self.update_cell(key, str(index), self._cell(index, after, style))
                        changed = changed or index == self.sort_column
            self._values[key] = values
        for key in [k for k in self._values if k not in seen]:
            self.remove_row(key)
            del self._values[key]
            changed = True
        if changed:
            self._sort()
            restore_cursor(self, cursor_at)

    def set_filter(self, text: str) -> None:
        """Keep only the rows whose text holds `text` (case-insensitive); "" shows every row again."""
        needle = text.lower()
        if needle == self.needle:
            return
        self.needle = needle
        if self._aggregates is not None and self.is_mounted:
            self.update_rows(self._aggregates)

    def filter_count(self) -> str:
        """What the header shows after `/text`: how many rows hold it."""
        return f"{self.row_count:,} rows"

    def _cell(self, index: int, value: object, style: str) -> SortText:
        column = self.spec.columns[index]
        return cell(value, self.widths[index], numeric=column.numeric, style=style, fmt=column.fmt,
                    head_first=column.head_first)

    def _cells(self, values: tuple[object, ...], style: str) -> list[SortText]:
        return [self._cell(index, value, style) for index, value in enumerate(values)]

    def _sort(self) -> None:
        """Sort by the sort column, then by the row's key (a stable order), the cursor staying on its row.

        DataTable sorts its rows in insertion order, so equal rows would swap places; the key's
        columns break ties, always ascending, also when the sort column is reversed.
        """
        if not self.row_count:
            return
        key = cursor_key(self)
        tiebreak = self.spec.tiebreak

        def tie(values: tuple[Any, ...]) -> tuple[Any, ...]:
            return tuple(getattr(values[index], "sort_value", 0) for index in tiebreak)

        if self.sort_column < 0:  # DNS: errors first, then by responses
            self.sort(key=lambda values: (values[DNS_RCODE_COLUMN].sort_value == "noerror",
                                          -values[DNS_COUNT_COLUMN].sort_value, tie(values)))
        else:
            column, reverse = self.sort_column, self.sort_reverse
            self.sort(key=lambda values: (Descending(values[column].sort_value) if reverse
                                          else values[column].sort_value, tie(values)))
        restore_cursor(self, key)

    def action_cycle_sort(self) -> None:
        self.sort_column = (self.sort_column + 1) % len(self.spec.columns)
        self.sort_reverse = self.spec.columns[self.sort_column].numeric
        self._sort()

    def action_reverse_sort(self) -> None:
        if self.sort_column < 0:
            self.sort_column = 0
        self.sort_reverse = not self.sort_reverse
        self._sort()

    def sort_label(self) -> str:
        if self.sort_column < 0:
            return "errors first"
        arrow = ("↓" if self.sort_reverse else "↑") if glyphs() is not ASCII else ("v" if self.sort_reverse else "^")
        return f"{self.spec.columns[self.sort_column].label} {arrow}"
