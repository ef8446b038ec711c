"""Every filter flag means the same on a replayed file as on a server, in batch mode (`tui.cli.main`).

The expectations are written here from the flags' documented meaning (hubble observe's), not taken from
the predicates under test; a loopback case then checks that a recorded stream replayed with a filter
prints exactly what the demo server sends for the same filter.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from datetime import datetime
from pathlib import Path

import pytest

from tui.cli import main
from tui.proto.flow import flow_pb2
from tui.proto.jsonlines import read_lines
from tui.proto.observer import observer_pb2
from tui.render.hubble_compact import CompactOptions, response_line

DATA = Path(__file__).parent / "data" / "hubble_flows.jsonl"
EVENTS = Path(__file__).parent / "data" / "processes_pane.jsonl"


def ebtop(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            status = main(["-b", *argv])
        except SystemExit as exit_:  # argparse usage errors
            status = int(exit_.code or 0)
    return status, out.getvalue(), err.getvalue()


def responses() -> list[observer_pb2.GetFlowsResponse]:
    with DATA.open() as handle:
        return [r for r in read_lines(handle, observer_pb2.GetFlowsResponse)
                if isinstance(r, observer_pb2.GetFlowsResponse)]


def either(flow: flow_pb2.Flow, check: Callable[[flow_pb2.Endpoint], bool]) -> bool:
    return check(flow.source) or check(flow.destination)


def ports(flow: flow_pb2.Flow) -> set[int]:
    l4 = getattr(flow.l4, flow.l4.WhichOneof("protocol") or "TCP")
    return {l4.source_port, l4.destination_port}


def nanos(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1e9)


SINCE = "2026-01-01T00:00:00.300+00:00"
UNTIL = "2026-01-01T00:00:00.450+00:00"

# flags -> (what a kept flow is, whether non-flow responses pass: they do unless a whitelist asks for flows)
CASES: dict[str, tuple[list[str], Callable[[flow_pb2.Flow], bool], bool]] = {
    "verdict": (["--verdict", "DROPPED"], lambda f: f.verdict == flow_pb2.DROPPED, False),
    "verdict-or": (["--verdict", "DROPPED", "--verdict", "ERROR"],
                   lambda f: f.verdict in (flow_pb2.DROPPED, flow_pb2.ERROR), False),
    "namespace": (["--namespace", "tools"], lambda f: either(f, lambda e: e.namespace == "tools"), False),
    "pod": (["--pod", "shop/api"],
            lambda f: either(f, lambda e: e.namespace == "shop" and e.pod_name.startswith("api")), False),
    "protocol-l4": (["--protocol", "udp"], lambda f: f.l4.HasField("UDP"), False),
    "protocol-l7": (["--protocol", "http"], lambda f: f.l7.HasField("http"), False),
    "port": (["--port", "53"], lambda f: 53 in ports(f), False),
    "ip": (["--ip", "10.0.2.30"], lambda f: "10.0.2.30" in (f.IP.source, f.IP.destination), False),
    "label": (["--label", "k8s:app=api"], lambda f: either(f, lambda e: "k8s:app=api" in e.labels), False),
    "fqdn": (["--fqdn", "api.payments.example.com"],
             lambda f: "api.payments.example.com" in [*f.source_names, *f.destination_names], False),
    "http-status": (["--http-status", "200"], lambda f: f.l7.http.code == 200, False),
    "and": (["--verdict", "FORWARDED", "--namespace", "tools"],
            lambda f: f.verdict == flow_pb2.FORWARDED and either(f, lambda e: e.namespace == "tools"), False),
    "not": (["--not", "--namespace", "shop"], lambda f: not either(f, lambda e: e.namespace == "shop"), True),
    "not-and-allow": (["--protocol", "tcp", "--not", "--verdict", "FORWARDED"],
                      lambda f: f.l4.HasField("TCP") and f.verdict != flow_pb2.FORWARDED, False),
}


def expected(check: Callable[[flow_pb2.Flow], bool], others: bool, since: str | None = None,
             until: str | None = None) -> list[str]:
    lines = []
    for response in responses():
        stamp = (response.time if response.HasField("time") else response.flow.time).ToNanoseconds()
        if (since and stamp < nanos(since)) or (until and stamp > nanos(until)):
            continue
        if response.HasField("node_status"):
            continue  # printed on stderr
        if (check(response.flow) if response.HasField("flow") else others):
            line = response_line(response, CompactOptions(), False)
            if line is not None:
                lines.append(line)
    return lines


@pytest.mark.parametrize("case", sorted(CASES))
def test_file_replay_keeps_exactly_what_the_filter_selects(case: str) -> None:
    argv, check, others = CASES[case]
    status, out, err = ebtop("--pane", "flows", "--hubble-file", str(DATA), *argv)
    want = expected(check, others)
    assert status == 0, err
    assert 0 < len(want) < len(responses())  # the filter keeps some and drops some
    assert out.splitlines() == want


@pytest.mark.parametrize(("argv", "since", "until"), [
    (["--since", SINCE], SINCE, None),
    (["--until", UNTIL], None, UNTIL),
    (["--since", SINCE, "--until", UNTIL, "--protocol", "udp"], SINCE, UNTIL),
])
def test_file_replay_applies_since_and_until(argv: list[str], since: str | None, until: str | None) -> None:
    status, out, err = ebtop("--pane", "flows", "--hubble-file", str(DATA), *argv)
    udp_only = "--protocol" in argv
    want = expected((lambda f: f.l4.HasField("UDP")) if udp_only else (lambda f: True), not udp_only,
                    since, until)
    assert status == 0, err
    assert 0 < len(want) < len(responses())
    assert out.splitlines() == want


@pytest.mark.parametrize(("argv", "message"), [
    (["--verdict", "BOGUS"], "--verdict 'BOGUS': not a verdict"),
    (["--ip", "10.0.0.300"], "invalid IP address or CIDR in filter: '10.0.0.300'"),
    (["--label", "app in (a"], "invalid label selector"),
    (["--since", "yesterday-ish"], "not a duration"),
    (["--not"], "--not must be followed"),
])
@pytest.mark.parametrize("mode", [["--hubble-file", str(DATA)], ["--hubble-server", "127.0.0.1:1"]])
def test_an_invalid_filter_value_is_a_usage_error_in_every_mode(argv: list[str], message: str,
                                                                 mode: list[str]) -> None:
    status, out, err = ebtop("--pane", "flows", *mode, *argv)
    assert status == 2 and out == ""
    assert message in err


def test_a_recorded_stream_replayed_with_a_filter_prints_what_the_server_sends(tmp_path: Path) -> None:
    from tui.demo.hubble_server import serve_hubble

    server = serve_hubble(rate=0, history=400)
    path = tmp_path / "recorded.jsonl"
    try:
        status, everything, err = ebtop("--pane", "flows", "--hubble-server", server.target, "--last", "400",
                                        "--record-flows", str(path))
        assert status == 0, err
        filters = ["--verdict", "DROPPED", "--not", "--namespace", "kube-system"]
        status, served, err = ebtop("--pane", "flows", "--hubble-server", server.target, "--last", "400",
                                    *filters)
        assert status == 0, err
    finally:
        server.stop()
    status, replayed, err = ebtop("--pane", "flows", "--hubble-file", str(path), *filters)
    assert status == 0, err
    assert 0 < len(served.splitlines()) < len(everything.splitlines())
    assert replayed == served


# -- Tetragon filters on a --tetragon-file replay ------------------------------------------------

def events() -> list:
    from tui.proto.tetragon import events_pb2

    with EVENTS.open() as handle:
        return [r for r in read_lines(handle, events_pb2.GetEventsResponse)
                if isinstance(r, events_pb2.GetEventsResponse)]


def process_of(response):  # noqa: ANN001, ANN201
    body = getattr(response, response.WhichOneof("event"))
    return body.process if "process" in body.DESCRIPTOR.fields_by_name and body.HasField("process") else None


TETRA_CASES = {
    "namespace": (["--tetragon-namespace", "tools"],
                  lambda r: (p := process_of(r)) is not None and p.pod.namespace == "tools"),
    "pod": (["--tetragon-pod", "^api-"], lambda r: (p := process_of(r)) is not None and p.pod.name.startswith("api-")),
    "process": (["--process", "nginx$"], lambda r: (p := process_of(r)) is not None and p.binary.endswith("nginx")),
    "event-types": (["--event-types", "exit"], lambda r: r.WhichOneof("event") == "process_exit"),
    "and": (["--tetragon-namespace", "shop", "--event-types", "exec,exit"],
            lambda r: r.WhichOneof("event") in ("process_exec", "process_exit")
            and (p := process_of(r)) is not None and p.pod.namespace == "shop"),
}


@pytest.mark.parametrize("case", sorted(TETRA_CASES))
def test_tetragon_file_replay_applies_the_tetragon_filters(case: str) -> None:
    from tui.render.tetra_compact import render_line

    argv, check = TETRA_CASES[case]
    status, out, err = ebtop("--pane", "processes", "--tetragon-file", str(EVENTS), "--color", "never", *argv)
    probes = [r for r in events() if (p := process_of(r)) is not None and p.pod.container.maybe_exec_probe]
    kept = [r for r in events() if check(r) and r not in probes]
    assert status == 0, err
    assert 0 < len(kept) < len(events())
    assert [line for line in out.splitlines() if not line.startswith(" ")] == [render_line(r) for r in kept]


@pytest.mark.parametrize(("argv", "message"), [
    (["--event-types", "bogus"], "unknown event type 'bogus'"),
    (["--tetragon-pod", "("], "invalid regular expression in pod_regex"),
])
@pytest.mark.parametrize("mode", [["--tetragon-file", str(EVENTS)], ["--tetragon-server", "127.0.0.1:1"],
                                  ["--processes-source", "local"]])
def test_an_invalid_tetragon_filter_is_a_usage_error_in_every_mode(argv: list[str], message: str,
                                                                   mode: list[str]) -> None:
    status, out, err = ebtop("--pane", "processes", *mode, *argv)
    assert status == 2 and out == ""
    assert message in err


@pytest.mark.parametrize(("argv", "message"), [
    (["--hubble-file", str(DATA), "--verdict", "BOGUS"], "--verdict 'BOGUS': not a verdict"),
    (["--hubble-server", "127.0.0.1:1", "--ip", "10.0.0.300"], "invalid IP address or CIDR"),
])
def test_an_invalid_filter_value_is_the_flows_panes_problem(argv: list[str], message: str) -> None:
    from tui.cli import build_parser
    from tui.wiring import flows

    pane = flows.create_pane(build_parser().parse_args(argv))
    assert pane.source is None  # nothing runs with a filter the server would refuse
    assert message in pane.status_line()


@pytest.mark.parametrize("mode", [["--tetragon-file", str(EVENTS)], ["--tetragon-server", "127.0.0.1:1"]])
def test_an_invalid_tetragon_filter_is_the_processes_panes_problem(mode: list[str]) -> None:
    from tui.cli import build_parser
    from tui.panes.problem import ProblemPane
    from tui.wiring import processes

    pane = processes.create_pane(build_parser().parse_args([*mode, "--event-types", "bogus"]))
    assert isinstance(pane, ProblemPane)
    assert "unknown event type 'bogus'" in pane.status_line()


@pytest.mark.kernel
def test_local_exec_source_applies_the_tetragon_filters() -> None:
    """No agent filters local events: `--event-types exit --process` must be applied by ebtop itself."""
    import os
    import subprocess
    import sys
    import threading

    if os.geteuid() != 0:
        pytest.skip("the local exec source needs root")
    stop = threading.Event()

    def workload() -> None:
        while not stop.is_set():
            subprocess.run(["/bin/true"], check=False)
            subprocess.run(["/bin/sleep", "0.01"], check=False)

    thread = threading.Thread(target=workload, daemon=True)
    thread.start()
    try:
        out = subprocess.run([sys.executable, "-m", "tui", "-b", "--pane", "processes", "--processes-source", "local",
                              "--event-types", "exit", "--process", "/true$", "-n", "5", "--color", "never"],
                             capture_output=True, text=True, timeout=120)
    finally:
        stop.set()
        thread.join(10)
    lines = out.stdout.splitlines()
    assert out.returncode == 0, out.stderr
    assert len(lines) == 5
    assert all(line.startswith("💥 exit") and "/true" in line for line in lines), lines
