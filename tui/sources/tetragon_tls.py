"""Tetragon agents over TCP with TLS or mTLS: the same rules and channel builder as the Hubble side.

Tetragon (main) can serve gRPC on TCP with a server certificate and, optionally, required client
certificates (one wildcard certificate covers every DaemonSet pod). `--tetragon-server tls://ADDR` or
`--tetragon-tls` turns TLS on; `--tetragon-tls-ca-cert-files`, `--tetragon-tls-client-cert-file` /
`--tetragon-tls-client-key-file` (mTLS, both or neither, TLS required) and `--tetragon-tls-server-name`
(the name to verify, e.g. the wildcard's `any.tetragon.example`) mean what tetra's `--tls-*` flags mean.
The unix socket is always plaintext. The TLS itself is tui.sources.hubble_tls's (`open_channel`), so
Hubble and Tetragon connections verify certificates the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from tui.sources.hubble_tls import (
    SINGLE_THREADED_STREAMS,
    ConnectionConfigError,
    Endpoint,
    TlsOptions,
    open_channel,
)

TLS_PREFIX = "tls://"


def tetragon_endpoints(addresses: Sequence[str], tls: TlsOptions | None = None) -> list[Endpoint]:
    """One Endpoint per agent address (normalised as tetra does); ConnectionConfigError for bad flags."""
    from tui.sources.tetragon import normalize_target

    tls = tls or TlsOptions()
    if bool(tls.client_cert_file) != bool(tls.client_key_file):
        raise ConnectionConfigError("--tetragon-tls-client-cert-file and --tetragon-tls-client-key-file must "
                                    "be given together")
    endpoints = []
    for address in addresses:
        enabled = tls.enabled or address.startswith(TLS_PREFIX)
        address = address.removeprefix(TLS_PREFIX)
        if not address:
            raise ConnectionConfigError("empty --tetragon-server")
        target = normalize_target(address)
        if enabled and target.startswith("unix:"):
            raise ConnectionConfigError(f"{target}: the agent's unix socket is plaintext (TLS is for TCP addresses)")
        if tls.client_cert_file and not enabled:
            raise ConnectionConfigError(f"{target}: client certificates need TLS (add --tetragon-tls or tls://)")
        endpoints.append(Endpoint(target, TlsOptions(enabled, tls.ca_cert_files, tls.client_cert_file,
                                                     tls.client_key_file, tls.server_name, tls.allow_insecure)))
    return endpoints


def tetragon_channel(target: str, tls: TlsOptions | None, options: Sequence[tuple[str, object]]) -> grpc.Channel:
    """A new channel to one agent: plaintext, or TLS/mTLS through the shared builder."""
    if tls is None or not tls.enabled:
        return grpc.insecure_channel(target, options=[*options, SINGLE_THREADED_STREAMS])
    return open_channel(Endpoint(target, tls), options=list(options), flags="tetragon")
