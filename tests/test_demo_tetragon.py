"""The demo Tetragon agent over real gRPC (loopback and unix socket), its scenario and its filters."""

from __future__ import annotations

import base64
import importlib.util
import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable

import grpc
import pytest
from google.protobuf import wrappers_pb2

from tui.demo.cluster import EXTERNALS, PODS, episodes
from tui.demo.tetragon_scenario import DEFAULT_START_S, tetragon_events
from tui.demo.tetragon_server import DEMO_VERSION, serve_tetragon
from tui.filters.tetragon_match import EventFilter, FilterError, get_parent, get_policy_name, get_process
from tui.proto.tetragon import capabilities_pb2, events_pb2, sensors_pb2, sensors_pb2_grpc, tetragon_pb2

Response = events_pb2.GetEventsResponse
POD_BY_NAME = {pod.name: pod for pod in PODS}


@pytest.fixture(scope="module")
def server():
    demo = serve_tetragon("127.0.0.1:0", seed=3, rate=0, start_time=DEFAULT_START_S)
    yield demo
    demo.stop()


@pytest.fixture(scope="module")
def stub(server):
    channel = grpc.insecure_channel(server.target)
    yield sensors_pb2_grpc.FineGuidanceSensorsStub(channel)
    channel.close()


def take(stub, count: int, request: events_pb2.GetEventsRequest | None = None,
         timeout: float | None = None) -> list[Response]:
    call = stub.GetEvents(request or events_pb2.GetEventsRequest(), timeout=timeout)
    try:
        return list(itertools.islice(call, count))
    finally:
        call.cancel()


@pytest.fixture(scope="module")
def scenario() -> list[Response]:
    """The first 6,000 scenario events for seed 3 (what an unfiltered stream sends, in order)."""
    return [response for _, response in itertools.islice(tetragon_events(3, 40.0, DEFAULT_START_S), 6_000)]


def kind(response: Response) -> str:
    return response.WhichOneof("event")


# -- gRPC ----------------------------------------------------------------------------------------

def test_streams_ten_thousand_events_unpaced(stub) -> None:
    received = take(stub, 10_000)
    assert len(received) == 10_000
    kinds = Counter(kind(r) for r in received)
    assert set(kinds) == {"process_exec", "process_exit", "process_kprobe"}
    assert all(r.node_name in {"worker-1", "worker-2"} and r.cluster_name == "default" for r in received)
    times = [r.time.ToNanoseconds() for r in received]
    assert times[0] >= DEFAULT_START_S * 10**9 - 10**9  # entrypoints start half a second early


def test_get_version(stub) -> None:
    assert stub.GetVersion(sensors_pb2.GetVersionRequest()).version == DEMO_VERSION


def test_stream_matches_the_scenario_for_the_seed(stub, scenario) -> None:
    received = take(stub, 1_500)
    # deterministic: map fields (pod_labels) otherwise serialize in hash-table order, which differs
    # between a parsed and a built message (upb seeds its hash per process)
    assert ([r.SerializeToString(deterministic=True) for r in received]
            == [r.SerializeToString(deterministic=True) for r in scenario[:1_500]])


def test_allow_list_is_applied_by_the_server(stub, scenario) -> None:
    allow = events_pb2.Filter(namespace=["shop"], event_set=[events_pb2.PROCESS_KPROBE])
    received = take(stub, 300, events_pb2.GetEventsRequest(allow_list=[allow]))
    assert len(received) == 300
    assert all(kind(r) == "process_kprobe" and r.process_kprobe.process.pod.namespace == "shop" for r in received)
    # Without the filter the same stream carries other kinds and namespaces.
    assert {kind(r) for r in scenario} > {"process_kprobe"}
    assert {get_process(r).pod.namespace for r in scenario} > {"shop"}


