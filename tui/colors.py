"""`--colors never` / NO_COLOR: no colour codes at all, state shown by attributes (bold, reverse).

Textual honours NO_COLOR with its Monochrome filter, which still sends 256-colour greys (and paints a
drop in the darkest one). `strip_colors` swaps it for a filter that removes every colour and keeps the
attributes, and `NO_COLOR_CSS` gives what colour used to show (cursor rows, the active tab, focus) an
attribute instead. Drops are bold with a reversed verdict already (`tui.render.flow_fit`).
"""

from __future__ import annotations

from rich.segment import Segment
from textual.app import App
from textual.color import Color
from textual.filter import LineFilter, Monochrome, NoColor

NO_COLOR_CSS = """
App:nocolor DataTable > .datatable--cursor { text-style: bold reverse; }
App:nocolor DataTable > .datatable--header { text-style: bold underline; }
App:nocolor Tab.-active { text-style: bold reverse; }
App:nocolor Tree > .tree--cursor { text-style: bold reverse; }
App:nocolor OptionList > .option-list--option-highlighted { text-style: bold reverse; }
App:nocolor FooterKey .footer-key--key { text-style: bold; }
App:nocolor *:focus { text-style: bold; }
"""


class StripColors(LineFilter):
    """Every segment without foreground or background colour; bold, reverse, underline stay."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [Segment(text, None if style is None else style.without_color, control)
                for text, style, control in segments]


def strip_colors(app: App) -> None:
    """Replace Textual's NO_COLOR filter on `app` by `StripColors` (call from `App.__init__`)."""
    if not app.no_color:
        return
    filters = app._filters
    for index, item in enumerate(filters):
        if isinstance(item, (Monochrome, NoColor)):
            filters[index] = StripColors()
            return
    filters.append(StripColors())
