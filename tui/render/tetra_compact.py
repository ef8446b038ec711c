"""Lines identical to `tetra getevents -o compact` (cilium/tetragon main), plain, ANSI or Rich.

People read these lines every day, so ebtop prints exactly what `tetra` prints: the same emojis, the
same `%-7s` labels, the same caps trailer quirk (padding toward byte column 120), and main's quoting of
strings that hold a space or a non-printable character (Go's `strconv.Quote`). A line is built once as
coloured spans; the spans then become plain text, ANSI (`--color always`) or a Rich `Text` for the pane.

Works on `tetragon.GetEventsResponse` protobuf messages; field names are the upstream proto names.
"""

from __future__ import annotations

import datetime as _dt
import unicodedata
from collections.abc import Sequence
from typing import Any

from rich.text import Text

from tui.model.syscall_names import syscall_table
from tui.render.safe import escape_control
from tui.render.tetra_syscalls import ARGS as SYSCALL_ARGS

Span = tuple[str, str | None]
"""A piece of a line and its colour name (None = uncoloured)."""

ANSI = {"red": 31, "green": 32, "yellow": 33, "blue": 34, "magenta": 35, "cyan": 36}
"""fatih/color foreground codes, as `tetra` emits them: ESC[<n>m ... ESC[0m."""

RICH_STYLES = {
    "red": "bold red", "green": "green", "yellow": "yellow", "blue": "blue", "magenta": "magenta",
    "cyan": "cyan",
}

CAPS_PAD = 120
SYSCALL_PREFIXES = ("__x64_", "__arm64_", "__ia32_")
SYSCALL_NAMES = syscall_table("x86_64")  # the one syscall table (tui/model/syscall_names.py)
RFC3339_NANO_UTC = "%Y-%m-%dT%H:%M:%S"

# setns(2) namespace type flags, as the encoder names them.
NS_NAMES = {
    0: "any", 0x2000000: "cgroup", 0x8000000: "ipc", 0x40000000: "net", 0x20000: "mnt",
    0x20000000: "pid", 0x80: "time", 0x10000000: "user", 0x4000000: "uts",
}
CAP_SYS_ADMIN_INDEX = 21
KNOWN_EVENT_TYPES = (
    "process_exec", "process_exit", "process_kprobe", "process_tracepoint", "process_loader",
    "process_uprobe", "process_throttle", "process_lsm", "process_usdt", "test",
)


class CompactEncodeError(ValueError):
    """The event cannot be rendered as a compact line (tetra fails the same way)."""


class UnknownEventType(CompactEncodeError):
    """An event type the compact encoder has no line for (e.g. rate_limit_info)."""

    def __init__(self, event_type: str) -> None:
        super().__init__(f"unknown event type: {event_type}")
        self.event_type = event_type


class MissingProcessInfo(CompactEncodeError):
    """An event that needs `process` arrived without it."""

    def __init__(self, event_type: str) -> None:
        super().__init__(f"process field is not set ({event_type})")
        self.event_type = event_type


# --- Go formatting helpers -------------------------------------------------------------------------

_GO_NAMED_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _go_is_print(char: str) -> bool:
    """Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space."""
    if char == " ":
        return True
    return unicodedata.category(char)[0] in "LMNPS"


def go_quote(value: str) -> str:
    """Go's strconv.Quote; lone surrogates (undecodable bytes) print as \\xNN like invalid UTF-8."""
    out = ['"']
    for char in value:
        code = ord(char)
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif _go_is_print(char):
            out.append(char)
        elif char in _GO_NAMED_ESCAPES:
            out.append(_GO_NAMED_ESCAPES[char])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def maybe_quote(value: str) -> str:
    """Quote like tetragon main does: only strings holding a space or a non-printable character."""
    if value.isascii() and value.isprintable() and " " not in value:
        return value
    if any(char == " " or not _go_is_print(char) for char in value):
        return go_quote(value)
    return value


def format_timestamp(seconds: int, nanos: int) -> str:
    """Go layout `2006-01-02T15:04:05.000000000Z07:00` in UTC; a time no calendar holds stays visible as such."""
    try:
        moment = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC) + _dt.timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        return f"<invalid time {seconds}s>"
    return f"{moment.strftime(RFC3339_NANO_UTC)}.{min(max(nanos, 0), 999_999_999):09d}Z"


def cut_syscall_prefix(name: str) -> str:
    """arch.CutSyscallPrefix: `__x64_sys_write` -> `sys_write`."""
    for prefix in SYSCALL_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


# --- span builders ----------------------------------------------------------------------------------

def _label(emoji: str, label: str, color: str = "blue") -> Span:
    return (f"{emoji} {label:<7}", color)