def test_allow_filters_are_alternatives(stub) -> None:
    curl = events_pb2.Filter(binary_regex=["/curl$"], event_set=[events_pb2.PROCESS_EXEC])
    shadow = events_pb2.Filter(policy_names=["sensitive-files"])
    received = take(stub, 400, events_pb2.GetEventsRequest(allow_list=[curl, shadow]))
    by_kind = Counter(kind(r) for r in received)
    assert by_kind["process_exec"] > 0 and by_kind["process_kprobe"] > 0
    for r in received:
        if kind(r) == "process_exec":
            assert r.process_exec.process.binary == "/usr/bin/curl"
        else:
            assert kind(r) == "process_kprobe" and r.process_kprobe.policy_name == "sensitive-files"


def test_deny_list_is_applied_by_the_server(stub, scenario) -> None:
    deny = [events_pb2.Filter(health_check=wrappers_pb2.BoolValue(value=True)),
            events_pb2.Filter(event_set=[events_pb2.PROCESS_EXIT])]
    received = take(stub, 2_000, events_pb2.GetEventsRequest(deny_list=deny))
    assert len(received) == 2_000
    assert not any(kind(r) == "process_exit" for r in received)
    assert not any(get_process(r).pod.container.maybe_exec_probe for r in received)
    assert any(kind(r) == "process_exit" for r in scenario[:2_000])
    assert any(get_process(r).pod.container.maybe_exec_probe for r in scenario[:2_000])


def test_allow_minus_deny(stub) -> None:
    request = events_pb2.GetEventsRequest(
        allow_list=[events_pb2.Filter(namespace=["tools"])],
        deny_list=[events_pb2.Filter(arguments_regex=["^1$"])],  # loadgen's `sleep 1`
    )
    received = take(stub, 300, request)
    assert all(get_process(r).pod.namespace == "tools" for r in received)
    assert not any(get_process(r).arguments == "1" for r in received)
    assert any(get_process(r).binary == "/usr/bin/curl" for r in received)


@pytest.mark.parametrize("bad", [
    events_pb2.Filter(binary_regex=["(unclosed"]),
    events_pb2.Filter(labels=["app in (a"]),
    events_pb2.Filter(cel_expression=["process_exec.process.pid > 1"]),
    events_pb2.Filter(capabilities=events_pb2.CapFilter(effective=events_pb2.CapFilterSet())),
])
def test_filters_the_server_cannot_build_are_rejected_clearly(stub, bad) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        take(stub, 1, events_pb2.GetEventsRequest(allow_list=[bad]))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details()


def test_cancelled_streams_free_their_server_threads(stub) -> None:
    # The server has 8 worker threads; a stream that outlived its client would keep one forever.
    for _ in range(20):  # a leaked thread makes a later call wait: the deadline turns that into a failure
        assert len(take(stub, 3, timeout=30)) == 3
    assert len(take(stub, 100, events_pb2.GetEventsRequest(
        allow_list=[events_pb2.Filter(event_set=[events_pb2.PROCESS_KPROBE])]))) == 100


def test_unix_socket_target(tmp_path) -> None:
    demo = serve_tetragon(f"unix://{tmp_path}/tetragon.sock", seed=5, rate=0)
    try:
        assert demo.target.startswith("unix://")
        with grpc.insecure_channel(demo.target) as channel:
            stub = sensors_pb2_grpc.FineGuidanceSensorsStub(channel)
            assert stub.GetVersion(sensors_pb2.GetVersionRequest()).version == DEMO_VERSION
            received = take(stub, 50)
        assert len(received) == 50 and kind(received[0]) == "process_exec"
    finally:
        demo.stop()


