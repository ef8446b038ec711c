"""RSS of the Flows model after 1 million and 5 million flows (flat within 10% is the goal).

Flows are real demo responses (serialized and digested once), replayed into a FlowStore with the
default ring (10,000) and window (60 s): every record is a new object with its own flow-time second
(1,000 flows per second of flow time, so the window slides) and a distinct external IP every 7th flow
(so aggregate keys churn and hit the key cap). RSS is read from /proc/self/statm.

    .venv/bin/python bench/flows_memory.py [--total 5000000]
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import sys
import time

from tui.demo.hubble_scenario import flow_responses
from tui.model.flows import FlowRecord, FlowStore, record_from_response

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * PAGE / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=5_000_000)
    parser.add_argument("--per-second", type=int, default=1_000)
    args = parser.parse_args()
    responses = flow_responses(1, 40.0, 1_767_225_600 * 10**9)
    pool = [r for r in (record_from_response(next(responses)) for _ in range(4096)) if r is not None]
    store = FlowStore()
    base_second = pool[0].digest.second if pool[0].digest else 0
    checkpoints = {1_000_000: None, args.total: None}
    start = time.monotonic()
    print(f"start: RSS {rss_mb():.1f} MB")
    for i in range(args.total):
        template = pool[i % len(pool)]
        item = template.digest
        if item is not None:
            item = dataclasses.replace(item, second=base_second + i // args.per_second)
            if i % 7 == 0 and item.talker is not None:
                item.talker = (item.talker[0], f"203.0.{(i >> 8) & 255}.{i & 255}", item.talker[2], item.talker[3])
        store.add(FlowRecord(template.kind, template.data, verdict=template.verdict, digest=item, lost=template.lost))
        done = i + 1
        if done in checkpoints:
            gc.collect()
            checkpoints[done] = rss_mb()
            print(f"after {done:,} flows: RSS {checkpoints[done]:.1f} MB, ring {len(store.ring):,}, "
                  f"talker keys {len(store.aggregates.talkers.totals):,} (folded {store.aggregates.talkers.folded:,}), "
                  f"{time.monotonic() - start:.0f} s")
    first, last = checkpoints[1_000_000], checkpoints[args.total]
    if first and last:
        print(f"RSS growth from 1M to {args.total / 1e6:g}M flows: {(last - first) / first * 100:+.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
