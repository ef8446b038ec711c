"""What a Pilot-driven app shows, as plain text lines (the compositor's strips, as the terminal gets them)."""

from __future__ import annotations

from textual.app import App


def screen_lines(app: App) -> list[str]:
    """Each row of the current screen as text (styles dropped)."""
    strips = app.screen._compositor.render_strips()
    return ["".join(segment.text for segment in strip) for strip in strips]


def screen_text(app: App) -> str:
    return "\n".join(screen_lines(app))