def test_paced_stream_cancels_and_stop_does_not_hang() -> None:
    # One episode every ~20 s, timeline starting now: streams get the entrypoints, then sleep.
    demo = serve_tetragon("127.0.0.1:0", seed=1, rate=0.05, start_time=time.time())
    channel = grpc.insecure_channel(demo.target)
    stub = sensors_pb2_grpc.FineGuidanceSensorsStub(channel)
    first = take(stub, 7)  # the container entrypoints are delivered at once
    assert [kind(r) for r in first] == ["process_exec"] * 7
    sleeping = stub.GetEvents(events_pb2.GetEventsRequest())
    waiter = threading.Thread(target=lambda: list(itertools.islice(_quiet(sleeping), 10**6)), daemon=True)
    waiter.start()
    stopper = threading.Thread(target=demo.stop, daemon=True)
    stopper.start()
    stopper.join(timeout=20)
    assert not stopper.is_alive(), "server stop hung on a sleeping stream"
    waiter.join(timeout=20)
    assert not waiter.is_alive()
    channel.close()


def _quiet(call):
    try:
        yield from call
    except grpc.RpcError:
        return


def test_same_seed_same_events_other_seed_other_events() -> None:
    def first(seed: int) -> list[bytes]:
        return [r.SerializeToString(deterministic=True)
                for _, r in itertools.islice(tetragon_events(seed, 40.0, 1_000), 800)]
    assert first(9) == first(9)
    assert first(9) != first(10)


# -- the scenario's shape ------------------------------------------------------------------------

def _exec_id_parts(value: str) -> tuple[str, int, int]:
    node, ktime, pid = base64.b64decode(value).decode().split(":")
    return node, int(ktime), int(pid)


def test_exec_ids_are_node_ktime_pid_and_unique(scenario) -> None:
    seen: set[str] = set()
    for r in scenario:
        if kind(r) != "process_exec":
            continue
        process = r.process_exec.process
        node, _, pid = _exec_id_parts(process.exec_id)
        assert node == r.node_name and pid == process.pid.value
        assert process.exec_id not in seen
        seen.add(process.exec_id)
        assert process.parent_exec_id == r.process_exec.parent.exec_id


def test_entrypoints_start_every_pod_under_a_shim(scenario) -> None:
    entry = {r.process_exec.process.pod.name: r for r in scenario[:len(PODS)]}
    assert set(entry) == set(POD_BY_NAME)
    for name, r in entry.items():
        pod = POD_BY_NAME[name]
        process = r.process_exec.process
        assert r.node_name == pod.node and process.pid.value == pod.pid
        assert process.binary == pod.entrypoint[0] and process.pod.container.pid.value == 1
        assert r.process_exec.parent.binary == "/usr/bin/containerd-shim-runc-v2"
        assert not r.process_exec.parent.HasField("pod")
        assert process.pod.container.id == pod.container_id and dict(process.pod.pod_labels) == pod.pod_labels()


def test_sh_execs_curl_in_place_then_connects_and_exits(scenario) -> None:
    execs = {r.process_exec.process.exec_id: r.process_exec.process for r in scenario if kind(r) == "process_exec"}
    connects = [r for r in scenario if kind(r) == "process_kprobe" and r.process_kprobe.function_name == "tcp_connect"
                and r.process_kprobe.policy_name == "connect-outside-cluster"]
    assert len(connects) > 20
    for r in connects:
        body = r.process_kprobe
        curl, sh = body.process, body.parent
        assert curl.binary == "/usr/bin/curl" and "clone" not in curl.flags.split()
        assert sh.binary == "/bin/sh" and "clone" in sh.flags.split() and sh.arguments.startswith('-c "curl -s https://')
        assert curl.pid.value == sh.pid.value and curl.parent_exec_id == sh.exec_id
        assert curl.exec_id in execs and sh.exec_id in execs
        pod = POD_BY_NAME[curl.pod.name]
        sock = body.args[0].sock_arg
        assert sock.saddr == pod.ip and r.node_name == pod.node
        assert (sock.daddr, sock.dport) in {(e.ip, e.port) for e in EXTERNALS}
        assert body.policy_name == "connect-outside-cluster" and body.action == tetragon_pb2.KPROBE_ACTION_POST
    exits = {r.process_exit.process.exec_id for r in scenario if kind(r) == "process_exit"}
    # curls that policy drops time out 2 s later: only connects older than that must have exited
    horizon = scenario[-1].time.ToNanoseconds() - 2_500_000_000
    assert all(r.process_kprobe.process.exec_id in exits for r in connects if r.time.ToNanoseconds() < horizon)


