"""Issue 10: under LANG=C and TERM=linux every glyph on screen has an ASCII stand-in (a real terminal)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.helpers.tmux import TmuxRun, tmux_available

pytestmark = pytest.mark.skipif(not tmux_available(), reason="tmux is not installed (deploy/setup.sh --test)")


def test_every_tab_is_plain_ascii_under_lang_c_and_term_linux(tmp_path: Path) -> None:
    run = TmuxRun(["--demo", "--demo-rate", "20"], tmp_path, size=(80, 24),
                  env={"LANG": "C", "LC_ALL": "C", "TERM": "linux"})
    try:
        run.wait_for("flows/s", 90)
        for key, marker in (("t", "Top talkers"), ("2", "procs"), ("3", "Syscalls"), ("4", "Profile")):
            run.press(key)
            screen = run.wait_for(marker, 60)
            time.sleep(1.5)  # the view fills in (tree, event log, scrollbars)
            screen = run.screen()
            odd = sorted({char for char in screen if not char.isascii()})
            assert not odd, (key, odd, [line for line in screen.splitlines() if not line.isascii()])
        run.press("q")
        assert run.exit_status() == 0
    finally:
        run.close()
