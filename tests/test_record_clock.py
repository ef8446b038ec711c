"""One record dated far ahead (a node whose clock is an hour fast) must not move the models' clocks.

The process tree's retention and the flow windows count from the record clock: it used to be the
newest record time, so one exit an hour ahead pruned every later exited process and one flow an hour
ahead slid Top talkers to count only that flow. Both live (wall-clock times) and replayed (1970) cases.
"""

from __future__ import annotations

import time

from tests.test_flows_model import add, pod, response
from tests.test_process_forest import exec_, exit_, proc
from tui.model.clock import CONFIRM, RecordClock
from tui.model.flows import FlowStore
from tui.model.processes import ProcessForest
from tui.proto.tetragon import events_pb2

HOUR = 3600


def at(event: events_pb2.GetEventsResponse, seconds: float) -> events_pb2.GetEventsResponse:
    event.time.FromNanoseconds(int(seconds * 1e9))
    return event


def test_one_future_exit_does_not_prune_later_exited_processes() -> None:
    now = time.time()
    forest = ProcessForest(retention=60)
    for pid in range(11, 20):
        process = proc(f"p{pid}", pid, "/bin/true", start=100)
        forest.add_many([at(exec_(process), now - 5), at(exit_(process), now - 4)])
    forest.add(at(exec_(proc("p10", 10, "/bin/sleep")), now + HOUR))  # from a node an hour fast
    forest.prune(max(forest.clock, time.time()))  # what the live pane does every tick
    assert {f"p{pid}" for pid in range(11, 20)} <= set(forest.nodes), sorted(forest.nodes)
    assert forest.clock < now + 60 and forest.skewed == 1


def test_replayed_outlier_does_not_move_the_tree_clock() -> None:
    forest = ProcessForest(retention=60)
    forest.add(exec_(proc("a", 2, "/bin/a"), t=100))
    forest.add(at(exit_(proc("a", 2, "/bin/a")), 100 + HOUR))  # outlier in a file from 1970
    for pid in range(3, 8):
        process = proc(f"p{pid}", pid, "/bin/true")
        forest.add_many([exec_(process, t=101), exit_(process, t=102)])
    forest.prune()
    assert forest.clock == 102 and {f"p{pid}" for pid in range(3, 8)} <= set(forest.nodes)


def test_one_future_flow_does_not_empty_top_talkers() -> None:
    now = int(time.time())
    store = FlowStore()
    for offset in range(10):
        add(store, response(now - 10 + offset, src=pod("shop", "api"), dst=pod("shop", "db")))
    add(store, response(now + HOUR, src=pod("edge", "fast-node"), dst=pod("shop", "db")))
    add(store, response(now, src=pod("shop", "api"), dst=pod("shop", "db")))
    talkers = {row.source: row.flows for row in store.aggregates.top_talkers()}
    assert talkers == {"shop/api": 11, "edge/fast-node": 1}, talkers
    assert store.newest_second == now and store.skewed == 1


def test_a_replay_that_really_skips_ahead_is_followed() -> None:
    """A quiet hour in a replayed file: after CONFIRM records in a row the clock follows."""
    clock = RecordClock(wall=lambda: 10_000.0)
    assert clock.observe(100.0)
    assert not clock.observe(100.0 + HOUR)  # one outlier so far
    assert clock.observe(101.0) and clock.now == 101.0
    for index in range(CONFIRM):
        followed = clock.observe(200.0 + HOUR + index)
    assert followed and clock.now == 200.0 + HOUR + CONFIRM - 1 and clock.skewed == 1
    assert not clock.observe(10_000.0 + HOUR)  # never ahead of the wall clock




async def test_processes_status_counts_events_dated_ahead() -> None:
    from tests.test_processes_pane import demo_events, make_app, settle

    events = demo_events(20)
    ahead = events_pb2.GetEventsResponse()
    ahead.CopyFrom(events[5])
    ahead.time.seconds += HOUR  # one event from a node an hour fast, amid a replayed capture
    app, pane = make_app([*events[:10], ahead, *events[10:]])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, pane)
        assert "1 dated ahead" in pane.status_line(), pane.status_line()
