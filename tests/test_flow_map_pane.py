"""The service map view under Pilot on the seeded demo: what it shows, navigation, drill-down, snapshots."""

from __future__ import annotations

import itertools

from textual.pilot import Pilot

from tui.app import EbtopApp
from tui.demo.hubble_scenario import flow_responses
from tui.model.flows import FlowStore, RecordKind, record_from_response
from tui.panes.flow_map import EdgesScreen, FlowMap, FlowMapView, NamespaceScreen
from tui.panes.flows import FlowsPane

SEED, FLOWS = 7, 6000


def demo_store() -> FlowStore:
    store = FlowStore(capacity=FLOWS)
    for response in itertools.islice(flow_responses(seed=SEED), FLOWS):
        record = record_from_response(response)
        assert record is not None
        store.add(record)
    return store


def make_app() -> tuple[EbtopApp, FlowsPane]:
    pane = FlowsPane(demo_store(), None)
    return EbtopApp([pane]), pane


def screen_text(view: FlowMapView) -> str:
    picture = view.canvas.picture
    assert picture is not None
    return "\n".join("".join(text for text, _ in row) for row in picture.rows)


def cell(view: FlowMapView, row: int, x: int) -> tuple[str, str]:
    """The character and role drawn at (row, x)."""
    picture = view.canvas.picture
    assert picture is not None
    start = 0
    for text, role in picture.rows[row]:
        if start <= x < start + len(text):
            return text[x - start], role
        start += len(text)
    return " ", ""


async def drilled(pilot: Pilot, pane: FlowsPane) -> list:
    """The rows of the pane's flow list once a drill-down has scanned the whole ring."""
    await pilot.pause()
    assert pilot.app.screen is pane.screen and pane.view == "list" and pane.drill is not None
    for _ in range(100):  # a drill-down matches a slice of the ring per frame; redraw until it is through
        pane.redraw()
        await pilot.pause()
        if pane._backfill_from <= pane.store.first_seq:
            break
    return list(pane.flow_list.rows)


async def open_map(pilot: Pilot, pane: FlowsPane) -> FlowMapView:
    await pilot.pause()
    await pilot.press("m")
    await pilot.pause()
    view = pane.query_one("#map", FlowMapView)
    assert pane.view == "map" and pilot.app.focused is view.canvas
    return view


async def test_the_demo_map_shows_the_story_with_the_policy_drop_in_red() -> None:
    app, pane = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        view = await open_map(pilot, pane)
        text = screen_text(view)
        for name in ("frontend", "api", "postgres", "redis", "coredns", "api.payments.example.com", "loadgen"):
            assert f"│ {name} " in text, name
        for group in ("shop", "kube-system", "tools", "(outside)"):
            assert f"─ {group} ─" in text
        placed = view.canvas.picture.placed  # type: ignore[union-attr]
        by_name = {node.label: place for node, place in placed.items()}
        # Left to right in the direction of traffic: clients, then api, then its data stores.
        assert by_name["shop/frontend"].column < by_name["shop/api"].column < by_name["shop/postgres"].column
        assert by_name["shop/api"].column < by_name["shop/redis"].column
        # The policy drop (loadgen -> postgres) ends in the drop marker, drawn in the dropping style.
        postgres = by_name["shop/postgres"]
        assert cell(view, postgres.row, postgres.x0 - 1) == ("✖", "edge:dropping")
        drops = [e for e in view.snapshot.edges if e.dropped]
        assert any(e.client.label == "tools/loadgen" and e.server.label == "shop/postgres" for e in drops)


async def test_a_node_stays_put_when_only_rates_change() -> None:
    app, pane = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        view = await open_map(pilot, pane)
        before = dict(view.canvas.picture.placed)  # type: ignore[union-attr]
        flows_before = [e.flows for e in view.snapshot.edges]
        # More of the same traffic (every edge already exists): rates change, the picture does not.
        ring = [r for r in pane.store.ring if r.kind is RecordKind.FLOW][-500:]
        for record in ring:
            copy = record_from_response(record.response())
            assert copy is not None
            pane.store.add(copy)
        view.update_store(pane.store)
        await pilot.pause()
        assert view.canvas.picture.placed == before  # type: ignore[union-attr]
        assert [e.flows for e in view.snapshot.edges] != flows_before


