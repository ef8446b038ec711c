"""The terminal driver: Textual's Linux driver with an input thread that sleeps while nothing is typed.

Textual's input thread wakes every 0.1 s to see whether it should stop and whether a lone Esc has
waited long enough to be a key. On an idle ebtop that was 10 wake-ups a second and a fifth of its
idle CPU (bench/README.md, UI cost: idle per thread). Here the thread sleeps in `select` until a byte
arrives or the driver stops (a pipe written by `exit_event.set()`), and polls at Textual's pace only
while the parser holds a partial sequence (Esc, Alt+key, a mouse report cut in two).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import threading
from codecs import getincrementaldecoder

from textual import constants
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

PARTIAL_POLL = 0.1  # Textual's own interval: Esc alone becomes a key after its timeout
IDLE_WAIT = 5.0  # nothing pending: a byte or the stop pipe wakes the thread before this


class WakingEvent(threading.Event):
    """`exit_event` that also writes a byte to a pipe, so a thread blocked in `select` sees it."""

    def __init__(self) -> None:
        super().__init__()
        self.read_fd, self._write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        os.set_blocking(self._write_fd, False)

    def set(self) -> None:
        super().set()
        with contextlib.suppress(OSError):  # full (already woken) or closed
            os.write(self._write_fd, b"!")

    def clear(self) -> None:
        super().clear()
        with contextlib.suppress(OSError):
            while os.read(self.read_fd, 512):
                pass


class QuietInputDriver(LinuxDriver):
    """LinuxDriver whose input thread blocks until there is input (see the module docstring)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.exit_event = WakingEvent()

    def run_input_thread(self) -> None:
        """Read the terminal, feed Textual's parser and post its events, as Textual's loop does."""
        stop = self.exit_event
        assert isinstance(stop, WakingEvent)
        terminal = self.fileno
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        with selectors.DefaultSelector() as selector:
            selector.register(terminal, selectors.EVENT_READ)
            selector.register(stop.read_fd, selectors.EVENT_READ)

            def handle(ready: list[tuple[selectors.SelectorKey, int]], final: bool = False) -> None:
                for key, _mask in ready:
                    if key.fd != terminal:
                        continue
                    text = decode(os.read(terminal, 4096), final=final)
                    if not text:  # stdin piped and at its end
                        break
                    for event in parser.feed(text):
                        self.process_message(event)
                for event in parser.tick():
                    self.process_message(event)

            while not stop.is_set():
                # Private in Textual: if it is gone, poll at Textual's pace as Textual does.
                pending = getattr(parser, "_timeout_time", 0) is not None
                handle(selector.select(PARTIAL_POLL if pending else IDLE_WAIT))
            selector.unregister(stop.read_fd)
            handle(selector.select(0), final=True)  # what is already there; no wait on the way out
        with contextlib.suppress(Exception):
            for _event in parser.feed(""):
                pass


def driver_class() -> type[LinuxDriver] | None:
    """The driver ebtop runs on: ours, unless TEXTUAL_DRIVER names one (textual-serve does)."""
    if constants.DRIVER is not None or os.name != "posix":
        return None
    return QuietInputDriver
