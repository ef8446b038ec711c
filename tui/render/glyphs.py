"""Glyphs with ASCII fallbacks, for terminals and locales that cannot show Unicode (LANG=C, TERM=linux).

Panes ask `glyphs()` once and use its fields, so one decision covers the whole screen.
"""

from __future__ import annotations

import codecs
import locale
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Glyphs:
    """The few non-ASCII characters ebtop draws, and their stand-ins."""

    dot: str
    arrow: str
    ellipsis: str
    bar_full: str
    bar_partial: tuple[str, ...]
    up: str
    down: str


UNICODE = Glyphs("·", "→", "…", "█", ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉"), "▲", "▼")
ASCII = Glyphs("-", "->", "...", "#", ("",), "^", "v")


def unicode_supported(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the locale's encoding is UTF-8 and the terminal is not a bare console."""
    environ = os.environ if environ is None else environ
    if environ.get("EBTOP_ASCII"):
        return False
    if environ.get("TERM") in ("linux", "vt100", "vt220", "dumb"):
        return False
    for name in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = environ.get(name)
        if value:
            return "UTF-8" in value.upper() or "UTF8" in value.upper()
    try:
        return codecs.lookup(locale.getpreferredencoding(False)).name == "utf-8"
    except LookupError:
        return False


@cache
def glyphs() -> Glyphs:
    """The glyph set for this process's terminal and locale."""
    return UNICODE if unicode_supported() else ASCII


def bar(fraction: float, width: int, chars: Glyphs | None = None) -> str:
    """A horizontal bar of `width` cells filled to `fraction` (0..1), with sub-cell steps when possible."""
    chars = chars or glyphs()
    fraction = min(1.0, max(0.0, fraction))
    steps = len(chars.bar_partial)
    cells = fraction * width
    full = int(cells)
    rest = int((cells - full) * steps) if steps > 1 else 0
    text = chars.bar_full * full + (chars.bar_partial[rest] if full < width and rest else "")
    return text.ljust(width)
