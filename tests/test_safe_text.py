"""Untrusted strings are shown literally: no markup, no terminal control, nothing hidden or reordered."""

from __future__ import annotations

import pytest

from tui.render.safe import escape_control, has_unsafe, safe_json, safe_text


def test_escapes_ansi_and_osc_as_hubble_does() -> None:
    assert escape_control("a\x1b[2Jb\x1b]0;pwn\x07\r") == "a^[[2Jb^[]0;pwn\\x07\\r"


@pytest.mark.parametrize(("raw", "shown"), [
    ("\n", "\\n"), ("\t", "\\t"), ("\x08", "\\x08"), ("\x7f", "\\x7f"), ("\x9b", "\\x9b"), ("\x85", "\\x85"),
    ("\u202e", "\\u202e"), ("\u2066", "\\u2066"), ("\u200b", "\\u200b"), ("\u200f", "\\u200f"),
    ("\u2028", "\\u2028"), ("\ufeff", "\\ufeff"), ("\U000e0041", "\\U000e0041"), ("\udcff", "\\xff"),
])
def test_every_control_and_invisible_character_is_visible(raw: str, shown: str) -> None:
    assert escape_control(f"a{raw}b") == f"a{shown}b"
    assert has_unsafe(raw) and not has_unsafe(escape_control(raw))


def test_ordinary_text_is_untouched() -> None:
    for value in ("shop/api-7d9c", "é ü ß", "🚀 process", "日本語", "[bold]x[/]", "back\\slash", "^[ literal"):
        assert escape_control(value) == value


def test_markup_is_literal() -> None:
    text = safe_text("[/x][bold]boom")
    assert text.plain == "[/x][bold]boom"
    assert not text.spans


def test_safe_json_keeps_the_meaning_and_drops_the_raw_characters() -> None:
    import json

    value = {"pod": "a\x9b2J\u202eb\u2028c\x7f\U000e0041🚀é", "n": 1}
    line = json.dumps(value, ensure_ascii=False)
    safe = safe_json(line)
    assert not has_unsafe(safe) and "é" in safe
    assert json.loads(safe) == json.loads(line)
