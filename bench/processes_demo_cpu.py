"""CPU of ebtop's own process tree in `ebtop --demo` per visible tab, for several source trees in one run.

Issue 11: the Processes tab cost ebtop 43.6% of a core in the demo (Flows 24%, Syscalls 15%). To
compare a change with the commit before it, export that commit (`git archive <rev> | tar -x -C
/tmp/before`) and pass both trees; they run one after the other, alternating, `--rounds` times, so
a change of the machine's load hits both. The demo servers (tui.demo.runner) are measured apart
(bench/ui_cost.py `measure`), so the figure is ebtop's own cost.

    sudo .venv/bin/python bench/processes_demo_cpu.py /tmp/before . --rounds 2 --window 10
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ui_cost import PYTHON, SyscallCounter, Term, measure  # noqa: E402

TABS = {"flows": "1", "processes": "2", "syscalls": "3"}


def run_tree(root: Path, tabs: list[str], window: float, warmup: float, size: tuple[int, int],
             counter: SyscallCounter) -> dict[str, dict[str, float]]:
    """One demo launched from `root` (its own `tui` package), each tab measured for `window` seconds."""
    inner = f"cd {shlex.quote(str(root))} && exec {shlex.quote(PYTHON)} -m tui --demo --demo-seed 7"
    term = Term(["bash", "-c", inner], size=size)
    rows: dict[str, dict[str, float]] = {}
    try:
        if term.wait(lambda screen: "Processes" in screen, timeout=30) is None:
            raise RuntimeError(f"{root}: no first frame:\n{term.screen()}")
        time.sleep(warmup)  # the Syscalls pane's BPF compile, the forest filled
        for tab in tabs:
            term.press(TABS[tab])
            time.sleep(1.5)
            rows[tab] = measure(term, counter, window)
    finally:
        term.close()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="+", type=Path, help="source trees (a `git archive` export, or .)")
    parser.add_argument("--tabs", nargs="+", default=["processes", "flows", "syscalls"], choices=list(TABS))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=15.0)
    parser.add_argument("--size", default="120x40")
    args = parser.parse_args()
    width, height = (int(part) for part in args.size.split("x"))
    counter = SyscallCounter()
    samples: dict[tuple[str, str], list[dict[str, float]]] = {}
    loads = [os.getloadavg()[0]]
    for _ in range(args.rounds):
        for root in args.roots:
            for tab, row in run_tree(root.resolve(), args.tabs, args.window, args.warmup, (width, height),
                                     counter).items():
                samples.setdefault((str(root), tab), []).append(row)
            loads.append(os.getloadavg()[0])
    print(f"load average (1 min) during the run: {min(loads):.1f}-{max(loads):.1f}; size {args.size}")
    for (root, tab), rows in samples.items():
        cpu = [row["cpu"] for row in rows]
        demo = [row.get("demo_cpu", float("nan")) for row in rows]
        calls = [row["syscalls"] for row in rows]
        print(f"{root:24} {tab:10} ebtop cpu {statistics.median(cpu):5.1f}% (rounds {', '.join(f'{c:.1f}' for c in cpu)})"
              f" | demo servers {statistics.median(demo):4.1f}% | syscalls/s {statistics.median(calls):7,.0f}"
              f" | rss {statistics.median(row['rss'] for row in rows):4.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
