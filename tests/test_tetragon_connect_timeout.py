"""--connect-timeout reaches the Tetragon streams, in the thread reader and in the reader process.

A peer that accepts TCP and never speaks HTTP/2 is reported after the flag's deadline, not the default.
"""

from __future__ import annotations

import socket
import time

import pytest

from tui.cli import build_parser
from tui.sources.tetragon import ProcessTetragonSource, TetragonSource
from tui.wiring.processes import build_source


def _statuses(source: TetragonSource, seconds: float = 20) -> str:
    """Status texts seen until the deadline message shows (or the time is up)."""
    source.start()
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            text = source.describe()
            if "no answer within" in text:
                return text
            time.sleep(0.1)
        return source.describe()
    finally:
        source.stop()


@pytest.mark.parametrize("reader", ["thread", "process"])
def test_the_flag_sets_the_answer_deadline(reader: str) -> None:
    with socket.socket() as listener:  # accepts TCP, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        target = f"127.0.0.1:{listener.getsockname()[1]}"
        args = build_parser().parse_args(["--pane", "processes", "--tetragon-server", target,
                                          "--tetragon-reader", reader, "--connect-timeout", "1.5"])
        source = build_source(args)
        assert isinstance(source, ProcessTetragonSource if reader == "process" else TetragonSource)
        assert "no answer within 1.5 s" in _statuses(source)
