"""The `?`/F1 help screen, generated from the live bindings so it never drifts from the code."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import Static


def _bindings_of(node: DOMNode) -> list[Binding]:
    seen: list[Binding] = []
    for cls in type(node).__mro__:
        for item in cls.__dict__.get("BINDINGS", []):
            binding = _as_binding(item)
            if binding is not None and binding.description:
                seen.append(binding)
    return seen


def _as_binding(item: BindingType) -> Binding | None:
    if isinstance(item, Binding):
        return item
    if isinstance(item, tuple) and len(item) >= 2:
        key, action, *rest = item
        return Binding(key, action, rest[0] if rest else "")
    return None


def binding_rows(groups: Iterable[tuple[str, Iterable[DOMNode]]]) -> list[tuple[str, str, str]]:
    """(group, keys, description) rows, one per distinct action in each group."""
    rows: list[tuple[str, str, str]] = []
    for group, nodes in groups:
        seen: dict[str, int] = {}
        for node in nodes:
            for binding in _bindings_of(node):
                keys = binding.key_display or binding.key
                if binding.action in seen:
                    index = seen[binding.action]
                    grp, old_keys, desc = rows[index]
                    if keys not in old_keys.split("/"):
                        rows[index] = (grp, f"{old_keys}/{keys}", desc)
                    continue
                seen[binding.action] = len(rows)
                rows.append((group, keys, binding.description))
    return rows


class HelpScreen(ModalScreen[None]):
    """Every key the app and the active pane answer to, with what it does."""

    BINDINGS = [
        Binding("escape,q,question_mark,f1", "dismiss", "Close help"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 80; height: 90%; border: round $accent;
                                  background: $surface; padding: 0 1; }
    """

    def __init__(self, rows: list[tuple[str, str, str]], about: str) -> None:
        super().__init__()
        self.rows = rows
        self.about = about

    def compose(self) -> ComposeResult:
        table = Table(box=None, expand=True, show_header=True, header_style="bold")
        table.add_column("keys", no_wrap=True)
        table.add_column("action")
        group = None
        for row_group, keys, description in self.rows:
            if row_group != group:
                table.add_row(Text(row_group, style="bold underline"), "")
                group = row_group
            table.add_row(Text(keys), Text(description))
        with VerticalScroll():
            yield Static(Text("Keys (Esc, q, ? or F1 closes)", style="bold"), markup=False)
            yield Static(table)
            yield Static(Text(self.about), markup=False)
