"""Shared plumbing for the demo gRPC servers: binding to a loopback port or a unix socket."""

from __future__ import annotations

from concurrent import futures
from dataclasses import dataclass

import grpc


@dataclass
class DemoServer:
    """A running in-process gRPC server and the target a client dials to reach it."""

    server: grpc.Server
    target: str

    def stop(self, grace: float | None = 0.5) -> None:
        self.server.stop(grace).wait(5)


def new_server(max_workers: int = 8) -> grpc.Server:
    """A threaded gRPC server sized for a handful of concurrent streams."""
    return grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers),
        options=[("grpc.max_send_message_length", 16 * 1024 * 1024)],
    )


def bind(server: grpc.Server, address: str) -> str:
    """Bind `address` (`unix:///path`, `unix:path` or `host:port`, port 0 = any free one).

    Returns the dialable target with the real port.
    """
    if address.startswith("unix:"):
        server.add_insecure_port(address)
        return address
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"could not bind demo server to {address}")
    host = address.rsplit(":", 1)[0]
    return f"{host}:{port}"
