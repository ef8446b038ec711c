"""The one JSON-lines replay: `--hubble-file` and `--tetragon-file` (`-` = stdin) as a `Source`.

Both captures are protojson lines (`tui.proto.jsonlines`). The replay keeps what the request's filters
keep (the same predicates a server applies, `tui.filters`), honours first/last N like hubble's file reader,
and has one rule for each thing that could differ between flows and events:
- errors: a bad line is skipped and counted; the first `MAX_KEPT_ERRORS` are kept with their line
  numbers (in `errors` and `problems`); a file whose every line is bad ends FAILED, not done;
- back-pressure: when the buffer is three-quarters full the reader waits for the UI to drain it, so a
  replay never drops what it read (a live stream drops the oldest instead; a file can wait).
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable, Iterator
from typing import Generic, TextIO, TypeVar

from google.protobuf.message import Message

from tui.proto.jsonlines import JsonLineError, open_input, read_lines
from tui.sources.base import BoundedBuffer, Source, SourceState

M = TypeVar("M", bound=Message)
T = TypeVar("T")

MAX_KEPT_ERRORS = 100
BACKPRESSURE_WAIT = 0.01


def input_name(path: str) -> str:
    return "stdin" if path == "-" else path


class JsonLinesReplay(Source[T], Generic[M, T]):
    """Replays one capture into the buffer; subclasses say which message and how it becomes an item."""

    thread_name = "ebtop-replay"
    message_type: type[M]

    def __init__(self, path: str, *, keep: Callable[[M], bool] | None = None, first: int | None = None,
                 last: int | None = None, buffer: BoundedBuffer[T] | None = None, maxlen: int = 200_000) -> None:
        super().__init__(f"replay {input_name(path)}", buffer, maxlen)
        self.path = path
        self.name = input_name(path)
        self.keep = keep
        self.first = first
        self.last = last
        self.errors: list[JsonLineError] = []
        self.bad_lines = 0
        self.read = 0  # good lines
        self.filtered = 0  # good lines the filters dropped
        self.delivered = 0  # items put into the buffer
        self._handle: TextIO | None = None

    # -- what a subclass may change -------------------------------------------------------------
    def convert(self, message: M) -> T | None:
        """The buffer item for one message (None: nothing to show)."""
        return message  # type: ignore[return-value]

    # -- reading ---------------------------------------------------------------------------------
    def open(self) -> None:
        """Open the input now: batch mode checks it before starting (a missing file is a usage error)."""
        if self._handle is None:
            self._handle = open_input(self.path)

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None and handle is not sys.stdin:
            handle.close()

    def run(self) -> None:
        self.status.set(SourceState.STREAMING, f"replaying {self.name}")
        try:
            self.open()
        except OSError as error:
            reason = f"cannot read {self.name}: {error.strerror or error}"
            self.add_problem(reason)
            self.status.set(SourceState.FAILED, reason)
            return
        handle = self._handle
        assert handle is not None
        buffer = self.buffer
        high_water = max(1, buffer.maxlen * 3 // 4)
        try:
            for message in self._selected(handle):
                item = self.convert(message)
                if item is None:
                    continue
                while len(buffer) >= high_water and not self.stopping.wait(BACKPRESSURE_WAIT):
                    pass
                if self.stopping.is_set():
                    return
                buffer.put(item)
                self.delivered += 1
        except (OSError, ValueError) as error:  # a closed handle on stop, an unreadable stream
            if self.stopping.is_set():
                return
            self.add_problem(f"{self.name}: {error}")
        finally:
            self.close()
        failed = self.bad_lines > 0 and self.read == 0
        self.status.set(SourceState.FAILED if failed else SourceState.ENDED, self.summary())

    def _selected(self, handle: TextIO) -> Iterator[M]:
        """Good, kept messages in file order; first N stops early, last N holds the tail until the end."""
        tail: deque[M] | None = deque(maxlen=self.last) if self.last else None
        taken = 0
        for item in read_lines(handle, self.message_type):
            if self.stopping.is_set():
                return
            if isinstance(item, JsonLineError):
                self._bad_line(item)
                continue
            self.read += 1
            if self.keep is not None and not self.keep(item):
                self.filtered += 1
                continue
            if tail is not None:
                tail.append(item)
                continue
            yield item
            taken += 1
            if self.first and taken >= self.first:
                return
        if tail is not None:
            yield from tail

    def _bad_line(self, error: JsonLineError) -> None:
        self.bad_lines += 1
        if len(self.errors) < MAX_KEPT_ERRORS:
            self.errors.append(error)
            self.add_problem(f"{self.name}:{error.line_number}: skipped bad line: {error.reason}",
                             limit=MAX_KEPT_ERRORS)
            self.status.set(SourceState.STREAMING, f"replaying {self.name}; {self.bad_lines_text()}")

    # -- what panes and batch read -------------------------------------------------------------
    def bad_lines_text(self) -> str:
        """`3 bad lines skipped (line 4, 6, 7)`; empty when every line was good."""
        if not self.bad_lines:
            return ""
        first = ", ".join(str(error.line_number) for error in self.errors[:5])
        more = "…" if self.bad_lines > 5 else ""
        return f"{self.bad_lines} bad line{'s' if self.bad_lines != 1 else ''} skipped (line {first}{more})"

    def summary(self) -> str:
        text = f"end of {self.name}: {self.delivered:,} responses"  # `filtered out` is a counter
        if self.bad_lines:
            text += f", {self.bad_lines_text()}"
        if self.bad_lines and not self.read:
            text = f"{self.name}: no readable line, {self.bad_lines_text()}"
        return text

    def counters(self) -> dict[str, int]:
        return {**super().counters(), "filtered out": self.filtered, "bad lines": self.bad_lines}

    def run_sync(self) -> None:
        """Read the whole input in the calling thread (tests, snapshots)."""
        self.run()
