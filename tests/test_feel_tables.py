"""Issue 10: the Flows aggregate tables keep a stable order and the cursor stays on its row; Drops say where."""

from __future__ import annotations

from textual.app import App, ComposeResult

from tests.helpers.pilot import until
from tests.test_flows_model import add, pod, response
from tui.model.flow_aggregates import V_FORWARDED, FlowAggregates, FlowDigest
from tui.model.flows import FlowStore
from tui.panes.flow_views import VIEWS, AggregateTable
from tui.proto.flow import flow_pb2

T0 = 1_700_000_000


class TableApp(App[None]):
    def __init__(self, view: str) -> None:
        super().__init__()
        self.table = AggregateTable(VIEWS[view], id=view)

    def compose(self) -> ComposeResult:
        yield self.table


def talker(aggregates: FlowAggregates, source: str, flows: int, port: int = 80) -> None:
    for _ in range(flows):
        aggregates.add(FlowDigest(T0, (source, "shop/api", port, "TCP"), V_FORWARDED))


def keys_in_order(table: AggregateTable) -> list[str]:
    return [str(table.coordinate_to_cell_key((row, 0)).row_key.value).split("\x1f")[0]
            for row in range(table.row_count)]


async def test_equal_rows_are_ordered_by_key_also_when_reversed() -> None:
    aggregates = FlowAggregates()
    app = TableApp("talkers")
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.table
        for source in ("shop/d", "shop/b", "shop/c", "shop/a"):  # arriving out of order, equal counts
            talker(aggregates, source, 3)
            table.update_rows(aggregates)
        talker(aggregates, "shop/z", 9)
        table.update_rows(aggregates)
        await pilot.pause()
        assert keys_in_order(table) == ["shop/z", "shop/a", "shop/b", "shop/c", "shop/d"]
        await pilot.press("r")  # fewest flows first: the ties still by key, ascending
        assert keys_in_order(table) == ["shop/a", "shop/b", "shop/c", "shop/d", "shop/z"]


async def test_the_cursor_stays_on_its_row_when_rows_move() -> None:
    aggregates = FlowAggregates()
    for source, flows in (("shop/a", 9), ("shop/b", 5), ("shop/c", 1)):
        talker(aggregates, source, flows)
    app = TableApp("talkers")
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.table
        table.update_rows(aggregates)
        table.focus()
        await pilot.press("down")  # on shop/b
        assert keys_in_order(table)[table.cursor_row] == "shop/b"
        talker(aggregates, "shop/c", 20)  # c overtakes both: b moves down to the third row
        table.update_rows(aggregates)
        await pilot.pause()
        assert keys_in_order(table) == ["shop/c", "shop/a", "shop/b"]
        assert await until(pilot, lambda: table.cursor_row == 2)
        await pilot.press("s")  # another sort column: still on b
        assert keys_in_order(table)[table.cursor_row] == "shop/b"


async def test_dns_errors_first_by_count_then_by_name() -> None:
    aggregates = FlowAggregates()

    def dns(rcode: str, query: str, count: int) -> None:
        for _ in range(count):
            aggregates.add(FlowDigest(T0, None, V_FORWARDED, dns=(rcode, "A", query, "shop/api")))

    app = TableApp("dns")
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.table
        for rcode, query, count in (("No Error", "ok-few.", 1), ("Non-Existent Domain", "nx-b.", 2),
                                    ("No Error", "ok-many.", 50), ("Non-Existent Domain", "nx-a.", 2),
                                    ("Server Failure", "fail.", 7)):  # arriving one by one
            dns(rcode, query, count)
            table.update_rows(aggregates)
        await pilot.pause()
        queries = [str(table.coordinate_to_cell_key((row, 0)).row_key.value).split("\x1f")[2]
                   for row in range(table.row_count)]
        assert queries == ["fail.", "nx-a.", "nx-b.", "ok-many.", "ok-few."]


def test_drops_name_the_destination_and_port_and_spell_reasons_as_the_flow_list() -> None:
    store = FlowStore()
    a, db = pod("shop", "a-1", "a"), pod("shop", "db-1", "db")
    for _ in range(2):
        add(store, response(T0, src=a, dst=db, port=5432, verdict=flow_pb2.DROPPED, event=(1, 0),
                            drop_reason_desc=flow_pb2.POLICY_DENIED))
    add(store, response(T0, src=a, dst=db, port=6379, verdict=flow_pb2.DROPPED, event=(1, 133)))
    rows = store.aggregates.drop_rows()
    assert [(r.reason, r.source, r.destination, r.port, r.protocol, r.drops) for r in rows] == [
        ("Policy denied", "shop/a", "shop/db", 5432, "TCP", 2), ("Policy denied", "shop/a", "shop/db", 6379, "TCP", 1)]


async def test_the_drops_table_shows_destination_and_port() -> None:
    store = FlowStore()
    add(store, response(T0, src=pod("shop", "a-1", "a"), dst=pod("shop", "db-1", "db"), port=5432,
                        verdict=flow_pb2.DROPPED, event=(1, 133)))
    app = TableApp("drops")
    async with app.run_test(size=(100, 10)) as pilot:
        app.table.update_rows(store.aggregates)
        await pilot.pause()
        row = [cell.plain.strip() for cell in app.table.get_row_at(0)]
        assert row[2:] == ["5432", "Policy denied", "shop/a", "shop/db"], row


async def test_slash_filters_the_talkers_drops_dns_and_http_tables_in_place() -> None:
    from textual.widgets import Input

    from tests.test_flows_pane import loaded, make_app

    app, pane = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, pane)
        for view, needle in (("t", "coredns"), ("x", "denied"), ("n", "nxdomain"), ("h", "get")):
            await pilot.press(view)
            table = pane.query_one(f"#{pane.view}", AggregateTable)
            name = pane.view
            assert await until(pilot, lambda table=table: table.row_count >= 1)
            everything = table.row_count
            await pilot.press("slash", *needle)
            assert app.focused is pane.query_one("#flows-filter", Input)
            assert pane.view == name and pane.filter_text == needle
            rows = [" ".join(cell.plain for cell in table.get_row_at(i)).lower() for i in range(table.row_count)]
            assert rows and all(needle in row for row in rows), (name, rows)
            assert len(rows) <= everything
            assert f"/{needle}" in pane._header
            await pilot.press("escape")  # the box goes, and the filter with it
            assert pane.view == name and pane.filter_text == ""
            assert await until(pilot, lambda table=table, n=everything: table.row_count == n)


async def test_icmp_talkers_show_no_port_rather_than_port_0() -> None:
    aggregates = FlowAggregates()
    talker(aggregates, "shop/web", 3, port=80)
    for _ in range(2):
        aggregates.add(FlowDigest(T0, ("shop/ping", "shop/api", 0, "ICMPv4"), V_FORWARDED))
    app = TableApp("talkers")
    async with app.run_test(size=(120, 10)) as pilot:
        app.table.update_rows(aggregates)
        await pilot.pause()
        labels = [str(column.label) for column in app.table.ordered_columns]
        proto, port = labels.index("Proto"), labels.index("Port")
        rows = [[cell.plain.strip() for cell in app.table.get_row_at(n)] for n in range(app.table.row_count)]
        assert {row[proto]: row[port] for row in rows} == {"TCP": "80", "ICMPv4": "-"}, rows
