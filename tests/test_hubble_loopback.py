"""The real client code against the demo Hubble server over loopback gRPC.

- >= 10,000 flows with allow and deny filters built from CLI flags, applied by the server;
- the server killed and restarted on the same port: the source recovers and leaves a gap marker;
- lost events arrive as records and count in the store;
- TLS with a CA made here; a wrong server name is refused with a clear message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from tests.helpers.pki import make_pki
from tui.cli import build_parser
from tui.demo import hubble_server
from tui.filters.hubble import build_request
from tui.model.flows import FlowRecord, FlowStore, RecordKind
from tui.proto.observer import observer_pb2, observer_pb2_grpc
from tui.render.hubble_compact import CompactOptions, flow_line, response_line
from tui.sources.base import Backoff, SourceState
from tui.sources.hubble import HubbleSource
from tui.sources.hubble_process import ProcessHubbleSource
from tui.sources.hubble_tls import TlsOptions, resolve
from tui.wiring.flows import filter_flags, history_of

serve_hubble = hubble_server.serve_hubble

FAST_BACKOFF = dict(base=0.05, cap=0.2)


def collect(source: HubbleSource, until: Callable[[list[FlowRecord]], bool], timeout: float = 60.0
            ) -> list[FlowRecord]:
    records: list[FlowRecord] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records.extend(source.buffer.drain())
        if until(records):
            return records
        time.sleep(0.02)
    raise AssertionError(f"timed out with {len(records)} records; state {source.status.get().describe()}")


def flows_of(records: list[FlowRecord]) -> list[observer_pb2.GetFlowsResponse]:
    return [r.response() for r in records if r.kind is RecordKind.FLOW]


def source_from_cli(target: str, *argv: str, reader: str = "thread", **kwargs: object) -> HubbleSource:
    args = build_parser().parse_args(["--hubble-server", target, *argv])
    request = build_request(filter_flags(args), history_of(args), live=True)
    if reader == "process":
        return ProcessHubbleSource(resolve(args.hubble_server), request, backoff=(0.05, 0.2),  # type: ignore[return-value]
                                   status_interval=0.2, connect_timeout=2.0, **kwargs)
    return HubbleSource(resolve(args.hubble_server), request, backoff=Backoff(**FAST_BACKOFF),
                        status_interval=0.2, connect_timeout=2.0, **kwargs)


def namespaces(response: observer_pb2.GetFlowsResponse) -> set[str]:
    return {response.flow.source.namespace, response.flow.destination.namespace}


READERS = pytest.mark.parametrize("reader", ["thread", "process"])


@READERS
def test_ten_thousand_flows_filtered_by_the_server(reader: str) -> None:
    server = serve_hubble(rate=0, history=200, seed=3)
    try:
        # Control: without filters the stream does contain what the filters remove.
        plain = source_from_cli(server.target)
        plain.start()
        control = flows_of(collect(plain, lambda r: len(r) >= 3000))
        plain.stop()
        assert any("shop" not in namespaces(r) for r in control)
        assert any(r.flow.verdict == 2 for r in control)
        assert any(r.flow.verdict == 2 and "shop" in namespaces(r) for r in control)
        assert any(r.flow.l4.WhichOneof("protocol") != "TCP" and "shop" in namespaces(r) for r in control)

        source = source_from_cli(server.target, "--namespace", "shop", "--not", "--verdict", "DROPPED",
                                 "--protocol", "tcp", reader=reader)
        source.start()
        records = collect(source, lambda r: sum(x.kind is RecordKind.FLOW for x in r) >= 10_000)
        assert source.status.get().state is SourceState.STREAMING
        source.stop()
    finally:
        server.stop()
    flows = flows_of(records)
    assert len(flows) >= 10_000
    assert all("shop" in namespaces(r) for r in flows)
    assert not any(r.flow.verdict == 2 for r in flows)
    assert all(r.flow.l4.WhichOneof("protocol") == "TCP" for r in flows)
    # Every flow digests and prints.
    store = FlowStore(capacity=1_000)
    store.add_many(records)
    assert len(store.ring) == 1_000 and store.flows == sum(r.kind is RecordKind.FLOW for r in records)
    assert all(flow_line(r.flow).count(" ") > 5 for r in flows[:200])


@READERS
def test_server_status_is_polled(reader: str) -> None:
    server = serve_hubble(rate=50, history=300)
    source = source_from_cli(server.target, reader=reader)
    source.start()
    try:
        deadline = time.monotonic() + 20
        while not source.server.version and time.monotonic() < deadline:
            time.sleep(0.05)
        assert source.server.version.startswith("cilium v1.19")
        assert source.server.max_flows == 300 and source.server.num_flows > 0
        assert "flows" in source.server.describe()
        from tui.panes.flows import FlowsPane

        line = FlowsPane(FlowStore(), source).status_line()
        assert "cilium v1.19" in line and "server ring 100% of 300" in line and "nodes 2/2" in line
    finally:
        source.stop()
        server.stop()


@READERS
def test_restart_on_the_same_port_recovers_with_a_gap_marker(reader: str) -> None:
    server = serve_hubble(rate=200, history=100, seed=5)
    port = server.target.rsplit(":", 1)[1]
    source = source_from_cli(server.target, reader=reader)
    source.start()
    try:
        before = collect(source, lambda r: len(r) >= 50)
        server.stop(grace=0)
        deadline = time.monotonic() + 20
        while source.status.get().state is SourceState.STREAMING and time.monotonic() < deadline:
            time.sleep(0.02)
        assert source.status.get().state in (SourceState.RETRYING, SourceState.CONNECTING)
        server = serve_hubble(f"127.0.0.1:{port}", rate=200, history=100, seed=6)
        after = collect(source, lambda r: any(x.kind is RecordKind.GAP for x in r)
                        and sum(x.kind is RecordKind.FLOW for x in r[[x.kind for x in r].index(RecordKind.GAP):]) >= 20)
        assert source.status.get().state is SourceState.STREAMING
        assert source.reconnects == 1
    finally:
        source.stop()
        server.stop()
    gaps = [r for r in after if r.kind is RecordKind.GAP]
    assert len(gaps) == 1 and "stream interrupted" in gaps[0].text and "reconnected after" in gaps[0].text
    assert len(before) >= 50
    store = FlowStore()
    store.add_many(before + after)
    assert store.gaps == 1


@READERS
def test_lost_events_arrive_and_are_counted(reader: str) -> None:
    server = serve_hubble(rate=0, history=50, lost_events_every=100)
    source = source_from_cli(server.target, "--verdict", "FORWARDED", reader=reader)
    source.start()
    try:
        records = collect(source, lambda r: sum(x.kind is RecordKind.LOST for x in r) >= 5)
    finally:
        source.stop()
        server.stop()
    store = FlowStore()
    store.add_many(records)
    lost = [r for r in records if r.kind is RecordKind.LOST]
    assert store.lost_events == sum(r.response().lost_events.num_events_lost for r in lost) > 0
    line = response_line(lost[0].response(), CompactOptions())
    assert " EVENTS LOST: HUBBLE_RING_BUFFER CPU(0) " in line and "(first: " in line


# -- TLS ---------------------------------------------------------------------------------------------
@pytest.fixture()
def tls_server(tmp_path: Path):
    """The demo servicer behind a TLS port, as Relay serves with hubble.relay.tls.server.enabled."""
    from tui.demo.server_base import new_server

    pki = make_pki(tmp_path, "*.hubble-relay.cilium.io")
    service = hubble_server.HubbleDemoService(seed=1, rate=100, history=200, lost_events_every=0, start_time=None)
    server = new_server()
    observer_pb2_grpc.add_ObserverServicer_to_server(service, server)
    credentials = grpc.ssl_server_credentials([(pki["server.key"].read_bytes(), pki["server.crt"].read_bytes())])
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    yield f"127.0.0.1:{port}", pki
    service.stop()
    server.stop(0).wait(5)


def tls_source(target: str, tls: TlsOptions, reader: str = "thread") -> HubbleSource:
    request = build_request([], history_of(build_parser().parse_args([])), live=True)
    if reader == "process":
        return ProcessHubbleSource(resolve(f"tls://{target}", tls), request, backoff=(0.05, 0.2),  # type: ignore[return-value]
                                   connect_timeout=3.0)
    return HubbleSource(resolve(f"tls://{target}", tls), request, backoff=Backoff(**FAST_BACKOFF),
                        connect_timeout=3.0)


def test_tls_with_a_private_ca_and_relay_server_name(tls_server) -> None:
    target, pki = tls_server
    source = tls_source(target, TlsOptions(ca_cert_files=(str(pki["ca"]),),
                                           server_name="instance.hubble-relay.cilium.io"))
    source.start()
    try:
        records = collect(source, lambda r: len(r) >= 20, timeout=30)
        assert source.endpoint.tls.enabled and source.status.get().state is SourceState.STREAMING
    finally:
        source.stop()
    assert len(flows_of(records)) >= 20


@READERS
def test_tls_wrong_server_name_fails_clearly(tls_server, reader: str) -> None:
    target, pki = tls_server
    source = tls_source(target, TlsOptions(ca_cert_files=(str(pki["ca"]),), server_name="wrong.example.com"),
                        reader)
    source.start()
    try:
        deadline = time.monotonic() + 30
        while source.status.get().state is not SourceState.FAILED and time.monotonic() < deadline:
            time.sleep(0.05)
        status = source.status.get()
    finally:
        source.stop()
    assert status.state is SourceState.FAILED, status.describe()
    assert "not valid for the name 'wrong.example.com'" in status.reason
    assert "--hubble-tls-server-name" in status.reason
    assert len(source.buffer) == 0


def test_tls_unknown_ca_fails_clearly(tls_server) -> None:
    target, _ = tls_server
    source = tls_source(target, TlsOptions(server_name="instance.hubble-relay.cilium.io"))
    source.start()
    try:
        deadline = time.monotonic() + 30
        while source.status.get().state is not SourceState.FAILED and time.monotonic() < deadline:
            time.sleep(0.05)
        status = source.status.get()
    finally:
        source.stop()
    assert status.state is SourceState.FAILED, status.describe()
    assert "not signed by a trusted CA" in status.reason


def test_tls_allow_insecure_connects_without_the_ca(tls_server) -> None:
    target, _ = tls_server
    source = tls_source(target, TlsOptions(allow_insecure=True))
    source.start()
    try:
        records = collect(source, lambda r: len(r) >= 5, timeout=30)
    finally:
        source.stop()
    assert len(records) >= 5


def test_flows_ebtop_drops_are_counted_apart_from_server_losses() -> None:
    from tui.panes.flows import FlowsPane
    from tui.sources.base import BoundedBuffer

    server = serve_hubble(rate=0, history=50)
    args = build_parser().parse_args(["--hubble-server", server.target])
    source = HubbleSource(resolve(args.hubble_server), build_request([], history_of(args), live=True),
                          buffer=BoundedBuffer(100), backoff=Backoff(**FAST_BACKOFF))
    source.start()
    try:
        deadline = time.monotonic() + 30
        while source.buffer.dropped < 500 and time.monotonic() < deadline:
            time.sleep(0.02)  # nobody drains: the bounded buffer must drop the oldest and count them
    finally:
        source.stop()
        server.stop()
    assert len(source.buffer) == 100 and source.buffer.dropped >= 500
    pane = FlowsPane(FlowStore(), source)
    assert f"dropped by ebtop {source.buffer.dropped:,}" in pane.status_line()
    assert "lost 0" in pane.status_line()


def test_batch_mode_against_a_server_stops_after_n_flows() -> None:
    import io

    from tui.wiring import flows as flow_options

    server = serve_hubble(rate=0, history=100)
    try:
        args = build_parser().parse_args(["-b", "--hubble-server", server.target, "-n", "50",
                                          "--verdict", "FORWARDED", "--print-node-name"])
        out, err = io.StringIO(), io.StringIO()
        status = flow_options.run_batch(args, out=out, err=err)
    finally:
        server.stop()
    lines = out.getvalue().splitlines()
    assert status == 0 and len([line for line in lines if "EVENTS LOST" not in line]) == 50
    assert all(" FORWARDED (" in line or " ALLOWED (" in line for line in lines)
    assert all(line[19:].startswith(" [worker-") for line in lines)


@pytest.mark.parametrize(("argv", "check"), [
    (["--http-status", "5+"], lambda f: f.l7.http.code >= 500),
    (["--http-method", "POST", "--http-path", "/api/.*"], lambda f: f.l7.http.method == "POST"),
    (["--type", "drop"], lambda f: f.event_type.type == 1),
    (["--to-pod", "shop/postgres"], lambda f: f.destination.pod_name.startswith("postgres")),
    (["--from-label", "k8s:app=loadgen"], lambda f: "k8s:app=loadgen" in f.source.labels),
    (["--port", "6379"], lambda f: 6379 in (f.l4.TCP.source_port, f.l4.TCP.destination_port)),
    (["--fqdn", "api.payments.example.com"],
     lambda f: "api.payments.example.com" in list(f.source_names) + list(f.destination_names)),
    (["--node-name", "worker-2"], lambda f: f.node_name.endswith("worker-2")),
    (["--ip", "10.0.2.30"], lambda f: "10.0.2.30" in (f.IP.source, f.IP.destination)),
])
def test_each_filter_flag_is_applied_by_the_server(argv: list[str], check: Callable) -> None:
    server = serve_hubble(rate=0, history=2000, seed=11)
    source = source_from_cli(server.target, "--last", "2000", *argv)
    source.start()
    try:
        records = collect(source, lambda r: sum(x.kind is RecordKind.FLOW for x in r) >= 20, timeout=30)
    finally:
        source.stop()
        server.stop()
    flows = [r.flow for r in flows_of(records)]
    assert len(flows) >= 20
    assert all(check(flow) for flow in flows)
