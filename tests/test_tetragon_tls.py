"""Tetragon agents over mTLS: two real TLS gRPC servers (demo agents) behind one wildcard certificate.

Each agent requires a client certificate signed by the same private CA, as a DaemonSet whose pods share
one certificate would. ebtop merges both streams into one source, fetches each agent's process cache
over the same TLS, and says clearly why a connection without the client certificate fails.
"""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import pytest

from tests.helpers.pki import make_pki
from tui.cli import build_parser
from tui.demo.server_base import new_server
from tui.demo.tetragon_server import DemoFineGuidanceSensors
from tui.filters.tetragon import EventFilters
from tui.proto.tetragon import sensors_pb2_grpc
from tui.sources.base import SourceState
from tui.sources.hubble_tls import ConnectionConfigError, TlsOptions
from tui.sources.tetragon import ProcessTetragonSource, TetragonSource
from tui.sources.tetragon_state import ProcessCacheDump, state_source_for
from tui.sources.tetragon_tls import tetragon_endpoints
from tui.wiring.processes import build_source, tetragon_tls

SERVER_NAME = "any.tetragon.example"


@pytest.fixture()
def agents(tmp_path: Path):
    """Two demo agents behind mTLS ports (the timeline started 30 s ago, so each has a process cache)."""
    pki = make_pki(tmp_path, "*.tetragon.example")
    servers, targets, servicers = [], [], []
    for _ in range(2):
        start_ns = time.time_ns() - 30 * 10**9
        servicer = DemoFineGuidanceSensors(seed=1, rate=40.0, start_ns=start_ns, live_from=30.0)
        server = new_server()
        sensors_pb2_grpc.add_FineGuidanceSensorsServicer_to_server(servicer, server)
        credentials = grpc.ssl_server_credentials(
            [(pki["server.key"].read_bytes(), pki["server.crt"].read_bytes())],
            root_certificates=pki["ca"].read_bytes(), require_client_auth=True)
        port = server.add_secure_port("127.0.0.1:0", credentials)
        server.start()
        servers.append(server)
        servicers.append(servicer)
        targets.append(f"127.0.0.1:{port}")
    yield targets, pki
    for servicer in servicers:
        servicer.stop()
    for server in servers:
        server.stop(0).wait(5)


def _mtls(pki: dict[str, Path], *, client: bool = True) -> TlsOptions:
    return TlsOptions(enabled=True, ca_cert_files=(str(pki["ca"]),),
                      client_cert_file=str(pki["client.crt"]) if client else None,
                      client_key_file=str(pki["client.key"]) if client else None, server_name=SERVER_NAME)


def _wait(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.parametrize("reader", [TetragonSource, ProcessTetragonSource])
def test_two_mtls_agents_merge_into_one_source(agents, reader) -> None:
    targets, pki = agents
    source = reader([f"tls://{t}" for t in targets], EventFilters(health_checks=True), tls=_mtls(pki))
    assert source.targets == targets and set(source.tls_by_target) == set(targets)
    source.start()
    try:
        _wait(lambda: all(s.status.get().state is SourceState.STREAMING for s in source.streams) and
              len(source.buffer) > 20)
        assert source.describe().startswith("2/2 streaming")
        if reader is TetragonSource:  # events from each agent (paced: the second may take a moment)
            _wait(lambda: all(s.received > 0 for s in source.streams))
        state = state_source_for(source)
        assert state is not None
        state.start()
        try:
            _wait(lambda: state.dumps == 2)
        finally:
            state.stop()
        dumps = [item for item in state.buffer.drain() if isinstance(item, ProcessCacheDump)]
        assert {d.target for d in dumps} == set(targets) and all(d.processes for d in dumps)
    finally:
        source.stop()


def test_missing_client_certificate_fails_clearly(agents) -> None:
    targets, pki = agents
    source = TetragonSource([targets[0]], EventFilters(), tls=_mtls(pki, client=False))
    source.start()
    try:
        _wait(lambda: source.streams[0].status.get().state in (SourceState.RETRYING, SourceState.FAILED))
        reason = source.streams[0].status.get().reason
    finally:
        source.stop()
    assert "UNAVAILABLE" in reason or "certificate" in reason.lower() or "handshake" in reason.lower()
    assert source.streams[0].received == 0


def test_flags_build_tls_endpoints(tmp_path: Path) -> None:
    args = build_parser().parse_args([
        "--pane", "processes", "--tetragon-server", "tls://a.example:54321", "unix:///run/t.sock",
        "--tetragon-tls-ca-cert-files", "/ca.pem", "--tetragon-tls-server-name", SERVER_NAME,
        "--tetragon-reader", "thread"])
    source = build_source(args)
    assert source.targets == ["a.example:54321", "unix:///run/t.sock"]
    tls = source.tls_by_target["a.example:54321"]
    assert tls.enabled and tls.ca_cert_files == ("/ca.pem",) and tls.server_name == SERVER_NAME
    assert "unix:///run/t.sock" not in source.tls_by_target  # the unix socket stays plaintext
    assert tetragon_tls(args).server_name == SERVER_NAME


@pytest.mark.parametrize(("addresses", "tls", "message"), [
    (["tls://unix:///run/t.sock"], TlsOptions(), "plaintext"),
    (["host:1"], TlsOptions(client_cert_file="c", client_key_file="k"), "client certificates need TLS"),
    (["host:1"], TlsOptions(enabled=True, client_cert_file="c"), "must be given together"),
])
def test_impossible_tls_flags_are_usage_errors(addresses, tls, message) -> None:
    with pytest.raises(ConnectionConfigError, match=message):
        tetragon_endpoints(addresses, tls)
