"""Issue 10 (htop/k9s feel): full values, the verdict on screen, keys that always work."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import DataTable

from tests.helpers.pilot import until
from tests.helpers.screen import screen_text
from tui.app import EbtopApp
from tui.model.probes import RetransEvent
from tui.panes.syscalls import SyscallsPane
from tui.render.glyphs import UNICODE


async def test_retransmits_show_the_whole_port_of_ipv4_mapped_addresses() -> None:
    pane = SyscallsPane(chars=UNICODE)
    pane.add_event(RetransEvent(7934, "python3", "::ffff:127.0.0.1", 34845, "::ffff:10.20.30.40", 58887,
                                "ESTABLISHED"))
    app = EbtopApp([pane], initial="syscalls")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("v", "v")  # top -> opens -> retransmits
        await pilot.pause()
        assert pane.query_one("#retrans", DataTable).row_count == 1
        text = screen_text(app)
        assert "[::ffff:127.0.0.1]:34845" in text
        assert "[::ffff:10.20.30.40]:58887" in text


# -- the verdict on screen -------------------------------------------------------------------------

VERDICTS = ("FORWARDED", "DROPPED", "ERROR", "AUDIT", "REDIRECTED", "TRACED", "TRANSLATED", "ALLOWED",
            "DENIED", "AUDITED", "VERDICT_UNKNOWN")


def _flow_rows_on_screen(pane) -> list[tuple[object, str]]:
    from tui.model.flows import RecordKind

    flow_list = pane.flow_list
    region = flow_list.scrollable_content_region
    top = int(flow_list.scroll_y)
    out = []
    for y in range(region.height):
        index = top + y
        if index < len(flow_list.rows) and flow_list.rows[index].kind is RecordKind.FLOW:
            out.append((flow_list.rows[index], flow_list.render_line(y).text[:region.width]))
    return out


async def _verdicts_visible(width: int, height: int) -> None:
    from tests.test_flows_pane import loaded, make_app

    app, pane = make_app()
    async with app.run_test(size=(width, height)) as pilot:
        await loaded(pilot, pane)
        rows = _flow_rows_on_screen(pane)
        assert len(rows) >= height // 2
        for record, shown in rows:
            full = pane.render_record(record).plain
            verdict = next(word for word in VERDICTS if f" {word} (" in full)
            assert f" {verdict}" in shown, (width, shown, full)
            assert len(shown.rstrip()) <= width


async def test_the_verdict_is_on_every_flow_line_at_80_columns() -> None:
    await _verdicts_visible(80, 24)


async def test_the_verdict_is_on_every_flow_line_at_120_columns() -> None:
    await _verdicts_visible(120, 40)


async def test_the_verdict_is_on_every_flow_line_at_60_columns() -> None:
    await _verdicts_visible(60, 20)  # the smallest width the panes are shown at (below: a notice)


async def test_w_shows_the_full_hubble_line_and_back() -> None:
    from tests.test_flows_pane import loaded, make_app

    app, pane = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, pane)
        record, fitted = _flow_rows_on_screen(pane)[-1]
        full = pane.render_record(record).plain
        assert full.startswith("Jan  1 ") and len(full) > 80 and not fitted.startswith("Jan")
        width = pane.flow_list.scrollable_content_region.width
        await pilot.press("w")
        await until(pilot, lambda: _flow_rows_on_screen(pane)[-1][1] == full[:width])
        assert _flow_rows_on_screen(pane)[-1][1] == full[:width]
        await pilot.press("w")
        await until(pilot, lambda: _flow_rows_on_screen(pane)[-1][1] == fitted)
        assert _flow_rows_on_screen(pane)[-1][1] == fitted


def test_drop_lines_are_marked_on_the_whole_line() -> None:
    from tui.render.flow_fit import line_styles
    from tui.render.hubble_compact import BAD, GOOD, HOST, IDENTITY, PLAIN

    def pieces(role: int, word: str) -> list:
        return [("00:00:01.000: ", PLAIN), ("shop/a:", HOST), (" ", PLAIN), ("(ID:9)", IDENTITY),
                (" -> ", PLAIN), ("shop/b", HOST), (" to-endpoint ", PLAIN), (word, role), (" (", PLAIN),
                ("TCP Flags: SYN", PLAIN), (")", PLAIN)]

    dropped = line_styles(pieces(BAD, "DROPPED"))
    assert all("bold" in style for _, style in dropped)
    assert "reverse" in dict(dropped)["DROPPED"]
    forwarded = line_styles(pieces(GOOD, "FORWARDED"))
    assert not any("bold" in style or "reverse" in style for _, style in forwarded)


# -- drill-down and Esc ------------------------------------------------------------------------------

async def test_enter_on_a_view_row_shows_its_flows_and_esc_comes_back() -> None:
    from textual.widgets import Input

    from tests.test_flows_pane import loaded, make_app
    from tui.panes.flow_drill import flow_digest
    from tui.panes.flow_views import AggregateTable

    app, pane = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, pane)
        for view, field in (("t", "talker"), ("x", "drop"), ("n", "dns"), ("h", "http")):
            await pilot.press(view)
            await pilot.pause()
            table = pane.query_one(f"#{pane.view}", AggregateTable)
            name = pane.view
            assert table.row_count >= 1
            row = min(1, table.row_count - 1)
            table.move_cursor(row=row)
            await pilot.pause()
            await pilot.press("enter")
            await pilot.pause()
            assert pane.view == "list" and pane.drill is not None
            rows = pane.flow_list.rows
            assert rows, name
            values = {getattr(flow_digest(record), field) for record in rows}
            assert len(values) == 1 and None not in values, (name, values)  # every line is that row's
            everything = [r for r in pane.store.ring if getattr(flow_digest(r), field, None) in values]
            assert rows == everything  # and every flow of that row is listed
            assert "drill:" in pane._header
            await pilot.press("escape")
            await pilot.pause()
            assert pane.view == name and pane.drill is None and table.cursor_row == row
        await pilot.press("slash", "d", "n", "s")  # Esc order: the view goes, then the filter
        await pilot.pause()
        assert pane.filter_text == "dns" and pane.view == "http"  # a table filters its own rows
        assert app.focused is pane.query_one("#flows-filter", Input)
        await pilot.press("enter", "t")
        await pilot.pause()
        assert pane.view == "talkers"
        await pilot.press("escape")
        assert pane.view == "list" and pane.filter_text == "dns"
        await pilot.press("escape")
        assert pane.filter_text == ""


async def test_v_and_shift_v_step_through_the_views() -> None:
    from tests.test_flows_pane import loaded, make_app

    app, pane = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, pane)
        seen = [pane.view]
        for _ in range(3):
            await pilot.press("v")
            seen.append(pane.view)
        assert seen[:4] == ["list", "talkers", "drops", "dns"]
        await pilot.press("V", "V")
        assert pane.view == "talkers"


# -- one key vocabulary: README's table and the help screen ------------------------------------------

async def test_readme_key_table_is_generated_from_the_bindings() -> None:
    from tui.keys import README, generated_table, readme_section

    assert readme_section(README.read_text()) == await generated_table(), "run: .venv/bin/python -m tui.keys"


async def test_help_screen_has_readable_keys_no_text_box_keys_and_no_duplicates() -> None:
    from tests.test_flows_pane import loaded, make_app
    from tui.help_screen import HelpScreen

    app, pane = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await loaded(pilot, pane)
        await pilot.press("slash")  # the filter box (an Input with its own editing keys) exists and is focused
        await pilot.press("escape", "question_mark")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        keys = [keys for _, keys, _ in screen.rows]
        text = " ".join(keys)
        for raw in ("slash", "escape", "question_mark", "ctrl+", "shift+", "delete", "backspace", "home,"):
            assert raw not in text, raw
        assert "/" in keys and "Esc" in keys and "q Ctrl-C" in keys
        per_group: dict[str, list[str]] = {}
        for group, _keys, description in screen.rows:
            per_group.setdefault(group, []).append(description)
        for group, descriptions in per_group.items():
            assert len(descriptions) == len(set(descriptions)), group


async def test_no_pane_lists_again_a_key_the_every_pane_group_explains() -> None:
    from tui.keys import COMMON, help_groups, keys_app

    common_keys = {key for keys, _ in COMMON for key in keys.split()} - {"Enter"}  # Enter: each pane says what
    app = keys_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        groups = help_groups(app, app.panes)  # type: ignore[attr-defined]
        repeated = {group: [keys for keys, _ in rows if set(keys.split()) <= common_keys]
                    for group, rows in groups if group not in ("everywhere", "every pane")}
        assert not any(repeated.values()), repeated


# -- Processes: keys that always work, a cursor that stays -----------------------------------------

async def test_q_quits_when_processes_is_the_first_pane() -> None:
    from textual.widgets import Input

    from tests.test_processes_pane import demo_events, make_app

    app, pane = make_app(demo_events(60))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.pause()
        assert not isinstance(app.focused, Input)  # not the hidden filter box
        assert app.focused is pane.tree
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_process_cursor_stays_on_its_process_and_moving_it_leaves_follow() -> None:
    from tests.test_processes_pane import FixedSource, demo_events, settle
    from tui.model.processes import ProcessForest
    from tui.panes.processes import ProcessesPane

    events = demo_events(400)
    # A short retention: exited processes above the cursor are pruned while it sits there.
    pane = ProcessesPane(FixedSource(events[:200]), forest=ProcessForest(retention=2), live_clock=False)
    app = EbtopApp([pane], initial="processes")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, pane)
        assert pane.follow
        tree = pane.tree
        tree.focus()
        await pilot.press("up", "up")
        await pilot.pause()
        chosen = tree.cursor_node.data
        assert chosen is not None
        for start in range(200, 400, 50):  # new processes arrive above and below
            pane.source.buffer.put_many(events[start:start + 50])
            await settle(pilot, pane)
            assert not pane.follow
            assert tree.cursor_node.data == chosen
        await pilot.press("end")  # follow again: the newest exec
        await pilot.pause()
        assert pane.follow and tree.cursor_node.data[0] == "proc"
        newest = pane.forest.nodes[tree.cursor_node.data[1]]
        assert newest.seen_exec
        await pilot.press("slash", "u", "s", "r", "enter")  # a filter rebuilds the tree on every change
        await pilot.pause()
        await pilot.press("up", "up")
        await pilot.pause()
        chosen = tree.cursor_node.data
        pane.source.buffer.put_many(events[:100])
        await settle(pilot, pane)
        await pilot.pause()
        assert tree.cursor_node.data == chosen


async def test_left_folds_and_right_unfolds_the_process_tree() -> None:
    from tests.test_processes_pane import demo_events, make_app, settle

    app, pane = make_app(demo_events(200))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, pane)
        tree = pane.tree
        tree.focus()
        parent = next(item for item in pane._items.values() if item.children and item.is_expanded)
        tree.move_cursor(parent, animate=False)
        await pilot.press("left")
        assert not parent.is_expanded
        await pilot.press("right")
        assert parent.is_expanded
        await pilot.press("left", "left")  # folded already: to the parent
        assert tree.cursor_node is parent.parent


# -- Syscalls: one vocabulary, the filter, ebtop's own, errno names --------------------------------

def _own_intervals():
    import os

    from tests.test_syscall_pane import sample_intervals
    from tui.model.syscalls import SyscallInterval, SyscallSample

    first, second = sample_intervals()
    own = SyscallSample("python3", 7, 500_000, pid=os.getpid())  # ebtop: the top process here
    return [first, SyscallInterval(second.at, second.seconds, [*second.samples, own], by_pid=True,
                                   failed_counted=True)]


async def test_syscalls_filter_own_reverse_and_views() -> None:
    from tests.test_syscall_pane import labels
    from tui.model.probes import OpenEvent

    pane = SyscallsPane(chars=UNICODE, by="pid")
    for interval in _own_intervals():
        pane.add_interval(interval)
    pane.add_event(OpenEvent(6400, "cat", -2, 0, "/nonexistent/" + "d" * 80 + "/file", "openat"))
    app = EbtopApp([pane], initial="syscalls")
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        table = pane.query_one("#top", DataTable)
        shown = labels(table)
        assert shown[0].endswith("(ebtop)") and len(shown) == 10  # marked, and the top process
        await pilot.press("o")  # hidden: the top-10 is still ten rows, none of them ebtop's
        assert len(labels(table)) == 10 and not any("(ebtop)" in label for label in labels(table))
        before = labels(table)
        await pilot.press("r")
        assert labels(table) == before[::-1]
        await pilot.press("r", "slash", "d", "d")  # everything after / goes into the box
        await pilot.pause()
        assert pane.filter_text == "dd" and labels(table) and all("dd" in label for label in labels(table))
        await pilot.press("escape")
        assert pane.filter_text == "" and len(labels(table)) == 10
        for key in ("f", "t", "k", "l", "i"):  # no hidden single-letter views any more
            await pilot.press(key)
            assert pane.view == "top", key
        await pilot.press("v")
        assert pane.view == "opens"
        await pilot.pause()
        await pilot.pause()
        text = screen_text(app)
        line = next(line for line in text.splitlines() if "ENOENT" in line)  # errno names
        assert "/nonexistent/ddd" in line and line.rstrip().endswith("/file")  # both ends of the path
        assert "…" in line or "..." in line
        await pilot.press("V")
        assert pane.view == "top"
        await pilot.press("v", "escape")  # Esc leaves a view
        assert pane.view == "top"


@pytest.mark.kernel
async def test_a_new_interval_takes_effect_at_once() -> None:
    from tui.sources.kernel import KernelSource

    source = KernelSource(interval=30.0, probes=(), first_interval=0.5)
    source.start()
    try:
        first = None
        for _ in range(600):
            items = source.buffer.drain(100)
            if items:
                first = items[0]
                break
            await asyncio.sleep(0.1)
        assert first is not None, source.status.get()
        source.set_interval(1.0)  # the 30 s interval that just began must not run out first
        second = None
        for _ in range(200):
            items = source.buffer.drain(100)
            if items:
                second = items[0]
                break
            await asyncio.sleep(0.1)
        assert second is not None and second.seconds < 29, second
    finally:
        source.stop()
