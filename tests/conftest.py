"""Shared test fixtures and the rule for root-only kernel tests."""

from __future__ import annotations

import os
import tempfile

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Keep what ebtop remembers (the dismissed notes, `tui.sources.notes`) out of the real home:
    every test and every ebtop it starts (batch runs, tmux) writes under one directory per run."""
    os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="ebtop-tests-state-")


def kernel_skip_reason() -> str | None:
    """Why kernel tests cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root for real eBPF"
    try:
        import bcc  # noqa: F401
    except ImportError:
        return "bcc is not importable (run deploy/setup.sh)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = kernel_skip_reason()
    if reason is None:
        return
    for item in items:
        if "kernel" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))
