"""`/` in the Flows pane's map, policies, connect and nodes views filters what that view shows.

The pane is fed the seeded demo's flows (tests/test_flow_map_pane.py's store) and, for the nodes view,
node-status records arriving in the flow stream; the keys are pressed through Pilot. Each view stays on
screen while typing (the box at the bottom), narrows as the text grows, keeps the cursor on its row,
and Esc goes back in the common order: close a detail, leave the view, clear the filter.
"""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from tests.helpers.pilot import until
from tests.test_flow_map_pane import EdgesScreen, make_app, open_map
from tui.app import EbtopApp
from tui.model.flows import FlowStore, record_from_response
from tui.panes.flow_connect import ConnectTable
from tui.panes.flow_map import FlowMap, node_text
from tui.panes.flow_policies import PoliciesView
from tui.panes.flows import FlowsPane
from tui.proto.observer import observer_pb2
from tui.proto.relay import relay_pb2


def header(pane: FlowsPane) -> str:
    return pane.query_one("#flows-header").render().plain  # type: ignore[attr-defined]


def rows_of(table: DataTable) -> list[str]:
    return [" ".join(cell.plain for cell in table.get_row_at(i)).lower() for i in range(table.row_count)]


def cursor_text(table: DataTable) -> str:
    return " ".join(cell.plain for cell in table.get_row_at(table.cursor_row)).lower()


async def type_filter(pilot: Pilot, pane: FlowsPane, text: str, count) -> list[int]:  # noqa: ANN001 - a callable
    """Press `/` and `text` one key at a time; what `count()` gives after each key (the view narrows live)."""
    await pilot.press("slash")
    seen = []
    for char in text:
        await pilot.press(char)
        assert pilot.app.focused is pane.query_one("#flows-filter", Input)
        seen.append(count())
    return seen


async def test_slash_in_the_map_keeps_the_matching_nodes_and_their_peers() -> None:
    app, pane = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        view = await open_map(pilot, pane)
        everything = view.snapshot
        hits = {n for n in everything.nodes if "postgres" in node_text(n)}
        peers = {n for e in everything.edges if {e.client, e.server} & hits for n in (e.client, e.server)}
        assert hits and peers - hits and set(everything.nodes) - peers  # some nodes must go
        counts = await type_filter(pilot, pane, "postgres", lambda: len(view.snapshot.nodes))
        assert pane.view == "map" and pane.filter_text == "postgres"  # the map stays on screen
        assert counts[0] == len(everything.nodes) > counts[-1]  # `p` matches every node, then fewer
        assert counts == sorted(counts, reverse=True)
        assert set(view.snapshot.nodes) == peers
        assert all({e.client, e.server} & hits for e in view.snapshot.edges)
        placed = set(view.canvas.picture.placed)  # type: ignore[union-attr]
        assert placed == peers  # drawn: the matches and what they talk to, nothing else
        assert view.canvas.selected in hits  # the highlight goes to a match
        assert "/postgres 1 matching, " in header(pane) and f"{len(peers)} nodes" in header(pane)
        await pilot.press("enter")  # Enter keeps the filter and gives the keys back to the map
        assert pane.filter_text == "postgres" and app.focused is view.canvas
        await pilot.press("enter")  # the selected node's edges: a detail
        assert await until(pilot, lambda: isinstance(app.screen, EdgesScreen))
        await pilot.press("escape")  # Esc: the detail first
        assert await until(pilot, lambda: app.screen is pane.screen)
        assert pane.view == "map" and pane.filter_text == "postgres"
        await pilot.press("escape")  # then the view
        assert pane.view == "list" and pane.filter_text == "postgres"
        await pilot.press("escape")  # then the filter
        assert pane.filter_text == ""
        await pilot.press("m")
        assert await until(pilot, lambda: set(view.snapshot.nodes) == set(everything.nodes))


async def test_g_still_chooses_the_namespace_and_slash_filters_within_it() -> None:
    from tui.panes.flow_map import NamespaceScreen

    app, pane = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        view = await open_map(pilot, pane)
        await pilot.press("g")
        assert await until(pilot, lambda: isinstance(app.screen, NamespaceScreen))
        groups = app.screen.groups  # type: ignore[attr-defined]
        await pilot.press(*["down"] * groups.index("shop"), "enter")
        assert await until(pilot, lambda: view.group == "shop")
        await pilot.press("slash", *"redis", "enter")
        assert pane.view == "map" and isinstance(app.focused, FlowMap)
        assert view.snapshot.edges and all("shop/redis" in (e.client.label, e.server.label)
                                           for e in view.snapshot.edges)
        assert "namespace shop (g)" in header(pane) and "/redis" in header(pane)


async def test_slash_in_policies_filters_rows_and_the_cursor_stays_on_its_row() -> None:
    app, pane = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("y")
        view = pane.query_one("#policies", PoliciesView)
        assert await until(pilot, lambda: view.row_count >= 2)
        everything = view.row_count
        storage = next(i for i, row in enumerate(rows_of(view)) if "storage" in row)
        assert storage > 0  # a row below the first: filtering moves it up, the cursor must follow
        view.move_cursor(row=storage)
        await pilot.pause()
        counts = await type_filter(pilot, pane, "storage", lambda: view.row_count)
        assert pane.view == "policies" and counts[-1] == 1 < everything
        assert all("storage" in row for row in rows_of(view))
        assert "storage" in cursor_text(view) and view.selected_row().destination.startswith("objects.storage")  # type: ignore[union-attr]
        assert "/storage 1 rows" in header(pane)
        await pilot.press("escape")  # in the box: the box and the filter go, the view stays
        assert pane.view == "policies" and pane.filter_text == ""
        assert view.row_count == everything and "storage" in cursor_text(view)
        await pilot.press("slash", *"POSTGRES")  # case-insensitive
        assert rows_of(view) and all("postgres" in row for row in rows_of(view))


