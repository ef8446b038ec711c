"""What ebtop's UI costs, against a bare line printer, in real terminals (tmux 120x40), in one run.

For each rate (500 and 5,000 flows/s by default) one external paced GetFlows server
(bench/flows_server.py, its own process) feeds two identical streams: one to ebtop, one to
bench/bare_client.py printing one compact line per flow, each in its own tmux session of the same
size. Measured over the same window for both, per visible pane of ebtop:

- CPU of the whole process tree (the command and every descendant: reader processes included),
- RSS of the tree, syscalls/s of the tree (counted in the kernel by a raw tracepoint, per tgid),
- key latency: `p` sent through tmux until the screen shows `PAUSED` (and again until it is gone).

Then start-up (launch to first frame, to first flow line) and quit (`q` to process gone) of
`ebtop --demo`, the demo per tab, and the idle cost with no server reachable. Prints the ratios.

    sudo .venv/bin/python bench/ui_cost.py                    # about 4 minutes
    sudo .venv/bin/python bench/ui_cost.py --rates 500 --window 5 --skip-demo

Root is needed for the syscall counter (bcc) and for ebtop's Syscalls pane; without it the
syscall column says n/a.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
TICKS = os.sysconf("SC_CLK_TCK")
WARMUP = 20.0  # seconds after the first frame: longer than the Syscalls pane's BPF compile (--warmup)
SYSCALL_COUNTER = r"""
BPF_HASH(counts, u32, u64, 65536);
RAW_TRACEPOINT_PROBE(sys_enter) {
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    u64 zero = 0, *value = counts.lookup_or_try_init(&tgid, &zero);
    if (value) __sync_fetch_and_add(value, 1);
    return 0;
}
"""


class Term:
    """One command in a detached tmux session of a fixed size; `pid` is the command itself (exec)."""

    def __init__(self, command: list[str], size: tuple[int, int] = (120, 40), env: dict[str, str] | None = None):
        self.name = f"uicost-{uuid.uuid4().hex[:8]}"
        settings = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
        inner = f"exec env {settings} {shlex.join(command)}"
        subprocess.run(["tmux", "-L", self.name, "new-session", "-d", "-s", self.name, "-x", str(size[0]),
                        "-y", str(size[1]), inner], check=True, cwd=ROOT,
                       env={**os.environ, "TERM": "xterm-256color"})
        self.started = time.monotonic()
        out = subprocess.run(["tmux", "-L", self.name, "display", "-p", "-t", self.name, "#{pane_pid}"],
                             capture_output=True, text=True, check=True)
        self.pid = int(out.stdout.strip())

    def screen(self) -> str:
        return subprocess.run(["tmux", "-L", self.name, "capture-pane", "-p", "-t", self.name],
                              capture_output=True, text=True).stdout

    def press(self, *keys: str) -> None:
        subprocess.run(["tmux", "-L", self.name, "send-keys", "-t", self.name, *keys], check=True)

    def wait(self, predicate, timeout: float = 20.0, poll: float = 0.005) -> float | None:
        """Seconds until `predicate(screen)` holds, or None."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if predicate(self.screen()):
                return time.monotonic() - start
            time.sleep(poll)
        return None

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.name, "kill-server"], capture_output=True)


def tree(root: int) -> list[int]:
    """`root` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


class SyscallCounter:
    """Syscalls per tgid, counted in the kernel; None when bcc or root is missing."""

    def __init__(self) -> None:
        self.bpf = None
        try:
            from bcc import BPF

            self.bpf = BPF(text=SYSCALL_COUNTER)
        except Exception as error:  # noqa: BLE001 - the benchmark goes on without this column
            print(f"ui_cost: syscall counter unavailable: {error}", file=sys.stderr)

    def snapshot(self) -> dict[int, int]:
        if self.bpf is None:
            return {}
        return {key.value: value.value for key, value in self.bpf["counts"].items()}


def is_demo(pid: int) -> bool:
    """The `--demo` servers' own process (tui.demo.runner): measured apart from ebtop."""
    with contextlib.suppress(OSError):
        return b"tui.demo.runner" in Path(f"/proc/{pid}/cmdline").read_bytes()
    return False


