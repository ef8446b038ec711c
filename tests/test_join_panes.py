"""The flow/process join in the panes, under Pilot, fed by the demo servers over real loopback gRPC.

Both demo servers run in this process with one known scenario start, so each flow maps back to its
episode in the shared timeline (tui/demo/cluster.py): the truth for "which process" comes from the
episode (a curl exec'd in the client's pod at the episode's time), never from the join under test.
Seen on screen: the Flows `o` column, the flow detail's process / parents / pod, `j` selecting the
process in the Processes tree, the [dropped] mark and DROPPED (reason) the Processes pane labels the
dropped curl's row and event with, and Talkers broken down by process (`o` on a row), ICMP rows
without port 0.
"""

from __future__ import annotations

import itertools
import os
import re

import pytest
from rich.text import Text
from textual.widgets import Input, Static

from tests.helpers.pilot import until
from tui.app import EbtopApp
from tui.cli import FAMILIES, build_parser
from tui.demo.cluster import EXTERNALS, Episode, episodes, pod_by_app
from tui.demo.hubble_server import serve_hubble
from tui.demo.runner import shared_start_time
from tui.demo.tetragon_server import serve_tetragon
from tui.model.flows import RecordKind
from tui.model.process_events import PolicyEvent
from tui.panes import process_join
from tui.panes.detail import DetailScreen
from tui.panes.flow_views import AggregateTable
from tui.panes.process_join import DROPPED_MARK
from tui.panes.talker_breakdown import TalkerBreakdown

SEED, RATE = 1, 40.0
WAIT = 900  # pauses of 0.1 s: the shared box may be loaded
FRONTEND, = pod_by_app("frontend")
LOADGEN, = pod_by_app("loadgen")
STORAGE = next(ext for ext in EXTERNALS if ext.fqdn.startswith("objects.storage."))


@pytest.fixture
def demo():
    """Fresh servers per test: a client that connects minutes after the start first gets the whole
    Tetragon history, and its live socket events come late while that is read."""
    start = shared_start_time(SEED, RATE)
    hubble = serve_hubble("127.0.0.1:0", seed=SEED, rate=RATE, start_time=start)
    tetragon = serve_tetragon("127.0.0.1:0", seed=SEED, rate=RATE, start_time=start)
    yield start, hubble, tetragon
    hubble.stop()
    tetragon.stop()


def make_app(demo):
    _, hubble, tetragon = demo
    args = build_parser().parse_args(["--hubble-server", hubble.target, "--tetragon-server", tetragon.target])
    args.config_notices = []
    flows, processes = FAMILIES["flows"].create_pane(args), FAMILIES["processes"].create_pane(args)
    return EbtopApp([flows, processes]), flows, processes


def external_episode(start: float, flow) -> Episode | None:
    """The `external` episode (curl in a pod) a flow to the outside belongs to, from the timeline."""
    t = flow.time.ToNanoseconds() / 1e9 - start
    sport = flow.l4.TCP.source_port
    for ep in itertools.takewhile(lambda e: e.t < t + 3, episodes(SEED, RATE)):
        if ep.kind == "external" and ep.src.ip == flow.IP.source and ep.params["sport"] == sport \
                and abs(ep.t - t) < 3:
            return ep
    return None


def find_curl_flow(pane, src_ip: str, dst_ip: str, dropped: bool):
    """The newest flow src -> dst:443 whose process is known and still in the Processes tree, its
    parent too (the tree may learn of a process before its ancestry: not what is tested here)."""
    forest = pane.joiner.forest
    for record in reversed(pane.store.ring):
        if record.kind is not RecordKind.FLOW or (record.verdict == 2) != dropped:
            continue
        flow = record.response().flow
        if flow.IP.source != src_ip or flow.IP.destination != dst_ip or flow.l4.TCP.destination_port != 443:
            continue
        process = pane.process_of(record)
        if process is not None and (not dropped or process.exec_id in pane.joiner.dropping):
            node = forest.get(process.exec_id)
            if node is not None and (not node.exited or node.exit_time > forest.clock - 20) \
                    and forest.get(node.parent_id) is not None:
                return record, flow, process
    return None


