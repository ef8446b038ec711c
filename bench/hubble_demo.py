"""Throughput of the Hubble demo server: how many flows/s it can stream unpaced over loopback gRPC.

Baseline (same run): building the same flows in-process without gRPC. Reported ratios are
`streamed / baseline`, so the figure means "share of generation speed left after gRPC + filtering".

    .venv/bin/python bench/hubble_demo.py [--flows 20000]
"""

from __future__ import annotations

import argparse
import itertools
import time

import grpc

from tui.demo.hubble_scenario import flow_responses
from tui.demo.hubble_server import serve_hubble
from tui.proto.flow import flow_pb2
from tui.proto.observer import observer_pb2, observer_pb2_grpc


def generate_only(count: int) -> float:
    started = time.perf_counter()
    for _ in itertools.islice(flow_responses(11, 40.0), count):
        pass
    return count / (time.perf_counter() - started)


def stream(count: int, request: observer_pb2.GetFlowsRequest) -> tuple[float, int]:
    server = serve_hubble(seed=11, rate=0, history=4095, start_time=1_767_225_600.0)
    try:
        with grpc.insecure_channel(server.target) as channel:
            stub = observer_pb2_grpc.ObserverStub(channel)
            calls = stub.GetFlows(request)
            received = 0
            started = time.perf_counter()
            for response in calls:
                if response.HasField("flow"):
                    received += 1
                    if received >= count:
                        break
            elapsed = time.perf_counter() - started
            calls.cancel()
            status = stub.ServerStatus(observer_pb2.ServerStatusRequest())
        return count / elapsed, status.seen_flows
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=20_000)
    args = parser.parse_args()
    count = args.flows

    baseline = generate_only(count)
    print(f"baseline: generate {count} flows in-process     {baseline:10.0f} flows/s")
    cases = {
        "stream, no filter": observer_pb2.GetFlowsRequest(follow=True),
        "stream, whitelist --pod shop/api --protocol tcp": observer_pb2.GetFlowsRequest(
            follow=True, whitelist=[flow_pb2.FlowFilter(source_pod=["shop/api"], protocol=["tcp"]),
                                    flow_pb2.FlowFilter(destination_pod=["shop/api"], protocol=["tcp"])]),
        "stream, blacklist --not --namespace kube-system": observer_pb2.GetFlowsRequest(
            follow=True, blacklist=[flow_pb2.FlowFilter(source_pod=["kube-system/"]),
                                    flow_pb2.FlowFilter(destination_pod=["kube-system/"])]),
    }
    for name, request in cases.items():
        rate, seen = stream(count, request)
        print(f"{name:48s} {rate:10.0f} flows/s received  ratio {rate / baseline:5.2f}  "
              f"(server generated {seen} to deliver {count})")


if __name__ == "__main__":
    main()
