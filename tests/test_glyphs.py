"""ASCII fallbacks are chosen for C locales and bare consoles; bars keep their width."""

from __future__ import annotations

from tui.render.glyphs import ASCII, UNICODE, bar, unicode_supported


def test_locale_decides() -> None:
    assert unicode_supported({"LANG": "en_US.UTF-8", "TERM": "xterm-256color"})
    assert not unicode_supported({"LANG": "C", "TERM": "xterm"})
    assert not unicode_supported({"LC_ALL": "POSIX", "LANG": "en_US.UTF-8"})
    assert not unicode_supported({"LANG": "en_US.UTF-8", "TERM": "linux"})


def test_bar_width_and_fill() -> None:
    for chars in (ASCII, UNICODE):
        for fraction in (0, 0.13, 0.5, 0.99, 1, 7):
            assert len(bar(fraction, 10, chars)) == 10
    assert bar(0.5, 10, ASCII) == "#####     "
    assert bar(1, 4, UNICODE) == "████"
