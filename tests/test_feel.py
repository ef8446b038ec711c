"""Issue 10 (htop/k9s feel): full values, the verdict on screen, keys that always work."""

from __future__ import annotations

from textual.widgets import DataTable

from tests.helpers.screen import screen_text
from tui.app import EbtopApp
from tui.model.probes import RetransEvent
from tui.panes.syscalls import SyscallsPane
from tui.render.glyphs import UNICODE


async def test_retransmits_show_the_whole_port_of_ipv4_mapped_addresses() -> None:
    pane = SyscallsPane(chars=UNICODE)
    pane.add_event(RetransEvent(7934, "python3", "::ffff:127.0.0.1", 34845, "::ffff:10.20.30.40", 58887,
                                "ESTABLISHED"))
    app = EbtopApp([pane], initial="syscalls")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("r")
        await pilot.pause()
        assert pane.query_one("#retrans", DataTable).row_count == 1
        text = screen_text(app)
        assert "[::ffff:127.0.0.1]:34845" in text
        assert "[::ffff:10.20.30.40]:58887" in text
