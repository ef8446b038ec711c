"""Property-based fuzzing: the compact formatters and the process forest never fall over.

Random messages come from the schemas themselves (every field, unknown enum numbers, control
characters, markup, extreme numbers); the forest also gets event sequences drawn from a small pool
of ids so that parents, exits, replacements and cycles really link up.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.proto_strategies import TEXT, messages
from tui.model.processes import ProcessForest
from tui.proto.observer import observer_pb2
from tui.proto.tetragon import events_pb2, tetragon_pb2
from tui.render import hubble_compact, tetra_compact

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                           HealthCheck.data_too_large])
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

FLOW_RESPONSES = messages(observer_pb2.GetFlowsResponse.DESCRIPTOR, observer_pb2.GetFlowsResponse)
EVENT_RESPONSES = messages(events_pb2.GetEventsResponse.DESCRIPTOR, events_pb2.GetEventsResponse)


@SETTINGS
@given(FLOW_RESPONSES, st.booleans(), st.booleans(), st.booleans())
def test_hubble_compact_never_raises(response, node_name: bool, translate: bool, policy_names: bool) -> None:
    opts = hubble_compact.CompactOptions(node_name=node_name, ip_translation=translate, policy_names=policy_names)
    plain = hubble_compact.response_line(response, opts)
    hubble_compact.response_line(response, opts, color=True)
    if plain is not None:
        assert "\x1b" not in plain and "\r" not in plain
    if response.HasField("flow"):
        text = hubble_compact.flow_rich_text(response.flow, opts)
        assert not RAW_CONTROL.search(text.plain)


@SETTINGS
@given(EVENT_RESPONSES, st.booleans())
def test_tetra_compact_never_raises_beyond_its_documented_error(response, timestamps: bool) -> None:
    try:
        plain = tetra_compact.render_line(response, timestamps=timestamps)
        tetra_compact.render_line(response, color=True, timestamps=timestamps)
        tetra_compact.render_extra_lines(response)
        text = tetra_compact.render_text(response, timestamps=timestamps)
    except tetra_compact.CompactEncodeError:
        return  # what `tetra getevents -o compact` also refuses: reported, not fatal, in batch mode
    assert "\x1b" not in plain
    assert not RAW_CONTROL.search(text.plain)


# --- the forest: events over a small pool of ids so that they link -----------------------------

EXEC_IDS = ["", "a", "b", "c", "d", "e", "kernel"]


@st.composite
def pooled_process(draw: st.DrawFn) -> tetragon_pb2.Process:
    process = tetragon_pb2.Process(
        exec_id=draw(st.sampled_from(EXEC_IDS)),
        parent_exec_id=draw(st.sampled_from(EXEC_IDS)),
        binary=draw(st.sampled_from(["/bin/sh", "/usr/bin/curl", "/bin/cat", "<kernel>", ""]) | TEXT),
        arguments=draw(TEXT),
        flags=draw(st.sampled_from(["execve clone", "execve", "procFS", "unknown", ""])),
    )
    if draw(st.booleans()):
        process.pid.value = draw(st.integers(0, 6))
    if draw(st.booleans()):
        process.start_time.seconds = draw(st.integers(0, 100))
    if draw(st.booleans()):
        process.pod.namespace = draw(st.sampled_from(["shop", "kube-system", ""]))
        process.pod.name = draw(st.sampled_from(["api-1", "web-2"]) | TEXT)
    return process


@st.composite
def pooled_event(draw: st.DrawFn) -> events_pb2.GetEventsResponse:
    response = events_pb2.GetEventsResponse(node_name=draw(st.sampled_from(["n1", "n2", ""])))
    response.time.seconds = draw(st.integers(0, 400))
    kind = draw(st.sampled_from(["exec", "exit", "kprobe", "random"]))
    if kind == "random":
        return draw(EVENT_RESPONSES)
    event = getattr(response, {"exec": "process_exec", "exit": "process_exit", "kprobe": "process_kprobe"}[kind])
    event.process.CopyFrom(draw(pooled_process()))
    if draw(st.booleans()):
        event.parent.CopyFrom(draw(pooled_process()))
    if kind == "exit":
        event.status = draw(st.integers(0, 255))
        event.signal = draw(st.sampled_from(["", "SIGKILL", "SIGSEGV"]))
    elif kind == "kprobe":
        event.function_name = draw(st.sampled_from(["fd_install", "tcp_connect", "security_file_permission"]))
        event.policy_name = draw(TEXT)
        arg = event.args.add()
        arg.file_arg.path = draw(st.sampled_from(["/etc/shadow", "/tmp/x"]) | TEXT)
    else:
        for _ in range(draw(st.integers(0, 2))):
            event.ancestors.add().CopyFrom(draw(pooled_process()))
    return response


@SETTINGS
@given(st.lists(pooled_event(), max_size=60), st.integers(3, 40), st.floats(0, 120))
def test_forest_never_raises_and_stays_bounded(events, max_nodes: int, retention: float) -> None:
    forest = ProcessForest(retention=retention, max_nodes=max_nodes)
    for index, event in enumerate(events):
        forest.add(event)
        if index % 7 == 0:
            forest.prune(now=float(index * 10))
        forest.take_changes()
    forest.prune(now=1e6)
    for node in list(forest.nodes.values()):
        chain = forest.chain(node)  # must terminate: cycles are guarded
        assert len(chain) <= len(forest.nodes) + 1
    list(forest.roots())
    assert len(forest.nodes) <= max_nodes + 8  # the cap, with room for the placeholders one event makes
