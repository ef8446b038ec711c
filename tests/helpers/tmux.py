"""Drive ebtop in a real terminal (tmux): type keys, read the screen, lose the terminal."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path


def tmux_available() -> bool:
    return shutil.which("tmux") is not None


class TmuxRun:
    """One ebtop process in a detached tmux session of a given size and environment."""

    def __init__(self, args: list[str], workdir: Path, size: tuple[int, int] = (80, 24),
                 env: dict[str, str | None] | None = None, python_args: tuple[str, ...] = ("-m", "tui")) -> None:
        self.name = f"ebtop-test-{uuid.uuid4().hex[:8]}"
        self.workdir = workdir
        self.exit_file = workdir / "exit-status"
        self.pid_file = workdir / "pid"
        settings = []
        unset = []
        for key, value in (env or {}).items():
            if value is None:
                unset.append(key)
            else:
                settings.append(f"{key}={shlex.quote(value)}")
        exe = shlex.join([sys.executable, *python_args, *args])
        # Textual draws on stderr, so it is not redirected: what ebtop prints after leaving the
        # alternate screen (a traceback, a message) stays on the pane, which `sleep` keeps open.
        inner = f"echo $$ > {self.pid_file}; exec env {' '.join('-u ' + k for k in unset)} {' '.join(settings)} {exe}"
        command = f"sh -c {shlex.quote(inner)}; echo $? > {self.exit_file}; sleep 30"
        width, height = size
        subprocess.run(["tmux", "-L", self.name, "new-session", "-d", "-s", self.name, "-x", str(width),
                        "-y", str(height), command], check=True, cwd=Path(__file__).resolve().parents[2],
                       env={**os.environ, "TERM": "xterm-256color"})

    def pid(self, timeout: float = 10) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pid_file.exists() and self.pid_file.read_text().strip():
                return int(self.pid_file.read_text())
            time.sleep(0.05)
        raise TimeoutError("ebtop did not start")

    def screen(self) -> str:
        out = subprocess.run(["tmux", "-L", self.name, "capture-pane", "-p", "-t", self.name],
                             capture_output=True, text=True)
        return out.stdout

    def wait_for(self, text: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not on screen after {timeout}s:\n{screen}\nstderr:\n{self.stderr()}")

    def press(self, *keys: str) -> None:
        subprocess.run(["tmux", "-L", self.name, "send-keys", "-t", self.name, *keys], check=True)

    def exit_status(self, timeout: float = 10) -> int | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.exit_file.exists() and self.exit_file.read_text().strip():
                return int(self.exit_file.read_text())
            time.sleep(0.05)
        return None

    def stderr(self) -> str:
        """What is on the terminal once ebtop has left the alternate screen (tracebacks land here)."""
        return self.screen()

    def terminal_flag(self, name: str) -> str:
        """A tmux pane flag, e.g. `alternate_on` or `mouse_any_flag`: what state the program left it in."""
        out = subprocess.run(["tmux", "-L", self.name, "display", "-p", "-t", self.name, f"#{{{name}}}"],
                             capture_output=True, text=True)
        return out.stdout.strip()

    def kill_server(self) -> None:
        """Lose the terminal: tmux hangs up the pane, as an SSH drop or a killed `kubectl exec` does."""
        subprocess.run(["tmux", "-L", self.name, "kill-server"], capture_output=True)

    def close(self) -> None:
        self.kill_server()


def process_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # A zombie has exited already: its parent (the tmux shell) may be gone too.
        try:
            if Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z"):
                return True
        except (OSError, IndexError):
            return True
        time.sleep(0.05)
    return False
