"""The detail view of one process: the shared detail screen (tui/panes/detail.py) over the pane."""

from __future__ import annotations

from tui.panes.detail import DetailScreen


class ProcessDetailScreen(DetailScreen):
    """Full arguments, ids, capabilities, namespaces, pod, parent chain and events of one process."""
