"""The join, as the Flows pane shows it: a process column and the process in the flow detail (verdicts are fed back by tui/model/talker_processes.py).

Plain functions over a `FlowJoiner` and flow records, so the pane's own code only calls them. Binaries
and pod names are untrusted text: escaped here, shown as literal pieces by the list.
"""

from __future__ import annotations

import os
from typing import Any

from rich.text import Text

from tui.model.flows import FlowRecord, RecordKind
from tui.model.join import FlowJoiner
from tui.model.sockets import ProcessRef
from tui.panes.jumps import jump
from tui.render.safe import escape_control

COLUMN_WIDTH = 24
NO_EVENTS = "process column: no socket events yet (Tetragon needs deploy/tracingpolicy-join.yaml)"


def process_of_record(joiner: FlowJoiner | None, record: FlowRecord, known: Any = None) -> ProcessRef | None:
    """The flow's process: `known` (the join it got when settled, see TalkerProcesses), else a lookup now."""
    if known is not None and known.process is not None:
        return known.process
    if joiner is None or record.kind is not RecordKind.FLOW:
        return None
    response = record.response()
    return joiner.process_of(response.flow, response.time.ToNanoseconds())


def column_text(process: ProcessRef | None) -> str:
    """`  4211 nginx            ` (pid right-aligned, binary's base name), or blanks: a fixed width."""
    if process is None:
        return " " * (COLUMN_WIDTH - 2) + "- "
    name = escape_control(os.path.basename(process.binary) or process.binary)
    text = f"{process.pid:>7} {name}"
    if len(text) > COLUMN_WIDTH - 1:
        text = text[:COLUMN_WIDTH - 2] + "~"
    return f"{text:<{COLUMN_WIDTH - 1}} "


def header_note(joiner: FlowJoiner | None, joined: int | None = None, settled: int | None = None) -> str:
    """What the column can show; `joined` of `settled` flows (the pane's count) when given."""
    if joiner is None:
        return "process column: no process source"
    if not joiner.socket_events:
        return NO_EVENTS
    if joined is None or settled is None:
        joined, settled = joiner.flows_joined, joiner.flows_asked
    return f"process column (o) · {joined:,}/{settled:,} joined"


def _join_of(joiner: FlowJoiner | None, record: FlowRecord, known: Any) -> Any:
    if known is not None:
        return known
    if joiner is None or record.kind is not RecordKind.FLOW:
        return None
    response = record.response()
    return joiner.lookup(response.flow, response.time.ToNanoseconds())


def detail_section(joiner: FlowJoiner | None, record: FlowRecord, forest: Any = None, known: Any = None) -> Text:
    """The flow's process, its parent chain (from the Processes pane's forest) and its pod."""
    text = Text()
    if joiner is None or record.kind is not RecordKind.FLOW:
        return text
    join = _join_of(joiner, record, known)
    if join is None or join.process is None:
        if joiner.socket_events:
            text.append("process       ", style="bold")
            text.append("unknown (no socket of this 5-tuple lived at that time)\n\n", style="dim")
        return text
    for role, record_ in (("process", join.client), ("accepted by", join.server)):
        if record_ is None:
            continue
        process = record_.process
        text.append(f"{role:<14}", style="bold")
        text.append(f"pid {process.pid} ")
        text.append(escape_control(process.binary), style="magenta")
        if process.pod:
            text.append("  pod ")
            text.append(escape_control(f"{process.namespace}/{process.pod}" if process.namespace else process.pod),
                        style="green")
        text.append(f"  ({process.source})\n", style="dim")
        own = forest.get(process.exec_id) if forest is not None else None
        chain = parent_chain(forest, own.parent_id, own=own) if own is not None else []
        chain = chain or parent_chain(forest, process.parent_exec_id, own=own)
        if chain:
            text.append(f"{'parents':<14}", style="bold")
            text.append(escape_control(" <- ".join(chain)))
            text.append("\n")
    if join.client is not None and join.client.process.exec_id:
        text.append("j jumps to it in the Processes tree\n", style="dim")
    text.append("\n")
    return text


def parent_chain(forest: Any, exec_id: str, limit: int = 8, own: Any = None) -> list[str]:
    """`binary(pid)` of each ancestor, nearest first.

    `own` is the process's own node: a shell that exec'd the binary (`sh -c curl`) is merged into it
    by the forest, so the parent id may lead back to the process itself, which is not its parent.
    """
    out = []
    for _ in range(limit + 1):
        node = forest.get(exec_id) if forest is not None and exec_id else None
        if node is None or len(out) >= limit:
            break
        if node is not own:
            out.append(f"{os.path.basename(node.binary or '?')}({node.pid})")
        exec_id = node.parent_id
    return out


__all__ = ["column_text", "detail_screen", "detail_section", "header_note", "jump_to_process",
           "parent_chain", "process_of_record"]


def jump_to_process(app: Any, exec_id: str) -> bool:
    """Switch to the Processes tab and select the process (False: not known there)."""
    for pane in getattr(app, "panes", []):
        reveal = getattr(pane, "reveal", None)
        if reveal is not None and pane.id:
            jump(app, pane)  # Esc there comes back here
            if reveal(exec_id):
                return True
            app.notify("that process is not in the Processes tree (pruned, or its exec was not seen)",
                       severity="warning")
            return False
    app.notify("no Processes pane", severity="warning")
    return False


def detail_screen(record: FlowRecord, headline: Text, joiner: FlowJoiner | None, forest: Any = None,  # noqa: ANN201
                  known: Any = None):
    """The flow detail with the process section under the line, and `j` to jump to the process."""
    from textual.binding import Binding

    from tui.panes.flow_detail import FlowDetail

    section = detail_section(joiner, record, forest, known)
    join = _join_of(joiner, record, known)
    target = join.client or join.server if join is not None else None
    exec_id = target.process.exec_id if target is not None else ""

    class FlowProcessDetail(FlowDetail):
        BINDINGS = [*FlowDetail.BINDINGS, Binding("j", "jump_process", "Jump to process")]

        def action_jump_process(self) -> None:
            if not exec_id:
                self.app.notify("no process known for this flow", severity="information")
                return
            self.dismiss(None)
            jump_to_process(self.app, exec_id)

    full = Text()
    full.append_text(headline)
    if section.plain:
        full.append("\n\n")
        full.append_text(section)
    return FlowProcessDetail(record, full)
