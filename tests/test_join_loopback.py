"""Who made this flow, end to end: the demo's Hubble and Tetragon servers, the real clients, the join.

`ebtop -b --pane flows --print-process` reads the demo servers over loopback gRPC (and then recorded
files of the same streams). The truth comes from the shared episode timeline, not from the join:
each TCP connection's client is known (nginx in the frontend pod, the api entrypoint, a curl forked
in loadgen or for an external call, the node's kubelet), so every flow of such a connection must get
that process, and no flow may get another. Ports are reused in the scenario; those flows are
checked too.
"""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from tui.demo.cluster import PODS, Episode, episodes
from tui.demo.hubble_scenario import NODE_IPS
from tui.demo.hubble_server import serve_hubble
from tui.demo.tetragon_scenario import DEFAULT_START_S, KUBELET_PID
from tui.demo.tetragon_server import serve_tetragon
from tui.proto.jsonlines import write_lines
from tui.proto.observer import observer_pb2, observer_pb2_grpc
from tui.proto.tetragon import events_pb2, sensors_pb2_grpc

SEED = 1
FLOWS = 12_000
SUFFIX = re.compile(r" pid=(\d+) binary=(\S+)$")
START_NS = DEFAULT_START_S * 10**9
POD_BY_IP = {pod.ip: pod for pod in PODS}
CONNECTION_KINDS = ("http", "tcp", "external", "denied", "health")


@pytest.fixture(scope="module")
def servers():
    hubble = serve_hubble("127.0.0.1:0", seed=SEED, rate=0, history=FLOWS + 10, start_time=DEFAULT_START_S)
    tetragon = serve_tetragon("127.0.0.1:0", seed=SEED, rate=0, start_time=DEFAULT_START_S)
    yield hubble, tetragon
    hubble.stop()
    tetragon.stop()


@pytest.fixture(scope="module")
def flows(servers) -> list[observer_pb2.GetFlowsResponse]:
    """The first FLOWS responses, read with the generated client (what the batch run reads too)."""
    hubble, _ = servers
    with grpc.insecure_channel(hubble.target) as channel:
        stub = observer_pb2_grpc.ObserverStub(channel)
        return list(stub.GetFlows(observer_pb2.GetFlowsRequest(first=FLOWS), timeout=60))[:FLOWS]


@pytest.fixture(scope="module")
def events(servers, flows) -> list[events_pb2.GetEventsResponse]:
    """Tetragon's stream from the start up to 3 s past the last flow."""
    _, tetragon = servers
    end = flows[-1].time.ToNanoseconds() + 3 * 10**9
    with grpc.insecure_channel(tetragon.target) as channel:
        call = sensors_pb2_grpc.FineGuidanceSensorsStub(channel).GetEvents(events_pb2.GetEventsRequest(),
                                                                            timeout=60)
        out = list(itertools.takewhile(lambda r: r.time.ToNanoseconds() < end, call))
        call.cancel()
    return out


