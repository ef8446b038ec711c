"""Tracepoints the running kernel offers, and their fields, read from tracefs `format` files.

Custom counters (`--count TRACEPOINT[:KEY]`) are checked against these, so a tracepoint or field
that does not exist is a usage error naming the closest ones, before anything is compiled; bcc
builds `args` from the same files, so what is accepted here is what the program can read.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from tui.sources import bpf_env

_FIELD = re.compile(r"field:(?P<type>.+?)\s+(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<array>\[[^\]]*\])?;\s*"
                    r"offset:(?P<offset>\d+);\s*size:(?P<size>\d+);\s*signed:(?P<signed>\d+);")


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    size: int
    signed: bool
    array: bool

    @property
    def integer(self) -> bool:
        """A plain integer a counter can key by (not a pointer, string, array or __data_loc)."""
        return (not self.array and "*" not in self.type and "__data_loc" not in self.type
                and self.size in (1, 2, 4, 8))


def events_dir(base: Path | None = None) -> Path | None:
    base = base if base is not None else bpf_env.tracefs_dir()
    return base / "events" if base is not None else None


def parse_format(text: str) -> list[Field]:
    """The fields of a tracepoint `format` file, the common_ ones left out."""
    fields = []
    for match in _FIELD.finditer(text):
        name = match.group("name")
        if name.startswith("common_"):
            continue
        fields.append(Field(name, match.group("type").strip(), int(match.group("size")),
                            match.group("signed") == "1", match.group("array") is not None))
    return fields


def list_tracepoints(events: Path) -> list[str]:
    """Every `category:name` under tracefs' events directory."""
    out = []
    try:
        for category in events.iterdir():
            if category.is_dir():
                out.extend(f"{category.name}:{event.name}" for event in category.iterdir()
                           if (event / "format").exists())
    except OSError:
        return out
    return sorted(out)


def read_fields(events: Path, category: str, name: str) -> list[Field] | None:
    """The tracepoint's fields, or None when it does not exist."""
    path = events / category / name / "format"
    try:
        return parse_format(path.read_text())
    except OSError:
        return None


def closest(word: str, options: list[str], n: int = 3) -> list[str]:
    return difflib.get_close_matches(word, options, n=n, cutoff=0.5)
