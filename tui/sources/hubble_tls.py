"""Where and how to dial Hubble, the way the hubble CLI decides it.

- Address: `--hubble-server` (env `HUBBLE_SERVER`), else the agent's socket
  `unix:///var/run/cilium/hubble.sock` when it exists, else Relay on `localhost:4245`.
- TLS when `--hubble-tls` or the address starts with `tls://` (the prefix is stripped). Client
  certificates require TLS, as hubble insists ("transport layer security required").
- `--hubble-tls-allow-insecure` skips verification (an expired or self-signed certificate, any name):
  grpcio cannot turn verification off, so gRPC speaks plaintext to a private forwarder that carries the
  connection over Python's ssl without verifying (tui/sources/tls_forward.py).
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field

# gRPC's C core logs TLS handshake failures to stderr, which would scribble over the TUI; ebtop
# reports them in the status line instead. Must be set before grpc initialises (setdefault: a user's
# GRPC_VERBOSITY wins).
os.environ.setdefault("GRPC_VERBOSITY", "NONE")

import grpc  # noqa: E402

AGENT_SOCKET = "/var/run/cilium/hubble.sock"
RELAY_DEFAULT = "localhost:4245"


class ConnectionConfigError(ValueError):
    """Flags that cannot make a connection (shown to the user as is)."""


@dataclass(frozen=True)
class TlsOptions:
    enabled: bool = False
    ca_cert_files: tuple[str, ...] = ()
    client_cert_file: str | None = None
    client_key_file: str | None = None
    server_name: str | None = None
    allow_insecure: bool = False


@dataclass(frozen=True)
class Endpoint:
    """A resolved dial target."""

    target: str
    tls: TlsOptions = field(default_factory=TlsOptions)

    def describe(self) -> str:
        return f"tls://{self.target}" if self.tls.enabled else self.target


def default_server(socket_path: str = AGENT_SOCKET) -> str:
    return f"unix://{socket_path}" if os.path.exists(socket_path) else RELAY_DEFAULT


def resolve(server: str | None, tls: TlsOptions = TlsOptions(), socket_path: str = AGENT_SOCKET) -> Endpoint:
    """Apply hubble's rules to the flags; raises ConnectionConfigError for impossible combinations."""
    address = server or default_server(socket_path)
    enabled = tls.enabled
    if address.startswith("tls://"):
        address = address[len("tls://"):]
        enabled = True
    if bool(tls.client_cert_file) != bool(tls.client_key_file):
        raise ConnectionConfigError("--hubble-tls-client-cert-file and --hubble-tls-client-key-file must be "
                                    "given together")
    if tls.client_cert_file and not enabled:
        raise ConnectionConfigError("client certificates need TLS: transport layer security required "
                                    "(add --hubble-tls or a tls:// address)")
    if enabled and address.startswith("unix:"):
        raise ConnectionConfigError("TLS over the agent's unix socket is not supported (the socket is plaintext)")
    if not address:
        raise ConnectionConfigError("empty --hubble-server")
    return Endpoint(address, TlsOptions(enabled, tls.ca_cert_files, tls.client_cert_file, tls.client_key_file,
                                        tls.server_name, tls.allow_insecure))


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise ConnectionConfigError(f"cannot read {what} {path}: {error.strerror}") from None


def decode_certificate(pem: bytes) -> dict:
    """A PEM certificate decoded by the ssl module (subject, subjectAltName, notAfter), {} if it cannot be."""
    import tempfile

    with tempfile.NamedTemporaryFile("wb", suffix=".pem") as handle:
        handle.write(pem)
        handle.flush()
        try:
            return ssl._ssl._test_decode_cert(handle.name)  # type: ignore[attr-defined]  # noqa: SLF001
        except Exception:  # noqa: BLE001 - best effort
            return {}


KEEPALIVE = (20.0, 10.0)
"""Ping after 20 s without data, give the connection up 10 s after an unanswered ping: a frozen server
(SIGSTOP, a dead node behind a live load balancer) is noticed in ~30 s instead of never. gRPC sends at
most two pings between data frames (grpc.http2.max_pings_without_data), which stays under the ping
strikes a Go server tolerates by default, so an idle but healthy stream is not sent GOAWAY."""


def keepalive_options(idle: float, timeout: float) -> list[tuple[str, object]]:
    """Channel options for HTTP/2 keepalive pings on an open stream."""
    # ping_timeout_ms bounds every ping, the BDP probe's too: with only keepalive_timeout_ms an unanswered
    # BDP ping (sent as the data stops) holds the keepalive ping back and a frozen server goes unnoticed.
    return [("grpc.keepalive_time_ms", int(idle * 1000)), ("grpc.keepalive_timeout_ms", int(timeout * 1000)),
            ("grpc.http2.ping_timeout_ms", int(timeout * 1000)), ("grpc.keepalive_permit_without_calls", 0)]


