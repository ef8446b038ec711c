"""One protojson line as the Go tools print it (`hubble observe -o json`, `tetra getevents -o json`).

Both tools write `protojson` (proto field names) through Go's `json.Encoder`, which compacts it and
escapes `<`, `>`, `&`, U+2028 and U+2029 as `\\u003c`-style sequences. protojson orders an object's
keys as the fields are declared in the .proto, not by number (`time`, `uuid`, `emitter`, `verdict`…
for a flow); Python's `MessageToDict` orders by number, so the keys are put back in declaration order.
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_WELL_KNOWN = "google.protobuf."


def _ordered(value: Any, descriptor: Descriptor) -> Any:
    if not isinstance(value, dict) or descriptor.full_name.startswith(_WELL_KNOWN):
        return value
    out: dict[str, Any] = {}
    for field in descriptor.fields:
        if field.name not in value:
            continue
        item = value[field.name]
        sub = field.message_type
        if sub is not None and not sub.full_name.startswith(_WELL_KNOWN):
            if sub.GetOptions().map_entry:
                entry_value = sub.fields_by_name["value"].message_type
                if entry_value is not None and isinstance(item, dict):
                    item = {key: _ordered(val, entry_value) for key, val in item.items()}
            elif field.is_repeated and isinstance(item, list):
                item = [_ordered(element, sub) for element in item]
            else:
                item = _ordered(item, sub)
        out[field.name] = item
    for key, item in value.items():  # extensions and anything the descriptor does not list
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