def _caps(process: Any) -> str:
    """The caps trailer text: the upstream loop iterates indexes, so >= 22 effective caps flag SYS_ADMIN."""
    if not process.HasField("cap"):
        return ""
    if len(process.cap.effective) > CAP_SYS_ADMIN_INDEX:
        return "🛑 CAP_SYS_ADMIN"
    return ""


def _process_info(node_name: str, process: Any) -> list[Span]:
    if process.HasField("pod"):
        source = f"{process.pod.namespace}/{process.pod.name}"
    else:
        source = maybe_quote(node_name)
    return [(source, "green"), (" ", None), (maybe_quote(process.binary), "magenta")]


def _args(message: Any) -> list[Any]:
    return list(message.args)


def _arg_kind(arg: Any) -> str | None:
    return arg.WhichOneof("arg")


def _file_path(args: Sequence[Any], index: int) -> Span:
    if len(args) > index and _arg_kind(args[index]) == "file_arg":
        return (maybe_quote(args[index].file_arg.path), "cyan")
    return ("", None)


def _string_arg(args: Sequence[Any], index: int) -> Span:
    if len(args) > index:
        value = args[index].string_arg if _arg_kind(args[index]) == "string_arg" else ""
        return (maybe_quote(value), "cyan")
    return ("", None)


def _sock(args: Sequence[Any]) -> Span:
    if args:
        sock = args[0].sock_arg
        return (f"tcp {sock.saddr}:{sock.sport} -> {sock.daddr}:{sock.dport}", "cyan")
    return ("", None)


def _int_arg(args: Sequence[Any], index: int) -> int:
    if len(args) > index and _arg_kind(args[index]) == "int_arg":
        return args[index].int_arg
    return 0


def _kprobe_spans(kprobe: Any, info: list[Span]) -> list[Span]:
    args = _args(kprobe)
    function = cut_syscall_prefix(kprobe.function_name)
    sep: Span = (" ", None)
    if function in ("sys_write", "sys_read"):
        label = _label("📝", "write") if function == "sys_write" else _label("📚", "read")
        size: Span = ("", None)
        if len(args) > 2:
            value = args[2].size_arg if _arg_kind(args[2]) == "size_arg" else 0
            size = (f"{value} bytes", "cyan")
        return [label, sep, *info, sep, _file_path(args, 0), sep, size]
    if function == "fd_install":
        return [_label("📬", "open"), sep, *info, sep, _file_path(args, 1)]
    if function in ("sys_openat", "sys_open"):
        label = _label("📬️", "openat" if function == "sys_openat" else "open")
        return [label, sep, *info, sep, _string_arg(args, 1)]
    if function == "sys_close":
        return [_label("📪", "close"), sep, *info, sep, _file_path(args, 0)]
    if function in ("sys_mount", "sys_pivot_root"):
        label = _label("💾", "mount" if function == "sys_mount" else "pivot_root")
        return [label, sep, *info, sep, _string_arg(args, 0), sep, _string_arg(args, 1)]
    if function == "sys_setuid":
        uid: Span = (str(_int_arg(args, 0)), "cyan") if args else ("", None)
        return [_label("🔑", "setuid"), sep, *info, sep, uid]
    if function == "sys_clock_settime":
        return [_label("⏰", "clock_settime"), sep, *info]
    if function == "proc_exec_connector":
        return [_label("🔧", "proc_exec_connector"), sep, *info]
    if function == "sys_setns":
        namespace = NS_NAMES.get(_int_arg(args, 1), "") if len(args) > 1 else ""
        return [_label("🔧", "setns"), sep, *info, sep, (namespace, None)]
    if function == "tcp_connect":
        return [_label("🔌", "connect"), sep, *info, sep, _sock(args)]
    if function == "tcp_close":
        return [_label("🧹", "close"), sep, *info, sep, _sock(args)]
    if function == "tcp_sendmsg":
        return [_label("📤", "sendmsg"), sep, *info, sep, _sock(args), (f" bytes {_int_arg(args, 1)}", None)]
    if function == "bpf_check":
        attr: Span = ("", None)
        if args:
            bpf = args[0].bpf_attr_arg
            attr = (f"{bpf.ProgType} {bpf.ProgName} instruction count {bpf.InsnCnt}", "cyan")
        return [_label("🐝", "bpf_load"), sep, *info, sep, attr]
    if function == "security_perf_event_alloc":
        attr = ("", None)
        if args:
            perf = args[0].perf_event_arg
            attr = (f"{perf.Type} {perf.KprobeFunc}", "cyan")
        return [_label("🐝", "perf_event_alloc"), sep, *info, sep, attr]
    if function in ("security_bpf_map_alloc", "security_bpf_map_create"):
        attr = ("", None)
        if args:
            bpf_map = args[0].bpf_map_arg
            attr = (f"{bpf_map.MapType} {bpf_map.MapName} key size {bpf_map.KeySize} value size "
                    f"{bpf_map.ValueSize} max entries {bpf_map.MaxEntries}", "cyan")
        return [_label("🗺", "bpf_map_create"), sep, *info, sep, attr]
    if function == "security_file_permission":
        label = _label("❓", "security_file_permission")
        attr = ("", None)
        if len(args) > 1:
            action = _int_arg(args, 1)
            if action == 0x02:
                label = _label("📝", "write")
            elif action == 0x04:
                label = _label("📚", "read")
            attr = (maybe_quote(args[0].file_arg.path), "cyan")
        return [label, sep, *info, sep, attr]
    if function == "security_mmap_file":
        label = _label("❓", "security_mmap_file")
        attr = ("", None)
        if len(args) > 1:
            prot = args[1].uint_arg if _arg_kind(args[1]) == "uint_arg" else 0
            tag = "mmap-" + "".join(flag for bit, flag in ((1, "r"), (2, "w"), (4, "x")) if prot & bit)
            label = _label("📝", tag)
            attr = (maybe_quote(args[0].file_arg.path), "cyan")
        return [label, sep, *info, sep, attr]
    if function in ("security_path_truncate", "security_file_truncate"):
        label = _label("❓", function)
        attr = ("", None)
        if args:
            kind = _arg_kind(args[0])
            path = args[0].file_arg.path if kind == "file_arg" else args[0].path_arg.path
            attr = (maybe_quote(path), "cyan")
            label = _label("📝", "truncate")
        return [label, sep, *info, sep, attr]
    return [_label("❓", "syscall"), sep, *info, sep, (kprobe.function_name, None)]


