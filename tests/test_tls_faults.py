"""TLS faults that no retry fixes, against real loopback TLS gRPC servers with certificates made here.

An expired server certificate, a server that requires a client certificate, a client key that does not
match its certificate and a plaintext client dialing a TLS port: each is said once, by name, and the
source stops (FAILED) instead of retrying "Socket closed" forever. Hubble and Tetragon share the code.
"""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import pytest

from tests.helpers.pki import make_pki
from tui.demo import hubble_server
from tui.demo.server_base import new_server
from tui.demo.tetragon_server import DemoFineGuidanceSensors
from tui.proto.observer import observer_pb2, observer_pb2_grpc
from tui.proto.tetragon import sensors_pb2_grpc
from tui.sources.base import Backoff, SourceState
from tui.sources.hubble import HubbleSource
from tui.sources.hubble_tls import TlsOptions, resolve
from tui.sources.tetragon import TetragonSource

NAME = "relay.example"


def serve(pki: dict[str, Path], *, require_client: bool = False):
    """The Hubble and Tetragon demo servicers behind one TLS port (mTLS when asked); returns (server, service, target)."""
    service = hubble_server.HubbleDemoService(seed=1, rate=50, history=50, lost_events_every=0, start_time=None)
    server = new_server()
    observer_pb2_grpc.add_ObserverServicer_to_server(service, server)
    agent = DemoFineGuidanceSensors(seed=1, rate=50.0, start_ns=time.time_ns())  # the same port answers Tetragon's clients too
    sensors_pb2_grpc.add_FineGuidanceSensorsServicer_to_server(agent, server)
    server.agent = agent  # type: ignore[attr-defined]
    credentials = grpc.ssl_server_credentials([(pki["server.key"].read_bytes(), pki["server.crt"].read_bytes())],
                                              root_certificates=pki["ca"].read_bytes() if require_client else None,
                                              require_client_auth=require_client)
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    return server, service, f"127.0.0.1:{port}"


@pytest.fixture()
def tls_port(tmp_path: Path, request):
    """(target, pki) of a running TLS server; `request.param`: {"expired": bool, "require_client": bool}."""
    options = getattr(request, "param", {})
    pki = make_pki(tmp_path, NAME, expired=options.get("expired", False))
    server, service, target = serve(pki, require_client=options.get("require_client", False))
    yield target, pki
    service.stop()
    server.agent.stop()
    server.stop(0).wait(5)


def final_status(source, timeout: float = 15.0):
    """Start, wait for FAILED (or time out while it retries), stop; the last status and how often it retried."""
    retries = 0
    source.start()
    try:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            status = source.status.get() if isinstance(source, HubbleSource) else source.streams[0].status.get()
            if status.state is SourceState.RETRYING and last is not SourceState.RETRYING:
                retries += 1
            last = status.state
            if status.state is SourceState.FAILED:
                break
            time.sleep(0.02)
    finally:
        source.stop()
    return status, retries


def hubble(target: str, tls: TlsOptions, *, scheme: str = "tls://") -> HubbleSource:
    return HubbleSource(resolve(f"{scheme}{target}", tls), observer_pb2.GetFlowsRequest(follow=True),
                        backoff=Backoff(base=0.05, cap=0.2), connect_timeout=3.0)


def tetragon(target: str, tls: TlsOptions, *, scheme: str = "tls://") -> TetragonSource:
    return TetragonSource([f"{scheme}{target}"], tls=tls, backoff_factory=lambda: Backoff(base=0.05, cap=0.2),
                          connect_timeout=3.0)


CLIENTS = [hubble, tetragon]


@pytest.mark.parametrize("tls_port", [{"expired": True}], indirect=True)
@pytest.mark.parametrize("client", CLIENTS)
def test_expired_server_certificate_is_named(tls_port, client) -> None:
    target, pki = tls_port
    status, retries = final_status(client(target, TlsOptions(ca_cert_files=(str(pki["ca"]),), server_name=NAME)))
    assert status.state is SourceState.FAILED, status.reason
    assert "expired" in status.reason and "not signed by a trusted CA" not in status.reason, status.reason
    assert retries <= 1


@pytest.mark.parametrize("tls_port", [{"require_client": True}], indirect=True)
@pytest.mark.parametrize("client", CLIENTS)
def test_missing_client_certificate_is_named(tls_port, client) -> None:
    target, pki = tls_port
    status, retries = final_status(client(target, TlsOptions(ca_cert_files=(str(pki["ca"]),), server_name=NAME)))
    assert status.state is SourceState.FAILED, status.reason
    assert "requires a client certificate" in status.reason, status.reason
    assert retries <= 1


@pytest.mark.parametrize("client", CLIENTS)
def test_client_key_that_does_not_match_its_certificate_is_named(tls_port, client) -> None:
    target, pki = tls_port
    tls = TlsOptions(ca_cert_files=(str(pki["ca"]),), server_name=NAME, client_cert_file=str(pki["client.crt"]),
                     client_key_file=str(pki["other.key"]))
    status, retries = final_status(client(target, tls))
    assert status.state is SourceState.FAILED, status.reason
    assert "does not match" in status.reason and str(pki["other.key"]) in status.reason, status.reason
    assert retries == 0


@pytest.mark.parametrize("client", CLIENTS)
def test_plaintext_client_to_a_tls_server_is_told_it_speaks_tls(tls_port, client) -> None:
    target, _ = tls_port
    status, retries = final_status(client(target, TlsOptions(), scheme=""))
    assert status.state is SourceState.FAILED, status.reason
    assert "speaks TLS" in status.reason, status.reason
    assert retries <= 1


@pytest.mark.parametrize("tls_port", [{"expired": True}], indirect=True)
@pytest.mark.parametrize("client", CLIENTS)
def test_allow_insecure_skips_verification_even_of_an_expired_certificate(tls_port, client) -> None:
    """hubble's --tls-allow-insecure verifies nothing: an expired certificate for another name streams."""
    target, _ = tls_port
    source = client(target, TlsOptions(allow_insecure=True))
    source.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(source.buffer) < 5:
            status = source.status.get() if isinstance(source, HubbleSource) else source.streams[0].status.get()
            assert status.state is not SourceState.FAILED, status.reason
            time.sleep(0.05)
        assert len(source.buffer) >= 5
    finally:
        source.stop()