def ebtop(*args: str) -> list[str]:
    result = subprocess.run([sys.executable, "-m", "tui", "-b", "--pane", "flows", *args],
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def connection_episodes(horizon_s: float) -> list[Episode]:
    return [ep for ep in itertools.takewhile(lambda e: e.t < horizon_s, episodes(SEED, 40.0))
            if ep.kind in CONNECTION_KINDS and not (ep.kind == "external" and ep.params["exit"] == 6)]


def client_of(ep: Episode) -> tuple[str, int]:
    if ep.kind == "health":
        return NODE_IPS[str(ep.params["node"])], int(ep.params["sport"])
    assert ep.src is not None
    return ep.src.ip, int(ep.params["sport"])


def expected_episode(flow, by_client: dict) -> Episode | None:
    """The connection episode a TCP flow belongs to: its client address and port, nearest in time."""
    if flow.l4.WhichOneof("protocol") != "TCP":
        return None
    tcp = flow.l4.TCP
    t = (flow.time.ToNanoseconds() - START_NS) / 1e9
    for key in ((flow.IP.source, tcp.source_port), (flow.IP.destination, tcp.destination_port)):
        candidates = [ep for ep in by_client.get(key, []) if abs(ep.t - t) < 3.0]
        if candidates:
            return min(candidates, key=lambda ep: abs(ep.t - t))
    return None


def check(lines: list[str], flows, events, lost: frozenset[float] = frozenset()) -> dict[str, int]:
    """Every line's suffix against the truth; returns what was checked.

    `lost`: times of episodes whose socket events were removed: their flows must get no process (an
    older socket on the same reused port is stale, never an answer).
    """
    assert len(lines) == len(flows)
    execs = {}
    for r in events:
        if r.WhichOneof("event") == "process_exec":
            execs[(r.node_name, r.process_exec.process.pid.value, r.process_exec.process.binary)] = \
                r.process_exec.process
    horizon = (flows[-1].time.ToNanoseconds() - START_NS) / 1e9 + 1
    by_client: dict[tuple[str, int], list[Episode]] = {}
    for ep in connection_episodes(horizon):
        by_client.setdefault(client_of(ep), []).append(ep)
    reused = {key for key, eps in by_client.items() if len(eps) > 1}
    seen = {"joined": 0, "reused": 0, "curl": 0, "dropped_curl": 0, "lost": 0}
    for line, response in zip(lines, flows, strict=True):
        flow = response.flow
        match = SUFFIX.search(line)
        ep = expected_episode(flow, by_client) if response.HasField("flow") else None
        if ep is None or ep.t in lost:
            assert match is None, f"a process for a flow with none: {line}"
            if ep is not None:
                seen["lost"] += 1
            continue
        assert match is not None, f"no process for a flow of a {ep.kind} connection: {line}"
        pid, binary = int(match.group(1)), match.group(2)
        if ep.kind == "health":
            assert (pid, binary) == (KUBELET_PID, "/usr/bin/kubelet"), line
        elif ep.kind == "tcp" or (ep.kind == "http" and ep.src.app == "frontend"):
            assert (pid, binary) == (ep.src.pid, ep.src.entrypoint[0]), line
        else:  # a curl forked for this episode in the client's pod, exec'd at the episode's time
            assert binary == "/usr/bin/curl", line
            process = execs[(ep.src.node, pid, binary)]
            started = (process.start_time.ToNanoseconds() - START_NS) / 1e9
            assert abs(started - ep.t) < 0.01 and process.pod.name == ep.src.name, line
            seen["curl"] += 1
            if flow.verdict == 2 and ep.kind == "external":
                seen["dropped_curl"] += 1
        seen["joined"] += 1
        if client_of(ep) in reused:
            seen["reused"] += 1
        # the line itself is hubble's, unchanged, before the suffix
        assert not line[:match.start()].endswith(" ")
    return seen


def test_live_servers_every_connection_gets_its_process(servers, flows, events) -> None:
    hubble, tetragon = servers
    lines = ebtop("--hubble-server", hubble.target, "--tetragon-server", tetragon.target,
                  "--first", str(FLOWS), "--print-process")
    seen = check(lines, flows, events)
    assert seen["joined"] > FLOWS // 2 and seen["curl"] > 100
    assert seen["dropped_curl"] > 0, "the dropped curl to the storage API is in the sample"
    assert seen["reused"] > 0, "no reused port in the sample: the reuse case went untested"


def test_recorded_files_give_the_same_answer_every_time(tmp_path: Path, servers, flows, events) -> None:
    flow_file, event_file = tmp_path / "flows.json", tmp_path / "events.json"
    with flow_file.open("w") as out:
        write_lines(flows, out)
    with event_file.open("w") as out:
        write_lines(events, out)
    args = ("--hubble-file", str(flow_file), "--tetragon-file", str(event_file), "--first", str(FLOWS),
            "--print-process")
    first = ebtop(*args)
    seen = check(first, flows, events)
    assert seen["joined"] > FLOWS // 2 and seen["reused"] > 0
    assert ebtop(*args) == first
    plain = ebtop("--hubble-file", str(flow_file), "--first", str(FLOWS))
    assert [SUFFIX.sub("", line) for line in first] == plain


def test_a_reused_port_whose_new_socket_was_never_reported_gets_no_process(tmp_path: Path, servers, flows,
                                                                          events) -> None:
    """Remove the socket events of every second use of a reused port: the first socket is stale."""
    horizon = (flows[-1].time.ToNanoseconds() - START_NS) / 1e9 + 1
    by_client: dict[tuple[str, int], list[Episode]] = {}
    for ep in connection_episodes(horizon):
        by_client.setdefault(client_of(ep), []).append(ep)
    later = {key: eps[1].t for key, eps in by_client.items() if len(eps) > 1}
    assert later

    def hidden(r) -> bool:
        if r.WhichOneof("event") != "process_kprobe":
            return False
        arg = r.process_kprobe.args[0] if r.process_kprobe.args else getattr(r.process_kprobe, "return")
        sock = arg.sock_arg
        t = (r.time.ToNanoseconds() - START_NS) / 1e9
        return any(key in later and t >= later[key] - 0.5
                   for key in ((sock.saddr, sock.sport), (sock.daddr, sock.dport)))

    kept = [r for r in events if not hidden(r)]
    assert len(kept) < len(events)
    flow_file, event_file = tmp_path / "flows.json", tmp_path / "events.json"
    with flow_file.open("w") as out:
        write_lines(flows, out)
    with event_file.open("w") as out:
        write_lines(kept, out)
    lines = ebtop("--hubble-file", str(flow_file), "--tetragon-file", str(event_file), "--first", str(FLOWS),
                  "--print-process")
    lost = frozenset(ep.t for eps in by_client.values() if len(eps) > 1 for ep in eps[1:])
    seen = check(lines, flows, kept, lost)
    assert seen["lost"] > 0 and seen["joined"] > FLOWS // 2
