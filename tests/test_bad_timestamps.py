"""Bad timestamps are clamped and marked `?`, never printed as `106751991146511d10h`.

An event dated near 2**63 seconds used to become the process tree's clock, so every valid process
that followed read an age of millions of centuries; a start time far from its end did the same.
"""

from __future__ import annotations

import math
import time

from tests.test_process_forest import exec_, exit_, proc
from tui.model.processes import ProcessForest
from tui.panes.flow_nodes import _duration
from tui.proto.tetragon import events_pb2
from tui.render.numbers import duration_text
from tui.render.process_labels import detail_text, duration, process_label

BAD = 2**62  # seconds: a garbage timestamp as it arrives on the wire


def timed(event: events_pb2.GetEventsResponse, seconds: float, start: float | None = None
          ) -> events_pb2.GetEventsResponse:
    event.time.FromNanoseconds(int(seconds * 1e9))
    if start is not None:
        which = event.process_exec if event.HasField("process_exec") else event.process_exit
        which.process.start_time.seconds = int(start)
    return event


def test_valid_processes_after_a_garbage_time_keep_real_ages() -> None:
    now = time.time()
    forest = ProcessForest()
    forest.add(timed(exec_(proc("junk", 5, "/bin/junk")), 0, start=now))
    junk = timed(exec_(proc("junk2", 6, "/bin/junk2")), 0, start=now)
    junk.time.seconds = BAD  # the event's own time is garbage
    forest.add(junk)
    forest.add(timed(exec_(proc("good", 7, "/bin/good")), now, start=now - 10))
    pane_now = max(forest.clock, time.time())  # the live Processes pane's now
    good = forest.nodes["good"]
    label = process_label(good, pane_now).plain
    assert "d" not in label.split("·")[-1] and label.rstrip().endswith("s"), label
    assert 9 <= good.lifetime(pane_now) < 3600


def test_a_garbage_start_time_reads_question_mark() -> None:
    now = time.time()
    forest = ProcessForest()
    forest.add(timed(exec_(proc("neg", 8, "/bin/neg")), now, start=-BAD))
    forest.add(timed(exec_(proc("ahead", 9, "/bin/ahead")), now, start=BAD))
    forest.add(timed(exit_(proc("ahead", 9, "/bin/ahead")), now + 1, start=BAD))
    for exec_id in ("neg", "ahead"):
        node = forest.nodes[exec_id]
        assert math.isnan(node.lifetime(now + 2)) or node.lifetime(now + 2) > 100 * 365 * 86400
        parts = [part.strip() for part in process_label(node, now + 2).plain.split("·")]
        assert "?" in parts or "ran ?" in parts, parts
        fields = [line.split() for line in detail_text(forest, node, now + 2).plain.splitlines()]
        assert [f for f in fields if f[:1] in (["age"], ["lifetime"])] in ([["age", "?"]], [["lifetime", "?"]]), fields


def test_every_duration_printer_clamps() -> None:
    for bad in (BAD, -BAD, 1e300, math.inf, math.nan):
        assert duration(bad) == "?"
        assert _duration(bad) == "?" if bad > 0 or math.isnan(bad) else True
        assert duration_text(bad) == "?" if bad > 0 or math.isnan(bad) else True
    assert duration(12.5) == "12s" and _duration(90) == "90s" and duration(3 * 86400 + 4 * 3600) == "3d04h"
