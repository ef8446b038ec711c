"""A non-editable install carries the generated code and the BPF sources, and installs no stray modules."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    (path,) = out.glob("ebtop-*.whl")
    return path


def test_wheel_contains_generated_code_and_bpf_sources(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "tui/proto/flow/flow_pb2.py" in names
    assert "tui/proto/observer/observer_pb2_grpc.py" in names
    assert any(n.startswith("tui/proto/tetragon/") and n.endswith("_pb2_grpc.py") for n in names)
    assert any(n.startswith("tui/bpf/") and n.endswith(".c") for n in names)
    top_levels = {n.split("/")[0] for n in names if not n.startswith("ebtop-")}
    assert top_levels == {"tui"}


def test_installed_copy_runs_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    code = (
        "import tui, tui.cli; from tui.bpf import BPF_DIR, bpf_source; "
        "from tui.proto.observer import observer_pb2_grpc; "
        "print(tui.__file__); print(sorted(p.name for p in BPF_DIR.glob('*.c')))"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.splitlines()[0].startswith(str(target))
    assert ".c'" in out.stdout.splitlines()[1]
    version = subprocess.run([sys.executable, "-m", "tui", "--version"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, check=True)
    assert version.stdout.startswith("ebtop ")
