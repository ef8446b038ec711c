"""One protojson line as the Go tools print it (`hubble observe -o json`, `tetra getevents -o json`).

Both tools write `protojson` (proto field names) through Go's `json.Encoder`, which compacts it and
escapes `<`, `>`, `&`, U+2028 and U+2029 as `\\u003c`-style sequences. protojson orders an object's
keys as the fields are declared in the .proto, not by number (`time`, `uuid`, `emitter`, `verdict`…
for a flow); Python's `MessageToDict` orders by number, so the keys are put back in declaration order.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_WELL_KNOWN = "google.protobuf."


_SCALAR, _MESSAGE, _REPEATED, _MAP = range(4)


@functools.lru_cache(maxsize=512)
def _plan(descriptor: Descriptor) -> tuple[tuple[str, int, Descriptor | None], ...]:
    """Per message type, once: its fields in declaration order and how to descend into each."""
    plan = []
    for field in descriptor.fields:
        sub = field.message_type
        if sub is None or sub.full_name.startswith(_WELL_KNOWN):
            plan.append((field.name, _SCALAR, None))
        elif sub.GetOptions().map_entry:
            value = sub.fields_by_name["value"].message_type
            kind = _MAP if value is not None and not value.full_name.startswith(_WELL_KNOWN) else _SCALAR
            plan.append((field.name, kind, value))
        else:
            plan.append((field.name, _REPEATED if field.is_repeated else _MESSAGE, sub))
    return tuple(plan)


def _ordered(value: Any, descriptor: Descriptor) -> Any:
    if not isinstance(value, dict) or descriptor.full_name.startswith(_WELL_KNOWN):
        return value
    out: dict[str, Any] = {}
    for name, kind, sub in _plan(descriptor):
        if name not in value:
            continue
        item = value[name]
        if kind == _MESSAGE:
            item = _ordered(item, sub)  # type: ignore[arg-type]
        elif kind == _REPEATED and isinstance(item, list):
            item = [_ordered(element, sub) for element in item]  # type: ignore[arg-type]
        elif kind == _MAP and isinstance(item, dict):
            item = {key: _ordered(val, sub) for key, val in item.items()}  # type: ignore[arg-type]
        out[name] = item
    if len(out) != len(value):  # extensions and anything the descriptor does not list
        for key, item in value.items():
            out.setdefault(key, item)
    return out


def go_escape(text: str) -> str:
    """What Go's json.Encoder does to already-encoded JSON text (HTML-safe escapes)."""
    if not any(char in text for char in _GO_ESCAPES):
        return text
    return "".join(_GO_ESCAPES.get(char, char) for char in text)


def to_go_json(message: Message, html_escape: bool = True) -> str:
    """The message as one compact protojson line (no newline), keys in declaration order.

    `html_escape`: hubble writes through json.Encoder (HTML-safe escapes); tetra's encoder writes
    protojson's bytes as they are (`html_escape=False`).
    """
    data = json_format.MessageToDict(message, preserving_proto_field_name=True)
    text = json.dumps(_ordered(data, message.DESCRIPTOR), separators=(",", ":"), ensure_ascii=False)
    return go_escape(text) if html_escape else text
