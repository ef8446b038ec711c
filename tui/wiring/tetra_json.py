"""`ebtop -b --pane processes --tetragon-file F -o json`: tetra's JSON pass-through for a replay.

Each kept line is written exactly as it was read (the agent's own protojson: key order, spelling and
fields this schema does not know all survive; on a terminal, control and bidi characters inside strings
become \\u escapes, the same JSON), so `ebtop -o json` can sit in a pipeline between
`kubectl logs … export-stdout` and any tool reading the export format. The filters decide which lines
pass; a line that does not parse is reported on stderr and skipped, as the replay does.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from tui.proto.jsonlines import parse_line
from tui.proto.tetragon import events_pb2
from tui.render.safe import safe_json


def replay_json_lines(source: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Copy the kept lines of the replay's input to `out`; the exit code (0, or 1 if no line was readable)."""
    source.open()
    handle = source._handle  # noqa: SLF001 - the handle the replay opened (and checked) for us
    limit = int(getattr(args, "count", 0) or 0)
    on_terminal = getattr(out, "isatty", lambda: False)()  # a pipe gets the bytes; a terminal nothing it acts on
    written = read = bad = 0
    try:
        for number, raw in enumerate(handle, start=1):
            text = raw.strip()
            if not text:
                continue
            try:
                message = parse_line(text, events_pb2.GetEventsResponse)
            except ValueError as error:
                bad += 1
                print(f"ebtop: {source.name}: line {number}: {error}", file=err)
                continue
            read += 1
            if source.keep is not None and not source.keep(message):
                continue
            out.write((safe_json(text) if on_terminal else text) + "\n")
            written += 1
            if limit and written >= limit:
                break
    except BrokenPipeError:
        return 0
    finally:
        source.close()
        out.flush()
    return 1 if bad and not read else 0
