"""The Flows pane under Pilot: follow, pause, filter, detail, views, and SVG snapshots.

The pane is fed by the real FileSource replaying a fixed file (tests/data/hubble_flows.jsonl, fixed
timestamps), so what is on screen is deterministic.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.pilot import Pilot

from tests.helpers.pilot import until
from tui.app import EbtopApp
from tui.model.flows import FlowStore, RecordKind, record_from_response
from tui.panes.flow_detail import FlowDetail
from tui.panes.flow_list import FlowList
from tui.panes.flow_views import DNS_RCODE_COLUMN, AggregateTable
from tui.panes.flows import FlowsPane
from tui.render.hubble_compact import flow_pieces, narrow_pieces, pieces_plain
from tui.sources.base import SourceState
from tui.sources.flow_replay import FileSource

DATA = Path(__file__).parent / "data" / "hubble_flows.jsonl"
TOTAL_RECORDS = 243  # 240 flows, 1 lost-events and 1 node-status response, 1 hostile flow


def make_app(capacity: int = 10_000, path: str = str(DATA)) -> tuple[EbtopApp, FlowsPane]:
    pane = FlowsPane(FlowStore(capacity=capacity), FileSource(path), filters="--namespace shop")
    return EbtopApp([pane]), pane


async def loaded(pilot: Pilot, pane: FlowsPane, records: int = TOTAL_RECORDS) -> None:
    for _ in range(300):
        if pane.store.seq >= records and pane.source.status.get().state is SourceState.ENDED:
            break
        await asyncio.sleep(0.02)
    pane.tick(True)
    await pilot.pause()
    # Following: the list reaches its end once its new height is laid out (a frame later under load).
    flow_list = pane.flow_list
    await until(pilot, lambda: not flow_list.follow or flow_list.scroll_y == max(
        0, len(flow_list.rows) - flow_list.scrollable_content_region.height))
    if pilot.app.focused is not pane.flow_list:
        pane.flow_list.focus()
        await pilot.pause()


def more_records(pane: FlowsPane, count: int) -> None:
    """Feed `count` copies of the newest flow through the source's buffer, as a live stream would."""
    newest = next(r for r in reversed(pane.store.ring) if r.kind is RecordKind.FLOW).response()
    for _ in range(count):
        record = record_from_response(newest)
        assert record is not None
        pane.source.buffer.put(record)


async def test_follow_stops_on_scroll_up_and_resumes_at_the_end() -> None:
    app, pane = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, pane)
        flow_list = pane.flow_list
        assert len(flow_list.rows) == TOTAL_RECORDS
        assert flow_list.follow and flow_list.scroll_y == flow_list.max_scroll_y > 0
        await pilot.press("up", "up", "pageup")
        assert not flow_list.follow and flow_list.cursor_seq is not None
        top_seq = flow_list.rows[int(flow_list.scroll_y)].seq
        more_records(pane, 50)
        pane.tick(True)
        await pilot.pause()  # the frame governor may draw them on a later tick (a loaded machine)
        assert await until(pilot, lambda: len(flow_list.rows) == TOTAL_RECORDS + 50), len(flow_list.rows)
        assert flow_list.rows[int(flow_list.scroll_y)].seq == top_seq  # the reading position stays
        await pilot.press("end")
        assert flow_list.follow and flow_list.cursor_seq is None
        more_records(pane, 10)
        pane.tick(True)
        await pilot.pause()
        assert await until(pilot, lambda: len(flow_list.rows) == TOTAL_RECORDS + 60
                           and flow_list.scroll_y == flow_list.max_scroll_y)


async def test_scrolling_keeps_the_view_when_old_rows_leave_the_ring() -> None:
    app, pane = make_app(capacity=200)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, pane)
        flow_list = pane.flow_list
        assert len(flow_list.rows) == 200
        await pilot.press("pageup", "pageup")
        top_seq = flow_list.rows[int(flow_list.scroll_y)].seq
        more_records(pane, 30)
        pane.tick(True)
        await pilot.pause()
        assert len(flow_list.rows) == 200
        assert flow_list.rows[int(flow_list.scroll_y)].seq == top_seq


async def test_pause_stops_rendering_but_not_counting() -> None:
    app, pane = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, pane)
        await pilot.press("p")
        assert pane.paused
        rows_before = list(pane.flow_list.rows)
        more_records(pane, 100)
        pane.tick(True)
        await pilot.pause()
        assert pane.store.seq == TOTAL_RECORDS + 100  # counted
        assert pane.flow_list.rows == rows_before  # not rendered
        header = str(pane.query_one("#flows-header").render())
        assert "PAUSED · 100 new" in header
        await pilot.press("p")
        assert not pane.paused and len(pane.flow_list.rows) == TOTAL_RECORDS + 100
        assert "PAUSED" not in str(pane.query_one("#flows-header").render())


