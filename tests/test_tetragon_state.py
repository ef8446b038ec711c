"""Process-cache bootstrap and tracing policies over real gRPC, against the demo agent.

The demo agent starts its timeline 30 s in the past, so the pods' entrypoints were exec'd before this
client connected: a live stream never carries their execs, only the process cache does.
"""

from __future__ import annotations

import time

import grpc
import pytest

from tui.demo.tetragon_server import BROKEN_POLICY, DEMO_POLICIES, serve_tetragon
from tui.model.processes import ProcessForest, exec_id_node
from tui.proto.tetragon import events_pb2, sensors_pb2, sensors_pb2_grpc
from tui.sources.base import SourceState
from tui.sources.tetragon_state import (
    PolicyList,
    ProcessCacheDump,
    TetragonStateSource,
    fetch_process_cache,
    list_tracing_policies,
)


@pytest.fixture()
def agent():
    server = serve_tetragon(rate=40.0, start_time=time.time() - 30)
    yield server
    server.stop()


def _channel(target: str) -> grpc.Channel:
    return grpc.insecure_channel(target)


def _wait(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_dump_holds_processes_started_before_the_client(agent) -> None:
    with _channel(agent.target) as channel:
        processes = fetch_process_cache(channel)
        first = next(iter(sensors_pb2_grpc.FineGuidanceSensorsStub(channel).GetEvents(
            events_pb2.GetEventsRequest(), timeout=10)))
    assert len(processes) > 5
    assert all(p.exec_id for p in processes)
    starts = [p.start_time.ToNanoseconds() for p in processes]
    assert starts == sorted(starts)
    assert min(starts) < first.time.ToNanoseconds() - 20 * 10**9  # older than anything the stream sends
    pods = {p.pod.name for p in processes if p.HasField("pod")}
    assert len(pods) >= 3
    assert all(exec_id_node(p.exec_id) for p in processes)


def test_cache_fills_the_tree_before_the_first_event(agent) -> None:
    source = TetragonStateSource([agent.target], _channel, policies=False)
    source.start()
    try:
        _wait(lambda: len(source.buffer) > 0)
        items = source.buffer.drain()
    finally:
        source.stop()
    dump = items[0]
    assert isinstance(dump, ProcessCacheDump) and dump.target == agent.target
    forest = ProcessForest()
    added = forest.bootstrap(dump.processes)
    assert added == len(dump.processes) >= len(forest)  # an image exec'd in place merges with its successor
    assert forest.counts["events"] == 0  # no event ingested yet
    nodes = [forest.get(p.exec_id) for p in dump.processes]
    assert all(node is not None and not node.placeholder and node.binary for node in nodes)
    with_pods = [node for node in nodes if node.group[2]]
    assert with_pods and all(node.group[0] for node in with_pods)  # node name from the exec_id
    # a child exec'd later links under its cached parent instead of a placeholder
    parent = next(p for p in dump.processes if p.HasField("pod"))
    later = events_pb2.GetEventsResponse(node_name=exec_id_node(parent.exec_id))
    child = later.process_exec.process
    child.exec_id, child.parent_exec_id, child.binary, child.flags = "child-1", parent.exec_id, "/bin/true", "execve clone"
    child.pid.value = 99_999
    forest.add(later)
    assert forest.get("child-1").parent_id == parent.exec_id
    assert not forest.get(parent.exec_id).placeholder


def test_bootstrap_keeps_what_events_already_said() -> None:
    forest = ProcessForest()
    seen = events_pb2.GetEventsResponse(node_name="n1")
    proc = seen.process_exec.process
    proc.exec_id, proc.binary, proc.arguments = "a", "/bin/new", "x"
    proc.pid.value = 10
    forest.add(seen)
    stale = events_pb2.GetEventsResponse().process_exec.process
    stale.exec_id, stale.binary = "a", "/bin/old"
    assert forest.bootstrap([stale], node_name="n1") == 0
    assert forest.get("a").binary == "/bin/new"


def test_state_source_dumps_again_when_the_stream_comes_back(agent) -> None:
    state = {"now": SourceState.CONNECTING}
    source = TetragonStateSource([agent.target], _channel, lambda: state["now"], policies=False)
    source.start()
    try:
        time.sleep(0.6)
        assert len(source.buffer) == 0  # no dump until the event stream is up
        state["now"] = SourceState.STREAMING
        _wait(lambda: source.dumps == 1)
        state["now"] = SourceState.RETRYING
        time.sleep(0.6)
        state["now"] = SourceState.STREAMING
        _wait(lambda: source.dumps == 2)
    finally:
        source.stop()
    assert all(isinstance(item, ProcessCacheDump) for item in source.buffer.drain())


def test_list_tracing_policies_from_the_demo_agent(agent) -> None:
    with _channel(agent.target) as channel:
        policies = list_tracing_policies(channel)
    by_name = {p.name: p for p in policies}
    assert set(by_name) == {*DEMO_POLICIES, BROKEN_POLICY}
    broken = by_name[BROKEN_POLICY]
    assert broken.state == sensors_pb2.TP_STATE_LOAD_ERROR and broken.error
    assert all(by_name[name].state == sensors_pb2.TP_STATE_ENABLED for name in DEMO_POLICIES)
    join = by_name["ebtop-join-sockets"]
    assert join.stats.action_counters.post > 0 and join.sensors == ["generic_kprobe"]


def test_state_source_lists_policies(agent) -> None:
    source = TetragonStateSource([agent.target], _channel, dump=False, policy_interval=0.2)
    source.start()
    try:
        _wait(lambda: len(source.buffer) >= 2)
    finally:
        source.stop()
    lists = source.buffer.drain()
    assert all(isinstance(item, PolicyList) for item in lists)
    assert {p.name for p in lists[0].policies} >= set(DEMO_POLICIES)


def test_unreachable_agent_is_a_problem_not_a_crash() -> None:
    source = TetragonStateSource(["127.0.0.1:9"], _channel, dump=True, policy_interval=60)
    source.start()
    try:
        _wait(lambda: bool(source.problems), timeout=20)
    finally:
        source.stop()
    assert "UNAVAILABLE" in source.problems[0]


def test_kprobe_return_value_reaches_the_tree_and_detail() -> None:
    from tui.model.process_events import PolicyEvent, policy_event

    response = events_pb2.GetEventsResponse(node_name="n1")
    kprobe = response.process_kprobe
    kprobe.process.exec_id, kprobe.process.binary = "p1", "/usr/bin/cat"
    kprobe.function_name, kprobe.policy_name = "security_file_permission", "sensitive-files"
    kprobe.action = 3  # SIGKILL
    kprobe.args.add().file_arg.path = "/etc/shadow"
    getattr(kprobe, "return").int_arg = -13
    event = PolicyEvent(*policy_event("process_kprobe", kprobe, 1.0))
    assert (event.policy, event.action) == ("sensitive-files", "SIGKILL")
    assert event.detail == "/etc/shadow ret=-13"
    forest = ProcessForest()
    forest.add(response)
    assert forest.get("p1").policy_events()[0].detail.endswith("ret=-13")
