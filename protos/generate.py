"""Regenerate the Python protobuf/gRPC code under `tui/proto/` from every `protos/**/*.proto`.

Usage (from anywhere)::

    .venv/bin/python protos/generate.py          # rewrite tui/proto/**
    .venv/bin/python protos/generate.py --check  # exit 1, naming stale files, if tui/proto/** is out of date

The protos are compiled under the virtual path `tui/proto/` (protoc `-I tui/proto=protos`), so a proto
imports another as ``import "tui/proto/flow/flow.proto";`` and the generated modules import each other
as ``from tui.proto.flow import flow_pb2``: the code lives inside the `tui` package and no top-level
`flow`/`observer`/`relay`/`tetragon` module is ever installed. Well-known types
(`google/protobuf/*.proto`) come from grpcio-tools' bundled includes.

Outputs per proto: `<name>_pb2.py`, `<name>_pb2.pyi`, and `<name>_pb2_grpc.py` only when the proto
declares a service; every output directory gets an `__init__.py`.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from importlib.resources import files
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROTO_ROOT = REPO / "protos"
OUT_PACKAGE = "tui/proto"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")
INIT_TEXT = '"""Generated protobuf/gRPC code (do not edit; regenerate with `python protos/generate.py`)."""\n'
SERVICE_RE = re.compile(r"^\s*service\s+\w+", re.MULTILINE)


def proto_files() -> list[Path]:
    """Every schema under protos/, sorted so output and error messages are stable."""
    return sorted(PROTO_ROOT.rglob("*.proto"))


def _virtual_name(proto: Path) -> str:
    return f"{OUT_PACKAGE}/{proto.relative_to(PROTO_ROOT).as_posix()}"


def generate_into(out_dir: Path) -> dict[str, bytes]:
    """Run protoc into `out_dir`; return {repo-relative path: content} of everything generated."""
    from grpc_tools import protoc  # test/dev dependency only: imported when regenerating

    protos = proto_files()
    if not protos:
        raise SystemExit(f"no .proto files under {PROTO_ROOT}")
    well_known = str(files("grpc_tools") / "_proto")
    args = [
        "grpc_tools.protoc",
        f"-I{OUT_PACKAGE}={PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *(_virtual_name(p) for p in protos),
    ]
    status = protoc.main(args)
    if status != 0:
        raise SystemExit(f"protoc failed with status {status} (arguments: {' '.join(args[1:])})")

    result: dict[str, bytes] = {}
    for proto in protos:
        rel_dir = Path(_virtual_name(proto)).parent
        stem = proto.stem
        has_service = bool(SERVICE_RE.search(proto.read_text(encoding="utf-8")))
        for suffix in GENERATED_SUFFIXES:
            path = rel_dir / f"{stem}{suffix}"
            if suffix == "_pb2_grpc.py" and not has_service:
                continue
            result[path.as_posix()] = (out_dir / path).read_bytes()
        # Every package directory between tui/proto and the module needs an __init__.py.
        parent = rel_dir
        while parent.as_posix() != OUT_PACKAGE and parent.as_posix().startswith(OUT_PACKAGE):
            result.setdefault((parent / "__init__.py").as_posix(), INIT_TEXT.encode())
            parent = parent.parent
    return result


def committed_files() -> dict[str, bytes]:
    """The generated files currently in the tree (only names the generator owns)."""
    root = REPO / OUT_PACKAGE
    found: dict[str, bytes] = {}
    for path in root.rglob("*"):
        if not path.is_file() or path.parent == root:
            continue  # tui/proto/__init__.py and hand-written helpers at the top level are not ours
        if path.name.endswith(GENERATED_SUFFIXES) or path.name == "__init__.py":
            found[path.relative_to(REPO).as_posix()] = path.read_bytes()
    return found


def stale_files(expected: dict[str, bytes], actual: dict[str, bytes]) -> list[str]:
    """Names that differ, are missing, or should not exist any more."""
    names = set(expected) | set(actual)
    return sorted(name for name in names if expected.get(name) != actual.get(name))


def write_tree(expected: dict[str, bytes], actual: dict[str, bytes]) -> list[str]:
    """Make the tree match `expected`; return what changed."""
    changed = stale_files(expected, actual)
    for name in changed:
        target = REPO / name
        if name in expected:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(expected[name])
        else:
            target.unlink()
    for directory in sorted({(REPO / n).parent for n in changed if n not in expected}, reverse=True):
        if directory.exists() and not any(directory.iterdir()):
            directory.rmdir()
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 listing stale files if tui/proto is out of date")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="ebtop-protos-"))
    try:
        expected = generate_into(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    actual = committed_files()

    if args.check:
        stale = stale_files(expected, actual)
        if stale:
            print("generated protobuf code is stale; run `python protos/generate.py`:", file=sys.stderr)
            for name in stale:
                print(f"  {name}", file=sys.stderr)
            return 1
        print(f"generated code is up to date ({len(expected)} files)")
        return 0

    changed = write_tree(expected, actual)
    print(f"generated {len(expected)} files under {OUT_PACKAGE}/ ({len(changed)} changed)")
    for name in changed:
        print(f"  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
