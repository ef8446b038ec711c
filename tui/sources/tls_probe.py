"""Why a TLS connection cannot work, said by name: found in the files, or by probing the server.

gRPC's C core reports most handshake failures as "Socket closed" or "Failed to create security
handshaker", and an expired certificate as a verification failure like an unknown CA. Python's ssl
module runs the same handshake on a plain socket and says exactly what went wrong: the certificate
expired, the server requires a client certificate, the client key does not match its certificate, the
server speaks TLS to a plaintext client (or the reverse). `flags` is the flag prefix to name in the
advice ("hubble" or "tetragon").
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

from tui.sources.hubble_tls import ConnectionConfigError, Endpoint, TlsOptions

PROBE_TIMEOUT = 5.0
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # + empty SETTINGS

# What gRPC says when a handshake went wrong (a refused or unreachable port says something else).
HANDSHAKE_SIGNS = ("Socket closed", "handshake", "handshaker", "CERTIFICATE_VERIFY_FAILED",
                   "certificate verify failed", "Connection reset", "preface", "SSL", "TLS")
_NOT_TLS = ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST",
            "UNKNOWN_PROTOCOL", "record layer failure")
_CLIENT_REFUSED = ("UNKNOWN_CA", "BAD_CERTIFICATE", "CERTIFICATE_UNKNOWN", "DECRYPT_ERROR",
                   "CERTIFICATE_EXPIRED", "ACCESS_DENIED")


def check_client_pair(tls: TlsOptions, flags: str) -> None:
    """ConnectionConfigError when the client certificate and key do not load together (before dialing)."""
    if not (tls.client_cert_file and tls.client_key_file):
        return
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_cert_chain(tls.client_cert_file, tls.client_key_file)
    except ssl.SSLError as error:
        text = f"{error.reason or ''} {error}"
        if "KEY_VALUES_MISMATCH" in text or "key values mismatch" in text:
            raise ConnectionConfigError(
                f"TLS: the client key {tls.client_key_file} does not match the client certificate "
                f"{tls.client_cert_file} (--{flags}-tls-client-key-file)") from None
        raise ConnectionConfigError(f"TLS: cannot load the client certificate {tls.client_cert_file} with the "
                                    f"key {tls.client_key_file}: {error.reason or error}") from None
    except OSError:
        return  # unreadable files: open_channel names the file that cannot be read


def _host_port(target: str) -> tuple[str, int] | None:
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def _handshake(address: tuple[str, int], context: ssl.SSLContext, server_name: str) -> bytes:
    """Dial, handshake, send the HTTP/2 preface and read once: a gRPC server answers with its SETTINGS.

    A TLS 1.3 server checks the client certificate after the handshake completed: its refusal arrives
    as an alert or as the connection closing (b"") on this first read.
    """
    with socket.create_connection(address, timeout=PROBE_TIMEOUT) as sock, \
            context.wrap_socket(sock, server_hostname=server_name) as conn:
        conn.sendall(HTTP2_PREFACE)
        return conn.recv(1)


def _expiry(address: tuple[str, int], server_name: str) -> str:
    """' on <notAfter>' of the server's certificate, read without verifying, or ''."""
    from tui.sources.hubble_tls import decode_certificate

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection(address, timeout=PROBE_TIMEOUT) as sock, \
                context.wrap_socket(sock, server_hostname=server_name) as conn:
            der = conn.getpeercert(binary_form=True)
    except OSError:
        return ""
    decoded = decode_certificate(ssl.DER_cert_to_PEM_cert(der).encode()) if der else {}
    return f" on {decoded['notAfter']}" if decoded.get("notAfter") else ""


def speaks_tls(target: str) -> bool:
    """Whether the server at a host:port target completes a TLS handshake."""
    address = _host_port(target)
    if address is None:
        return False
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection(address, timeout=PROBE_TIMEOUT) as sock, \
                context.wrap_socket(sock, server_hostname=address[0]):
            return True
    except OSError:
        return False


def probe(endpoint: Endpoint, flags: str) -> str | None:
    """A sentence naming a TLS failure that no retry fixes, or None (then the connection error stands)."""
    address = _host_port(endpoint.target)
    if address is None:
        return None
    tls = endpoint.tls
    if not tls.enabled:
        if speaks_tls(endpoint.target):
            return f"the server {endpoint.target} speaks TLS: add --{flags}-tls or a tls:// address"
        return None
    context = ssl.create_default_context()
    context.check_hostname = False  # a wrong name is gRPC's own clear message
    context.set_alpn_protocols(["h2"])
    try:
        if tls.allow_insecure:
            context.verify_mode = ssl.CERT_NONE
        elif tls.ca_cert_files:
            pems = b"".join(Path(path).read_bytes() for path in tls.ca_cert_files)
            context.load_verify_locations(cadata=pems.decode("ascii", "replace"))
        if tls.client_cert_file and tls.client_key_file:
            context.load_cert_chain(tls.client_cert_file, tls.client_key_file)
    except (OSError, ssl.SSLError, ValueError):
        return None  # the files are checked (and named) elsewhere
    name = tls.server_name or address[0]
    has_client = bool(tls.client_cert_file)
    try:
        if _handshake(address, context, name) == b"":
            if not has_client:
                return (f"TLS: the server closed the connection after the handshake: it requires a client "
                        f"certificate (mTLS): --{flags}-tls-client-cert-file and --{flags}-tls-client-key-file")
            return (f"TLS: the server closed the connection after the handshake: it refused the client "
                    f"certificate {tls.client_cert_file} (not signed by a CA the server trusts, or expired)")
    except ssl.SSLCertVerificationError as error:
        if error.verify_code == 10:  # X509_V_ERR_CERT_HAS_EXPIRED
            return f"TLS: the server's certificate expired{_expiry(address, name)}; renew it on the server"
        if error.verify_code == 9:  # X509_V_ERR_CERT_NOT_YET_VALID
            return "TLS: the server's certificate is not valid yet (check the clocks)"
        return (f"TLS: the server's certificate is not signed by a trusted CA (--{flags}-tls-ca-cert-files): "
                f"{error.verify_message}")
    except ssl.SSLError as error:
        text = f"{error.reason or ''} {error}"
        if "CERTIFICATE_REQUIRED" in text or (not has_client and "HANDSHAKE_FAILURE" in text):
            return (f"TLS: the server requires a client certificate (mTLS): --{flags}-tls-client-cert-file and "
                    f"--{flags}-tls-client-key-file")
        if has_client and any(sign in text for sign in _CLIENT_REFUSED):
            return (f"TLS: the server refused the client certificate {tls.client_cert_file} ({error.reason}): "
                    "not signed by a CA the server trusts, or expired")
        if any(sign in text for sign in _NOT_TLS):
            return f"TLS: the server does not speak TLS (drop --{flags}-tls / tls://)"
        return None
    except OSError:
        return None
    return None
