"""Untrusted strings (pod names, process arguments, comm, DNS names, URLs) made safe to show.

They are data: never Rich markup, never terminal control sequences, never text that reorders or
hides what follows. This is the one escaping function of ebtop: the panes and every batch printer use
it, so a name reads the same on screen and in `-b` output. ESC becomes `^[` and CR `\\r` as `hubble
observe` does (so hubble's own printer cases stay identical); every other C0/C1 control, DEL, the
Unicode line separators, bidirectional overrides/isolates, zero-width and other invisible format
characters, and undecodable bytes (lone surrogates from `surrogateescape`) become visible escapes.
"""

from __future__ import annotations

import re

from rich.text import Text

_UNSAFE = re.compile(
    "["
    "\x00-\x1f\x7f-\x9f"  # C0, DEL, C1: ESC, CSI, OSC, BEL, BS, newlines, tabs …
    "\u00ad\u061c\u115f\u1160\u180e"  # soft hyphen, Arabic letter mark, Hangul fillers, Mongolian separator
    "\u200b-\u200f"  # zero-width space/joiners, LRM, RLM
    "\u2028-\u202e"  # line and paragraph separators, bidi embeddings and overrides (U+202E)
    "\u2060-\u2064\u2066-\u206f"  # word joiner, invisible operators, bidi isolates, deprecated formats
    "\u3164\ufeff\uffa0\ufff9-\ufffb"  # Hangul fillers, BOM / zero-width no-break space, annotations
    "\ud800-\udfff"  # lone surrogates: bytes that were not UTF-8 (surrogateescape)
    "\U000e0000-\U000e007f"  # tag characters (invisible ASCII look-alikes)
    "]"
)
_NAMED = {"\x1b": "^[", "\r": "\\r", "\n": "\\n", "\t": "\\t"}


def _escape_char(match: re.Match[str]) -> str:
    char = match.group(0)
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def escape_control(value: str) -> str:
    """`value` with every character that could control the terminal or hide text made visible."""
    return _UNSAFE.sub(_escape_char, value)


def has_unsafe(value: str) -> bool:
    """True when `escape_control` would change `value` (for tests and cheap checks)."""
    return _UNSAFE.search(value) is not None


def _json_escape_char(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    if code > 0xFFFF:  # a JSON escape is UTF-16: a surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def safe_json(line: str) -> str:
    """A JSON text with the same meaning but no raw control, bidi or invisible character.

    `json.dumps(..., ensure_ascii=False)` escapes C0 but leaves DEL, C1 (CSI `\\x9b`), U+2028 and bidi
    overrides raw; those can only sit inside JSON strings, where `\\uXXXX` means the same character.
    """
    return _UNSAFE.sub(_json_escape_char, line)


def safe_text(value: str, style: str = "") -> Text:
    """A Rich `Text` holding `value` literally, with control characters escaped."""
    return Text(escape_control(value), style=style)
