"""Shared test fixtures and the rule for root-only kernel tests."""

from __future__ import annotations

import os

import pytest


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