def raw_syscall_enter(tracepoint: Any) -> str:
    """`name(type arg=val, ...)` for a raw_syscalls/sys_enter tracepoint (x86_64 table)."""
    args = list(tracepoint.args)
    sys_id = -1
    abi = "x64"
    if args:
        kind = _arg_kind(args[0])
        if kind == "long_arg":
            sys_id = args[0].long_arg
        elif kind == "syscall_id":
            sys_id = args[0].syscall_id.id
            abi = args[0].syscall_id.abi or "x64"
    name = SYSCALL_NAMES.get(sys_id, "") if abi == "x64" else ""  # tetra names x86_64 (x64) ids only
    if not name:
        return "unknown"
    prototype = SYSCALL_ARGS.get(name)
    if prototype is None:
        return name
    parts = []
    for index, (type_, arg_name) in enumerate(prototype, start=1):
        value = "?"
        is_pointer = type_.endswith("*")
        if len(args) > index and _arg_kind(args[index]) == "size_arg":
            raw = args[index].size_arg
            value = f"0x{raw:x}" if is_pointer else str(raw)
        else:
            is_pointer = False
        parts.append(f"{type_}{arg_name}={value}" if is_pointer else f"{type_} {arg_name}={value}")
    return f"{name}({', '.join(parts)})"


def event_spans(response: Any) -> tuple[list[Span], str | None]:
    """The line's spans and its caps text (None: no caps trailer for this type).

    Raises `UnknownEventType` or `MissingProcessInfo` exactly where `tetra` fails.
    """
    kind = response.WhichOneof("event")
    if kind == "test":
        return [("TEST EVENT", None)], None
    if kind not in KNOWN_EVENT_TYPES:
        raise UnknownEventType(kind or "undefined")
    event = getattr(response, kind)
    sep: Span = (" ", None)
    if kind == "process_throttle":
        type_span: Span = ("", None)
        if event.type == 1:
            type_span = ("START", "red")
        elif event.type == 2:
            type_span = ("STOP ", "green")
        return [_label("🧬", "throttle", "red"), sep, type_span, sep, (maybe_quote(event.cgroup), None)], None
    if not event.HasField("process"):
        raise MissingProcessInfo(kind)
    process = event.process
    info = _process_info(response.node_name, process)
    caps = _caps(process)
    if kind == "process_exec":
        spans = [_label("🚀", "process"), sep, *info, sep, (maybe_quote(process.arguments), "cyan")]
    elif kind == "process_exit":
        status = event.signal if event.signal else str(event.status)
        spans = [_label("💥", "exit"), sep, *info, sep, (maybe_quote(process.arguments), "cyan"), sep,
                 (status, "red")]
    elif kind == "process_loader":
        build_id = event.buildid.hex() + " " if event.buildid else ""
        spans = [_label("🧬", "loader"), sep, *info, (f" {build_id}", None), (maybe_quote(event.path), "yellow")]
    elif kind == "process_kprobe":
        spans = _kprobe_spans(event, info)
    elif kind == "process_tracepoint":
        if f"{event.subsys}/{event.event}" == "raw_syscalls/sys_enter":
            spans = [_label("☎ ", "syscall"), sep, *info, sep, (raw_syscall_enter(event), None)]
        else:
            spans = [_label("⁉️", "tracepoint"), sep, *info, sep, (f"{event.subsys} {event.event}", None)]
    elif kind == "process_uprobe":
        spans = [_label("🕵️", "uprobe"), sep, *info, sep,
                 (f"{maybe_quote(event.path)} {maybe_quote(event.symbol)}", None)]
    elif kind == "process_lsm":
        spans = [_label("🔒", "LSM"), sep, *info, sep, (event.function_name, None)]
    else:  # process_usdt
        spans = [_label("🕵️", "usdt"), sep, *info, sep,
                 (f"{maybe_quote(event.path)} {maybe_quote(event.provider)} {maybe_quote(event.name)}", None)]
    return spans, caps


