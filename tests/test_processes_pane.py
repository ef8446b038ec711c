"""The Processes pane through Textual's Pilot, and deterministic SVG snapshots at 80x24 and 120x40."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from rich.text import Text
from textual.widgets import RichLog

from tui.app import EbtopApp
from tui.model.processes import ProcessForest
from tui.panes.process_detail import ProcessDetailScreen
from tui.panes.processes import ProcessesPane
from tui.proto.tetragon import events_pb2
from tui.sources.base import BoundedBuffer, Source, SourceState
from tui.sources.event_replay import iter_events


class FixedSource(Source[Any]):
    """A source with fixed events and a fixed status (no thread): what snapshots need."""

    def __init__(self, responses: list[Any], description: str = "replaying fixture.json") -> None:
        super().__init__("fixture", BoundedBuffer(100_000))
        self.buffer.put_many(responses)
        self.status.set(SourceState.STREAMING, description)
        self.started = self.stopped = False

    def start(self) -> None:
        self.started = True

    def stop(self, timeout: float = 2.0) -> None:
        self.stopped = True

    def describe(self, now: float | None = None) -> str:
        return self.status.get().reason

    def facts(self) -> list[str]:
        return ["tetragon v1.7.0-demo"]


FIXTURE = Path(__file__).parent / "data" / "processes_pane.jsonl"


def demo_events(count: int) -> list[Any]:
    """The first `count` events of a frozen demo capture (seed 1, 50 episodes/s, fixed start time)."""
    with FIXTURE.open() as handle:
        return list(itertools.islice(iter_events(handle), count))


def make_app(responses: list[Any], **kwargs: Any) -> tuple[EbtopApp, ProcessesPane]:
    pane = ProcessesPane(FixedSource(responses), forest=ProcessForest(retention=3600), live_clock=False, **kwargs)
    return EbtopApp([pane], initial="processes"), pane


async def settle(pilot: Any, pane: ProcessesPane) -> None:
    pane.tick(True)
    await pilot.pause()
    await pilot.pause()


async def test_tree_groups_node_namespace_pod_and_links_processes() -> None:
    app, pane = make_app(demo_events(60))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, pane)
        assert pane.source.started
        labels = [str(item.label) for item in pane._groups.values()]
        assert any(label.startswith("node worker-1") for label in labels)
        assert any(label.startswith("namespace shop") for label in labels)
        assert any(label.startswith("pod loadgen-84b6c7d5f9-r8vts") for label in labels)
        for exec_id, item in pane._items.items():  # each process hangs under its parent, else its group
            node = pane.forest.nodes[exec_id]
            parent = pane.forest.display_parent(node)
            if parent is not None:
                assert item.parent is pane._items[parent.exec_id], node.binary
            else:
                assert item.parent is pane._groups[node.group if node.group[2] else node.group[:1]], node.binary
        curls = [n for n in pane.forest.nodes.values() if n.binary == "/usr/bin/curl" and n.exec_id in pane._items]
        shells = {pane._items[n.exec_id].parent.data[1] for n in curls if n.group[2].startswith("loadgen")}
        assert [pane.forest.nodes[exec_id].binary for exec_id in shells] == ["/bin/sh"]  # loadgen's curl loop
        assert "Processes" in pane.status_line() and "procs" in pane.status_line()
        log = pane.query_one("#process-log", RichLog)
        assert len(log.lines) == 60  # every event: fewer than LOG_LINES, so no "… N more events" line


async def test_states_are_told_apart_without_colour() -> None:
    app, pane = make_app(demo_events(60))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, pane)
        labels = {exec_id: item.label.plain for exec_id, item in pane._items.items()}
        killed = [text for text in labels.values() if "SIGKILL" in text]
        failed = [text for text in labels.values() if "exit 6" in text]
        flagged = [text for text in labels.values() if text.startswith(("⚑", "!"))]
        assert killed and failed and flagged
        assert all(text.split()[1] in ("☠", "K") for text in killed)


async def test_pause_keeps_counting_and_says_how_many_new() -> None:
    events = demo_events(80)
    app, pane = make_app(events[:40])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, pane)
        pane.tree.focus()
        await pilot.pause()
        await pilot.press("p")
        assert pane.paused
        shown = len(pane._items)
        pane.source.buffer.put_many(events[40:])
        await settle(pilot, pane)
        assert pane.forest.counts["events"] == 80
        assert len(pane._items) == shown
        assert "PAUSED · 40 new" in pane.status_line()
        await pilot.press("p")
        await settle(pilot, pane)
        assert len(pane._items) > shown and "PAUSED" not in pane.status_line()


async def test_filter_as_you_type_and_clear() -> None:
    app, pane = make_app(demo_events(80))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, pane)
        total = len(pane._items)
        pane.tree.focus()
        await pilot.pause()
        await pilot.press("slash", "s", "h", "a", "d", "o", "w")
        await settle(pilot, pane)
        shown = [pane.forest.nodes[e] for e in pane._items]
        assert 0 < len(shown) < total
        assert all("shadow" in (n.arguments + n.binary) or n.children for n in shown)
        await pilot.press("escape")
        await settle(pilot, pane)
        assert len(pane._items) == total


async def test_detail_view_shows_full_arguments_pod_and_parent_chain() -> None:
    app, pane = make_app(demo_events(60))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, pane)
        curl = next(n for n in pane.forest.nodes.values() if n.binary == "/usr/bin/curl")
        pane.tree.move_cursor(pane._items[curl.exec_id])
        pane.tree.focus()
        await pilot.press("enter")  # drill down (the one key vocabulary, tui/keys.py)
        await pilot.pause()
        assert isinstance(app.screen, ProcessDetailScreen)
        body = app.screen.body.plain
        assert curl.arguments in body and "parent chain" in body and "pod labels" in body
        assert "capabilities" in body and "image" in body and "uid" in body
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ProcessDetailScreen)


async def test_jump_to_pod_moves_the_cursor_to_a_pod() -> None:
    app, pane = make_app(demo_events(60), follow=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, pane)
        pane.tree.focus()
        await pilot.press("j")
        await pilot.pause()
        data = pane.tree.cursor_node.data
        assert data[0] == "group" and len(data[1]) == 4
        await pilot.press("j")
        await pilot.pause()
        assert pane.tree.cursor_node.data != data


async def test_untrusted_strings_are_data() -> None:
    hostile = json_format.ParseDict({"process_exec": {"process": {
        "exec_id": "x", "pid": 7, "binary": "/bin/[red]x[/red]", "arguments": "[/x] \x1b[2J",
        "pod": {"namespace": "ns", "name": "[b]pod"}}}, "node_name": "n\x1b]0;pwned\x07"},
        events_pb2.GetEventsResponse())
    app, pane = make_app([hostile])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, pane)
        label = pane._items["x"].label
        assert isinstance(label, Text) and "[red]x[/red]" in label.plain and "\x1b" not in label.plain
        assert "^[[2J" in label.plain


async def test_hidden_pane_counts_but_does_not_render() -> None:
    from tui.panes.problem import ProblemPane

    pane = ProcessesPane(FixedSource(demo_events(30)), live_clock=False)
    app = EbtopApp([ProblemPane("Flows", "flows", "not under test"), pane], initial="flows")
    async with app.run_test(size=(80, 24)) as pilot:
        pane.tick(False)
        await pilot.pause()
        await pilot.pause()
        assert pane.forest.counts["events"] == 30 and not pane._items
        await pilot.press("2")
        await pilot.pause()
        pane.tick(True)
        await pilot.pause()
        assert pane._items


def snapshot_app(size_events: int = 70) -> EbtopApp:
    app, pane = make_app(demo_events(size_events), follow=False)
    return app


async def _prime(pilot: Any) -> None:
    pilot.app._tick()
    await pilot.pause()
    pilot.app.query_one(ProcessesPane).tree.focus()
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_snapshot(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(snapshot_app(), terminal_size=size, run_before=_prime)
