"""Untrusted strings are shown literally: no markup, no terminal control sequences."""

from __future__ import annotations

from tui.render.safe import escape_control, safe_text


def test_escapes_ansi_and_osc() -> None:
    assert escape_control("a\x1b[2Jb\x1b]0;pwn\x07") == "a\\x1b[2Jb\\x1b]0;pwn\\x07"


def test_markup_is_literal() -> None:
    text = safe_text("[/x][bold]boom")
    assert text.plain == "[/x][bold]boom"
    assert not text.spans
