"""Rich text for the Processes pane: tree labels and the detail view, told apart without colour too.

Every state has a text marker as well as a style, so exited, failed, signalled and flagged processes
read the same in 16 colours, in monochrome and in ASCII. Untrusted strings go through `safe_text`.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Span, Text

from tui.model.process_events import PolicyEvent
from tui.model.processes import Group, ProcessForest, ProcessNode
from tui.render.glyphs import UNICODE, glyphs
from tui.render.numbers import UNKNOWN_DURATION, plausible_duration
from tui.render.safe import escape_control, safe_text

ARGS_WIDTH = 40
BINARY_WIDTH = 32
EVENT_LEAVES = 3


@dataclass(frozen=True)
class Marks:
    running: str
    exited: str
    failed: str
    signalled: str
    flagged: str


UNICODE_MARKS = Marks("●", "○", "✗", "☠", "⚑")
ASCII_MARKS = Marks("*", "-", "x", "K", "!")


def marks() -> Marks:
    return UNICODE_MARKS if glyphs() is UNICODE else ASCII_MARKS


def duration(seconds: float) -> str:
    """Short fixed-style durations: 850ms, 12s, 3m04s, 2h05m, 3d04h; `?` from a bad timestamp."""
    if not plausible_duration(seconds):
        return UNKNOWN_DURATION
    if seconds < 1:
        return f"{int(seconds * 1000)}ms"
    if seconds < 60:
        return f"{int(seconds)}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"
    return f"{int(seconds // 86400)}d{int(seconds % 86400 // 3600):02d}h"


def trim(value: str, width: int) -> str:
    if len(value) <= width:
        return value
    return value[: max(0, width - len(glyphs().ellipsis))] + glyphs().ellipsis


def state_of(node: ProcessNode) -> str:
    """running, exited, failed or signalled."""
    if not node.exited:
        return "running"
    if node.signal:
        return "signalled"
    if node.status:
        return "failed"
    return "exited"


def user_of(node: ProcessNode) -> str:
    if node.user:
        return node.user
    if node.uid is None:
        return ""
    return "root" if node.uid == 0 else f"uid {node.uid}"


STATE_STYLES = {"running": "", "exited": "dim", "failed": "red", "signalled": "bold magenta"}


def _assemble(pieces: list[tuple[str, str]]) -> Text:
    """One Text from (text, style) pieces with precomputed spans: far cheaper than repeated appends."""
    spans = []
    offset = 0
    for piece, style in pieces:
        end = offset + len(piece)
        if style and end > offset:
            spans.append(Span(offset, end, style))
        offset = end
    return Text("".join(piece for piece, _ in pieces), spans=spans, no_wrap=True, overflow="ellipsis")


def process_label(node: ProcessNode, now: float) -> Text:
    """`● 4388 /app/api --listen=:8080 · uid 65532 · 2m03s · 3 children · 2 events`."""
    mark = marks()
    state = state_of(node)
    style = STATE_STYLES[state]
    dot = f" {glyphs().dot} "
    pieces: list[tuple[str, str]] = []
    add = pieces.append
    if node.flagged:
        add((mark.flagged, "bold yellow reverse"))
        add((" ", ""))
    symbol = {"running": mark.running, "exited": mark.exited, "failed": mark.failed,
              "signalled": mark.signalled}[state]
    add((f"{symbol} ", style or "green"))
    add((f"{node.pid} ", style or "bold"))
    add((escape_control(trim(node.binary or "?", BINARY_WIDTH)), style or "magenta"))
    if node.arguments:
        add((" " + escape_control(trim(node.arguments, ARGS_WIDTH)), style or "cyan"))
    user = user_of(node)
    if user:
        add((dot + escape_control(user), "dim"))
    if node.start:
        lifetime = duration(node.lifetime(now))
        add((dot + ("ran " + lifetime if node.exited else lifetime), "dim"))
    if state == "failed":
        add((dot + f"exit {node.status}", "bold red"))
    elif state == "signalled":
        add((dot + escape_control(node.signal), "bold magenta"))
    elif state == "exited":
        add((dot + "exit 0", "dim"))
    if node.forked:
        add((dot + "fork", "dim"))
    if node.placeholder and not node.seen_exec and not node.exited:
        add((dot + "not seen", "dim italic"))
    if node.children:
        count = len(node.children)
        add((dot + f"{count} child" + ("ren" if count != 1 else ""), "dim"))
    if node.event_count:
        add((dot + f"{node.event_count} event" + ("s" if node.event_count != 1 else ""),
             "yellow" if node.flagged else ""))
    return _assemble(pieces)


def event_label(node: ProcessNode, index: int) -> Text:
    """One policy event leaf: `kprobe tcp_connect [connect-outside] POST tcp 10.0.0.1:5 -> …`."""
    event = PolicyEvent(*list(node.events or ())[index])
    text = Text(no_wrap=True, overflow="ellipsis")
    if event.flag:
        text.append(marks().flagged + " ", style="bold yellow reverse")
    text.append(f"{event.kind} ", style="dim")
    text.append_text(safe_text(event.function, "blue"))
    if event.policy:
        text.append(" [")
        text.append_text(safe_text(event.policy, "green"))
        text.append("]")
    if event.action:
        text.append(f" {event.action}", style="bold red" if event.action in ("SIGKILL", "OVERRIDE") else "")
    if event.detail:
        text.append(" ")
        text.append_text(safe_text(trim(event.detail, 60), "cyan"))
    return text


def group_label(level: str, group: Group, extra: str = "") -> Text:
    node, namespace, pod, container = group
    text = Text(no_wrap=True, overflow="ellipsis")
    if level == "node":
        text.append("node ", style="dim")
        text.append_text(safe_text(node or "(unknown node)", "bold"))
    elif level == "namespace":
        text.append("namespace ", style="dim")
        text.append_text(safe_text(namespace, "bold green"))
    elif level == "pod":
        text.append("pod ", style="dim")
        text.append_text(safe_text(pod, "green"))
        if container:
            text.append(f" {glyphs().dot} ", style="dim")
            text.append_text(safe_text(container, ""))
        if extra:
            text.append(f" {glyphs().dot} ", style="dim")
            text.append_text(safe_text(extra, "dim"))
    return text


def _field(text: Text, name: str, value: str, style: str = "") -> None:
    text.append(f"{name:<14}", style="bold")
    text.append_text(safe_text(value, style))
    text.append("\n")


def detail_text(forest: ProcessForest, node: ProcessNode, now: float) -> Text:
    """Everything known about one process: full arguments, ids, caps, namespaces, pod, parents, events."""
    text = Text()
    state = state_of(node)
    _field(text, "binary", node.binary or "?", "magenta")
    _field(text, "arguments", node.arguments, "cyan")
    _field(text, "pid", str(node.pid))
    _field(text, "exec_id", node.exec_id)
    _field(text, "state", {"running": "running", "exited": "exited (status 0)",
                           "failed": f"failed (exit status {node.status})",
                           "signalled": f"killed by {node.signal}"}[state], STATE_STYLES[state])
    if node.start:
        _field(text, "lifetime" if node.exited else "age", duration(node.lifetime(now)))
    if node.forked:
        _field(text, "note", "forked without exec: only its exit was reported")
    if node.placeholder and not node.seen_exec:
        _field(text, "note", "its exec was not seen (started before ebtop connected, or still in flight)")
    process = node.process
    if process is not None:
        if process.cwd:
            _field(text, "cwd", process.cwd)
        if process.HasField("uid"):
            _field(text, "uid", str(process.uid.value) + (f" ({node.user})" if node.user else ""))
        if process.HasField("auid"):
            auid = process.auid.value
            _field(text, "auid", "unset" if auid == 4294967295 else str(auid))
        if process.flags:
            _field(text, "flags", process.flags)
        if process.HasField("cap"):
            names = [_cap_name(value) for value in process.cap.effective]
            _field(text, "capabilities", ", ".join(names) if names else "(none effective)")
        if process.HasField("ns"):
            spaces = []
            for name in ("uts", "ipc", "mnt", "pid", "net", "time", "cgroup", "user"):
                if process.ns.HasField(name):
                    space = getattr(process.ns, name)
                    spaces.append(f"{name}:{space.inum}{' (host)' if space.is_host else ''}")
            if spaces:
                _field(text, "namespaces", " ".join(spaces))
        if process.HasField("pod"):
            pod = process.pod
            _field(text, "pod", f"{pod.namespace}/{pod.name}", "green")
            if pod.workload:
                _field(text, "workload", f"{pod.workload_kind} {pod.workload}".strip())
            if pod.pod_labels:
                labels = ", ".join(f"{key}={value}" for key, value in sorted(pod.pod_labels.items()))
                _field(text, "pod labels", labels)
            if pod.HasField("container"):
                container = pod.container
                _field(text, "container", container.name)
                if container.image.name:
                    _field(text, "image", container.image.name)
                if container.id:
                    _field(text, "container id", container.id)
        elif process.docker:
            _field(text, "container id", process.docker)
    if node.history:
        text.append("replaced images (exec without fork, oldest first)\n", style="bold")
        for exec_id, binary, arguments in node.history:
            text.append("  ")
            text.append_text(safe_text(f"{binary} {arguments}".strip(), "dim"))
            text.append_text(safe_text(f"  [{exec_id}]", "dim"))
            text.append("\n")
    chain = forest.chain(node)
    text.append("parent chain\n", style="bold")
    if not chain and node.parent_id:
        text.append_text(safe_text(f"  (parent {node.parent_id} not seen)\n", "dim"))
    for depth, parent in enumerate(chain):
        text.append("  " + " " * depth)
        text.append_text(safe_text(f"{parent.pid} {parent.binary or '?'} {parent.arguments}".rstrip(),
                                   STATE_STYLES[state_of(parent)]))
        text.append("\n")
    if node.children:
        text.append(f"children: {len(node.children)}\n", style="bold")
    if node.event_count:
        kept = len(node.events or ())
        text.append(f"policy events: {node.event_count} (last {kept})\n", style="bold")
        for index in range(kept):
            text.append("  ")
            text.append_text(event_label(node, index))
            text.append("\n")
    for flag in node.flags_raised:
        text.append(f"{marks().flagged} {escape_control(flag)}\n", style="bold yellow")
    return text


def _cap_name(value: int) -> str:
    from tui.proto.tetragon import capabilities_pb2

    try:
        return capabilities_pb2.CapabilitiesType.Name(value)
    except ValueError:
        return str(value)
