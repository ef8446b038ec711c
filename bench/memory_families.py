"""RSS per probe family: what each of ebtop's bcc programs costs a process once it is loaded.

Each family is loaded in a fresh child process, the way the app loads it (the same classes, the same
`load_bpf`, so the compiler memory is released after the compile as in the app). The child reports,
from /proc/self/smaps_rollup, Rss / Anonymous / file-backed (Rss - Anonymous) in MiB at four points:

- `python`: the source modules imported, bcc not yet;
- `bcc`: `import bcc` and one `release_compiler_memory()` (the floor every family shares: LLVM's
  relocated data and static objects, libbcc);
- `loaded`: the family compiled, loaded and attached (one program, or several for `all`);
- `peak`: VmHWM, the high-water mark during the compile (LLVM's code and heap, given back after).

`--no-release` runs the same families with the release turned off, so one run shows what it frees.
`--app` also starts `ebtop` in tmux at 120x40 against a paced GetFlows server and samples the RSS of the
whole process tree (VmRSS of ebtop and every child, summed, as bench/ui_cost.py does) while every tab
and every Syscalls view is shown in turn, i.e. with every probe family loaded.

    sudo .venv/bin/python bench/memory_families.py                  # about 1 minute
    sudo .venv/bin/python bench/memory_families.py --no-release --app --rate 500

Root (or CAP_BPF+CAP_PERFMON) is needed; the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

# The order the app loads them in: the syscall counter, then the Syscalls pane's event probes
# (after the first counts), then whatever a view asks for when it is first shown.
FAMILIES = ("syscalls", "opens", "tcp", "blockio", "runqlat", "biolatency", "syscall-latency",
            "profile", "exec")


def rollup() -> dict[str, float]:
    """Rss, Anonymous, File (= Rss - Anonymous) and the VmHWM peak of this process, MiB."""
    values: dict[str, float] = {}
    with open("/proc/self/smaps_rollup") as text:
        for line in text:
            parts = line.split()
            if parts[0] in ("Rss:", "Anonymous:"):
                values[parts[0][:-1]] = int(parts[1]) / 1024
    with open("/proc/self/status") as text:
        for line in text:
            if line.startswith("VmHWM:"):
                values["peak"] = int(line.split()[1]) / 1024
    values["File"] = values["Rss"] - values["Anonymous"]
    return {key: round(value, 1) for key, value in values.items()}


def loader(family: str) -> Callable[[], Any]:
    """A function that loads `family` as the app does and returns what must stay alive."""
    sink = lambda _event: None  # noqa: E731 - events are not read here
    if family == "syscalls":
        from tui.sources.kernel_syscalls import SyscallCounter

        return lambda: SyscallCounter()
    if family in ("opens", "tcp", "blockio"):
        from tui.sources.kernel_probes import PROBES

        return lambda: PROBES[family](sink)
    if family in ("runqlat", "biolatency", "syscall-latency"):
        from tui.sources.latency import _HistReader

        return lambda: _HistReader(family, lambda _cgroup: ("", ""), None)
    if family == "profile":
        from tui.sources.profile import ProfileSource

        return lambda: ProfileSource()._load()
    if family == "exec":
        from tui.sources.bpf_env import load_bpf, program_text
        from tui.sources.local_exec import FORK_ENTRIES, RINGBUF_PAGES, has_group_dead

        flags = [f"-DRINGBUF_PAGES={RINGBUF_PAGES}", f"-DFORK_ENTRIES={FORK_ENTRIES}"]
        if has_group_dead():
            flags.append("-DHAVE_GROUP_DEAD")
        return lambda: load_bpf(program_text("exec.c"), cflags=flags)
    raise ValueError(f"unknown family {family!r}")


def child(families: list[str], release: bool) -> None:
    """Load `families` in this process, print one JSON line of figures."""
    from tui.sources import bpf_env

    loaders = [loader(name) for name in families]
    report: dict[str, Any] = {"python": rollup()}
    import bcc  # noqa: F401

    bpf_env.release_compiler_memory()
    report["bcc"] = rollup()
    if not release:
        bpf_env.release_compiler_memory = lambda *_args, **_kw: 0
    kept = []
    steps = []
    for name, load in zip(families, loaders, strict=True):
        kept.append(load())
        steps.append((name, rollup()))
    report["loaded"] = steps[-1][1]
    report["steps"] = steps
    print(json.dumps(report), flush=True)


def run_child(families: list[str], release: bool) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", ",".join(families)]
    if not release:
        command.append("--no-release")
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{families}: exit {done.returncode}: {done.stderr.strip()[-500:]}")
    return json.loads(lines[-1])


def delta(after: dict[str, float], before: dict[str, float], key: str) -> float:
    return after[key] - before[key]


def print_families(release: bool) -> None:
    label = "release on (as the app)" if release else "release OFF"
    print(f"\n## one family per process, {label}; MiB; load {os.getloadavg()[0]:.1f}")
    print(f"{'family':16} {'python':>7} {'+bcc':>6} {'+family Rss':>11} {'anon':>6} {'file':>6} "
          f"{'total Rss':>9} {'peak':>6}")
    for family in FAMILIES:
        try:
            report = run_child([family], release)
        except RuntimeError as error:
            print(f"{family:16} not loaded: {error}")
            continue
        base, floor, loaded = report["python"], report["bcc"], report["loaded"]
        print(f"{family:16} {base['Rss']:7.1f} {delta(floor, base, 'Rss'):+6.1f} "
              f"{delta(loaded, floor, 'Rss'):+11.1f} {delta(loaded, floor, 'Anonymous'):+6.1f} "
              f"{delta(loaded, floor, 'File'):+6.1f} {loaded['Rss']:9.1f} {loaded['peak']:6.1f}")
    report = run_child(list(FAMILIES), release)
    print(f"\nall {len(FAMILIES)} families in one process ({label}), cumulative Rss / Anon / File MiB:")
    floor = report["bcc"]
    print(f"  {'python':16} {report['python']['Rss']:6.1f}")
    print(f"  {'+ import bcc':16} {floor['Rss']:6.1f} {floor['Anonymous']:6.1f} {floor['File']:6.1f}")
    for name, values in report["steps"]:
        print(f"  {'+ ' + name:16} {values['Rss']:6.1f} {values['Anonymous']:6.1f} {values['File']:6.1f}"
              f"   peak {values['peak']:.1f}")


# ----------------------------------------------------------------------------- the whole app


def app_run(rate: float, hold: float) -> None:
    """ebtop against a paced server, each tab and Syscalls view shown in turn; tree RSS sampled."""
    from ui_cost import Term, ebtop_command, flows_server, rss_mib, tree

    print(f"\n## ebtop --hubble-server (paced {rate:g} flows/s) --tetragon-server 127.0.0.1:1, 120x40; "
          "VmRSS MiB per process and summed")
    with flows_server(rate) as target:
        term = Term(ebtop_command("--hubble-server", target, "--tetragon-server", "127.0.0.1:1"))
        started = time.monotonic()

        def sample(what: str) -> None:
            pids = tree(term.pid)
            each = " + ".join(f"{rss_mib([pid]):.0f}" for pid in pids)
            print(f"  {time.monotonic() - started:6.0f} s  {what:34} tree {rss_mib(pids):6.1f}  ({each})  "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)

        try:
            term.wait(lambda screen: "Flows" in screen)
            time.sleep(hold)
            sample("flows visible (syscalls+probes)")
            steps = [("2", "processes tab"), ("3", "syscalls tab")]
            steps += [("v", f"syscalls view {n}") for n in range(1, 6)]
            steps += [("4", "profile tab"), ("1", "flows tab again")]
            for key, what in steps:
                term.press(key)
                time.sleep(hold)
                sample(what)
            for _ in range(3):
                time.sleep(hold)
                sample("flows tab, all loaded")
        finally:
            term.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--no-release", action="store_true",
                        help="also run every family with the compiler-memory release turned off")
    parser.add_argument("--app", action="store_true", help="also measure the whole app's process tree")
    parser.add_argument("--rate", type=float, default=500.0, help="flows/s of the paced server (--app)")
    parser.add_argument("--hold", type=float, default=10.0, help="seconds per tab or view (--app)")
    args = parser.parse_args()
    if args.child:
        child(args.child.split(","), release=not args.no_release)
        return 0
    with contextlib.suppress(OSError):
        print(f"kernel {os.uname().release}, {os.cpu_count()} CPUs, start load {os.getloadavg()[0]:.1f}")
    print_families(release=True)
    if args.no_release:
        print_families(release=False)
    if args.app:
        app_run(args.rate, args.hold)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
