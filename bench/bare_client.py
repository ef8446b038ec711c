"""The baseline of bench/ui_cost.py: a bare grpcio GetFlows client that prints one compact line per flow.

It does what `hubble observe -o compact --follow` does in the simplest Python possible (generated
stub, one `print` per flow, the project's own compact formatter so both sides format alike), so the
ratio ebtop / bare is what ebtop's UI costs over a plain line printer.

    python bench/bare_client.py 127.0.0.1:PORT
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import grpc  # noqa: E402

from tui.proto.observer import observer_pb2, observer_pb2_grpc  # noqa: E402
from tui.render.hubble_compact import flow_line  # noqa: E402


def main() -> int:
    target = sys.argv[1]
    with grpc.insecure_channel(target) as channel:
        stub = observer_pb2_grpc.ObserverStub(channel)
        out = sys.stdout
        for response in stub.GetFlows(observer_pb2.GetFlowsRequest(follow=True)):
            if response.HasField("flow"):
                out.write(flow_line(response.flow) + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