async def test_filter_as_you_type_and_escape_clears() -> None:
    app, pane = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, pane)
        await pilot.press("slash", *"postgres")
        rows = pane.flow_list.rows
        assert 0 < len(rows) < TOTAL_RECORDS
        assert all("postgres" in pane.searchable(r) for r in rows)
        assert sum("postgres" in pane.searchable(r) for r in pane.store.ring) == len(rows)
        await pilot.press("enter")
        assert pane.filter_text == "postgres"
        more_records(pane, 5)  # the newest flow is not a postgres flow
        pane.tick(True)
        await pilot.pause()
        assert len(pane.flow_list.rows) == len(rows)
        await pilot.press("escape")
        assert pane.filter_text == "" and len(pane.flow_list.rows) == TOTAL_RECORDS + 5


async def test_enter_opens_every_field_of_the_flow_under_the_cursor() -> None:
    app, pane = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, pane)
        await pilot.press("up", "up", "up")
        record = pane.flow_list.selected()
        assert record is not None and record.seq == pane.store.seq - 3
        await pilot.press("enter")
        assert isinstance(app.screen, FlowDetail)
        body = app.screen.body.plain
        flow = record.response().flow
        assert "flow.source.pod_name" in body and flow.source.pod_name in body
        assert "flow.time " in body and "flow.verdict " in body and "flow.event_type.type" in body
        await pilot.press("escape")
        assert not isinstance(app.screen, FlowDetail)


async def test_hostile_strings_are_shown_literally() -> None:
    app, pane = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot, pane)
        evil = next(r for r in pane.store.ring if "pwn" in pane.searchable(r))
        text = pane.render_record(evil).plain
        assert "[bold red]pwn[/]^[[2J\\r" in text
        assert "\x1b" not in text and "\r" not in text


async def test_aggregate_views_update_in_place_and_sort() -> None:
    app, pane = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, pane)
        await pilot.press("t")
        table = pane.query_one("#talkers", AggregateTable)
        assert table.row_count == len(pane.store.aggregates.top_talkers(200)) > 3
        keys_before = [row.key.value for row in table.ordered_rows]
        more_records(pane, 20)
        pane.tick(True)
        pane.refresh_view()
        await pilot.pause()
        assert sorted(row.key.value for row in table.ordered_rows) == sorted(keys_before)
        flows = [table.get_cell(key, "1").sort_value for key in keys_before]
        assert flows == sorted(flows, reverse=True) or flows[0] >= flows[-1]
        await pilot.press("s")
        assert table.sort_column == 2
        for view in ("x", "n", "h"):
            await pilot.press(view)
            assert pane.query_one(f"#{pane.view}", AggregateTable).row_count > 0
        dns = pane.query_one("#dns", AggregateTable)
        codes = [dns.get_row_at(row)[DNS_RCODE_COLUMN].plain for row in range(dns.row_count)]
        assert "NOERROR" in codes and codes[0] != "NOERROR"  # the fixture has both; errors first
        assert set(codes[codes.index("NOERROR"):]) == {"NOERROR"}  # no error below the first success
        await pilot.press("f")
        assert pane.view == "list"


async def test_status_line_says_what_the_source_did() -> None:
    """Built from ebtop's own parser: the status line shows the filters as the code understood them."""
    from tui.cli import build_parser
    from tui.wiring.flows import create_pane

    pane = create_pane(build_parser().parse_args(["--hubble-file", str(DATA), "--namespace=shop",
                                                  "--not", "--verdict", "DROPPED"]))
    app = EbtopApp([pane])
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, pane, records=0)
        line = pane.status_line()
        assert f"hubble ended: end of {DATA}" in line
        assert f"{pane.store.flows:,} flows" in line and f"lost {pane.store.lost_events}" in line
        assert "dropped by ebtop 0" in line
        assert "filters: --namespace shop --not --verdict DROPPED" in line
        assert "flows/s" in line


def _snapshot_app() -> EbtopApp:
    """Replays the fixture by a relative name (the status line shows it): callers chdir to its folder."""
    app, pane = make_app(path=DATA.name)
    pane.source.run_sync()  # read the whole file before the app starts: fixed content
    pane.source.start = lambda: None  # type: ignore[method-assign]
    return app


async def _settle(pilot: Pilot) -> None:
    """Every record of the fixture drawn, the list at its end (a fixed 0.3 s was too short under load)."""
    await loaded(pilot, pilot.app.query_one(FlowsPane))
    await pilot.pause(0.3)