def measure(term: Term, counter: SyscallCounter, window: float) -> dict[str, float]:
    """ebtop's tree without the demo servers; the demo's CPU apart (`demo_cpu`) when there is one."""
    everything = tree(term.pid)
    demo = [pid for pid in everything if is_demo(pid)]
    pids = [pid for pid in everything if pid not in demo]
    cpu0, demo0, sys0, t0 = cpu_seconds(pids), cpu_seconds(demo), counter.snapshot(), time.monotonic()
    time.sleep(window)
    cpu1, demo1, sys1, t1 = cpu_seconds(pids), cpu_seconds(demo), counter.snapshot(), time.monotonic()
    elapsed = t1 - t0
    calls = sum(sys1.get(pid, 0) - sys0.get(pid, 0) for pid in pids) if counter.bpf else float("nan")
    row = {"cpu": (cpu1 - cpu0) / elapsed * 100, "rss": rss_mib(pids), "syscalls": calls / elapsed}
    if demo:
        row["demo_cpu"] = (demo1 - demo0) / elapsed * 100
    return row


def key_latency(term: Term, presses: int = 10) -> list[float]:
    """`p` until PAUSED shows, `p` until it is gone; each a sample (ms)."""
    samples: list[float] = []
    for _ in range(presses):
        term.press("p")
        shown = term.wait(lambda screen: "PAUSED" in screen, timeout=5)
        term.press("p")
        gone = term.wait(lambda screen: "PAUSED" not in screen, timeout=5)
        samples += [(value if value is not None else 5.0) * 1000 for value in (shown, gone)]
        time.sleep(0.2)
    return samples


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")


@contextlib.contextmanager
def stopped(term: Term) -> Iterator[None]:
    """SIGSTOP `term`'s command tree and its tmux server for the block, SIGCONT after."""
    server = subprocess.run(["tmux", "-L", term.name, "display", "-p", "#{pid}"], capture_output=True,
                            text=True).stdout.strip()
    pids = tree(term.pid) + ([int(server)] if server.isdigit() else [])
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGCONT)


