"""Sources and model never import Textual: they must run in batch mode and in plain unit tests."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "tui"
NO_TEXTUAL = ["sources", "model", "filters", "render", "demo", "options"]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", NO_TEXTUAL)
def test_layer_does_not_import_textual(layer: str) -> None:
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / layer).rglob("*.py") if "textual" in _imports(p)]
    assert offenders == []


def test_no_top_level_generated_modules_installed() -> None:
    """Generated protobuf code lives inside the package; `flow`, `observer`, `tetragon` stay free."""
    import importlib.util

    for name in ("flow", "observer", "tetragon", "relay"):
        assert importlib.util.find_spec(name) is None, name


def _modules(path: Path) -> set[str]:
    """Every module `path` imports, dotted in full (function-level imports included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


# layer -> the ebtop packages it must never import: the model is domain vocabulary and state (no Rich
# text, no widgets, no I/O); sources and filters do not know how things are drawn.
FORBIDDEN = {
    "model": ("tui.render", "tui.panes", "tui.app", "tui.sources", "tui.wiring"),
    "filters": ("tui.render", "tui.panes", "tui.app", "tui.wiring"),
    "sources": ("tui.render", "tui.panes", "tui.app", "tui.wiring"),
    "render": ("tui.panes", "tui.app", "tui.sources", "tui.wiring"),
}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_does_not_import_the_layers_above_it(layer: str) -> None:
    offenders = sorted(f"{p.relative_to(ROOT)}: {module}" for p in (ROOT / layer).rglob("*.py")
                       for module in _modules(p) if module.startswith(FORBIDDEN[layer]))
    assert offenders == []