def test_snapshot_80x24(snap_compare, monkeypatch) -> None:
    monkeypatch.chdir(DATA.parent)
    assert snap_compare(_snapshot_app(), terminal_size=(80, 24), run_before=_settle)


def test_snapshot_120x40(snap_compare, monkeypatch) -> None:
    monkeypatch.chdir(DATA.parent)
    assert snap_compare(_snapshot_app(), terminal_size=(120, 40), run_before=_settle)


def test_snapshot_http_view_120x40(snap_compare, monkeypatch) -> None:
    monkeypatch.chdir(DATA.parent)

    async def run_before(pilot: Pilot) -> None:
        await pilot.pause(0.3)
        await pilot.press("h")
        await pilot.pause(0.2)

    assert snap_compare(_snapshot_app(), terminal_size=(120, 40), run_before=run_before)


async def test_a_new_filter_shows_the_newest_matches_first_and_fills_in(monkeypatch) -> None:
    import tui.panes.flows as flows_module

    app, pane = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, pane)
        ring = list(pane.store.ring)
        for _ in range(8):  # ~2,000 records, none rendered yet
            for record in ring:
                copy = record_from_response(record.response()) if record.kind is RecordKind.FLOW else None
                if copy is not None:
                    pane.source.buffer.put(copy)
        for _ in range(100):  # into the ring, whatever the drain budget per tick
            pane.tick(True)
            if not len(pane.source.buffer):
                break
        monkeypatch.setattr(flows_module, "FILTER_FIRST_SECONDS", 1e-6)
        monkeypatch.setattr(flows_module, "FILTER_SECONDS_PER_TICK", 1e-6)
        await pilot.press("slash", "p", "o", "s", "t", "g")
        partial = list(pane.flow_list.rows)
        expected = [r for r in pane.store.ring if "postg" in pane.searchable(r)]
        assert 0 < len(partial) < len(expected)
        assert partial == expected[-len(partial):]  # the newest matches, in order
        for _ in range(200):
            pane.tick(True)
            if len(pane.flow_list.rows) == len(expected):
                break
        assert pane.flow_list.rows == expected


def _list_texts(pane: FlowsPane) -> list[str]:
    """The visible list rows as painted (after the horizontal crop)."""
    flow_list = pane.flow_list
    region = flow_list.scrollable_content_region
    return [flow_list.render_line(y).text[:region.width] for y in range(region.height)]


async def test_80_columns_fitted_lines_and_full_lines_scrolled_sideways_show_the_verdict() -> None:
    app, pane = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, pane)
        flow_list = pane.flow_list
        assert flow_list.narrow and flow_list.narrow_override is None  # fitted by default
        width = flow_list.scrollable_content_region.width
        newest = flow_list.rows[-1]
        full = pane.render_record(newest).plain
        fitted = "".join(text for text, _ in pane.line_pieces(newest, width))
        assert full.startswith("Jan  1 ") and "(ID:" in full
        assert fitted.startswith("00:00:") and "(ID:" not in fitted and len(fitted) <= width < len(full)
        verdict = next(word for word in ("FORWARDED", "DROPPED") if f" {word} (" in full)
        assert verdict in fitted
        assert _list_texts(pane)[-1].rstrip() == fitted.rstrip()
        pane.tick(True)
        assert "fitted (w" in pane._header
        await pilot.press("w")  # the full hubble line, date and identities included, scrolled sideways
        assert not flow_list.narrow
        await pilot.pause()
        assert _list_texts(pane)[-1] == full[:width]
        await pilot.press("right")
        step = flow_list.scroll_column
        assert 0 < step < width
        presses = 1
        while full.find(verdict) + len(verdict) > flow_list.scroll_column + width and presses < 10:
            await pilot.press("right")
            presses += 1
        assert flow_list.scroll_column == presses * step
        assert verdict in _list_texts(pane)[-1]
        assert _list_texts(pane)[-1].rstrip() == full[presses * step:presses * step + width].rstrip()
        pane.tick(True)
        assert f"+{presses * step} cols" in pane._header and "full lines (w" in pane._header
        await pilot.press("left")
        assert flow_list.scroll_column == (presses - 1) * step
        await pilot.press("0")
        assert flow_list.scroll_column == 0
        pane.tick(True)
        assert "cols" not in pane._header
        # Strips are cached per mode, so switching back renders nothing new.
        cached = len(flow_list._cache)
        await pilot.press("w")
        await pilot.pause()
        assert flow_list.narrow and len(flow_list._cache) == cached


