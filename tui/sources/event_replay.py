"""Tetragon JSON export lines: replay a file (or stdin) and record a live stream in the same format.

The export format is one protojson object per line with proto field names (what the agent writes to
`tetragon.log` and `kubectl logs -c export-stdout` shows). A line that does not parse is counted and
reported with its number; reading goes on, so one bad line never loses the rest of a capture.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

from tui.proto.jsonlines import JsonLineError, JsonLinesRecorder, open_input, read_lines  # noqa: F401 - re-exported
from tui.proto.tetragon import events_pb2
from tui.sources.base import BoundedBuffer, SourceState, StatusHolder

MAX_ERRORS_KEPT = 20


def iter_events(lines: Iterable[str], errors: list[JsonLineError] | None = None) -> Iterator[Any]:
    """GetEventsResponse messages from export lines; bad lines go to `errors` (all of them counted)."""
    for item in read_lines(lines, events_pb2.GetEventsResponse):
        if isinstance(item, JsonLineError):
            if errors is not None:
                errors.append(item)
            continue
        yield item


def describe_errors(errors: list[JsonLineError], limit: int = 3) -> str:
    """`2 bad lines (line 3: not JSON …; line 9: …)`."""
    if not errors:
        return ""
    shown = "; ".join(str(error) for error in errors[:limit])
    more = f"; +{len(errors) - limit} more" if len(errors) > limit else ""
    noun = "line" if len(errors) == 1 else "lines"
    return f"{len(errors)} bad {noun} ({shown}{more})"


EventRecorder = JsonLinesRecorder


class ReplaySource:
    """Feeds a capture into a buffer from a thread, slowing down instead of dropping when it fills."""

    def __init__(self, path: str, buffer: BoundedBuffer[Any] | None = None) -> None:
        self.path = path
        self.buffer: BoundedBuffer[Any] = buffer if buffer is not None else BoundedBuffer(200_000)
        self.status = StatusHolder()
        self.errors: list[JsonLineError] = []
        self.bad_lines = 0
        self.received = 0
        self.version = "replay"
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name=f"replay:{path}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout)

    def run(self) -> None:
        try:
            handle = open_input(self.path)
        except OSError as error:
            self.status.set(SourceState.FAILED, f"cannot read {self.path}: {error.strerror or error}")
            return
        self.status.set(SourceState.STREAMING, f"replaying {self.path}")
        errors: list[JsonLineError] = []
        buffer = self.buffer
        high_water = buffer.maxlen * 3 // 4
        try:
            for response in iter_events(handle, errors):
                while len(buffer) >= high_water and not self._stop.is_set():
                    time.sleep(0.02)
                if self._stop.is_set():
                    break
                buffer.put(response)
                self.received += 1
                if errors:
                    self._note_errors(errors)
            self._note_errors(errors)
        finally:
            if handle is not sys.stdin:
                handle.close()
        summary = f"{self.path}: {self.received} events"
        if self.bad_lines:
            summary += f", {describe_errors(self.errors)}"
        self.status.set(SourceState.ENDED, summary)

    def _note_errors(self, errors: list[JsonLineError]) -> None:
        self.bad_lines += len(errors)
        room = MAX_ERRORS_KEPT - len(self.errors)
        if room > 0:
            self.errors.extend(errors[:room])
        # keep the reason visible while reading goes on
        self.status.set(SourceState.STREAMING, f"replaying {self.path}; {describe_errors(self.errors)}"
                        if self.bad_lines else f"replaying {self.path}")
        errors.clear()

    def describe(self, now: float | None = None) -> str:
        return self.status.get().describe(now)

    def state(self) -> SourceState:
        return self.status.get().state
