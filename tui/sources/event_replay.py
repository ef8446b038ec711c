"""Tetragon JSON export lines (`--tetragon-file`, `-` = stdin) as a source, and the recorder that writes them.

The export format is one protojson object per line with proto field names (what the agent writes to
`tetragon.log` and `kubectl logs -c export-stdout` shows). Reading, filtering, the error cap and
back-pressure are `tui.sources.replay`'s, shared with the flows replay.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from tui.proto.jsonlines import JsonLineError, JsonLinesRecorder, open_input, read_lines  # noqa: F401 - re-exported
from tui.proto.tetragon import events_pb2
from tui.sources.replay import JsonLinesReplay


def iter_events(lines: Iterable[str], errors: list[JsonLineError] | None = None) -> Iterator[Any]:
    """GetEventsResponse messages from export lines; bad lines go to `errors` (all of them counted)."""
    for item in read_lines(lines, events_pb2.GetEventsResponse):
        if isinstance(item, JsonLineError):
            if errors is not None:
                errors.append(item)
            continue
        yield item


EventRecorder = JsonLinesRecorder


class ReplaySource(JsonLinesReplay[events_pb2.GetEventsResponse, events_pb2.GetEventsResponse]):
    """A `--tetragon-file` replay: GetEventsResponse lines, as an agent would stream them."""

    thread_name = "tetragon-file"
    message_type = events_pb2.GetEventsResponse

    @property
    def received(self) -> int:
        return self.delivered
