"""The generated protobuf code in tui/proto/ matches protos/ and lives only inside the tui package."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_generated_code_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "protos" / "generate.py"), "--check"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, f"stale generated code:\n{result.stdout}{result.stderr}"


def test_check_mode_names_a_stale_file(tmp_path: Path) -> None:
    """--check must fail (and say which file) when a generated file differs from the schemas."""
    spec = importlib.util.spec_from_file_location("ebtop_protos_generate", REPO / "protos" / "generate.py")
    assert spec is not None and spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    expected = generate.generate_into(tmp_path)
    assert "tui/proto/flow/flow_pb2.py" in expected
    actual = dict(expected)
    actual["tui/proto/flow/flow_pb2.py"] = expected["tui/proto/flow/flow_pb2.py"] + b"# edited\n"
    actual["tui/proto/flow/leftover_pb2.py"] = b""
    assert generate.stale_files(expected, actual) == [
        "tui/proto/flow/flow_pb2.py", "tui/proto/flow/leftover_pb2.py"]
    assert generate.stale_files(expected, dict(expected)) == []


@pytest.mark.parametrize("name", ["flow", "observer", "relay", "tetragon"])
def test_no_top_level_proto_module(name: str) -> None:
    assert importlib.util.find_spec(name) is None, f"a top-level `{name}` module is importable"


def test_generated_modules_import_inside_package() -> None:
    from tui.proto.flow import flow_pb2
    from tui.proto.observer import observer_pb2, observer_pb2_grpc
    from tui.proto.relay import relay_pb2

    assert flow_pb2.DESCRIPTOR.package == "flow"
    assert observer_pb2.DESCRIPTOR.package == "observer"
    assert relay_pb2.DESCRIPTOR.package == "relay"
    assert hasattr(observer_pb2_grpc, "ObserverStub")
    text = (REPO / "tui/proto/observer/observer_pb2.py").read_text()
    assert "from tui.proto.flow import flow_pb2" in text