def check_curl(start: float, processes, flow, process, client) -> None:
    """The process is the curl the flow's episode exec'd in the client's pod at the episode's time."""
    ep = external_episode(start, flow)
    assert ep is not None and ep.src is client
    assert process.binary == "/usr/bin/curl" and process.pod == client.name
    node = processes.forest.get(process.exec_id)
    assert node is not None and node.pid == process.pid and node.group[2] == client.name
    assert abs(node.start - (start + ep.t)) < 0.01, "a curl of another episode"


async def isolate(pilot, pane, record, flow) -> int:
    """Filter the list down to the flow's connection at its millisecond (pasted after `/`); its row index.

    Only flows of that one connection match (hubble prints several observation points at one time),
    so whichever row the keys land on has the same process.
    """
    plain = pane.render_record(record).plain
    needle = re.search(rf"\d\d:\d\d:\d\d\.\d+: \S+:{flow.l4.TCP.source_port} ", plain).group(0)
    await pilot.press("slash")
    pane.query_one("#flows-filter", Input).insert_text_at_cursor(needle)
    await pilot.press("enter")
    assert await until(pilot, lambda: not pane._filter_filling()
                       and any(r.seq == record.seq for r in pane.flow_list.rows), WAIT)
    return next(i for i, r in enumerate(pane.flow_list.rows) if r.seq == record.seq)


async def test_flows_process_column_and_detail_show_the_curl_and_j_selects_it(demo) -> None:
    start = demo[0]
    app, pane, processes = make_app(demo)
    dst = STORAGE.ip
    async with app.run_test(size=(120, 40)) as pilot:
        assert await until(pilot, lambda: find_curl_flow(pane, FRONTEND.ip, dst, False) is not None, WAIT)
        record, flow, process = find_curl_flow(pane, FRONTEND.ip, dst, False)
        check_curl(start, processes, flow, process, FRONTEND)
        await pilot.press("o")
        assert pane.show_process
        index = await isolate(pilot, pane, record, flow)
        flow_list = pane.flow_list
        assert await until(pilot, lambda: flow_list.scroll_y <= index < flow_list.scroll_y + flow_list.size.height)
        shown = flow_list.render_line(index - int(flow_list.scroll_y)).text
        assert shown.startswith(f"{process.pid:>7} curl "), shown  # the `o` column: pid and binary
        await pilot.press("home", *["down"] * index, "enter")
        assert await until(pilot, lambda: isinstance(app.screen, DetailScreen))
        body = app.screen.query_one("#detail-body", Static).visual
        text = body.plain if isinstance(body, Text) else str(body)
        assert f"pid {process.pid} /usr/bin/curl" in text
        assert f"pod {FRONTEND.namespace}/{FRONTEND.name}" in text
        # `sh -c curl` was forked by the pod's main process and exec'd curl (same pid): the chain is
        # the shell's image (unless the tree merged it into curl), then the entrypoint; never curl itself
        entry = re.escape(f"{os.path.basename(FRONTEND.entrypoint[0])}({FRONTEND.pid})")
        assert re.search(rf"parents       (sh\({process.pid}\) <- )?{entry} <- ", text), text[:1000]
        await pilot.press("j")
        assert await until(pilot, lambda: app.screen is not None and not isinstance(app.screen, DetailScreen))
        shown_as = processes.forest.get(process.exec_id).exec_id  # the forest may file it under its shell's id
        assert await until(pilot, lambda: processes.tree.cursor_node is not None
                           and processes.tree.cursor_node.data == ("proc", shown_as)), processes.tree.cursor_node
        assert app.query_one("TabbedContent").active == "processes"