async def test_slash_in_connect_filters_rows_and_the_cursor_stays_on_its_row() -> None:
    app, pane = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("l")
        table = pane.query_one("#connect", ConnectTable)
        assert await until(pilot, lambda: table.row_count >= 5)
        everything = table.row_count
        await pilot.press("r")  # fastest first: the internet's destinations go to the bottom
        row = next(i for i, text in enumerate(rows_of(table)) if "api.payments" in text)
        assert 2 <= row < table.row_count - 1  # rows above it leave with the filter: the cursor must follow it
        table.move_cursor(row=row)
        await pilot.pause()
        counts = await type_filter(pilot, pane, ".example", lambda: table.row_count)
        assert pane.view == "connect" and counts[-1] == 2 < everything, counts
        assert all(".example" in text for text in rows_of(table))
        assert "api.payments" in cursor_text(table)
        assert f"/.example {table.row_count} rows" in header(pane) and "SYN to SYN-ACK" in header(pane)
        await pilot.press("enter")
        assert app.focused is table and pane.filter_text == ".example"
        await pilot.press("escape")  # the view goes, the filter stays for the list
        assert pane.view == "list" and pane.filter_text == ".example"
        # typed in the view, the filter holds in the list too
        assert await until(pilot, lambda: pane.flow_list.rows and all(".example" in pane.searchable(r)
                                                                      for r in pane.flow_list.rows))
        assert len(pane.flow_list.rows) < len(pane.store.ring)
        await pilot.press("l")  # back in the view, the kept filter applies at once
        assert table.row_count == 2 and "/.example 2 rows" in header(pane)


def node_status(state: int, *names: str) -> observer_pb2.GetFlowsResponse:
    response = observer_pb2.GetFlowsResponse(node_name="relay")
    response.node_status.state_change = state
    response.node_status.node_names.extend(names)
    return response


async def test_slash_in_nodes_filters_nodes_and_changes_and_names_stay_data() -> None:
    hostile = "[bold red]evil[/]\x1b[2J"
    pane = FlowsPane(FlowStore(capacity=100), None)
    app = EbtopApp([pane])
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        for state, names in ((relay_pb2.NODE_CONNECTED, ("worker-1", "worker-2", "control-plane", hostile)),
                             (relay_pb2.NODE_UNAVAILABLE, ("worker-2",)), (relay_pb2.NODE_GONE, ("control-plane",))):
            record = record_from_response(node_status(state, *names))
            assert record is not None
            pane.ingest(None, [record])  # peer changes in the flow stream, as a Relay sends them
        await pilot.press("a")
        grid = pane.query_one("#nodes-table", DataTable)
        changes = pane.query_one("#nodes-changes")
        assert await until(pilot, lambda: grid.row_count == 4)
        grid.move_cursor(row=next(i for i, text in enumerate(rows_of(grid)) if "worker-1" in text))
        await pilot.pause()
        counts = await type_filter(pilot, pane, "worker", lambda: grid.row_count)
        assert pane.view == "nodes" and counts[-1] == 2 < 4 and app.focused is pane.query_one("#flows-filter")
        assert all("worker" in text for text in rows_of(grid)) and "worker-1" in cursor_text(grid)
        shown = str(changes.render())
        assert "worker-2: unavailable" in shown and "control-plane" not in shown
        assert "/worker 2 rows" in header(pane)
        await pilot.press("escape")
        await pilot.press("slash", *"[bold")  # markup-looking text is matched and shown as typed
        assert grid.row_count == 1
        cell = grid.get_row_at(0)[0].plain
        assert cell.startswith("[bold red]evil[/]") and "\x1b" not in cell  # literal, escape made visible
        assert "/[bold 1 rows" in header(pane) and "\x1b" not in header(pane)


def burst(app: EbtopApp, text: str) -> None:
    """Queue keys the way a terminal read delivers a paste or fast typing: all before the first is handled."""
    from textual import events

    for char in text:
        app.post_message(events.Key("slash" if char == "/" else char, char))


async def test_keys_typed_right_after_slash_reach_the_box_in_every_view() -> None:
    app, pane = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        for key, name in (("f", "list"), ("t", "talkers"), ("m", "map"), ("y", "policies"), ("l", "connect"),
                          ("a", "nodes")):
            await pilot.press(key)
            assert pane.view == name
            burst(app, "/shop/a")  # `/` inside the box is text, not another `/`
            assert await until(pilot, lambda: pane.filter_text == "shop/a"), (name, pane.filter_text)
            assert pane.view == name and app.focused is pane.query_one("#flows-filter", Input)
            await pilot.press("escape")
            assert pane.filter_text == "" and pane.view == name


async def test_enter_on_a_filtered_policies_row_shows_its_flows_and_esc_gives_the_filter_back() -> None:
    app, pane = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("y")
        view = pane.query_one("#policies", PoliciesView)
        assert await until(pilot, lambda: view.row_count >= 2)
        await pilot.press("slash", *"default deny", "enter")  # a policy name: in no flow line
        assert await until(pilot, lambda: pane.filter_text == "default deny" and view.row_count >= 1)
        view.focus()
        await pilot.press("enter")  # the row's flows, whole: the view's filter does not follow
        assert await until(pilot, lambda: pane.view == "list" and len(pane.flow_list.rows) > 0), header(pane)
        assert pane.drill is not None and pane.filter_text == ""
        await pilot.press("escape")
        assert await until(pilot, lambda: pane.view == "policies")
        assert pane.filter_text == "default deny" and all("default deny" in row for row in rows_of(view))
