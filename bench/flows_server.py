"""A GetFlows server for benchmarks: replays pre-serialized demo flows as raw bytes, paced or unpaced.

It does no protobuf work per message (the responses are serialized once at start), so a client reading
from it is measured, not the server. Run as a separate process; it prints `READY <target>` when bound.

    python bench/flows_server.py --rate 0        # as fast as the client reads
    python bench/flows_server.py --rate 20000    # 20,000 flows/s, in 5 ms batches
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from concurrent import futures

import grpc

from tui.demo.hubble_scenario import flow_responses
from tui.proto.observer import observer_pb2

POOL = 4096
BATCH_SECONDS = 0.005


def make_pool(size: int = POOL) -> list[bytes]:
    responses = flow_responses(1, 40.0, 1_767_225_600 * 10**9)
    return [next(responses).SerializeToString() for _ in range(size)]


def serve(address: str, rate: float) -> tuple[grpc.Server, str]:
    pool = make_pool()

    def get_flows(request: observer_pb2.GetFlowsRequest, context: grpc.ServicerContext):
        index = 0
        size = len(pool)
        if rate <= 0:
            while context.is_active():
                for _ in range(256):
                    yield pool[index % size]
                    index += 1
            return
        per_batch = max(1, int(rate * BATCH_SECONDS))
        next_at = time.monotonic()
        while context.is_active():
            for _ in range(per_batch):
                yield pool[index % size]
                index += 1
            next_at += per_batch / rate
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def server_status(request: observer_pb2.ServerStatusRequest, context: grpc.ServicerContext):
        return observer_pb2.ServerStatusResponse(version="bench raw-bytes server", max_flows=POOL, num_flows=POOL)

    handler = grpc.method_handlers_generic_handler("observer.Observer", {
        "GetFlows": grpc.unary_stream_rpc_method_handler(
            get_flows, request_deserializer=observer_pb2.GetFlowsRequest.FromString, response_serializer=None),
        "ServerStatus": grpc.unary_unary_rpc_method_handler(
            server_status, request_deserializer=observer_pb2.ServerStatusRequest.FromString,
            response_serializer=observer_pb2.ServerStatusResponse.SerializeToString),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port(address)
    server.start()
    return server, f"{address.rsplit(':', 1)[0]}:{port}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default="127.0.0.1:0")
    parser.add_argument("--rate", type=float, default=0.0, help="flows/s; 0 = unpaced")
    args = parser.parse_args()
    server, target = serve(args.address, args.rate)
    print(f"READY {target}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        sys.stdin.read()  # ends when the parent closes our stdin
    server.stop(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
