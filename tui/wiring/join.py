"""The one FlowJoiner of an interactive run, shared by the Flows and Processes panes.

The Processes pane feeds it Tetragon's socket events, the Flows pane feeds it Hubble's verdicts and
asks it for processes; both get the same object from the parsed arguments, so no pane knows the other.
"""

from __future__ import annotations

import argparse

from tui.model.join import FlowJoiner

_ATTR = "_ebtop_joiner"


def shared_joiner(args: argparse.Namespace) -> FlowJoiner:
    """The run's joiner (made on first use)."""
    joiner = getattr(args, _ATTR, None)
    if joiner is None:
        joiner = FlowJoiner()
        setattr(args, _ATTR, joiner)
    return joiner


__all__ = ["shared_joiner"]
