"""Throughput of the Tetragon demo agent: how many events/s it can stream unpaced over loopback gRPC.

Baseline (same run): building the same scenario events in-process without gRPC. Reported ratios are
`streamed / baseline`: the share of generation speed left after gRPC and server-side filtering.

    .venv/bin/python bench/tetragon_demo.py [--events 20000]
"""

from __future__ import annotations

import argparse
import itertools
import time

import grpc

from tui.demo.tetragon_scenario import DEFAULT_START_S, tetragon_events
from tui.demo.tetragon_server import serve_tetragon
from tui.proto.tetragon import events_pb2, sensors_pb2_grpc


def generate_only(count: int) -> float:
    started = time.perf_counter()
    for _ in itertools.islice(tetragon_events(11, 50.0, DEFAULT_START_S), count):
        pass
    return count / (time.perf_counter() - started)


def stream(count: int, request: events_pb2.GetEventsRequest) -> float:
    server = serve_tetragon(seed=11, rate=0, start_time=DEFAULT_START_S)
    try:
        with grpc.insecure_channel(server.target) as channel:
            call = sensors_pb2_grpc.FineGuidanceSensorsStub(channel).GetEvents(request)
            started = time.perf_counter()
            received = sum(1 for _ in itertools.islice(call, count))
            elapsed = time.perf_counter() - started
            call.cancel()
        return received / elapsed
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    count = args.events

    baseline = generate_only(count)
    print(f"baseline: generate {count} events in-process       {baseline:10.0f} events/s")
    cases = {
        "stream, no filter": events_pb2.GetEventsRequest(),
        "stream, allow --namespace shop -e PROCESS_EXEC": events_pb2.GetEventsRequest(
            allow_list=[events_pb2.Filter(namespace=["shop"], event_set=[events_pb2.PROCESS_EXEC])]),
        "stream, deny health checks and exits": events_pb2.GetEventsRequest(
            deny_list=[events_pb2.Filter(health_check={"value": True}),
                       events_pb2.Filter(event_set=[events_pb2.PROCESS_EXIT])]),
    }
    for name, request in cases.items():
        rate = stream(count // 4 if request.allow_list else count, request)
        print(f"{name:48s} {rate:10.0f} events/s received  ratio {rate / baseline:5.2f}")


if __name__ == "__main__":
    main()
