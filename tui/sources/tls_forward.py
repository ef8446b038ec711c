"""`--*-tls-allow-insecure` as hubble means it: TLS without verifying the server at all (Go's InsecureSkipVerify).

grpcio cannot turn certificate verification off (pinning the server's certificate still fails on an
expired one), so gRPC talks plaintext HTTP/2 to a private unix socket and this forwarder carries each
connection to the server over Python's ssl with verification off (and the client certificate, if any).
The socket lives in a 0700 directory of its own; the forwarder closes with the channel.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import socket
import ssl
import tempfile
import threading
from typing import Any

import grpc

from tui.sources.hubble_tls import TlsOptions

CONNECT_TIMEOUT = 5.0


class InsecureTlsForwarder:
    """A plaintext listener whose every connection is carried to `target` over unverified TLS."""

    def __init__(self, target: str, tls: TlsOptions) -> None:
        host, _, port = target.rpartition(":")
        self.address = (host.strip("[]"), int(port))
        self.server_name = tls.server_name or self.address[0]
        self.context = ssl.create_default_context()
        self.context.check_hostname = False
        self.context.verify_mode = ssl.CERT_NONE
        self.context.set_alpn_protocols(["h2"])
        if tls.client_cert_file and tls.client_key_file:
            self.context.load_cert_chain(tls.client_cert_file, tls.client_key_file)
        self.last_error = ""
        self._dir = tempfile.mkdtemp(prefix="ebtop-tls-")
        self.path = os.path.join(self._dir, "forward.sock")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        self._listener.listen(8)
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, name="tls-forward", daemon=True).start()

    @property
    def target(self) -> str:
        return f"unix://{self.path}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._carry, args=(client,), name="tls-forward-conn", daemon=True).start()

    def _carry(self, client: socket.socket) -> None:
        """One connection: handshake upstream, then copy both ways until either side closes."""
        try:
            raw = socket.create_connection(self.address, timeout=CONNECT_TIMEOUT)
            upstream = self.context.wrap_socket(raw, server_hostname=self.server_name)
            upstream.settimeout(None)
        except OSError as error:
            self.last_error = str(error)
            client.close()
            return
        with self._lock:
            if self._closed:
                client.close()
                upstream.close()
                return
            self._open.update((client, upstream))
        try:
            self._copy(client, upstream)
        finally:
            with self._lock:
                self._open.difference_update((client, upstream))
            for sock in (client, upstream):
                with contextlib.suppress(OSError):
                    sock.close()

    @staticmethod
    def _copy(client: socket.socket, upstream: ssl.SSLSocket) -> None:
        # One thread per connection: an SSL object must not be read and written from two threads at once.
        while True:
            ready = [upstream] if upstream.pending() else select.select([client, upstream], [], [], 1.0)[0]
            try:
                if client in ready:
                    data = client.recv(65536)
                    if not data:
                        return
                    upstream.sendall(data)
                if upstream in ready:
                    try:
                        data = upstream.recv(65536)
                    except ssl.SSLWantReadError:
                        continue
                    if not data:
                        return
                    client.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        with self._lock:
            self._closed = True
            sockets = list(self._open)
        with contextlib.suppress(OSError):
            self._listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        shutil.rmtree(self._dir, ignore_errors=True)


class ForwardedChannel(grpc.Channel):
    """A channel over an InsecureTlsForwarder; closing it closes the forwarder too."""

    def __init__(self, channel: grpc.Channel, forwarder: InsecureTlsForwarder) -> None:
        self._channel = channel
        self.forwarder = forwarder

    def subscribe(self, *args: Any, **kwargs: Any) -> None:
        self._channel.subscribe(*args, **kwargs)

    def unsubscribe(self, *args: Any, **kwargs: Any) -> None:
        self._channel.unsubscribe(*args, **kwargs)

    def unary_unary(self, *args: Any, **kwargs: Any) -> Any:
        return self._channel.unary_unary(*args, **kwargs)

    def unary_stream(self, *args: Any, **kwargs: Any) -> Any:
        return self._channel.unary_stream(*args, **kwargs)

    def stream_unary(self, *args: Any, **kwargs: Any) -> Any:
        return self._channel.stream_unary(*args, **kwargs)

    def stream_stream(self, *args: Any, **kwargs: Any) -> Any:
        return self._channel.stream_stream(*args, **kwargs)

    def close(self) -> None:
        self._channel.close()
        self.forwarder.close()

    def __enter__(self) -> ForwardedChannel:
        return self

    def __exit__(self, *exc: object) -> bool:
        self.close()
        return False


def insecure_tls_channel(target: str, tls: TlsOptions, options: list[tuple[str, object]]) -> grpc.Channel:
    """A channel to `target` over TLS that verifies nothing (hubble's --tls-allow-insecure)."""
    forwarder = InsecureTlsForwarder(target, tls)
    return ForwardedChannel(grpc.insecure_channel(forwarder.target, options=options), forwarder)
