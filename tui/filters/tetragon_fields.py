"""`tetra getevents -f/--include-fields` and `-F/--exclude-fields`: which fields of an event are kept.

Tetra sends them as GetEventsRequest.field_filters (FieldFilter: a FieldMask of paths relative to the
event message, e.g. `process.binary`, `parent`, `args`; action INCLUDE or EXCLUDE; an optional event
set). The agent applies them before sending; for a replay ebtop applies the same filters itself, in
the order given (includes, then excludes, so an exclude always wins). Top-level fields (`node_name`,
`time`) are never touched. A path that names no field is a FilterError, checked up front.
"""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf import field_mask_pb2

from tui.filters import FilterError
from tui.proto.tetragon import events_pb2

_EVENT_FIELDS = events_pb2.GetEventsResponse.DESCRIPTOR.oneofs_by_name["event"].fields


def split_paths(values: Sequence[str]) -> list[str]:
    """`-f process.binary,parent -f args` -> ['process.binary', 'parent', 'args']."""
    return [path.strip() for value in values for path in value.split(",") if path.strip()]


def _check_path(path: str) -> None:
    """A path must name a field of at least one event type (tetra's masks are per event message)."""
    for event_field in _EVENT_FIELDS:
        descriptor = event_field.message_type
        ok = True
        for part in path.split("."):
            field = descriptor.fields_by_name.get(part) if descriptor is not None else None
            if field is None:
                ok = False
                break
            descriptor = field.message_type
        if ok:
            return
    raise FilterError(f"field filter: no event has a field {path!r} (paths are like process.binary, parent, args)")


def field_filters(include: Sequence[str], exclude: Sequence[str],
                  event_types: Sequence[int] = ()) -> list[events_pb2.FieldFilter]:
    """The FieldFilter messages tetra builds from -f and -F (FilterError for unknown paths)."""
    filters = []
    for paths, action in ((split_paths(include), events_pb2.INCLUDE), (split_paths(exclude), events_pb2.EXCLUDE)):
        if not paths:
            continue
        for path in paths:
            _check_path(path)
        filters.append(events_pb2.FieldFilter(event_set=list(event_types), action=action,
                                              fields=field_mask_pb2.FieldMask(paths=paths)))
    return filters


def _applies(spec: events_pb2.FieldFilter, kind: str) -> bool:
    if not spec.event_set:
        return True
    hit = events_pb2.EventType.Value(kind.upper()) in spec.event_set
    return not hit if spec.invert_event_set.value else hit


def _clear(message: object, parts: list[str]) -> None:
    head, rest = parts[0], parts[1:]
    descriptor = message.DESCRIPTOR  # type: ignore[attr-defined]
    field = descriptor.fields_by_name.get(head)
    if field is None:
        return
    if not rest:
        message.ClearField(head)  # type: ignore[attr-defined]
        return
    if field.message_type is None:
        return
    value = getattr(message, head)
    if field.is_repeated:
        for item in value:
            _clear(item, rest)
    elif message.HasField(head):  # type: ignore[attr-defined]
        _clear(value, rest)


def apply_field_filters(response: events_pb2.GetEventsResponse,
                        filters: Sequence[events_pb2.FieldFilter]) -> events_pb2.GetEventsResponse:
    """Trim the event body in place as the agent would (and return the response)."""
    kind = response.WhichOneof("event")
    if kind is None or not filters:
        return response
    body = getattr(response, kind)
    for spec in filters:
        if not _applies(spec, kind):
            continue
        if spec.action == events_pb2.INCLUDE:
            kept = type(body)()
            valid = [p for p in spec.fields.paths if _valid_for(body.DESCRIPTOR, p)]
            field_mask_pb2.FieldMask(paths=valid).MergeMessage(body, kept)
            body.CopyFrom(kept)
        else:
            for path in spec.fields.paths:
                _clear(body, path.split("."))
    return response


def _valid_for(descriptor: object, path: str) -> bool:
    for part in path.split("."):
        field = descriptor.fields_by_name.get(part) if descriptor is not None else None  # type: ignore[attr-defined]
        if field is None:
            return False
        descriptor = field.message_type
    return True
