"""The Processes pane with a real demo agent: the cache fills the tree, `y` lists the loaded policies."""

from __future__ import annotations

import time

import pytest
from textual.app import App
from textual.widgets import DataTable

from tui.demo.tetragon_server import BROKEN_POLICY, serve_tetragon
from tui.model.processes import ProcessForest
from tui.panes.processes import ProcessesPane
from tui.sources.tetragon import TetragonSource
from tui.sources.tetragon_state import state_source_for


@pytest.fixture()
def agent():
    server = serve_tetragon(rate=40.0, start_time=time.time() - 30)
    yield server
    server.stop()


async def test_cache_and_policies_view(agent) -> None:
    source = TetragonSource([agent.target])
    state = state_source_for(source)
    assert state is not None and state.targets == [agent.target]
    pane = ProcessesPane(source, forest=ProcessForest(), state=state)

    class Host(App):
        def compose(self):
            yield pane

    async with Host().run_test(size=(120, 30)) as pilot:
        pane.start()
        deadline = time.monotonic() + 15
        while not (pane.forest.counts["cached"] and pane._policies) and time.monotonic() < deadline:
            await pilot.pause(0.1)
            pane.tick(True)
        cached, status = pane.forest.counts["cached"], pane.status_line()
        pane.tree.focus()
        await pilot.press("y")
        await pilot.pause(0.2)
        shown = pane.has_class("-policies")
        table = pane.query_one("#policy-table", DataTable)
        rows = [[str(cell) for cell in table.get_row_at(r)] for r in range(table.row_count)]
        columns = [str(c.label) for c in table.columns.values()]
        await pilot.press("y")
        await pilot.pause(0.1)
        back = not pane.has_class("-policies")
        pane.stop()
    assert cached > 5 and "from the agent's cache" in status and "1 FAILED" in status
    assert shown and back
    assert columns[:8] == ["ID", "NAME", "STATE", "FILTERID", "NAMESPACE", "SENSORS", "KERNELMEMORY", "MODE"]
    assert rows[0][1] == BROKEN_POLICY and rows[0][2] == "! load_error" and "symbol not found" in rows[0][-1]
    assert all(row[2] == "enabled" for row in rows[1:]) and len(rows) == 4


async def test_rate_limit_event_is_shown_in_the_log_and_the_replay_goes_on(tmp_path) -> None:
    from textual.widgets import RichLog

    from tui.proto.jsonlines import format_line
    from tui.proto.tetragon import events_pb2
    from tui.sources.event_replay import ReplaySource

    def exec_line(exec_id: str, binary: str, pid: int) -> str:
        response = events_pb2.GetEventsResponse(node_name="n1")
        response.process_exec.process.exec_id, response.process_exec.process.binary = exec_id, binary
        response.process_exec.process.pid.value = pid
        response.time.seconds = 100
        return format_line(response)

    limited = events_pb2.GetEventsResponse(node_name="n1")
    limited.rate_limit_info.number_of_dropped_process_events = 42
    limited.time.seconds = 100
    path = tmp_path / "events.json"
    path.write_text("\n".join([exec_line("a", "/bin/a", 10), format_line(limited), exec_line("b", "/bin/b", 11)]) + "\n")
    pane = ProcessesPane(ReplaySource(str(path)), forest=ProcessForest(), live_clock=False)

    class Host(App):
        def compose(self):
            yield pane

    async with Host().run_test(size=(120, 30)) as pilot:
        pane.start()
        deadline = time.monotonic() + 10
        while len(pane.forest) < 2 and time.monotonic() < deadline:
            await pilot.pause(0.1)
            pane.tick(True)
        pane.tick(True)
        await pilot.pause(0.1)
        log = "\n".join(line.text for line in pane.query_one("#process-log", RichLog).lines)
        status = pane.status_line()
        procs = len(pane.forest)
        pane.stop()
    assert "42 events dropped by the agent's rate limit" in log and "cannot render" not in log
    assert log.index("/bin/a") < log.index("42 events dropped") < log.index("/bin/b")
    assert procs == 2 and "agent rate limit dropped 42" in status
