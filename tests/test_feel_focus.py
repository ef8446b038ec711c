"""Issue 10: Tab moves the focus between the tab strip and the active pane's widgets, never onto a hidden one."""

from __future__ import annotations

from textual.widget import Widget
from textual.widgets import TabbedContent, Tabs

from tui.keys import keys_app


def _shown(widget: Widget) -> bool:
    """On screen: displayed, it and every ancestor, with a non-empty region."""
    return widget.region.area > 0 and all(getattr(node, "display", True) for node in widget.ancestors_with_self)


async def test_tab_cycles_through_visible_widgets_of_the_active_pane_and_the_tab_strip() -> None:
    app = keys_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        for number in "1234":
            await pilot.press(number)
            await pilot.pause()
            active = app.query_one(TabbedContent).active_pane
            assert active is not None
            visited: list[Widget] = []
            for _ in range(6):
                focused = app.focused
                assert focused is not None, number
                assert _shown(focused), f"tab {number}: focus on a hidden {focused!r}"
                assert isinstance(focused, Tabs) or active in focused.ancestors, f"tab {number}: {focused!r}"
                visited.append(focused)
                await pilot.press("tab")
                await pilot.pause()
            assert any(isinstance(widget, Tabs) for widget in visited), number
            assert any(not isinstance(widget, Tabs) for widget in visited), number  # the pane's content too


async def test_the_filter_box_opens_in_the_same_place_in_every_pane() -> None:
    from textual.widgets import Input

    app = keys_app()
    places: dict[str, tuple[int, int, int]] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        for number in "1234":
            await pilot.press(number)
            await pilot.pause()
            await pilot.press("slash")
            await pilot.pause()
            box = app.focused
            assert isinstance(box, Input) and _shown(box), f"tab {number}: / focused {box!r}"
            places[number] = (box.region.x, box.region.y, box.region.width)
            await pilot.press("escape")
            await pilot.pause()
    assert len(set(places.values())) == 1, places


async def test_switching_tabs_from_a_filter_box_moves_the_keyboard_into_the_new_pane() -> None:
    """Ctrl-P's tab commands run `action_show_tab` while the focus may be in a pane's filter box."""
    from textual.widgets import Input

    app = keys_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        tabs = app.query_one(TabbedContent)
        for source, target in (("1", "processes"), ("2", "syscalls"), ("3", "flows")):
            await pilot.press(source, "slash")
            await pilot.pause()
            assert isinstance(app.focused, Input)
            app.action_show_tab(target)
            for _ in range(5):
                await pilot.pause()
            shown = tabs.active_pane
            assert tabs.active == target and shown is not None, (source, tabs.active)
            focused = app.focused
            assert focused is not None and shown in focused.ancestors and _shown(focused), (target, focused)
