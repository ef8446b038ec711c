"""Regenerate the SVG screenshots of every pane and view from a seeded demo, at 120x40 and 80x24.

    .venv/bin/python screenshots/make.py            # writes screenshots/<size>-<pane>-<view>.svg

The app is built exactly as `ebtop --demo --demo-seed 7 --interval 1` builds it and driven by its keys
(headless). The Syscalls pane shows this machine's real counts when run as root, and its
precondition lines otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tui.cli import FAMILIES, build_parser  # noqa: E402
from tui.demo.runner import start_demo  # noqa: E402

SIZES = ((120, 40), (80, 24))
# (file name, keys pressed before the shot, seconds to let data arrive)
SHOTS: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("flows-list", ("1", "f"), 3.0),
    ("flows-detail", ("up", "enter"), 0.5),
    ("flows-talkers", ("escape", "t"), 0.5),
    ("flows-drops", ("x",), 0.5),
    ("flows-dns", ("n",), 0.5),
    ("flows-http", ("h",), 0.5),
    ("flows-map", ("m",), 0.5),
    ("flows-map-edges", ("right", "enter"), 0.5),
    ("flows-policies", ("escape", "y"), 0.5),
    ("flows-policy-draft", ("d",), 0.5),
    ("flows-connect", ("escape", "l"), 0.5),
    ("processes-tree", ("2",), 1.0),
    ("processes-detail", ("enter",), 0.5),
    ("processes-log", ("escape", "e"), 0.5),
    ("syscalls-top", ("escape", "3"), 2.5),
    ("syscalls-opens", ("v",), 0.5),  # views step with v (tui/keys.py)
    ("syscalls-retransmits", ("v",), 0.5),
    ("syscalls-connect-latency", ("v",), 0.5),
    ("syscalls-slow-io", ("v",), 0.5),
    ("syscalls-own-cost", ("v",), 1.5),  # run-time stats start when the view opens
    ("syscalls-runqlat", ("v",), 2.5),  # the histograms compile when their view opens
    ("syscalls-biolatency", ("v",), 2.5),
    ("syscalls-syscall-latency", ("v",), 2.5),
    ("profile-functions", ("4",), 3.0),
    ("profile-tree", ("v",), 0.5),
    ("profile-flame", ("v",), 0.5),
    ("help", ("escape", "question_mark"), 0.5),
)


async def shoot(size: tuple[int, int], seed: int, out: Path) -> list[Path]:
    from tui.app import EbtopApp

    args = build_parser().parse_args(["--demo", "--demo-seed", str(seed), "--interval", "1"])
    args.config_notices = []
    demo = start_demo(seed=seed, rate=args.demo_rate)
    demo.apply_to(args)
    written: list[Path] = []
    try:
        app = EbtopApp([family.create_pane(args) for family in FAMILIES.values()])
        async with app.run_test(size=size) as pilot:
            for name, keys, settle in SHOTS:
                for key in keys:
                    await pilot.press(key)
                    await pilot.pause(0.05)
                await asyncio.sleep(settle)
                await pilot.pause()
                filename = f"{size[0]}x{size[1]}-{name}.svg"
                app.save_screenshot(filename=filename, path=str(out))
                written.append(out / filename)
    finally:
        demo.stop()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=HERE)
    opts = parser.parse_args()
    for size in SIZES:
        for path in asyncio.run(shoot(size, opts.seed, opts.out)):
            print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
