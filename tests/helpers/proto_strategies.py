"""Hypothesis strategies that fill any protobuf message from its descriptor, hostile strings included.

Used to fuzz the compact formatters and the process forest with messages no real server would send
but a broken or hostile one could: unknown enum numbers, control characters, markup, huge numbers.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

HOSTILE = st.sampled_from(["[/x]", "[bold]", "\x1b[2J", "\x1b]0;pwned\x07", "\r", "\n", "\t", "\x00", "\x7f",
                           "\u202e", "é", "🚀", " ", "\"", "\\", "%s", "{}", "a b", "/etc/shadow", "::1",
                           "10.0.0.1", "k8s:app=x", "\x85", "\x9b2J", "\x08", "\u2028", "\u200b", "\u2066",
                           "\ufeff", "\U000e0041", "@[x]: 1"])
TEXT = st.one_of(st.text(max_size=12), HOSTILE, st.lists(HOSTILE, max_size=4).map("".join))

_INT_BOUNDS = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1), FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1), FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1), FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1), FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1), FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind in _INT_BOUNDS:
        low, high = _INT_BOUNDS[kind]
        return st.one_of(st.integers(-3, 300).filter(lambda v: low <= v <= high), st.integers(low, high))
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
        return st.floats(allow_nan=True, allow_infinity=True, width=32 if kind == FieldDescriptor.TYPE_FLOAT else 64)
    if kind == FieldDescriptor.TYPE_STRING:
        return TEXT
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=16)
    if kind == FieldDescriptor.TYPE_ENUM:
        known = [value.number for value in field.enum_type.values]
        return st.one_of(st.sampled_from(known), st.integers(-5, 100_000))  # open enums: unknown numbers too
    raise TypeError(f"unhandled field type {kind}")


@st.composite
def messages(draw: st.DrawFn, descriptor: Descriptor, cls: type[Message] | None = None, depth: int = 0,
             max_depth: int = 4) -> Message:
    """A message of `descriptor`'s type with a random subset of fields set (one per oneof)."""
    from google.protobuf import message_factory

    message = (cls or message_factory.GetMessageClass(descriptor))()
    chosen_oneofs: set[str] = set()
    for field in descriptor.fields:
        if field.containing_oneof is not None:
            if field.containing_oneof.name in chosen_oneofs or not draw(st.booleans()):
                continue
            chosen_oneofs.add(field.containing_oneof.name)
        elif not draw(st.integers(0, 2)):
            continue
        _fill(draw, message, field, depth, max_depth)
    return message


def _fill(draw: st.DrawFn, message: Message, field: FieldDescriptor, depth: int, max_depth: int) -> None:
    is_message = field.type == FieldDescriptor.TYPE_MESSAGE
    if is_message and depth >= max_depth:
        return
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        key_field = field.message_type.fields_by_name["key"]
        value_field = field.message_type.fields_by_name["value"]
        target = getattr(message, field.name)
        for _ in range(draw(st.integers(0, 3))):
            key = draw(_scalar(key_field))
            if value_field.type == FieldDescriptor.TYPE_MESSAGE:
                target[key].CopyFrom(draw(messages(value_field.message_type, depth=depth + 1, max_depth=max_depth)))
            else:
                target[key] = draw(_scalar(value_field))
        return
    if field.is_repeated:
        target = getattr(message, field.name)
        for _ in range(draw(st.integers(0, 3))):
            if is_message:
                target.add().CopyFrom(draw(messages(field.message_type, depth=depth + 1, max_depth=max_depth)))
            else:
                target.append(draw(_scalar(field)))
        return
    if is_message:
        getattr(message, field.name).CopyFrom(draw(messages(field.message_type, depth=depth + 1,
                                                            max_depth=max_depth)))
    else:
        setattr(message, field.name, draw(_scalar(field)))
