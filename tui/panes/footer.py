"""The key footer, without the memory leak of Textual's own on every bindings change.

Textual's `Footer` recomposes whenever the focused widget's bindings change (every tab switch,
every view that takes focus) and builds each `FooterKey` with `.data_bind(compact=Footer.compact)`.
That stores a `(FooterKey, setter)` watcher on the long-lived Footer, and Textual prunes such
watchers only when `compact` itself changes, which it never does: every discarded key, with its
styles, caches and rendered strips, stays reachable for the whole run (Textualize/textual#6666).
Rotating tabs every 10 s grew ebtop by ~3.5 MiB/min (bench/README.md, Memory while tabs rotate).
`BoundedFooter` drops the watchers of removed keys after each recompose, so their number stays
the number of keys on screen.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


def live_watchers(node: Any) -> dict[str, int]:
    """How many watchers `node` keeps per reactive attribute (what the regression test bounds)."""
    return {name: len(entries) for name, entries in getattr(node, "__watchers", {}).items()}


def prune_dead_watchers(node: Any) -> int:
    """Drop watchers registered on `node` by widgets that have been removed; how many went."""
    dropped = 0
    for entries in getattr(node, "__watchers", {}).values():
        alive = [(owner, callback) for owner, callback in entries
                 if not (getattr(owner, "_closing", False) or getattr(owner, "_closed", False))]
        dropped += len(entries) - len(alive)
        entries[:] = alive
    return dropped


PINNED_ACTIONS = ("quit", "help")  # first in the footer, so 80 columns always show `q` and `?`


class BoundedFooter(Footer):
    """Textual's Footer whose watcher list does not grow with every recompose; `q` and `?` come first."""

    def compose(self) -> ComposeResult:
        keys = list(super().compose())  # ebtop's bindings use no groups: a flat list of keys
        pinned = [key for action in PINNED_ACTIONS for key in keys
                  if isinstance(key, FooterKey) and key.action == action]
        yield from pinned + [key for key in keys if key not in pinned]

    async def recompose(self) -> None:
        await super().recompose()
        prune_dead_watchers(self)
