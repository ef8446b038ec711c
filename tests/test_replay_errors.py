"""Clear errors, never silent loss: replay files of the wrong kind, non-object messages, a BOM, and
malformed messages from a live server are reported on stderr with a count, in batch mode."""

from __future__ import annotations

import io
import json
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc

from tui.cli import build_parser
from tui.proto.flow import flow_pb2
from tui.proto.observer import observer_pb2
from tui.wiring import flows, processes

FLOW = {"flow": {"time": "2024-09-13T11:21:00.558Z", "IP": {"source": "10.0.0.1", "destination": "10.0.0.2"},
                 "Summary": "ok"}}
EVENT = {"process_exec": {"process": {"exec_id": "x", "binary": "/bin/true"}}, "node_name": "n1"}


def _batch(family, *argv: str) -> tuple[int, str, str]:  # noqa: ANN001
    args = build_parser().parse_args(["-b", *argv])
    args.config_notices = []
    out, err = io.StringIO(), io.StringIO()
    return family.run_batch(args, out=out, err=err), out.getvalue(), err.getvalue()


def test_tetragon_export_given_to_hubble_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text((json.dumps(EVENT) + "\n") * 3)
    code, out, err = _batch(flows, "--hubble-file", str(path))
    assert code == 1 and out == ""
    assert "looks like a Tetragon event export (process_exec): give it to --tetragon-file" in err, err


def test_hubble_export_given_to_tetragon_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "flows.jsonl"
    path.write_text((json.dumps(FLOW) + "\n") * 3)
    code, out, err = _batch(processes, "--pane", "processes", "--tetragon-file", str(path))
    assert code == 1 and out == ""
    assert "looks like a Hubble flow export (flow): give it to --hubble-file" in err, err


def test_a_flow_that_is_not_an_object_is_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "flows.jsonl"
    path.write_text(json.dumps(FLOW) + "\n" + '{"flow": "not an object"}\n')
    code, out, err = _batch(flows, "--hubble-file", str(path))
    assert code == 0 and len(out.splitlines()) == 1
    assert "line 2" in err and "flow is a JSON str, not an object" in err, err


def test_a_utf8_bom_costs_nothing(tmp_path: Path) -> None:
    path = tmp_path / "flows.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (json.dumps(FLOW) + "\n").encode() * 2)
    code, out, err = _batch(flows, "--hubble-file", str(path))
    assert code == 0 and len(out.splitlines()) == 2, err
    assert "line 1" not in err


def test_batch_flows_reports_malformed_server_messages_with_a_count() -> None:
    good = observer_pb2.GetFlowsResponse(flow=flow_pb2.Flow(Summary="ok")).SerializeToString()
    bad_utf8 = observer_pb2.GetFlowsResponse(node_name="x").SerializeToString().replace(b"x", b"\xff")
    messages = [good, b"\xff\xff\xff\xff", bad_utf8, good]

    def get_flows(request: bytes, context: grpc.ServicerContext):  # noqa: ANN202
        yield from messages

    method = grpc.unary_stream_rpc_method_handler(get_flows, request_deserializer=None, response_serializer=None)
    server = grpc.server(ThreadPoolExecutor(max_workers=2),
                         handlers=[grpc.method_handlers_generic_handler("observer.Observer", {"GetFlows": method})])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    try:
        code, out, err = _batch(flows, "--hubble-server", f"127.0.0.1:{port}", "--last", "10")
    finally:
        server.stop(grace=0)
    assert len(out.splitlines()) == 2, (out, err)
    assert "malformed message from the server skipped (2 so far)" in err, err
    assert code == 0, err