def test_shadow_reads_are_reported_and_sometimes_killed(scenario) -> None:
    opens = [r for r in scenario if kind(r) == "process_kprobe" and r.process_kprobe.function_name == "fd_install"]
    assert opens
    assert all(r.process_kprobe.args[1].file_arg.path == "/etc/shadow" for r in opens)
    assert all(r.process_kprobe.policy_name == "sensitive-files" for r in opens)
    killed = {r.process_kprobe.process.exec_id for r in opens
              if r.process_kprobe.action == tetragon_pb2.KPROBE_ACTION_SIGKILL}
    assert killed and len(killed) < len(opens)
    signals = {r.process_exit.process.exec_id: r.process_exit.signal for r in scenario if kind(r) == "process_exit"}
    assert all(signals.get(exec_id) == "SIGKILL" for exec_id in killed if exec_id in signals)


def test_health_probes_are_marked_and_outside_the_init_tree(scenario) -> None:
    probes = [r for r in scenario if kind(r) == "process_exec" and r.process_exec.process.pod.container.maybe_exec_probe]
    assert probes
    for r in probes:
        process = r.process_exec.process
        assert process.binary in {"/bin/grpc_health_probe", "/bin/cat"}
        assert process.HasField("in_init_tree") and not process.in_init_tree.value


def test_fork_exits_and_out_of_order_deliveries_happen(scenario) -> None:
    exec_ids = {r.process_exec.process.exec_id for r in scenario if kind(r) == "process_exec"}
    exits = [r for r in scenario if kind(r) == "process_exit"]
    forked = [r for r in exits if r.process_exit.process.exec_id not in exec_ids]
    assert forked and all(r.process_exit.process.flags == "clone" for r in forked)
    seen: set[str] = set()
    early = 0
    for r in scenario:
        if kind(r) == "process_exec":
            seen.add(r.process_exec.process.exec_id)
        elif kind(r) == "process_exit" and r.process_exit.process.exec_id in exec_ids:
            early += r.process_exit.process.exec_id not in seen
    assert early > 0


# -- filter semantics, one field at a time, over the scenario -------------------------------------

def _labels(r: Response) -> dict[str, str]:
    process = get_process(r)
    return dict(process.pod.pod_labels) if process is not None and process.HasField("pod") else {}