def _cap_trailer(line: str, caps: str) -> str:
    """CapTrailorPrinter: pad by bytes toward column 120, width counted in runes."""
    if not caps:
        return line
    padding = max(0, CAPS_PAD - len(line.encode("utf-8", "surrogatepass")))
    return f"{line} {caps:>{padding}}"


def _timestamp(response: Any) -> str:
    return format_timestamp(response.time.seconds, response.time.nanos)


def _ansi(text: str, color: str) -> str:
    return f"\x1b[{ANSI[color]}m{text}\x1b[0m"


def render_line(response: Any, *, color: bool = False, timestamps: bool = False) -> str:
    """The line `tetra getevents -o compact [--color always] [--timestamps]` prints (without `\\n`)."""
    spans, caps = event_spans(response)
    # Fields tetra never quotes (pod names, function names) can still carry ESC: escape, never emit.
    spans = [(escape_control(text), name) for text, name in spans]
    if color:
        line = "".join(_ansi(text, name) if name else text for text, name in spans)
        if caps is not None:
            line = _cap_trailer(line, _ansi(caps, "magenta"))
    else:
        line = "".join(text for text, _ in spans)
        if caps is not None:
            line = _cap_trailer(line, caps)
    if timestamps:
        line = f"{_timestamp(response)} {line}"
    return line


def render_extra_lines(response: Any, *, color: bool = False) -> list[str]:
    """What tetra prints after the line by default: kprobe stack traces and LSM IMA hashes."""
    def paint(text: str, name: str) -> str:
        text = escape_control(text)
        return _ansi(text, name) if color else text

    kind = response.WhichOneof("event")
    lines: list[str] = []
    if kind == "process_kprobe":
        kprobe = response.process_kprobe
        if len(kprobe.kernel_stack_trace):
            lines.append("Kernel:")
            for entry in kprobe.kernel_stack_trace:
                lines.append(paint(f"   0x{entry.address:x}:", "green") + paint(f" {entry.symbol}", "blue")
                             + "+" + paint(f"0x{entry.offset:x}", "yellow"))
        if len(kprobe.user_stack_trace):
            lines.append("User:")
            for entry in kprobe.user_stack_trace:
                symbol = paint(f" {entry.symbol}", "blue") if entry.symbol else ""
                lines.append(paint(f"   0x{entry.address:x}:", "green") + symbol
                             + paint(f" ({entry.module}+0x{entry.offset:x})", "yellow"))
    elif kind == "process_lsm":
        lsm = response.process_lsm
        if lsm.ima_hash:
            path = ""
            args = list(lsm.args)
            if lsm.function_name.startswith("bprm_") and args:
                path = args[0].linux_binprm_arg.path
            elif lsm.function_name in ("file_ioctl", "file_lock", "file_open", "file_post_open",
                                       "file_receive", "mmap_file") and args:
                path = args[0].file_arg.path
            if path:
                lines.append(paint(f"   {path}", "green") + paint(f" {lsm.ima_hash}", "blue"))
    return lines


def render_text(response: Any, *, timestamps: bool = False) -> Text:
    """The compact line as a Rich `Text` for the pane: styled spans, control characters escaped."""
    spans, caps = event_spans(response)
    text = Text(no_wrap=True, overflow="ellipsis")
    if timestamps:
        text.append(_timestamp(response) + " ", style="dim")
    for piece, name in spans:
        text.append(escape_control(piece), style=RICH_STYLES[name] if name else "")
    if caps:
        text.append(" " + caps, style="bold magenta")
    return text


def rate_limit_line(response: Any, *, color: bool = False, timestamps: bool = False) -> str | None:
    """ebtop's line for RATE_LIMIT_INFO, which tetra's encoder cannot print (it stops there).

    The agent's export rate limiter sends it with the number of events it dropped: ebtop says so in
    place and goes on. None for every other event type.
    """
    if response.WhichOneof("event") != "rate_limit_info":
        return None
    dropped = response.rate_limit_info.number_of_dropped_process_events
    text = f"{dropped} events dropped by the agent's rate limit"
    line = _ansi(text, "red") if color else text
    return f"{_timestamp(response)} {line}" if timestamps else line