async def test_the_dropped_curl_is_marked_on_its_process_with_the_reason_under_its_event(demo) -> None:
    """What the Processes pane labels its rows with (process_join), for the demo's dropped curl."""
    start = demo[0]
    app, pane, processes = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        assert await until(pilot, lambda: find_curl_flow(pane, LOADGEN.ip, STORAGE.ip, True) is not None, WAIT)
        _, flow, process = find_curl_flow(pane, LOADGEN.ip, STORAGE.ip, True)
        check_curl(start, processes, flow, process, LOADGEN)
        node = processes.forest.get(process.exec_id)
        assert DROPPED_MARK in process_join.mark_row(pane.joiner, node, Text("curl")).plain
        connect = f"{flow.IP.source}:{flow.l4.TCP.source_port} -> {flow.IP.destination}:443"

        def event_labels() -> list[str]:
            return [process_join.with_verdict(pane.joiner, node, index, Text("")).plain
                    for index, event in enumerate(node.events) if connect in PolicyEvent(*event).detail]

        assert await until(pilot, lambda: any(label.startswith(" -> DROPPED (Policy denied)")
                                              for label in event_labels()), WAIT), event_labels()


async def test_talkers_break_a_row_down_by_process_and_icmp_has_no_port(demo) -> None:
    app, pane, processes = make_app(demo)
    talker = f"{FRONTEND.namespace}/{FRONTEND.workload}\x1f{STORAGE.fqdn}\x1f443\x1fTCP"
    async with app.run_test(size=(120, 40)) as pilot:
        assert await until(pilot, lambda: pane.store.seq > 0, WAIT)  # flows arrive: the app takes keys
        # ... once the start-up focus is in the pane: a key sent while the tab strip had it went nowhere
        assert await until(pilot, lambda: app.focused is pane.flow_list, WAIT), app.focused
        await pilot.press("t")
        assert await until(pilot, lambda: pane.view == "talkers", WAIT), (app.focused, app.query_one("#tabs").active)
        table = pane.query_one("#talkers", AggregateTable)

        def row_of(key: str):
            return next((i for i in range(table.row_count)
                         if table.coordinate_to_cell_key((i, 0)).row_key.value == key), None)

        def icmp_ports() -> list[str]:
            return [str(table.get_cell_at((i, 4))) for i in range(table.row_count)
                    if str(table.get_cell_at((i, 3))).strip().startswith("ICMP")]

        def mostly_joined() -> bool:
            """Flows of the Hubble history older than the socket index's memory stay unknown: wait
            for live flows, joined as they come."""
            shares = pane.talker_processes.shares((*talker.split("\x1f")[:2], 443, "TCP"))
            return any(s.known for s in shares)

        assert await until(pilot, lambda: bool(icmp_ports()) and row_of(talker) is not None and mostly_joined(),
                           2 * WAIT), (icmp_ports(), row_of(talker), mostly_joined(), table.row_count,
                                       [table.coordinate_to_cell_key((i, 0)).row_key.value for i in range(table.row_count)])
        assert all(port.strip() == "-" for port in icmp_ports()), icmp_ports()  # no `0` port for ICMP
        table.move_cursor(row=row_of(talker), animate=False)
        await pilot.press("o")
        assert await until(pilot, lambda: isinstance(app.screen, TalkerBreakdown))
        breakdown = app.screen
        shares = breakdown.shares()
        known = [s for s in shares if s.known]
        assert known
        for share in known:  # every process is a curl of the frontend pod
            assert share.binary == "/usr/bin/curl" and share.pod == f"{FRONTEND.namespace}/{FRONTEND.name}", share
            assert share.dropped == 0 and share.forwarded == share.flows
        def listed() -> bool:
            """Every known process is in the table (it is redrawn every REFRESH_SECONDS; shares are live)."""
            rows = {str(breakdown.table.get_cell_at((i, 3))).strip() for i in range(breakdown.table.row_count)}
            return {str(s.pid) for s in breakdown.shares() if s.known} <= rows

        assert await until(pilot, listed, WAIT)
        await pilot.press("escape")
        assert await until(pilot, lambda: not isinstance(app.screen, TalkerBreakdown))
