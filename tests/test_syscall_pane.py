"""The Syscalls pane: keys drive the table; fed from fixed data, and from the real kernel when root."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import pytest
from textual.widgets import ContentSwitcher, DataTable, Static

from tests.helpers.pilot import until
from tui.app import EbtopApp
from tui.model.probes import (
    BlockEvent,
    BlockHistDelta,
    ConnectEvent,
    CostReport,
    DropCount,
    OpenEvent,
    ProgramCost,
    RetransEvent,
)
from tui.model.syscalls import SyscallInterval, SyscallSample
from tui.panes.syscalls import OPENS_REFRESH_SECONDS, SyscallsPane
from tui.render.glyphs import UNICODE
from tui.sources.base import Source

AT = 1_700_000_000.0


def sample_intervals() -> list[SyscallInterval]:
    first = [SyscallSample("loop", 110, 90_000, pid=6315), SyscallSample("dd", 0, 20_000, pid=6332),
             SyscallSample("dd", 1, 20_000, failed=3, pid=6332), SyscallSample("git", 202, 4_000, pid=6311)]
    second = [SyscallSample("loop", 110, 100_035, pid=6315), SyscallSample("dd", 0, 20_062, pid=6332),
              SyscallSample("dd", 1, 20_063, failed=12, pid=6332), SyscallSample("git", 202, 3_844, pid=6311),
              SyscallSample("git", 257, 413, failed=41, pid=6311), SyscallSample("bash", 0, 4_524, pid=6002),
              SyscallSample("ebtop", 321, 2_159, pid=7001), SyscallSample("cat", 257, 1_052, failed=2, pid=6400),
              SyscallSample("sshd", 7, 912, pid=555), SyscallSample("systemd", 232, 404, pid=1),
              SyscallSample("kworker/0:1", 0, 12, pid=20), SyscallSample("evil\x1b[2J", 0, 5, pid=666)]
    return [SyscallInterval(AT, 5.0, first, by_pid=True, failed_counted=True),
            SyscallInterval(AT + 5, 5.0, second, by_pid=True, failed_counted=True)]


def probe_events() -> list[object]:
    return [
        OpenEvent(6400, "cat", 3, 0, "/etc/hostname", "openat", AT + 1.25),
        OpenEvent(6400, "cat", -2, 0, "/nonexistent/file", "openat", AT + 2.5),
        RetransEvent(7934, "python3", "127.0.0.1", 40454, "127.0.0.1", 58887, "SYN_SENT"),
        RetransEvent(7934, "python3", "127.0.0.1", 40454, "127.0.0.1", 58887, "SYN_SENT"),
        ConnectEvent(7934, "curl", "127.0.0.1", 8080, 160_000, True),
        ConnectEvent(7934, "curl", "10.0.0.9", 443, 2_040_000_000, True),
        ConnectEvent(7935, "curl", "127.0.0.1", 1, 90_000, False),
        BlockHistDelta({6: 3, 7: 3, 8: 4, 15: 1}),
        DropCount("opens", 3),
        BlockEvent("254:0", 123456, 65536, 18_000_000, "WS", 6332, "dd", "vda"),
        BlockEvent("254:0", 777, 4096, 12_000_000, "R", 20, "kworker/0:1", "vda"),
        CostReport((ProgramCost("raw_tracepoint__sys_enter", 500_000, 60_000_000, 5.0),
                    ProgramCost("opens:tracepoint__syscalls__sys_exit_openat", 2_000, 1_000_000, 5.0))),
    ]


class Buffered(Source[object]):
    """A source whose buffer the test fills (never started: no thread, no BPF)."""

    def __init__(self) -> None:
        super().__init__("test feed")

    def start(self) -> None:
        """Nothing to run: the test puts items into the buffer."""


def fed_pane(**kwargs) -> SyscallsPane:
    pane = SyscallsPane(chars=UNICODE, **kwargs)
    for interval in sample_intervals():
        pane.add_interval(interval)
    for event in probe_events():
        pane.add_event(event)
    return pane


def labels(table: DataTable) -> list[str]:
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


async def test_top_table_keys_switch_and_sort() -> None:
    pane = fed_pane()
    app = EbtopApp([pane], initial="syscalls")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        table = pane.query_one("#top", DataTable)
        assert table.row_count == 10
        assert labels(table)[:3] == ["loop", "dd", "bash"]
        assert str(table.get_row_at(0)[1]) == "100,035" and str(table.get_row_at(0)[3]) == "+10,035"
        assert labels(table)[-1] == "evil^[[2J"  # a hostile comm is shown escaped, as data
        await pilot.press("b")  # by pid
        assert pane.by == "pid" and labels(table)[0] == "6315 loop"
        await pilot.press("b")  # by syscall
        assert labels(table)[:3] == ["getppid", "read", "write"]
        await pilot.press("b")  # by container: these intervals were counted by pid, not by cgroup
        assert pane.by == "container" and table.row_count == 0
        assert "by container" in str(pane.query_one("#sc-header").render())
        await pilot.press("b", "b", "s", "s")  # by pod, by comm, sort by failures
        assert pane.sort == "failures" and labels(table)[:2] == ["git", "dd"]
        await pilot.press("x")
        assert labels(table) == ["git", "dd", "cat"]
        assert [str(table.get_row_at(i)[1]) for i in range(3)] == ["41", "12", "2"]
        await pilot.press("x", "s")
        assert pane.sort == "count"


async def test_rows_by_container_and_by_pod() -> None:
    """Counted per cgroup: b shows containers (kubepods) or cgroup paths (the host), then pods."""
    pod = "pod 1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9"
    samples = [SyscallSample("", 0, 500, cgroup="/kubepods.slice/x", container="abababababab", pod=pod),
               SyscallSample("", 1, 300, cgroup="/kubepods.slice/y", container="cdcdcdcdcdcd", pod=pod),
               SyscallSample("", 0, 200, cgroup="/system.slice/ssh.service", container="system.slice/ssh.service",
                             pod="system.slice/ssh.service")]
    pane = SyscallsPane(chars=UNICODE, by="container")
    pane.add_interval(SyscallInterval(AT, 5.0, samples, by_cgroup=True))
    app = EbtopApp([pane], initial="syscalls")
    async with app.run_test(size=(100, 30)) as pilot:
        table = pane.query_one("#top", DataTable)
        assert await until(pilot, lambda: table.row_count == 3)
        host = "system.sl…/ssh.service"  # 22 cells, the middle cut
        assert labels(table) == ["abababababab", "cdcdcdcdcdcd", host]
        await pilot.press("b")
        assert await until(pilot, lambda: table.row_count == 2)
        assert labels(table)[1] == host
        assert labels(table)[0].startswith("pod 1f2") and labels(table)[0].endswith("a4b3c2d1e0f9")
        assert str(table.get_row_at(0)[1]) == "800"


async def test_rows_are_updated_in_place_with_stable_keys() -> None:
    pane = fed_pane()
    app = EbtopApp([pane], initial="syscalls")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        table = pane.query_one("#top", DataTable)
        keys_before = {k.value for k in table.rows}
        pane.add_interval(SyscallInterval(AT + 10, 5.0, [SyscallSample("loop", 110, 5, pid=6315),
                                                        SyscallSample("new", 1, 7, pid=9)], by_pid=True))
        pane.tick(True)
        await pilot.pause()
        assert labels(table) == ["new", "loop"]
        assert {k.value for k in table.rows} == {"new", "loop"} and "loop" in keys_before
        assert str(table.get_row_at(1)[3]) == "-100,030"


async def test_pause_stops_rendering_and_counts_new_intervals() -> None:
    pane = fed_pane()
    app = EbtopApp([pane], initial="syscalls")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        table = pane.query_one("#top", DataTable)
        await pilot.press("p")
        feed = Buffered()
        pane.sources.append(feed)  # the template's drain counts what arrives while paused
        feed.buffer.put(SyscallInterval(AT + 10, 5.0, [SyscallSample("other", 1, 7)]))
        feed.buffer.put(SyscallInterval(AT + 15, 5.0, [SyscallSample("other", 1, 9)]))
        pane.tick(True)
        await pilot.pause()
        assert labels(table)[0] == "loop"  # frozen
        assert "PAUSED · 2 new" in str(pane.query_one("#sc-header", Static).render())
        assert pane.top.latest is not None and pane.top.latest.samples[0].count == 9  # counting went on
        await pilot.press("p")
        assert labels(table) == ["other"]


async def test_interval_keys_and_views() -> None:
    pane = fed_pane()
    app = EbtopApp([pane], initial="syscalls")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("plus")
        assert pane.interval == 10
        await pilot.press("minus", "minus")
        assert pane.interval == 2
        await pilot.press("v")  # views step with v / V (tui/keys.py)
        assert pane.query_one("#sc-views", ContentSwitcher).current == "opens"
        opens = pane.query_one("#opens", DataTable)
        stamp = time.strftime("%H:%M:%S", time.localtime(AT + 2.5)) + ".500"
        assert [str(c) for c in opens.get_row_at(0)] == [stamp, "6400", "cat", "ENOENT", "openat",
                                                         "/nonexistent/file"]
        header = str(pane.query_one("#sc-header", Static).render())
        assert "2 opens, 1 failed" in header and "3 events lost (ring buffer full)" in header
        await pilot.press("v")
        retrans = pane.query_one("#retrans", DataTable)
        assert str(retrans.get_row_at(0)[4]) == "2"
        await pilot.press("v")
        text = str(pane.query_one("#connect-text", Static).render())
        assert "2 established, 1 failed" in text and "10.0.0.9:443" in text
        # one line per connection, newest first, as tcpconnlat: pid, comm, destination, latency
        recent = text.split("connections, newest first:")[1].splitlines()
        assert recent[2].split() == ["7935", "curl", "127.0.0.1:1", "failed"]
        assert recent[3].split() == ["7934", "curl", "10.0.0.9:443", "2,040.000"]
        await pilot.press("v")
        slowio = str(pane.query_one("#slowio-text", Static).render())
        assert "completions: 11" in slowio
        assert "dd                 6332 vda       WS        123456    65536     18.000" in slowio
        await pilot.press("v")
        cost = pane.query_one("#cost", DataTable)
        assert str(cost.get_row_at(0)[2]) == "120" and str(cost.get_row_at(2)[3]) == "1.22"
        assert [str(cost.get_row_at(i)[0]) for i in range(2)] == [
            "syscalls raw_tp/sys_enter", "opens tp/syscalls/sys_exit_openat"]


async def test_precondition_lines_are_shown() -> None:
    pane = fed_pane()
    pane.set_problems(["eBPF needs privileges (not root); run as root (turns off: all local eBPF views)"])
    app = EbtopApp([pane], initial="syscalls")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        problems = pane.query_one("#sc-problems", Static)
        assert problems.display and "not root" in str(problems.render())


def test_snapshot_80x24(snap_compare) -> None:
    assert snap_compare(EbtopApp([fed_pane()], initial="syscalls"), terminal_size=(80, 24))


def test_snapshot_120x40(snap_compare) -> None:
    assert snap_compare(EbtopApp([fed_pane()], initial="syscalls"), terminal_size=(120, 40))


def test_snapshot_connect_view_120x40(snap_compare) -> None:
    async def show(pilot) -> None:
        await pilot.press("v", "v", "v")  # top -> opens -> retransmits -> connect latency

    assert snap_compare(EbtopApp([fed_pane()], initial="syscalls"), terminal_size=(120, 40), run_before=show)


@pytest.mark.kernel
async def test_real_source_fills_the_table(tmp_path: Path) -> None:
    from tests.helpers.workload import Workload, build
    from tui.sources.kernel import KernelSource

    binary = build(tmp_path)
    comm = "ebp" + secrets.token_hex(5)
    source = KernelSource(interval=1.0, probes=())
    pane = SyscallsPane(source, chars=UNICODE)
    app = EbtopApp([pane], initial="syscalls")
    async with app.run_test(size=(100, 30)) as pilot:
        end = time.monotonic() + 20
        while time.monotonic() < end and pane.top.intervals == 0:
            await pilot.pause(0.1)  # the app is usable while the worker compiles
        assert pane.top.intervals > 0, source.status.get()
        worker = Workload(binary, comm, "getppid", 100_000)
        worker.go()
        assert worker.wait() == 0
        source.read_now()
        table = pane.query_one("#top", DataTable)
        end = time.monotonic() + 20
        while time.monotonic() < end and comm not in labels(table):
            await pilot.pause(0.1)
        assert comm in labels(table)
        (row,) = [r for r in pane.top.top(limit=50) if r.label == comm]
        assert row.count >= 100_000
        await pilot.press("b")  # by pid: the source switches the kernel to pid keys
        assert pane.by == "pid"
        end = time.monotonic() + 10
        while time.monotonic() < end and not (pane.top.latest and pane.top.latest.by_pid):
            await pilot.pause(0.1)
        assert source.mode == "pid" and pane.top.latest is not None and pane.top.latest.by_pid
    assert not source.running


async def test_syscall_time_replaces_the_bar_when_counted() -> None:
    pane = SyscallsPane(chars=UNICODE)
    pane.add_interval(SyscallInterval(AT, 5.0, [SyscallSample("loop", 110, 1000, ns=2_500_000)],
                                      latency_counted=True))
    app = EbtopApp([pane], initial="syscalls")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        table = pane.query_one("#top", DataTable)
        assert str(table.get_row_at(0)[5]) == "2.5"
        assert str(table.columns[table.ordered_columns[5].key].label) == "time ms"


async def test_slow_io_label_and_interval_follow_the_flags() -> None:
    """`--slow-io-ms 50` filters in the kernel; the view says 50 ms. The interval lives in the source."""
    from tui.cli import build_parser
    from tui.sources.bpf_env import Problem
    from tui.wiring.syscalls import create_pane

    pane = create_pane(build_parser().parse_args(["--slow-io-ms", "50", "--interval", "3"]))
    assert isinstance(pane, SyscallsPane) and pane.source is not None
    assert pane.source.slow_ms == 50 and pane.interval == 3
    # No BPF in this test: the source stops at its precondition check.
    pane.source._preconditions = lambda: [Problem("eBPF not under test", "", ("all",), fatal=True)]
    app = EbtopApp([pane], initial="syscalls")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("v", "v", "v", "v")  # to slow I/O
        await pilot.pause()
        text = str(pane.query_one("#slowio-text", Static).render())
        assert "slower than 50 ms" in text and "10 ms" not in text
        await pilot.press("plus")
        assert pane.source.interval == pane.interval == 5
        assert "every 5s" in str(pane.query_one("#sc-header", Static).render())


async def test_enter_on_a_pid_row_opens_that_process_in_processes() -> None:
    """Enter on a top-10 by pid or an Opens row selects its process in the Processes tab; an unknown
    pid stays here with a notification."""
    from textual.widgets import TabbedContent

    from tests.test_processes_pane import FixedSource, demo_events
    from tui.model.processes import ProcessForest
    from tui.panes.processes import ProcessesPane

    procs = ProcessesPane(FixedSource(demo_events(200)), forest=ProcessForest(retention=3600), live_clock=False)
    pane = SyscallsPane(chars=UNICODE, by="pid")
    app = EbtopApp([procs, pane], initial="processes")
    async with app.run_test(size=(120, 40)) as pilot:
        procs.tick(True)
        assert await until(pilot, lambda: len(procs.forest.by_pid) > 0)
        pid = sorted(p for _, p in procs.forest.by_pid)[0]
        unknown = 4_000_000
        pane.add_interval(SyscallInterval(AT, 5.0, [SyscallSample("known", 0, 900, pid=pid),
                                                    SyscallSample("gone", 0, 100, pid=unknown)], by_pid=True))
        pane.add_event(OpenEvent(unknown + 1, "gone", 3, 0, "/etc/hosts", "openat", AT))
        app.action_show_tab("syscalls")
        tabs = app.query_one(TabbedContent)
        assert await until(pilot, lambda: tabs.active == "syscalls" and pane.query_one("#top", DataTable).row_count == 2)
        pane.query_one("#top", DataTable).focus()
        await pilot.press("enter")  # row 0: the known pid
        assert await until(pilot, lambda: tabs.active == "processes")
        node = procs.tree.cursor_node
        assert node is not None and node.data and procs.forest.get(node.data[1]).pid == pid
        app.action_show_tab("syscalls")
        assert await until(pilot, lambda: tabs.active == "syscalls")
        pane.action_show_view("opens")
        assert await until(pilot, lambda: pane.query_one("#opens", DataTable).row_count == 1)
        pane.query_one("#opens", DataTable).focus()
        assert await until(pilot, lambda: app.focused is pane.query_one("#opens", DataTable))
        await pilot.press("enter")  # the unknown pid
        assert await until(pilot, lambda: any(str(unknown + 1) in str(n.message) for n in app._notifications))
        assert tabs.active == "syscalls"
        assert app.focused is pane.query_one("#opens", DataTable)  # the keys stay here


async def test_slash_filters_every_view() -> None:
    """`/` filters the rows of each Syscalls view, not only the top-10."""
    from tui.model.latency import HistDelta

    pane = fed_pane()
    app = EbtopApp([pane], initial="syscalls")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"curl", "enter")
        assert await until(pilot, lambda: pane.filter_text == "curl")

        def text(view: str) -> str:
            return str(pane.query_one(f"#{view}-text", Static).render())

        pane.action_show_view("connect")
        assert await until(pilot, lambda: "10.0.0.9:443" in text("connect"))
        await pilot.press("escape", "slash", *"10.0.0.9", "enter")  # Esc leaves the view; a new filter
        pane.action_show_view("connect")
        assert await until(pilot, lambda: "127.0.0.1:8080" not in text("connect"))
        assert "10.0.0.9:443" in text("connect")
        for view, kept, gone, rows in (("slowio", "kworker", " dd ", 0), ("opens", "hostname", "nonexistent", 1),
                                       ("retrans", None, "python3", 0), ("cost", "opens tp/", "raw_tp", 2)):
            pane.filter_text = kept or "nothing-matches"
            pane.action_show_view(view)
            if view == "slowio":
                assert await until(pilot, lambda gone=gone: gone not in text("slowio"))
                assert kept in text("slowio")
            else:
                table = pane.query_one(f"#{view}", DataTable)
                assert await until(pilot, lambda table=table, gone=gone: all(gone not in " ".join(map(str, table.get_row_at(i)))
                                                           for i in range(table.row_count)))
                assert table.row_count == rows  # cost: the kept program and the total line
        pane.latency.add(HistDelta("runqlat", {(41, "bash", "", ""): {4: 3}, (42, "sshd", "", ""): {5: 2}}))
        pane.latency.by = "process"  # one histogram per [comm, pid] (g)
        pane.filter_text = "ssh"
        pane.action_show_view("runqlat")
        view = pane.query_one("#runqlat")
        assert await until(pilot, lambda: "sshd" in str(view.query_one(Static).render()))
        assert "bash" not in str(view.query_one(Static).render())


async def test_n_dismisses_the_notes_for_good(tmp_path: Path) -> None:
    """A note (turns nothing off) goes on `n` and stays gone in the next run; problems stay."""
    from tui.sources.notes import SeenNotes

    note = "kernel headers are for 6.1.0, the kernel is 6.18.0: accepted (note)"
    problem = "tracefs is not mounted; raw tracepoints only (turns off: file opens)"
    path = tmp_path / "state" / "ebtop" / "notes-seen"
    pane = fed_pane(notes=SeenNotes(path))
    pane.set_problems([note, problem])
    app = EbtopApp([pane], initial="syscalls")
    async with app.run_test(size=(120, 40)) as pilot:
        box = pane.query_one("#sc-problems", Static)
        assert await until(pilot, lambda: note in str(box.render()))
        assert "n dismisses the notes" in str(box.render())
        await pilot.press("n")
        assert await until(pilot, lambda: note not in str(box.render()))
        assert problem in str(box.render()) and "dismisses" not in str(box.render())
    assert path.read_text() == note + "\n"
    again = fed_pane(notes=SeenNotes(path))  # the next run
    again.set_problems([note, problem])
    assert again._problem_lines == (problem,)


async def test_file_opens_pouring_in_redraw_the_table_once_a_second_and_keys_at_once() -> None:
    """The opens table is rebuilt at most once per OPENS_REFRESH_SECONDS while opens arrive (each
    rebuild re-adds up to 200 rows); a key draws it at once, and a later tick draws what waited."""
    pane = fed_pane()
    app = EbtopApp([pane], initial="syscalls")
    async with app.run_test(size=(100, 30)) as pilot:
        pane.action_show_view("opens")
        opens = pane.query_one("#opens", DataTable)
        assert await until(pilot, lambda: opens.row_count == 2)
        pane.add_event(OpenEvent(7000, "newer", 4, 0, "/etc/passwd", "openat", AT + 3))
        pane.tick(True)
        await pilot.pause()
        assert opens.row_count == 2  # drawn less than a second ago: it waits
        assert "opens" in pane._dirty  # noqa: SLF001 - still owed
        pane._opens_drawn -= OPENS_REFRESH_SECONDS  # noqa: SLF001 - as if the second had passed
        pane.tick(True)
        assert await until(pilot, lambda: opens.row_count == 3)
        assert str(opens.get_row_at(0)[2]) == "newer"
        pane.add_event(OpenEvent(7001, "newest", 5, 0, "/etc/group", "openat", AT + 4))
        await pilot.press("slash", "n", "e", "w")  # a key: the filtered table at once
        assert await until(pilot, lambda: opens.row_count == 2)
        assert {str(opens.get_row_at(i)[2]) for i in range(2)} == {"newer", "newest"}