async def test_arrows_enter_edges_enter_flows_and_escape_back() -> None:
    app, pane = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        view = await open_map(pilot, pane)
        canvas = view.canvas
        picture = canvas.picture
        assert picture is not None
        start = canvas.selected
        await pilot.press("right")
        assert picture.placed[canvas.selected].column == picture.placed[start].column + 1
        # Walk to shop/api.
        api = next(n for n in picture.placed if n.label == "shop/api")
        for _ in range(20):
            if canvas.selected == api:
                break
            here, there = picture.placed[canvas.selected], picture.placed[api]
            await pilot.press("right" if here.column < there.column else "left" if here.column > there.column
                              else "down" if here.row < there.row else "up")
        assert canvas.selected == api
        assert "shop/api" in str(view.query_one("#map-info").render())
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, EdgesScreen)
        peers = {(e.client.label, e.server.label) for e in screen.edges}
        assert ("shop/frontend", "shop/api") in peers and ("shop/api", "shop/postgres") in peers
        chosen = screen.edges[0]
        await pilot.press("enter")
        shown = await drilled(pilot, pane)
        assert shown and all(r.kind is RecordKind.FLOW for r in shown)
        edge_flows = next(e.flows for e in view.snapshot.edges if (e.client, e.server) == (chosen.client, chosen.server))
        assert len(shown) == edge_flows  # the whole window is still in the ring here
        assert chosen.client.label in pane.query_one("#flows-header").render().plain  # type: ignore[attr-defined]
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is pane.screen and pane.view == "map" and pane.drill is None and app.focused is canvas
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, EdgesScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is pane.screen and pane.view == "map" and app.focused is canvas


async def test_g_shows_one_namespace() -> None:
    app, pane = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        view = await open_map(pilot, pane)
        await pilot.press("g")
        await pilot.pause()
        assert isinstance(app.screen, NamespaceScreen)
        groups = app.screen.groups
        await pilot.press(*["down"] * groups.index("kube-system"), "enter")
        await pilot.pause()
        assert view.group == "kube-system"
        assert all("kube-system" in (e.client.group, e.server.group) for e in view.snapshot.edges)
        assert "namespace kube-system" in pane.query_one("#flows-header").render().plain  # type: ignore[attr-defined]
        assert isinstance(app.focused, FlowMap)


async def test_at_80x24_the_map_scrolls_to_the_selected_node() -> None:
    app, pane = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_map(pilot, pane)
        canvas = view.canvas
        picture = canvas.picture
        assert picture is not None
        rightmost = max(picture.placed, key=lambda n: picture.placed[n].x1)
        for _ in range(10):
            await pilot.press("right")
        place = picture.placed[canvas.selected]
        assert place.column == picture.placed[rightmost].column
        assert canvas.scroll_offset.x <= place.x0 and place.x1 < canvas.scroll_offset.x + canvas.size.width + 1


def _snapshot_app() -> EbtopApp:
    return make_app()[0]


async def _press_m(pilot: Pilot) -> None:
    await pilot.pause(0.2)
    await pilot.press("m")
    await pilot.pause(0.3)


def test_snapshot_map_120x40(snap_compare) -> None:
    assert snap_compare(_snapshot_app(), terminal_size=(120, 40), run_before=_press_m)


def test_snapshot_map_80x24(snap_compare) -> None:
    assert snap_compare(_snapshot_app(), terminal_size=(80, 24), run_before=_press_m)


async def test_d_drafts_a_policy_for_the_selected_workload_and_w_writes_it(tmp_path, monkeypatch) -> None:
    import yaml

    from tui.panes.policy_draft_screen import DraftScreen

    monkeypatch.chdir(tmp_path)
    app, pane = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        view = await open_map(pilot, pane)
        canvas = view.canvas
        picture = canvas.picture
        assert picture is not None
        postgres = next(n for n in picture.placed if n.label == "shop/postgres")
        canvas.selected = postgres
        await pilot.press("d")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DraftScreen) and screen.workload == postgres
        assert screen.drops  # loadgen -> postgres was denied: the draft keeps dropping it
        await pilot.press("w")
        await pilot.pause()
        written = tmp_path / "ebtop-policy-shop-postgres.yaml"
        policy = yaml.safe_load(written.read_text())
        assert policy["kind"] == "CiliumNetworkPolicy" and policy["metadata"]["namespace"] == "shop"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is pane.screen


async def test_view_map_flag_opens_the_pane_on_the_map() -> None:
    from pathlib import Path

    from tui.cli import build_parser
    from tui.wiring.flows import create_pane

    data = Path(__file__).parent / "data" / "hubble_flows.jsonl"
    pane = create_pane(build_parser().parse_args(["--hubble-file", str(data), "--view", "map"]))
    app = EbtopApp([pane])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        assert pane.view == "map" and isinstance(app.focused, FlowMap)


