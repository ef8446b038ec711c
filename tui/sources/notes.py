"""Notes said once: a precondition line that turns nothing off and says how this machine is (the
kernel-headers notes) is not news on the second run, so batch mode prints it once and the pane shows
it until dismissed (`n`). A note about something ebtop did this run (it mounted tracefs) is said
every time in batch; in the pane `n` dismisses any note.

What was said is kept, one line per note, in `$XDG_STATE_HOME/ebtop/notes-seen`
(`~/.local/state/ebtop/notes-seen` without it); deleting the file brings the notes back. A note whose
text changes (other headers, another kernel) is a new note. The file is state, not configuration:
when it cannot be read or written the notes are simply said again.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

FILE_NAME = "notes-seen"
MAX_LINES = 200


def state_file(env: dict[str, str] | None = None) -> Path:
    """Where the notes already said are kept (XDG base directory spec's state home)."""
    env = dict(os.environ) if env is None else env
    base = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "state")
    return Path(base) / "ebtop" / FILE_NAME


ONCE = ("kernel headers are for ", "no kernel headers; ")  # what the machine is, the same every run


def is_note(problem: Any) -> bool:
    """A line that informs and turns nothing off (not fatal, no views disabled)."""
    return not getattr(problem, "fatal", False) and not getattr(problem, "disables", ())


def said_once(problem: Any) -> bool:
    """A note about the machine itself (not about what this run did), so batch says it once."""
    return is_note(problem) and str(problem).startswith(ONCE)


class SeenNotes:
    """The set of note lines already said, read once, appended to as notes are said or dismissed."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else state_file()
        try:
            lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            lines = []
        self._seen = {line for line in lines if line}

    def seen(self, line: str) -> bool:
        return line in self._seen

    def remember(self, lines: Iterable[str]) -> None:
        new = [line.replace("\n", " ") for line in lines if line and line not in self._seen]
        if not new:
            return
        self._seen.update(new)
        kept = sorted(self._seen)[-MAX_LINES:]
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")
            tmp.replace(self.path)

    def unseen(self, problems: Iterable[Any]) -> list[Any]:
        """`problems` without the once-notes already said (everything else always stays)."""
        return [p for p in problems if not (said_once(p) and self.seen(str(p)))]


__all__ = ["SeenNotes", "is_note", "said_once", "state_file"]
