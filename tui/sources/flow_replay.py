"""Replay `hubble observe -o json` files (`--hubble-file`, `-` = stdin) as flow records.

The reading, filtering, error cap and back-pressure are `tui.sources.replay`'s; this module only says
that lines are GetFlowsResponses and turns each into a `FlowRecord` (a flow without a time takes the
previous one's second, so the time-windowed views stay ordered). Recording uses the same protojson
writer the replay reads, so recording then replaying gives the same compact lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TextIO

from tui.model.flows import FlowRecord, record_from_response
from tui.proto.jsonlines import JsonLineError, JsonLinesRecorder, open_input, read_lines  # noqa: F401 - re-exported
from tui.proto.observer import observer_pb2
from tui.sources.replay import MAX_KEPT_ERRORS, JsonLinesReplay  # noqa: F401 - re-exported


def iter_responses(lines: TextIO) -> Iterator[observer_pb2.GetFlowsResponse | JsonLineError]:
    """Parse `hubble observe -o json` lines (GetFlowsResponse objects), errors in-line."""
    return read_lines(lines, observer_pb2.GetFlowsResponse)


FlowRecorder = JsonLinesRecorder


class FileSource(JsonLinesReplay[observer_pb2.GetFlowsResponse, FlowRecord]):
    """A `--hubble-file` replay: GetFlowsResponse lines -> FlowRecords."""

    thread_name = "hubble-file"
    message_type = observer_pb2.GetFlowsResponse

    def __init__(self, path: str, **kwargs: object) -> None:
        kwargs.setdefault("maxlen", 50_000)
        super().__init__(path, **kwargs)  # type: ignore[arg-type]
        self._fallback_second = 0

    def convert(self, message: observer_pb2.GetFlowsResponse) -> FlowRecord | None:
        record = record_from_response(message, None, self._fallback_second)
        if record is not None and record.digest is not None:
            self._fallback_second = record.digest.second
        return record
