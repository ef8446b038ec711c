"""Replay of `hubble observe -o json` files, bad lines, batch mode and record-then-replay."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from tui.cli import build_parser
from tui.model.flows import RecordKind
from tui.proto.jsonlines import read_lines
from tui.proto.observer import observer_pb2
from tui.render.hubble_compact import CompactOptions, response_line
from tui.sources.base import SourceState
from tui.sources.flow_replay import FileSource, FlowRecorder
from tui.wiring import flows as flow_options

DATA = Path(__file__).parent / "data" / "hubble_flows.jsonl"


def expected_lines(path: Path, opts: CompactOptions | None = None, color: bool = False) -> list[str]:
    opts = opts or CompactOptions()
    lines = []
    with path.open() as handle:
        for item in read_lines(handle, observer_pb2.GetFlowsResponse):
            assert isinstance(item, observer_pb2.GetFlowsResponse)
            line = response_line(item, opts, color)
            if line is not None:
                lines.append(line)
    return lines


def batch(*argv: str, stdin: str | None = None, monkeypatch: pytest.MonkeyPatch | None = None
          ) -> tuple[int, str, str]:
    args = build_parser().parse_args(["-b", "--pane", "flows", *argv])
    out, err = io.StringIO(), io.StringIO()
    if stdin is not None and monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    status = flow_options.run_batch(args, out=out, err=err)
    return status, out.getvalue(), err.getvalue()


def with_bad_lines(tmp_path: Path) -> Path:
    good = DATA.read_text().splitlines()
    lines = good[:3] + ["{not json", "", "[1, 2]", '{"flow": {"time": "yesterday"}}'] + good[3:10]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_batch_replay_prints_every_line_like_hubble() -> None:
    status, out, err = batch("--hubble-file", str(DATA))
    assert status == 0
    lines = out.splitlines()
    assert lines == expected_lines(DATA)
    assert len(lines) == 242  # 240 flows, one EVENTS LOST line (the node status goes to stderr)
    assert sum(" EVENTS LOST: " in line for line in lines) == 1
    assert "nodes are unavailable: worker-2" in err
    assert "\x1b" not in out and "\r" not in out


def test_batch_count_is_last_n_and_first_n_stops_early() -> None:
    """As hubble's file reader: `-n`/`--last N` keeps the tail, `--first N` the head."""
    status, out, _ = batch("--hubble-file", str(DATA), "-n", "5")
    assert status == 0 and out.splitlines() == expected_lines(DATA)[-5:]
    status, out, _ = batch("--hubble-file", str(DATA), "--last", "7")
    assert status == 0 and out.splitlines() == expected_lines(DATA)[-7:]
    status, out, _ = batch("--hubble-file", str(DATA), "--first", "5")
    assert status == 0 and out.splitlines() == expected_lines(DATA)[:5]


def test_batch_colour_and_printer_switches() -> None:
    _, out, _ = batch("--hubble-file", str(DATA), "--first", "3", "--color", "always", "--print-node-name")
    assert out.splitlines() == expected_lines(DATA, CompactOptions(node_name=True), color=True)[:3]
    assert "\x1b[32mALLOWED\x1b[0m" in out and "\x1b[33mTRACED\x1b[0m" in out
    _, out, _ = batch("--hubble-file", str(DATA), "--first", "3", "--numeric")
    assert "shop/" not in out.splitlines()[0] and "10.0." in out.splitlines()[0]


def test_batch_reports_bad_lines_with_numbers_and_keeps_the_rest(tmp_path: Path) -> None:
    path = with_bad_lines(tmp_path)
    status, out, err = batch("--hubble-file", str(path))
    assert status == 0
    assert len(out.splitlines()) == 10
    assert f"{path}:4: skipped bad line: not JSON" in err
    assert f"{path}:6: skipped bad line: expected a JSON object" in err
    assert f"{path}:7: skipped bad line:" in err
    assert f"{path}: 10 responses, 3 bad lines skipped (line 4, 6, 7)" in err


def test_batch_file_with_no_readable_line_is_a_failure(tmp_path: Path) -> None:
    path = tmp_path / "garbage.jsonl"
    path.write_text("{not json\n[1]\n")
    status, out, err = batch("--hubble-file", str(path))
    assert status == 1 and out == ""
    assert f"{path}: no readable line, 2 bad lines skipped (line 1, 2)" in err


def test_batch_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "\n".join(DATA.read_text().splitlines()[:4]) + "\n"
    status, out, err = batch("--hubble-file", "-", stdin=text, monkeypatch=monkeypatch)
    assert status == 0 and out.splitlines() == expected_lines(DATA)[:4]


def test_batch_missing_file_and_bad_filter() -> None:
    status, _, err = batch("--hubble-file", "/nonexistent/flows.json")
    assert status == 2 and "cannot read /nonexistent/flows.json" in err
    status, _, err = batch("--hubble-server", "127.0.0.1:1", "--verdict", "nope")
    assert status == 2 and "not a verdict" in err


def test_file_source_counts_bad_lines(tmp_path: Path) -> None:
    source = FileSource(str(with_bad_lines(tmp_path)))
    source.run_sync()
    records = source.buffer.drain()
    assert len(records) == 10 and all(r.kind is RecordKind.FLOW for r in records)
    assert source.bad_lines == 3
    assert [e.line_number for e in source.errors] == [4, 6, 7]
    status = source.status.get()
    assert status.state is SourceState.ENDED
    assert "3 bad lines skipped (line 4, 6, 7)" in status.reason


@pytest.mark.parametrize("reader", ["thread", "process"])
def test_record_then_replay_gives_identical_lines(tmp_path: Path, reader: str) -> None:
    from tui.demo import hubble_server
    server = hubble_server.serve_hubble(rate=0, history=100, lost_events_every=40)
    path = tmp_path / "recorded.json"
    args = build_parser().parse_args(["--hubble-server", server.target, "--record-flows", str(path),
                                      "--hubble-reader", reader])
    source = flow_options.make_source(args, live=True)
    source.start()
    received = []
    deadline = time.monotonic() + 30
    try:
        while len(received) < 500 and time.monotonic() < deadline:
            received.extend(source.buffer.drain())
            time.sleep(0.02)
    finally:
        source.stop()
        server.stop()
        source.recorder.close()
    received.extend(source.buffer.drain())
    assert isinstance(source.recorder, FlowRecorder) and source.recorder.written == len(received)
    assert type(source).__name__ == ("ProcessHubbleSource" if reader == "process" else "HubbleSource")
    live_lines = [line for r in received if (line := response_line(r.response())) is not None]
    _, out, err = batch("--hubble-file", str(path))
    assert out.splitlines() == live_lines
    assert any(" EVENTS LOST: " in line for line in live_lines)
    assert "bad line" not in err
