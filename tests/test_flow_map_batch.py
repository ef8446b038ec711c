"""`ebtop -b --pane flows --view map` over a replayed file: one edge a line, flows add up, DOT."""

from __future__ import annotations

import io
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

from google.protobuf import json_format

from tui.demo.hubble_scenario import flow_responses

EDGE = re.compile(r"^(\S+) -> (\S+) (\S+) flows=(\d+) forwarded=(\d+) dropped=(\d+) errors=(\d+)( |$)")


def ebtop(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", "-b", "--pane", "flows", *args], capture_output=True,
                          text=True, timeout=120, check=False)


def demo_file(path: Path, count: int) -> Path:
    with path.open("w") as handle:
        for response in itertools.islice(flow_responses(seed=3), count):
            handle.write(json.dumps(json_format.MessageToDict(response)) + "\n")
    return path


def flows_in(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if '"flow"' in line[:12])


def test_edge_lines_account_for_every_flow_read(tmp_path: Path) -> None:
    path = demo_file(tmp_path / "flows.json", 3000)
    assert flows_in(path) == 3000
    result = ebtop("--view", "map", "--hubble-file", str(path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    edges = [EDGE.match(line) for line in lines]
    assert all(edges), [line for line, match in zip(lines, edges, strict=True) if not match]
    assert sum(int(m.group(4)) for m in edges if m) == 3000
    by_pair = {(m.group(1), m.group(2)): m for m in edges if m}
    assert ("shop/frontend", "shop/api") in by_pair and ("shop/api", "shop/postgres") in by_pair
    assert by_pair[("shop/api", "shop/postgres")].group(3) == "5432/TCP"
    denied = by_pair[("tools/loadgen", "shop/postgres")]
    assert int(denied.group(6)) > 0  # the policy drop
    for m in edges:
        assert m and int(m.group(5)) + int(m.group(6)) <= int(m.group(4))


def test_edge_lines_from_the_checked_in_replay(tmp_path: Path) -> None:
    path = Path(__file__).parent / "data" / "hubble_flows.jsonl"
    result = ebtop("--view", "map", "--hubble-file", str(path))
    assert result.returncode == 0, result.stderr
    total = sum(int(m.group(4)) for m in map(EDGE.match, result.stdout.splitlines()) if m)
    assert total == flows_in(path) and total > 0


def map_batch(*argv: str, output: str) -> tuple[int, str, str]:
    """The map batch in-process with `-o output` (whether or not tui/cli.py has the shared -o flag yet)."""
    from tui.cli import build_parser
    from tui.wiring.flow_map import run_map_batch

    args = build_parser().parse_args(["-b", "--pane", "flows", *argv])
    args.output = output
    out, err = io.StringIO(), io.StringIO()
    return run_map_batch(args, out, err), out.getvalue(), err.getvalue()


def test_dot_output_and_usage_errors(tmp_path: Path) -> None:
    path = demo_file(tmp_path / "flows.json", 500)
    code, text, err = map_batch("--view", "map", "--hubble-file", str(path), output="dot")
    assert code == 0, err
    assert text.startswith("digraph ebtop_service_map {") and text.rstrip().endswith("}")
    assert 'label="shop";' in text and "rankdir=LR;" in text
    assert re.search(r'n\d+ -> n\d+ \[label="5432/TCP\\n\d+ flows, \d+ dropped", color=red', text)
    code, _, err = map_batch("--view", "map", "--hubble-file", str(path), output="json")
    assert code == 2 and "-o json" in err
