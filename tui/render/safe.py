"""Untrusted strings (pod names, process arguments, DNS names, URLs) made safe to show.

They are data: never Rich markup, never terminal control sequences. Escaping follows what
`hubble observe` does for control characters, so a crafted name cannot clear or retitle the terminal.
"""

from __future__ import annotations

import re

from rich.text import Text

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\x1b"}


def _escape_char(match: re.Match[str]) -> str:
    char = match.group(0)
    return _NAMED.get(char) or f"\\x{ord(char):02x}"


def escape_control(value: str) -> str:
    """Replace C0/C1 control characters (ESC, CR, BEL, …) with visible escapes."""
    return _CONTROL.sub(_escape_char, value)


def safe_text(value: str, style: str = "") -> Text:
    """A Rich `Text` holding `value` literally, with control characters escaped."""
    return Text(escape_control(value), style=style)