async def test_wide_terminals_get_the_full_line_when_it_fits() -> None:
    app, pane = make_app()
    async with app.run_test(size=(200, 40)) as pilot:
        await loaded(pilot, pane)
        width = pane.flow_list.scrollable_content_region.width
        full = pane.render_record(pane.flow_list.rows[-1]).plain
        assert len(full) <= width
        flow_list = pane.flow_list

        def bottom_line_is_whole() -> bool:
            """The line painted at the bottom is its record's whole hubble line, uncut."""
            rows, height = flow_list.rows, flow_list.scrollable_content_region.height
            index = min(len(rows) - 1, int(flow_list.scroll_y) + height - 1)
            if index < 0 or rows[index].kind is not RecordKind.FLOW:
                return False
            expected = pieces_plain(narrow_pieces(flow_pieces(rows[index].response().flow, pane.options)))
            return _list_texts(pane)[min(height, len(rows)) - 1].rstrip() == expected

        assert await until(pilot, bottom_line_is_whole), _list_texts(pane)[-1]


def test_snapshot_80x24_scrolled_right(snap_compare, monkeypatch) -> None:
    monkeypatch.chdir(DATA.parent)

    async def run_before(pilot: Pilot) -> None:
        await _settle(pilot)
        flow_list = pilot.app.query_one(FlowList)
        await pilot.press("w")  # full hubble lines, then scrolled sideways twice
        assert await until(pilot, lambda: flow_list.virtual_size.width > 2 * flow_list.size.width)
        for presses in (1, 2):
            await pilot.press("right")
            assert await until(pilot, lambda p=presses: flow_list.scroll_x >= p * (flow_list.size.width // 2))
        await pilot.pause(0.2)

    assert snap_compare(_snapshot_app(), terminal_size=(80, 24), run_before=run_before)


async def test_tables_at_80_columns_give_names_the_spare_width_and_follow_resizes() -> None:
    app, pane = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, pane)
        await pilot.press("t")
        await pilot.pause()
        table = pane.query_one("#talkers", AggregateTable)
        spec = table.spec
        destination = [c.label for c in spec.columns].index("Destination")
        narrow_widths = list(table.widths)
        assert narrow_widths[destination] >= 15
        assert table.columns[table.ordered_columns[destination].key].width == narrow_widths[destination]
        rows = {spec.key(row): row for row in pane.store.aggregates.top_talkers(200)}
        for key in rows:
            shown = table.get_cell(key, str(destination))
            assert len(shown.plain) <= narrow_widths[destination]
            assert shown.sort_value == rows[key].destination.lower()  # sorting uses the whole name
        long = [k for k, r in rows.items() if len(r.destination) > narrow_widths[destination]]
        assert long, "the fixture has names longer than the column"
        trimmed = table.get_cell(long[0], str(destination)).plain
        assert "…" in trimmed or "..." in trimmed
        assert trimmed[-3:] == rows[long[0]].destination[-3:]  # the distinguishing tail stays
        table.move_cursor(row=2)
        cursor_key = table.coordinate_to_cell_key((2, 0)).row_key
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert table.widths[destination] > narrow_widths[destination]
        assert table.row_count == len(rows)
        assert table.coordinate_to_cell_key((table.cursor_row, 0)).row_key == cursor_key  # kept across resize
        await pilot.press("n")
        await pilot.pause()
        dns = pane.query_one("#dns", AggregateTable)
        labels = [c.label for c in dns.spec.columns]
        first = dns.get_row_at(0)
        assert first[labels.index("RCode")].plain in ("NXDOMAIN", "SERVFAIL")
        assert first[labels.index("Query")].plain.endswith(".")


def test_snapshot_talkers_80x24(snap_compare, monkeypatch) -> None:
    monkeypatch.chdir(DATA.parent)

    async def run_before(pilot: Pilot) -> None:
        await pilot.pause(0.3)
        await pilot.press("t")
        await pilot.pause(0.2)

    assert snap_compare(_snapshot_app(), terminal_size=(80, 24), run_before=run_before)


def test_snapshot_dns_80x24(snap_compare, monkeypatch) -> None:
    monkeypatch.chdir(DATA.parent)

    async def run_before(pilot: Pilot) -> None:
        await pilot.pause(0.3)
        await pilot.press("n")
        await pilot.pause(0.2)

    assert snap_compare(_snapshot_app(), terminal_size=(80, 24), run_before=run_before)


async def test_status_line_counts_lost_events_and_their_notices() -> None:
    app, pane = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, pane)
        lost = [r for r in pane.store.ring if r.kind is RecordKind.LOST]
        assert len(lost) == 1  # the fixture's one lost-events response (17 events)
        assert "lost 17 in 1 notice ·" in pane.status_line()
