"""Issue 10 in a real terminal (tmux): colours off means no colour codes, `q`/`?` always in the footer."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers.tmux import TmuxRun, tmux_available

pytestmark = pytest.mark.skipif(not tmux_available(), reason="tmux is not installed (deploy/setup.sh --test)")

ARGS = ["--demo", "--demo-rate", "20"]
SGR = re.compile(r"\x1b\[([0-9;:]*)m")


@pytest.fixture
def run_ebtop(tmp_path: Path):
    runs: list[TmuxRun] = []

    def start(args: list[str] = (), size: tuple[int, int] = (80, 24),
              env: dict[str, str | None] | None = None) -> TmuxRun:
        run = TmuxRun([*ARGS, *args], tmp_path, size=size, env=env)
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.close()


def styled_screen(run: TmuxRun) -> str:
    """The screen with the attributes tmux holds for each cell, as SGR sequences."""
    return subprocess.run(["tmux", "-L", run.name, "capture-pane", "-e", "-p", "-t", run.name],
                          capture_output=True, text=True).stdout


def colour_codes(screen: str) -> set[str]:
    """SGR parameters that set a colour (30-37, 38;…, 40-47, 48;…, 90-97, 100-107); 39/49 reset to default."""
    found = set()
    for params in SGR.findall(screen):
        parts = [p for p in re.split("[;:]", params) if p]
        for index, part in enumerate(parts):
            number = int(part)
            if number in (38, 48) or 30 <= number <= 37 or 40 <= number <= 47 or 90 <= number <= 107:
                found.add(";".join(parts[index:index + 3]) if number in (38, 48) else part)
                break
    return found


@pytest.mark.parametrize("how", ["--colors never", "NO_COLOR"])
def test_no_colour_codes_at_all_and_drops_are_bold(run_ebtop, how: str) -> None:
    args, env = (["--colors", "never"], None) if how.startswith("--") else ([], {"NO_COLOR": "1"})
    run = run_ebtop(args, env=env)
    run.wait_for("flows/s", 90)  # the shared CI box can be slow to start the demo
    deadline = time.monotonic() + 60
    while True:  # the demo drops now and then; look in the same capture that is then checked
        screen = styled_screen(run)
        if any("DROPPED" in "".join(c for c, _ in line) for line in attributed_lines(screen)):
            break
        assert time.monotonic() < deadline, screen
        time.sleep(0.3)
    assert colour_codes(screen) == set(), screen
    cells = next(line for line in attributed_lines(screen) if "DROPPED" in "".join(c for c, _ in line))
    text = "".join(char for char, _ in cells)
    start = text.index("DROPPED")
    assert all("reverse" in attrs and "bold" in attrs for _, attrs in cells[start:start + 7]), text
    assert all("bold" in attrs for char, attrs in cells[:start] if char != " "), text  # the whole line


def attributed_lines(screen: str) -> list[list[tuple[str, frozenset[str]]]]:
    """Each line as (character, attributes) cells, following SGR state across the capture."""
    state: set[str] = set()
    lines: list[list[tuple[str, frozenset[str]]]] = []
    for raw in screen.split("\n"):
        cells: list[tuple[str, frozenset[str]]] = []
        position = 0
        for match in SGR.finditer(raw):
            cells += [(char, frozenset(state)) for char in raw[position:match.start()]]
            position = match.end()
            parts = (match.group(1) or "0").split(";")
            for index, part in enumerate(parts):
                number = int(part or 0)
                if 30 <= number <= 37 or 90 <= number <= 97 or number in (38, 39):
                    state -= {item for item in state if item.startswith("fg=")}
                    if number == 38:
                        state.add("fg=" + ";".join(parts[index:index + 3]))
                        break
                    if number != 39:
                        state.add(f"fg={number}")
                elif number == 0:
                    state.clear()
                elif number == 1:
                    state.add("bold")
                elif number == 7:
                    state.add("reverse")
                elif number == 22:
                    state.discard("bold")
                elif number == 27:
                    state.discard("reverse")
        cells += [(char, frozenset(state)) for char in raw[position:]]
        lines.append(cells)
    return lines


def test_colours_on_still_send_colour(run_ebtop) -> None:
    """The check above can fail: with colours the same screen has colour codes."""
    run = run_ebtop(["--colors", "256"])
    run.wait_for("flows/s", 90)  # the shared CI box can be slow to start the demo
    time.sleep(0.5)
    assert colour_codes(styled_screen(run))


@pytest.mark.parametrize("tab", ["1", "2", "3"])
def test_footer_keeps_quit_and_help_at_80_columns(run_ebtop, tab: str) -> None:
    run = run_ebtop()
    run.wait_for("flows/s", 90)  # the shared CI box can be slow to start the demo
    run.press(tab)
    deadline = time.monotonic() + 20
    footer = ""
    while time.monotonic() < deadline:  # the footer is rebuilt after the tab switch
        footer = run.screen().rstrip("\n").splitlines()[-1]
        if footer.lstrip().startswith("q Quit") and "? Help" in footer:
            break
        time.sleep(0.3)
    assert footer.lstrip().startswith("q Quit") and "? Help" in footer, footer


@pytest.mark.parametrize("colors,red", [("16", {"fg=31", "fg=91"}), ("256", {"fg=38;5;196", "fg=38;5;160"})])
def test_dropped_is_red_and_identities_are_another_colour(run_ebtop, colors: str, red: set[str]) -> None:
    run = run_ebtop(["--colors", colors], size=(200, 40), env={"TERM": "xterm-256color"})
    run.wait_for("flows/s", 90)  # the shared CI box can be slow to start the demo
    run.press("w")  # full hubble lines: numeric identities shown
    run.wait_for("full lines (w: fit)", 30)
    deadline = time.monotonic() + 60
    lines = attributed_lines(styled_screen(run))
    while time.monotonic() < deadline:  # one capture holds both the drop line and its attributes
        if any("DROPPED" in "".join(c for c, _ in line) and "(ID:" in "".join(c for c, _ in line)
               for line in lines):
            break
        time.sleep(0.3)
        lines = attributed_lines(styled_screen(run))
    cells = next(line for line in lines if "DROPPED" in "".join(c for c, _ in line))
    text = "".join(char for char, _ in cells)
    verdict = {attr for attr in cells[text.index("DROPPED")][1] if attr.startswith("fg=")}
    assert verdict & red, (verdict, text)
    identity_line = next((line for line in lines if "(ID:" in "".join(c for c, _ in line)), None)
    assert identity_line is not None, run.screen()
    ident_text = "".join(char for char, _ in identity_line)
    identity = {attr for attr in identity_line[ident_text.index("(ID:") + 1][1] if attr.startswith("fg=")}
    assert identity and not identity & red, (identity, ident_text)