@contextlib.contextmanager
def flows_server(rate: float) -> Iterator[str]:
    proc = subprocess.Popen([PYTHON, str(ROOT / "bench" / "flows_server.py"), "--rate", str(rate)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line.startswith("READY "):
            raise RuntimeError(f"flows server did not start: {line!r}")
        yield line.split()[1]
    finally:
        if proc.stdin:
            proc.stdin.close()
        proc.wait(10)


EXTRA_ARGS: list[str] = []  # --ebtop-arg: e.g. --hubble-reader process, for the flows runs and idle


SWITCH_INTERVAL: list[float] = []  # --switch-interval: run ebtop under this sys.setswitchinterval


def ebtop_command(*args: str) -> list[str]:
    if SWITCH_INTERVAL:
        code = (f"import sys, runpy; sys.argv[0] = 'ebtop'; sys.setswitchinterval({SWITCH_INTERVAL[0]}); "
                "runpy.run_module('tui', run_name='__main__', alter_sys=True)")
        return [PYTHON, "-c", code, *args]
    return [PYTHON, "-m", "tui", *args]


def run_rate(rate: float, window: float, counter: SyscallCounter) -> list[tuple[str, dict[str, float]]]:
    rows = []
    with flows_server(rate) as target:
        bare = Term([PYTHON, str(ROOT / "bench" / "bare_client.py"), target])
        ebtop = Term(ebtop_command("--hubble-server", target, "--tetragon-server", "127.0.0.1:1", *EXTRA_ARGS))
        try:
            ebtop.wait(lambda screen: "Flows" in screen)
            time.sleep(WARMUP)  # warm-up: connections made, tables full, the BPF compile over
            base = measure(bare, counter, window)
            rows.append((f"bare client, {rate:g} flows/s", base))
            for key, pane in (("1", "flows"), ("2", "processes"), ("3", "syscalls")):
                ebtop.press(key)
                time.sleep(1)
                row = measure(ebtop, counter, window)
                row["ratio"] = row["cpu"] / base["cpu"] if base["cpu"] else float("nan")
                if pane == "flows":
                    ebtop.press("1")
                    with stopped(bare):  # the harness's own printer (and its tmux) must not compete with the keys
                        latencies = key_latency(ebtop)
                    row["key_p50"], row["key_p99"] = statistics.median(latencies), p99(latencies)
                rows.append((f"ebtop {pane} visible, {rate:g} flows/s", row))
        finally:
            bare.close()
            ebtop.close()
    return rows


def run_demo(window: float, counter: SyscallCounter) -> list[tuple[str, dict[str, float]]]:
    rows = []
    term = Term(ebtop_command("--demo", "--demo-seed", "7"))
    try:
        first_frame = term.wait(lambda screen: "Flows" in screen and "Processes" in screen)
        first_data = term.wait(lambda screen: "->" in screen or "→" in screen)
        since_launch = time.monotonic() - term.started
        rows.append(("demo start-up", {"first_frame_s": first_frame or float("nan"),
                                       "first_data_s": since_launch if first_data is not None else float("nan")}))
        time.sleep(2)
        for key, pane in (("1", "flows"), ("2", "processes"), ("3", "syscalls")):
            term.press(key)
            time.sleep(1)
            rows.append((f"demo, {pane} visible (ebtop; demo servers apart)", measure(term, counter, window)))
        pid = term.pid
        start = time.monotonic()
        term.press("q")
        while Path(f"/proc/{pid}").exists() and time.monotonic() - start < 10:
            with contextlib.suppress(OSError):
                if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            time.sleep(0.005)
        rows.append(("demo quit (q to process gone)", {"quit_s": time.monotonic() - start}))
    finally:
        term.close()
    return rows


def run_idle(window: float, counter: SyscallCounter) -> list[tuple[str, dict[str, float]]]:
    term = Term(ebtop_command("--hubble-server", "127.0.0.1:1", "--tetragon-server", "127.0.0.1:1", *EXTRA_ARGS))
    try:
        term.wait(lambda screen: "Flows" in screen)
        time.sleep(WARMUP)
        return [("idle: no server reachable, flows visible", measure(term, counter, window))]
    finally:
        term.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[500, 5000])
    parser.add_argument("--window", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--skip-idle", action="store_true")
    parser.add_argument("--switch-interval", type=float, default=0.0,
                        help="run ebtop with this sys.setswitchinterval (seconds; Python's default is 0.005)")
    parser.add_argument("--ebtop-arg", action="append", default=[], metavar="ARG",
                        help="an extra ebtop argument for the flows and idle runs (repeat: --ebtop-arg=--hubble-reader "
                             "--ebtop-arg=process)")
    parser.add_argument("--warmup", type=float, default=WARMUP,
                        help="seconds after ebtop's first frame before measuring (exceed the BPF compile)")
    args = parser.parse_args()
    globals()["WARMUP"] = args.warmup
    EXTRA_ARGS.extend(args.ebtop_arg)
    if args.switch_interval:
        SWITCH_INTERVAL.append(args.switch_interval)
    counter = SyscallCounter()
    rows: list[tuple[str, dict[str, float]]] = []
    for rate in args.rates:
        rows += run_rate(rate, args.window, counter)
    if not args.skip_idle:
        rows += run_idle(args.window, counter)
    if not args.skip_demo:
        rows += run_demo(args.window, counter)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    for name, values in rows:
        shown = ", ".join(f"{key} {value:,.1f}" + ("%" if key == "cpu" else "") for key, value in values.items())
        print(f"{name:48} {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