FIELD_CASES: list[tuple[str, events_pb2.Filter, Callable[[Response], bool]]] = [
    ("binary_regex", events_pb2.Filter(binary_regex=["^/bin/(sh|cat)$"]),
     lambda r: get_process(r).binary in {"/bin/sh", "/bin/cat"}),
    ("namespace", events_pb2.Filter(namespace=["kube-system", "tools"]),
     lambda r: get_process(r).pod.namespace in {"kube-system", "tools"}),
    ("health_check false", events_pb2.Filter(health_check=wrappers_pb2.BoolValue(value=False)),
     lambda r: not get_process(r).pod.container.maybe_exec_probe),
    ("pid", events_pb2.Filter(pid=[PODS[3].pid]), lambda r: get_process(r).pid.value == PODS[3].pid),
    ("event_set", events_pb2.Filter(event_set=[events_pb2.PROCESS_EXIT, events_pb2.PROCESS_EXEC]),
     lambda r: kind(r) in {"process_exit", "process_exec"}),
    ("pod_regex", events_pb2.Filter(pod_regex=["^api-"]), lambda r: get_process(r).pod.name.startswith("api-")),
    ("arguments_regex", events_pb2.Filter(arguments_regex=["payments"]),
     lambda r: "payments" in get_process(r).arguments),
    ("labels", events_pb2.Filter(labels=["tier in (web,cache),app!=redis"]),
     lambda r: _labels(r).get("tier") in {"web", "cache"} and _labels(r).get("app") != "redis"),
    ("labels exists", events_pb2.Filter(labels=["tier"]), lambda r: "tier" in _labels(r)),
    ("policy_names", events_pb2.Filter(policy_names=["connect-outside-cluster"]),
     lambda r: get_policy_name(r) == "connect-outside-cluster"),
    ("parent_binary_regex", events_pb2.Filter(parent_binary_regex=["containerd-shim"]),
     lambda r: get_parent(r) is not None and "containerd-shim" in get_parent(r).binary),
    ("container_id", events_pb2.Filter(container_id=[PODS[0].container_id.split("//")[1][:12]]),
     lambda r: get_process(r).docker.startswith(PODS[0].container_id.split("//")[1][:12])),
    ("in_init_tree", events_pb2.Filter(in_init_tree=wrappers_pb2.BoolValue(value=False)),
     lambda r: not get_process(r).in_init_tree.value),
    ("container_name_regex", events_pb2.Filter(container_name_regex=["^(postgres|redis)$"]),
     lambda r: get_process(r).pod.container.name in {"postgres", "redis"}),
    ("capabilities", events_pb2.Filter(capabilities=events_pb2.CapFilter(
        effective=events_pb2.CapFilterSet(any=[capabilities_pb2.CAP_NET_RAW, capabilities_pb2.CAP_SYS_ADMIN]))),
     lambda r: bool({capabilities_pb2.CAP_NET_RAW, capabilities_pb2.CAP_SYS_ADMIN} & set(get_process(r).cap.effective))),
    ("capabilities none", events_pb2.Filter(capabilities=events_pb2.CapFilter(
        permitted=events_pb2.CapFilterSet(none=[capabilities_pb2.CAP_CHOWN]))),
     lambda r: capabilities_pb2.CAP_CHOWN not in get_process(r).cap.permitted),
    ("two fields AND", events_pb2.Filter(namespace=["shop"], binary_regex=["cat"]),
     lambda r: get_process(r).pod.namespace == "shop" and "cat" in get_process(r).binary),
]


@pytest.mark.parametrize(("name", "spec", "expected"), FIELD_CASES, ids=[c[0] for c in FIELD_CASES])
def test_each_filter_field_selects_exactly_its_events(scenario, name, spec, expected) -> None:
    allow, deny = EventFilter([spec]), EventFilter(deny=[spec])
    verdicts = [allow.passes(r) for r in scenario]
    assert verdicts == [expected(r) for r in scenario]
    assert any(verdicts) and not all(verdicts), f"{name}: the scenario should have events on both sides"
    assert [deny.passes(r) for r in scenario] == [not v for v in verdicts]


def test_process_filters_never_match_events_without_a_process() -> None:
    throttle = Response(process_throttle=events_pb2.ProcessThrottle(type=events_pb2.THROTTLE_START))
    for spec in (events_pb2.Filter(namespace=[""]), events_pb2.Filter(binary_regex=[""]),
                 events_pb2.Filter(labels=[""])):
        assert not EventFilter([spec]).passes(throttle)
    assert EventFilter([events_pb2.Filter(event_set=[events_pb2.PROCESS_THROTTLE])]).passes(throttle)


def test_pid_set_follows_descendants(scenario) -> None:
    loadgen = next(pod for pod in PODS if pod.app == "loadgen")
    pid_set = EventFilter([events_pb2.Filter(pid_set=[loadgen.pid])])
    passed = [r for r in scenario if pid_set.passes(r)]
    binaries = {get_process(r).binary for r in passed}
    assert {"/bin/sleep", "/usr/bin/curl"} <= binaries
    assert all(get_process(r).pod.name == loadgen.name for r in passed)