async def test_connect_view_lists_p50_p90_p99_by_destination_slowest_first() -> None:
    from tui.panes.flow_connect import ConnectTable

    app, pane = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("l")
        await pilot.pause()
        table = pane.query_one("#connect", ConnectTable)
        assert pane.view == "connect" and table.row_count >= 5
        rows = pane.store.service_map.connect.by_destination()
        first = [str(table.get_cell_at((0, i))) for i in range(6)]
        assert first[-1] == rows[0].destination and rows[0].destination.endswith(".example.com") or \
            rows[0].destination.endswith(".example.net")
        assert float(first[4]) == round(rows[0].p99_ms, 2)
        assert "TCP connect" in pane.query_one("#flows-header").render().plain  # type: ignore[attr-defined]
        table.move_cursor(row=0)
        await pilot.press("enter")
        shown = await drilled(pilot, pane)
        assert shown and all(r.response().flow.l4.HasField("TCP") for r in shown)
        assert all(rows[0].destination.split("/")[-1] in pane.render_record(r).plain for r in shown)
        await pilot.press("escape")
        await pilot.pause()
        assert pane.view == "connect"


async def test_policies_view_puts_the_demo_drop_first_and_enter_shows_its_flows() -> None:
    from tui.panes.flow_policies import PoliciesView

    app, pane = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        view = pane.query_one("#policies", PoliciesView)
        assert pane.view == "policies" and app.focused is view
        rows = view.rows_shown
        assert rows and rows[0].enforced and rows[0].policy == "default deny"
        assert any(r.source == "tools/loadgen" and r.destination == "shop/postgres" for r in rows)
        assert str(view.get_cell_at((0, 0))) == "DROPPED"
        first = rows[0]
        await pilot.press("enter")
        shown = await drilled(pilot, pane)
        assert len(shown) == first.flows
        assert all(r.response().flow.verdict == 2 for r in shown)  # DROPPED
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is pane.screen and pane.view == "policies" and pane.drill is None


def big_store(namespaces: int = 9, per_namespace: int = 9) -> FlowStore:
    """A cluster too big to draw: every workload calls the next three of its namespace and one outside it."""
    from tui.proto.flow import flow_pb2
    from tui.proto.observer import observer_pb2

    store = FlowStore(capacity=5000)

    def endpoint(ns: int, index: int) -> flow_pb2.Endpoint:
        endpoint = flow_pb2.Endpoint(namespace=f"team-{ns}", pod_name=f"svc{index}-0", identity=1000 + ns * 50 + index)
        endpoint.workloads.add(name=f"svc{index}", kind="Deployment")
        return endpoint

    for ns in range(namespaces):
        for index in range(per_namespace):
            targets = [(ns, (index + k) % per_namespace) for k in (1, 2, 3)] + [((ns + 1) % namespaces, index)]
            for dst_ns, dst in targets:
                flow = flow_pb2.Flow(verdict=flow_pb2.FORWARDED)
                flow.time.seconds = 1_760_000_000
                flow.IP.source, flow.IP.destination = f"10.{ns}.0.{index}", f"10.{dst_ns}.0.{dst}"
                flow.l4.TCP.source_port, flow.l4.TCP.destination_port = 40000, 8080
                flow.source.CopyFrom(endpoint(ns, index))
                flow.destination.CopyFrom(endpoint(dst_ns, dst))
                record = record_from_response(observer_pb2.GetFlowsResponse(flow=flow))
                assert record is not None
                store.add(record)
    return store


async def test_a_map_too_big_to_draw_is_a_grouped_edge_list_and_one_namespace_is_drawn() -> None:
    pane = FlowsPane(big_store(), None)
    app = EbtopApp([pane])
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_map(pilot, pane)
        assert view.listed and len(view.snapshot.nodes) == 81 and len(view.snapshot.edges) == 324
        text = screen_text(view)
        assert text.count("▶ ") == 324 and "── team-0 ──" in text and "team-1/svc0  8080/TCP" in text
        canvas = view.canvas
        first = canvas.selected
        await pilot.press("down")
        assert canvas.selected != first and canvas.picture.placed[canvas.selected].row > 0  # type: ignore[union-attr]
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, EdgesScreen) and len(app.screen.edges) == 8  # 4 out, 4 in
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("g")
        await pilot.pause()
        assert isinstance(app.screen, NamespaceScreen)
        await pilot.press("down", "enter")  # team-0
        await pilot.pause()
        assert view.group == "team-0" and not view.listed  # 9 + 2 neighbours' nodes, 36 edges: drawn
        assert "─ team-0 ─" in screen_text(view)
