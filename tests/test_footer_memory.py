"""Switching tabs must not grow memory: the footer keeps only the keys it shows.

Every tab switch moves focus to the new pane's view, its bindings change and the footer rebuilds
its keys. Textual's own Footer keeps a watcher (and so the whole widget) for every key it ever
built (Textualize/textual#6666); ebtop's `BoundedFooter` prunes them. The bound checked here is a
count of watchers and of live key widgets, not memory or time.
"""

from __future__ import annotations

import gc

from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from tui.app import EbtopApp
from tui.model.flows import FlowStore
from tui.panes.flows import FlowsPane
from tui.panes.footer import BoundedFooter, live_watchers, prune_dead_watchers
from tui.panes.syscalls import SyscallsPane

SWITCHES = 24


def live_footer_keys() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, FooterKey))


async def rotate(app: EbtopApp, pilot, switches: int) -> None:
    for index in range(switches):
        app.action_show_tab(("syscalls", "flows")[index % 2])
        await pilot.pause()
        await pilot.pause()


async def test_rotating_tabs_keeps_footer_watchers_and_keys_bounded() -> None:
    app = EbtopApp([SyscallsPane(None), FlowsPane(FlowStore(capacity=100), None)], initial="syscalls")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        footer = app.query_one(Footer)
        assert isinstance(footer, BoundedFooter)
        await rotate(app, pilot, 4)
        shown_before = len(footer.query(FooterKey))
        await rotate(app, pilot, SWITCHES)
        shown = len(footer.query(FooterKey))
        assert shown > 3  # the keys really were rebuilt for each pane
        watchers = live_watchers(footer).get("compact", 0)
        # One watcher per key on screen (plus at most one rebuild in flight), not one per key ever shown.
        assert watchers <= shown + max(shown, shown_before)
        assert live_footer_keys() <= 3 * max(shown, shown_before)


async def test_prune_drops_only_removed_owners() -> None:
    app = EbtopApp([SyscallsPane(None)], initial="syscalls")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        footer = app.query_one(Footer)
        watchers = getattr(footer, "__watchers")["compact"]
        owners = [owner for owner, _ in watchers]
        assert owners and all(isinstance(owner, FooterKey) for owner in owners)
        removed = owners[0]
        await removed.remove()
        alive_before = [owner for owner, _ in watchers if not (owner._closing or owner._closed)]
        prune_dead_watchers(footer)
        remaining = [owner for owner, _ in watchers]
        assert removed not in remaining
        assert remaining == alive_before  # live keys keep their watcher, in order
        assert live_watchers(footer)["compact"] == len(remaining)


def live_objects(kind: type) -> int:
    """Objects the collector still tracks, garbage included (no collection first)."""
    return sum(1 for obj in gc.get_objects() if isinstance(obj, kind))


async def test_periodic_full_collection_frees_discarded_footer_keys(monkeypatch) -> None:
    """Discarded keys are reference cycles: only a full collection frees them, and the app's GC
    thresholds make those rare, so the app runs one every GC_FULL_SECONDS (shortened here)."""
    import tui.app

    monkeypatch.setattr(tui.app, "GC_FULL_SECONDS", 0.3)
    app = EbtopApp([SyscallsPane(None), FlowsPane(FlowStore(capacity=100), None)], initial="syscalls")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        for _ in range(3):
            await rotate(app, pilot, 8)
            gc.collect(1)  # what the app's thresholds still do often: not enough for cycles in gen 2
        await pilot.pause(0.8)
        shown = len(app.query_one(Footer).query(FooterKey))
        assert live_objects(FooterKey) <= 3 * shown