def test_bad_filters_raise_filter_error() -> None:
    with pytest.raises(FilterError, match="ancestors"):
        EventFilter([events_pb2.Filter(ancestor_binary_regex=["x"])])
    with pytest.raises(FilterError, match="label selector"):
        EventFilter([events_pb2.Filter(labels=["a b c"])])


# -- agreement with the Hubble side ---------------------------------------------------------------

def test_external_episode_shows_curl_here_and_flows_there() -> None:
    if importlib.util.find_spec("tui.demo.hubble_scenario") is None:
        pytest.skip("the Hubble scenario expander is not in this tree yet")
    from tui.demo import hubble_scenario

    seed, rate = 4, 40.0
    horizon = 30.0  # scenario seconds
    start_ns = DEFAULT_START_S * 10**9
    wanted = [e for e in itertools.takewhile(lambda e: e.t < horizon, episodes(seed, rate))
              if e.kind == "external" and e.params["exit"] == 0]
    assert wanted
    connects = []
    for _, r in tetragon_events(seed, rate, DEFAULT_START_S):
        if r.time.ToNanoseconds() > start_ns + horizon * 1e9:
            break
        if (kind(r) == "process_kprobe" and r.process_kprobe.function_name == "tcp_connect"
                and r.process_kprobe.policy_name == "connect-outside-cluster"):
            connects.append(r)
    syn_flows = []
    for r in hubble_scenario.flow_responses(seed, rate, start_ns=start_ns):
        if r.time.ToNanoseconds() > start_ns + (horizon + 1) * 1e9:
            break
        tcp = r.flow.l4.TCP
        if r.HasField("flow") and tcp.flags.SYN and not tcp.flags.ACK:
            syn_flows.append(r)
    assert len(connects) == len(wanted)
    for r in connects:
        sock = r.process_kprobe.args[0].sock_arg
        pod = POD_BY_NAME[r.process_kprobe.process.pod.name]
        at = r.time.ToNanoseconds()
        same = [f for f in syn_flows
                if f.flow.source.pod_name == pod.name and f.flow.IP.source == sock.saddr
                and f.flow.IP.destination == sock.daddr and f.flow.l4.TCP.destination_port == sock.dport]
        assert same, f"no SYN flow from {pod.name} to {sock.daddr}:{sock.dport}"
        nearest = min(same, key=lambda f: abs(f.time.ToNanoseconds() - at))
        assert abs(nearest.time.ToNanoseconds() - at) < 10_000_000  # within 10 ms: the same instant on screen
        assert nearest.node_name == r.node_name == pod.node


def test_default_paced_timeline_is_where_the_hubble_demo_is_live() -> None:
    """`ebtop --demo` starts both servers with defaults: "now" must be the same episode in both."""
    if importlib.util.find_spec("tui.demo.hubble_server") is None:
        pytest.skip("the Hubble demo server is not in this tree yet")
    from tui.demo.hubble_server import serve_hubble
    from tui.proto.observer import observer_pb2, observer_pb2_grpc

    hubble = serve_hubble("127.0.0.1:0", seed=2, rate=40.0)
    tetragon = serve_tetragon("127.0.0.1:0", seed=2, rate=40.0)
    try:
        with grpc.insecure_channel(hubble.target) as channel:
            newest = next(iter(observer_pb2_grpc.ObserverStub(channel).GetFlows(
                observer_pb2.GetFlowsRequest(number=1))))
        servicer = tetragon.servicer
        assert servicer.live_from > 5.0  # Hubble pre-fills seconds of history: a real offset to match
        tetragon_now_ns = servicer.start_ns + servicer.live_from * 1e9
        # The newest Hubble flow is "now" on Hubble's side; both servers were created moments apart.
        assert abs(newest.time.ToNanoseconds() - tetragon_now_ns) < 3e9
    finally:
        hubble.stop()
        tetragon.stop()
