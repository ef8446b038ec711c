"""Issue 10: Ctrl-Z suspends and fg resumes (a real terminal), a click selects a row, Ctrl-P lists ebtop's actions."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.widgets import OptionList

from tests.helpers.pilot import until
from tests.helpers.tmux import tmux_available
from tests.test_flows_pane import loaded, make_app
from tui.panes.flow_views import AggregateTable

ROOT = Path(__file__).resolve().parents[1]


# -- Ctrl-P ---------------------------------------------------------------------------------------

def _palette_prompts(app) -> list[str]:
    options = app.screen.query_one(OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def test_ctrl_p_lists_ebtops_actions_and_runs_them() -> None:
    app, pane = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, pane)
        await pilot.press("ctrl+p")
        assert await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        assert await until(pilot, lambda: any("Flows: Talkers" in p for p in _palette_prompts(app)))
        prompts = " | ".join(_palette_prompts(app))
        for wanted in ("Flows: Pause", "Flows: Drops", "Show the Flows tab", "Help: ebtop's keys"):
            assert wanted in prompts, prompts
        await pilot.press(*"flows: talkers")
        assert await until(pilot, lambda: _palette_prompts(app) and "Talkers" in _palette_prompts(app)[0])
        await pilot.press("enter")
        assert await until(pilot, lambda: pane.view == "talkers"), pane.view


# -- the mouse ------------------------------------------------------------------------------------

async def test_a_click_selects_a_row_in_the_flow_list_and_in_a_table() -> None:
    app, pane = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, pane)
        flow_list = pane.flow_list
        assert flow_list.cursor_seq is None and flow_list.follow
        await pilot.click(flow_list, offset=(10, 3))
        top = int(flow_list.scroll_y)
        assert await until(pilot, lambda: flow_list.cursor_index == top + 3), flow_list.cursor_index
        assert not flow_list.follow
        await pilot.press("t")
        table = pane.query_one("#talkers", AggregateTable)
        assert await until(pilot, lambda: table.row_count >= 3)
        await pilot.click(table, offset=(10, 3))  # the header is line 0
        assert await until(pilot, lambda: table.cursor_row == 2), table.cursor_row


# -- Ctrl-Z in a real terminal --------------------------------------------------------------------

@pytest.mark.skipif(not tmux_available(), reason="tmux is not installed (deploy/setup.sh --test)")
def test_ctrl_z_suspends_to_the_shell_and_fg_redraws(tmp_path: Path) -> None:
    name = f"ebtop-test-{uuid.uuid4().hex[:8]}"
    tmux = ["tmux", "-L", name]
    env = {**os.environ, "TERM": "xterm-256color"}
    subprocess.run([*tmux, "new-session", "-d", "-s", name, "-x", "80", "-y", "24", "bash --norc --noprofile -i"],
                   check=True, cwd=ROOT, env=env)

    def screen() -> str:
        return subprocess.run([*tmux, "capture-pane", "-p", "-t", name], capture_output=True, text=True).stdout

    def wait_for(check, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = screen()
            if check(text):
                return text
            time.sleep(0.2)
        raise AssertionError(screen())

    try:
        subprocess.run([*tmux, "send-keys", "-t", name, "PS1='READY''$ '", "Enter"], check=True)
        wait_for(lambda s: s.rstrip().endswith("READY$"), 20)
        command = shlex.join([sys.executable, "-m", "tui", "--demo", "--demo-rate", "20"])
        subprocess.run([*tmux, "send-keys", "-t", name, command, "Enter"], check=True)
        wait_for(lambda s: "flows/s" in s)
        subprocess.run([*tmux, "send-keys", "-t", name, "C-z"], check=True)
        stopped = wait_for(lambda s: "flows/s" not in s and s.rstrip().endswith("READY$"), 20)
        assert "Stopped" in stopped or "stopped" in stopped, stopped
        subprocess.run([*tmux, "send-keys", "-t", name, "fg", "Enter"], check=True)
        wait_for(lambda s: "flows/s" in s and "Processes" in s, 30)  # redrawn, still running
        subprocess.run([*tmux, "send-keys", "-t", name, "q"], check=True)
        wait_for(lambda s: s.rstrip().endswith("READY$") and "flows/s" not in s, 20)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
