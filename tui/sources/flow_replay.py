"""Replay `hubble observe -o json` files (`--hubble-file`, `-` = stdin) and record streams to them.

Bad lines are skipped, counted and kept with their line numbers (first `MAX_KEPT_ERRORS`), so one
broken line never costs the rest of the file. A recording is written with the same protojson writer
the replay reads, so recording then replaying gives the same compact lines.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from typing import TextIO

from tui.model.flows import FlowRecord, record_from_response
from tui.proto.jsonlines import JsonLineError, JsonLinesRecorder, open_input, read_lines  # noqa: F401 - re-exported
from tui.proto.observer import observer_pb2
from tui.sources.base import BoundedBuffer, SourceState, StatusHolder

MAX_KEPT_ERRORS = 100


def iter_responses(lines: TextIO) -> Iterator[observer_pb2.GetFlowsResponse | JsonLineError]:
    """Parse `hubble observe -o json` lines (GetFlowsResponse objects), errors in-line."""
    return read_lines(lines, observer_pb2.GetFlowsResponse)


FlowRecorder = JsonLinesRecorder


class FileSource:
    """Replays a JSON lines file into a buffer from a thread, waiting when the buffer is full."""

    def __init__(self, path: str, buffer: BoundedBuffer[FlowRecord] | None = None) -> None:
        self.path = path
        self.buffer: BoundedBuffer[FlowRecord] = buffer if buffer is not None else BoundedBuffer(50_000)
        self.status = StatusHolder()
        self.errors: list[JsonLineError] = []
        self.bad_lines = 0
        self.read = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="hubble-file", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_sync(self) -> None:
        """Read the whole file in the calling thread (tests, snapshots)."""
        self._run()

    def _run(self) -> None:
        name = "stdin" if self.path == "-" else self.path
        self.status.set(SourceState.STREAMING, f"replaying {name}")
        try:
            handle = open_input(self.path)
        except OSError as error:
            self.status.set(SourceState.FAILED, f"cannot read {name}: {error.strerror}")
            return
        fallback = 0
        try:
            for item in iter_responses(handle):
                if self._stop.is_set():
                    return
                if isinstance(item, JsonLineError):
                    self.bad_lines += 1
                    if len(self.errors) < MAX_KEPT_ERRORS:
                        self.errors.append(item)
                    continue
                record = record_from_response(item, None, fallback)
                if record is None:
                    continue
                if record.digest is not None:
                    fallback = record.digest.second
                while len(self.buffer) >= self.buffer.maxlen and not self._stop.wait(0.01):
                    pass
                self.buffer.put(record)
                self.read += 1
        finally:
            if handle is not sys.stdin:
                handle.close()
        self.status.set(SourceState.ENDED, self.summary())

    def summary(self) -> str:
        name = "stdin" if self.path == "-" else self.path
        text = f"end of {name}: {self.read:,} responses"
        if self.bad_lines:
            first = ", ".join(str(error.line_number) for error in self.errors[:5])
            text += f", {self.bad_lines} bad lines skipped (line {first}{'…' if self.bad_lines > 5 else ''})"
        return text
