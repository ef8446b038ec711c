"""Protobuf JSON lines: what `hubble observe -o json` and Tetragon's JSON export write, one message a line.

Reading tolerates fields the schema does not declare (newer servers add them) and reports a bad line
as a `JsonLineError` with its line number instead of stopping the whole file.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TextIO, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message

M = TypeVar("M", bound=Message)


@dataclass(frozen=True)
class JsonLineError:
    """One line that could not be read, and why."""

    line_number: int
    reason: str
    text: str

    def __str__(self) -> str:
        return f"line {self.line_number}: {self.reason}"


def parse_line(text: str, message_type: type[M]) -> M:
    """Parse one protojson object into a new `message_type`, ignoring unknown fields.

    Raises ValueError with a short reason on bad JSON or values of the wrong type.
    """
    if text.startswith("\ufeff"):  # a UTF-8 BOM (editors on Windows) is not part of the first record
        text = text[1:]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise ValueError("not JSON (nested too deeply)") from None
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    message = message_type()
    try:
        json_format.ParseDict(data, message, ignore_unknown_fields=True)
    except (json_format.ParseError, RecursionError) as exc:
        raise ValueError(str(exc) or "nested too deeply") from None
    _check_kind(message, data)
    return message


def _check_kind(message: Message, data: dict) -> None:
    """A line must be one of the message's kinds (a flow, an event …), given as a JSON object.

    protojson ignores unknown keys, so a Tetragon export read as flows (or the reverse) would otherwise
    pass as empty messages, and `{"flow": "text"}` as an empty flow.
    """
    oneofs = message.DESCRIPTOR.oneofs
    if len(oneofs) != 1:
        return
    oneof = oneofs[0]
    chosen = message.WhichOneof(oneof.name)
    if chosen is None:
        kind = _other_kind(data, message.DESCRIPTOR.full_name)
        names = ", ".join(field.name for field in oneof.fields[:4])
        raise ValueError(kind or f"none of {names}, … in this line: not a {message.DESCRIPTOR.name}")
    field = message.DESCRIPTOR.fields_by_name[chosen]
    if field.message_type is not None:
        value = data.get(field.name, data.get(field.json_name))
        if not isinstance(value, dict):
            raise ValueError(f"{field.name} is a JSON {type(value).__name__}, not an object")


_KINDS = {
    "observer.GetFlowsResponse": ("a Hubble flow export", "--hubble-file"),
    "tetragon.GetEventsResponse": ("a Tetragon event export", "--tetragon-file"),
}


def _other_kind(data: dict, expected: str) -> str:
    """`looks like a Tetragon event export (process_exec): give it to --tetragon-file`, or ''."""
    from tui.proto.observer import observer_pb2
    from tui.proto.tetragon import events_pb2

    for cls in (observer_pb2.GetFlowsResponse, events_pb2.GetEventsResponse):
        descriptor = cls.DESCRIPTOR
        if descriptor.full_name == expected:
            continue
        kinds = {name for field in descriptor.oneofs[0].fields for name in (field.name, field.json_name)}
        found = sorted(kinds & data.keys())
        if found:
            what, flag = _KINDS[descriptor.full_name]
            return f"looks like {what} ({found[0]}): give it to {flag}"
    return ""


def read_lines(lines: Iterable[str], message_type: type[M]) -> Iterator[M | JsonLineError]:
    """Parse every non-blank line; a bad line becomes a JsonLineError and reading goes on."""
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text:
            continue
        try:
            yield parse_line(text, message_type)
        except ValueError as exc:
            yield JsonLineError(number, str(exc), text[:200])


def format_line(message: Message) -> str:
    """One compact protojson line with proto field names (the spelling `hubble observe -o json` uses)."""
    return json.dumps(
        json_format.MessageToDict(message, preserving_proto_field_name=True),
        separators=(",", ":"),
        ensure_ascii=False,
    )


def write_lines(messages: Iterable[Message], out: TextIO) -> int:
    """Write each message as one line; returns how many were written."""
    count = 0
    for message in messages:
        out.write(format_line(message))
        out.write("\n")
        count += 1
    return count


def open_input(path: str) -> TextIO:
    """The capture to replay; `-` is stdin (moved off the keyboard in the app). Undecodable bytes are replaced."""
    if path == "-":
        from tui.stdin_replay import stdin_data

        return stdin_data()
    return open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 - the reader closes it


class JsonLinesRecorder:
    """Writes every message it is given as one line (`--record-flows`, `--record-events`; `-` = stdout).

    Thread-safe, since readers call it from their own threads; what it writes replays identically.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._out: TextIO = sys.stdout if path == "-" else open(path, "w", encoding="utf-8")  # noqa: SIM115
        self._lock = threading.Lock()
        self.written = 0

    def write(self, message: Message) -> None:
        line = format_line(message)
        with self._lock:
            self._out.write(line)
            self._out.write("\n")
            self.written += 1

    __call__ = write

    def close(self) -> None:
        with self._lock:
            if self._out is sys.stdout:
                self._out.flush()
            elif not self._out.closed:
                self._out.close()

