"""Every field of one flow (or lost-events / node-status response), as a scrollable modal screen."""

from __future__ import annotations

from collections.abc import Iterator

from google.protobuf import json_format
from rich.text import Text

from tui.model.flows import FlowRecord, RecordKind
from tui.panes.detail import DetailScreen
from tui.render.safe import escape_control


def flatten(value: object, prefix: str = "") -> Iterator[tuple[str, str]]:
    """protojson dict -> (dotted.path, value) pairs in field order; lists get [i]."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from flatten(inner, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list):
        if not value:
            yield prefix, "[]"
        for index, inner in enumerate(value):
            yield from flatten(inner, f"{prefix}[{index}]")
    else:
        yield prefix, str(value).lower() if isinstance(value, bool) else str(value)


def detail_text(record: FlowRecord, headline: Text) -> Text:
    """The compact line, then one `path: value` line per set field (untrusted values escaped)."""
    text = Text(no_wrap=False)
    text.append_text(headline)
    text.append("\n\n")
    if record.kind in (RecordKind.GAP, RecordKind.NOTE):
        return text
    data = json_format.MessageToDict(record.response(), preserving_proto_field_name=True)
    rows = list(flatten(data))
    width = min(40, max((len(path) for path, _ in rows), default=0))
    for path, value in rows:
        text.append(f"{path:<{width}} ", style="bold")
        text.append(escape_control(value))
        text.append("\n")
    return text


class FlowDetail(DetailScreen):
    """One flow (or lost-events / node-status response) in full."""

    def __init__(self, record: FlowRecord, headline: Text) -> None:
        super().__init__("flow detail", detail_text(record, headline))
        self.record = record