# A server stream is read on the thread that iterates it. By default grpcio hands every message from
# a channel "spin" thread to the reader through a condition variable: two more futex wake-ups per
# message. In the demo (~330 flows/s and ~200 events/s) ebtop made 7,300 syscalls/s with the hand-off
# and 4,500/s without it (bench/README.md, UI cost: syscalls). grpcio marks the option experimental; the
# sources only iterate, cancel and read code()/details(), which it supports.
SINGLE_THREADED_STREAMS: tuple[str, object] = ("SingleThreadedUnaryStream", 1)


def open_channel(endpoint: Endpoint, options: list[tuple[str, object]] | None = None,
                 flags: str = "hubble") -> grpc.Channel:
    """A new channel (never shared across reconnects, so a dead connection is not reused)."""
    opts: list[tuple[str, object]] = [("grpc.max_receive_message_length", 16 * 1024 * 1024),
                                      ("grpc.enable_retries", 0), SINGLE_THREADED_STREAMS]
    opts += options or []
    tls = endpoint.tls
    if not tls.enabled:
        return grpc.insecure_channel(endpoint.target, options=opts)
    from tui.sources.tls_probe import check_client_pair

    check_client_pair(tls, flags)  # a key that does not match would fail every handshake, unexplained
    if tls.allow_insecure:  # verify nothing, as hubble does: grpcio cannot, so Python's ssl carries it
        from tui.sources.tls_forward import insecure_tls_channel

        return insecure_tls_channel(endpoint.target, tls, opts)
    root: bytes | None = None
    if tls.ca_cert_files:
        root = b"".join(_read(path, "CA certificate") for path in tls.ca_cert_files)
    if tls.server_name:
        opts.append(("grpc.ssl_target_name_override", tls.server_name))
    key = _read(tls.client_key_file, "client key") if tls.client_key_file else None
    cert = _read(tls.client_cert_file, "client certificate") if tls.client_cert_file else None
    credentials = grpc.ssl_channel_credentials(root_certificates=root, private_key=key, certificate_chain=cert)
    return grpc.secure_channel(endpoint.target, credentials, options=opts)


_FATAL_TLS = (
    ("Hostname Verification Check failed", "name"),
    ("not in peer certificate", "name"),
    ("Peer name", "name"),
    ("CERTIFICATE_VERIFY_FAILED", "the server's certificate is not signed by a trusted CA "
                                  "(--{flags}-tls-ca-cert-files)"),
    ("certificate verify failed", "the server's certificate is not signed by a trusted CA "
                                  "(--{flags}-tls-ca-cert-files)"),
    ("WRONG_VERSION_NUMBER", "the server does not speak TLS (drop --{flags}-tls / tls://)"),
)
_HINTS = (
    ("error reading server preface", "the server may speak TLS: try --hubble-tls or a tls:// address"),
    ("keepalive watchdog timeout", "the server stopped answering keepalive pings: frozen, or the network dropped"),
    ("ping timeout", "the server stopped answering keepalive pings: frozen, or the network dropped"),
)


def tls_failure(details: str, endpoint: Endpoint, flags: str = "hubble") -> str | None:
    """A clear sentence when an RPC error is a TLS problem that retrying will not fix, else None.

    gRPC's words are vague ("Socket closed"); a handshake-looking failure is probed with Python's ssl
    module (tui.sources.tls_probe), which names the cause: expired, client certificate required, the
    server speaks TLS (to a plaintext client) or does not.
    """
    from tui.sources.tls_probe import HANDSHAKE_SIGNS, probe

    if any(sign in details for sign in HANDSHAKE_SIGNS):
        found = probe(endpoint, flags)
        if found:
            return found
    if not endpoint.tls.enabled:
        return None
    for needle, sentence in _FATAL_TLS:
        if needle in details:
            if sentence == "name":
                name = endpoint.tls.server_name or endpoint.target.rsplit(":", 1)[0]
                return (f"TLS: the server's certificate is not valid for the name {name!r}; set "
                        f"--{flags}-tls-server-name to a name in the certificate (Relay: *.hubble-relay.cilium.io)")
            return f"TLS: {sentence.format(flags=flags)}"
    return None


def connection_hint(details: str) -> str:
    """Extra advice for a retryable connection error (empty when there is none)."""
    return next((hint for needle, hint in _HINTS if needle in details), "")
