"""Relay's nodes in the Flows pane (`a`): GetNodes from the demo server over gRPC, node events at once."""

from __future__ import annotations

import time

from textual.app import App
from textual.widgets import DataTable

from tui.demo.hubble_server import serve_hubble
from tui.model.flows import FlowStore, record_from_response
from tui.model.hubble_nodes import NodeTable
from tui.panes.flows import FlowsPane
from tui.proto.observer import observer_pb2
from tui.proto.relay import relay_pb2
from tui.sources.hubble_nodes import HubbleNodesSource
from tui.sources.hubble_tls import Endpoint


def _status(state: int, *names: str, message: str = "") -> observer_pb2.GetFlowsResponse:
    response = observer_pb2.GetFlowsResponse(node_name="relay")
    response.node_status.state_change = state
    response.node_status.node_names.extend(names)
    response.node_status.message = message
    return response


def test_get_nodes_from_the_demo_server() -> None:
    server = serve_hubble(rate=0, history=10)
    try:
        source = HubbleNodesSource(Endpoint(server.target))
        assert source.poll()
        snapshot = source.buffer.drain()[0]
        source.stop()
    finally:
        server.stop()
    table = NodeTable()
    table.apply_nodes(snapshot.nodes, snapshot.when)
    assert [n.state_word for n in table.rows()] == ["connected"] * len(snapshot.nodes) and len(snapshot.nodes) >= 2
    assert all(n.version and n.address.endswith(":4244") and n.max_flows for n in table.rows())
    assert sum(n.num_flows for n in table.rows()) == 10  # the server's history, split by node
    assert all(n.seen_flows >= n.num_flows and n.tls.endswith(".hubble-grpc.cilium.io") for n in table.rows())


def test_node_events_update_the_table_and_log_the_change() -> None:
    table = NodeTable()
    table.apply_status(_status(relay_pb2.NODE_CONNECTED, "a", "b").node_status, 1.0)
    assert not table.changes  # the first sighting is not a change
    table.apply_status(_status(relay_pb2.NODE_ERROR, "b", message="tls: bad certificate").node_status, 2.0)
    table.apply_status(_status(relay_pb2.NODE_GONE, "a").node_status, 3.0)
    assert [n.name for n in table.rows()] == ["b", "a"]  # problems first
    assert table.nodes["b"].message == "tls: bad certificate"
    assert [text for _, text in table.changes] == ["b: error (tls: bad certificate)", "a: gone"]
    assert table.counts() == {"error": 1, "gone": 1}


async def test_nodes_view_in_the_pane() -> None:
    server = serve_hubble(rate=0, history=10)
    nodes = HubbleNodesSource(Endpoint(server.target), interval=0.2)
    pane = FlowsPane(FlowStore(capacity=100, window=60), None, nodes_source=nodes)

    class Host(App):
        def compose(self):
            yield pane

    try:
        async with Host().run_test(size=(120, 30)) as pilot:
            pane.start()
            deadline = time.monotonic() + 10
            while not pane.nodes.polled and time.monotonic() < deadline:
                await pilot.pause(0.1)
                pane.tick(True)
            await pilot.press("a")
            await pilot.pause(0.2)
            record = record_from_response(_status(relay_pb2.NODE_UNAVAILABLE, "worker-1"))
            pane.ingest(None, [record])  # a peer change arriving in the flow stream
            pane.refresh_view()
            await pilot.pause(0.2)
            grid = pane.query_one("#nodes-table", DataTable)
            rows = [[str(cell) for cell in grid.get_row_at(r)] for r in range(grid.row_count)]
            header = pane.query_one("#flows-header").render()
            view = pane.view
            pane.stop()
    finally:
        server.stop()
    assert view == "nodes"
    assert rows[0][:2] == ["worker-1", "! unavailable"]
    assert all(row[1] == "connected" for row in rows[1:]) and len(rows) >= 2
    assert "nodes " in str(header)


def test_demo_relay_stream_starts_with_the_connected_nodes() -> None:
    import grpc

    from tui.proto.observer import observer_pb2_grpc

    server = serve_hubble(rate=0, history=5, node_events=True)
    try:
        with grpc.insecure_channel(server.target) as channel:
            stream = observer_pb2_grpc.ObserverStub(channel).GetFlows(observer_pb2.GetFlowsRequest(number=2), timeout=10)
            responses = list(stream)
    finally:
        server.stop()
    first = responses[0]
    assert first.WhichOneof("response_types") == "node_status"
    assert first.node_status.state_change == relay_pb2.NODE_CONNECTED and list(first.node_status.node_names)
    assert [r.WhichOneof("response_types") for r in responses[1:]] == ["flow", "flow"]
    table = NodeTable()
    table.apply_status(first.node_status, 1.0)
    assert all(n.state_word == "connected" for n in table.rows())
