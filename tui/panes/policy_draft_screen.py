"""A drafted CiliumNetworkPolicy for one workload, beside what it would drop; `w` writes it to a file.

The draft covers the flows of the aggregate window still in the ring (`tui.model.policy_draft`). The
right side (below it on narrow screens) lists the flows the draft would not let through: the
connections that were dropped, as the policy in force dropped them.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.model.flows import FlowStore, RecordKind
from tui.model.map_digest import MapNode
from tui.model.policy_draft import draft_policy, to_yaml, workload_flows, would_drop
from tui.proto.flow import flow_pb2
from tui.render.glyphs import glyphs
from tui.render.hubble_compact import CompactOptions, flow_pieces
from tui.render.safe import escape_control

MAX_DROP_LINES = 200


def window_flows(store: FlowStore) -> list[flow_pb2.Flow]:
    """The flows of the ring inside the aggregate window (flow time), oldest first."""
    cutoff = store.newest_second - store.aggregates.window
    out = []
    for record in store.ring:
        if record.kind is RecordKind.FLOW:
            flow = record.response().flow
            if flow.time.seconds > cutoff:
                out.append(flow)
    return out


def draft_file_name(workload: MapNode) -> str:
    safe = "".join(c if c.isalnum() or c in "-." else "-" for c in f"{workload.namespace}-{workload.name}")
    return f"ebtop-policy-{safe}.yaml"


class DraftScreen(ModalScreen[None]):
    """The YAML and the would-drop list; `w` writes the YAML to ./ebtop-policy-<ns>-<name>.yaml."""

    DEFAULT_CSS = """
    DraftScreen > Vertical { width: 100%; height: 100%; background: $surface; }
    DraftScreen #draft-title { height: auto; padding: 0 1; background: $boost; }
    DraftScreen Horizontal { height: 1fr; }
    DraftScreen #draft-yaml { width: 1fr; border-right: solid $accent; }
    DraftScreen #draft-drops { width: 1fr; }
    DraftScreen.-narrow Horizontal { layout: vertical; }
    DraftScreen.-narrow #draft-yaml { height: 2fr; width: 100%; border-right: none; border-bottom: solid $accent; }
    DraftScreen.-narrow #draft-drops { height: 1fr; width: 100%; }
    """
    BINDINGS = [Binding("escape", "app.pop_screen", "Back"), Binding("w", "write", "Write YAML")]

    def __init__(self, workload: MapNode, flows: list[flow_pb2.Flow], directory: Path | None = None) -> None:
        super().__init__()
        self.workload = workload
        self.flows = workload_flows(flows, workload)
        self.policy = draft_policy(self.flows, workload)
        self.yaml = to_yaml(self.policy)
        self.drops = would_drop(self.policy, self.flows, workload)
        self.directory = directory or Path.cwd()
        self.written: Path | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self._title(), id="draft-title")
            with Horizontal():
                with VerticalScroll(id="draft-yaml"):
                    yield Static(Text(self.yaml, no_wrap=True), id="draft-yaml-text")
                with VerticalScroll(id="draft-drops"):
                    yield Static(self._drops_text(), id="draft-drops-text")

    def on_mount(self) -> None:
        self.set_class(self.app.size.width < 110, "-narrow")
        self.query_one("#draft-yaml").focus()

    def on_resize(self) -> None:
        self.set_class(self.app.size.width < 110, "-narrow")

    def _title(self) -> Text:
        dot = glyphs().dot
        text = Text(f"Draft CiliumNetworkPolicy for {escape_control(self.workload.label)} {dot} "
                    f"{len(self.flows):,} flows seen {dot} would drop {len(self.drops):,}", style="bold")
        text.append(f"\nw write {draft_file_name(self.workload)} {dot} Esc back", style="dim")
        if self.written is not None:
            text.append(f" {dot} written to {escape_control(str(self.written))}", style="bold green")
        return text

    def _drops_text(self) -> Text:
        text = Text(no_wrap=True)
        if not self.drops:
            text.append("Every flow seen for this workload is allowed by the draft.", style="green")
            return text
        text.append(f"Would drop {len(self.drops):,} flows seen (connections that were dropped):\n", style="bold red")
        options = CompactOptions()
        for flow in self.drops[-MAX_DROP_LINES:]:
            for chunk, _ in flow_pieces(flow, options, escape_control):
                text.append(chunk)
            text.append("\n")
        return text

    def action_write(self) -> None:
        path = self.directory / draft_file_name(self.workload)
        try:
            path.write_text(self.yaml)
        except OSError as error:
            self.notify(f"cannot write {path}: {error.strerror or error}", severity="error")
            return
        self.written = path
        self.query_one("#draft-title", Static).update(self._title())


def open_draft(app: App, store: FlowStore, workload: MapNode) -> None:
    app.push_screen(DraftScreen(workload, window_flows(store)))
