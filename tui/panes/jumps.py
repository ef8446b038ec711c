"""Jumps between panes, and Esc back to where the user was.

Enter on a Syscalls row, or `P` on a flow, shows that process in the Processes pane. A user who looked
at it presses Esc and expects to be back in the pane and view they came from (k9s' and a browser's
back), not to stay in Processes. The target pane remembers the tab it was jumped to from; its Esc,
once there is nothing of its own to close or clear, calls `jump_back`. Switching tabs by hand forgets
the origin (`forget_jump`), so a later Esc does not surprise.
"""

from __future__ import annotations

from typing import Any

ORIGIN = "_ebtop_jumped_from"  # attribute on the target pane: the id of the pane the jump came from


def jump(app: Any, target: Any) -> None:
    """Show `target`'s tab and remember the tab shown before it for its Esc."""
    from textual.widgets import TabbedContent

    origin = app.query_one(TabbedContent).active or None
    app.action_show_tab(target.id)
    setattr(target, ORIGIN, origin if origin != target.id else None)


def origin_of(pane: Any) -> str | None:
    """The pane id a jump into `pane` came from, if the user has not moved since."""
    return getattr(pane, ORIGIN, None)


def jump_back(pane: Any) -> bool:
    """Esc with nothing left to close in `pane`: back to the pane the jump came from (True), else False."""
    origin = origin_of(pane)
    if origin is None:
        return False
    setattr(pane, ORIGIN, None)
    pane.app.action_show_tab(origin)
    return True


def forget_jump(pane: Any) -> None:
    """The user left `pane` another way: a later Esc there stays there."""
    setattr(pane, ORIGIN, None)
