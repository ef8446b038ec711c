"""What the Profile pane and the latency histograms cost the traced machine (root only).

Each probe is compared with no tracing in the same run, in interleaved rounds (none, probe, none,
probe ...), on C workloads pinned to one CPU:

- cost per sample: in the kernel, the BPF program's run time per sample (BPF_ENABLE_STATS); in ebtop,
  the CPU time its reader thread spends per sample (reading the maps, naming frames); and a spinner's
  loop iterations per CPU-second with and without the sampler at 997 Hz.
- cost per histogram event: `getppid` in a loop (one sys_enter + one sys_exit per call) against the
  syscall-latency histogram; a pipe ping-pong between two processes on one CPU (two wakeups and two
  context switches per round trip) against the run-queue histogram.
- RSS: one process with the sampler, every histogram and a custom counter loaded.

    sudo .venv/bin/python bench/profile_cost.py [--rounds 3] [--seconds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SOURCE = r"""
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
/* CPU time, not wall time: the machine is shared, and a descheduled workload must not look slower */
static double now(void) { struct timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static double tv(struct timeval v) { return v.tv_sec + v.tv_usec / 1e6; }
static void pin(int cpu) { cpu_set_t s; CPU_ZERO(&s); CPU_SET(cpu, &s); sched_setaffinity(0, sizeof(s), &s); }
volatile unsigned long sink;
int main(int argc, char **argv) {
    pin(atoi(argv[3]));
    if (!strcmp(argv[1], "spin")) {            /* iterations per second for SECONDS */
        double secs = atof(argv[2]), t0 = now(), end = t0 + secs; unsigned long n = 0;
        while (now() < end) { for (int i = 0; i < 1000; i++) sink += i; n++; }
        printf("%.3f\n", n / (now() - t0)); return 0;
    }
    long count = atol(argv[2]);
    if (!strcmp(argv[1], "getppid")) {         /* ns per call */
        double t0 = now(); for (long i = 0; i < count; i++) syscall(SYS_getppid);
        printf("%.3f\n", (now() - t0) * 1e9 / count); return 0;
    }
    int a[2], b[2]; char c = 0;                /* pingpong: ns per round trip */
    if (pipe(a) || pipe(b)) return 1;
    pid_t child = fork();
    if (child == 0) { for (long i = 0; i < count; i++) { read(a[0], &c, 1); write(b[1], &c, 1); } _exit(0); }
    for (long i = 0; i < count; i++) { write(a[1], &c, 1); read(b[0], &c, 1); }
    waitpid(child, NULL, 0);
    struct rusage me, kid; getrusage(RUSAGE_SELF, &me); getrusage(RUSAGE_CHILDREN, &kid);
    double cpu = tv(me.ru_utime) + tv(me.ru_stime) + tv(kid.ru_utime) + tv(kid.ru_stime);
    printf("%.3f\n", cpu * 1e9 / count); return 0;  /* CPU ns of both ends per round trip */
}
"""


def build(directory: Path) -> Path:
    (directory / "w.c").write_text(SOURCE)
    binary = directory / "w"
    subprocess.run(["gcc", "-O2", "-o", str(binary), str(directory / "w.c")], check=True)
    return binary


def run(binary: Path, mode: str, amount: float, cpu: int) -> float:
    out = subprocess.run([str(binary), mode, str(amount), str(cpu)], capture_output=True, text=True, check=True)
    return float(out.stdout)


def rss_kib() -> tuple[int, int]:
    status = Path("/proc/self/status").read_text()
    values = {line.split(":")[0]: int(line.split()[1]) for line in status.splitlines()
              if line.startswith(("VmRSS", "VmHWM"))}
    return values["VmRSS"], values["VmHWM"]


class Attached:
    """A started source, waited on until its programs are attached; stopped on exit."""

    def __init__(self, source, ready) -> None:  # noqa: ANN001
        self.source = source
        self.ready = ready

    def __enter__(self):  # noqa: ANN204
        self.source.start()
        deadline = time.monotonic() + 60
        while not self.ready(self.source):
            if time.monotonic() > deadline or self.source.problems and "FAILED" in str(self.source.state()):
                raise SystemExit(f"not attached: {self.source.describe()} {self.source.problems}")
            time.sleep(0.05)
        return self.source

    def __exit__(self, *exc: object) -> None:
        self.source.stop()


def profile_source(hz: int):  # noqa: ANN201
    from tui.sources.base import SourceState
    from tui.sources.profile import ProfileSource

    return Attached(ProfileSource(hz=hz, interval=1.0, cost=True), lambda s: s.state() is SourceState.STREAMING)


def latency_source(kind: str):  # noqa: ANN201
    from tui.sources.latency import LatencySource

    return Attached(LatencySource(kinds=(kind,), interval=1.0), lambda s: kind in s.loaded)


def compare(label: str, binary: Path, mode: str, amount: float, cpu: int, rounds: int, make) -> dict:  # noqa: ANN001
    base, probe = [], []
    for _ in range(rounds):
        base.append(run(binary, mode, amount, cpu))
        with make():
            probe.append(run(binary, mode, amount, cpu))
        base.append(run(binary, mode, amount, cpu))
    return {"label": label, "none": statistics.median(base), "probe": statistics.median(probe),
            "none_all": base, "probe_all": probe}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--trips", type=int, default=100_000)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (real BPF in the real kernel)", file=sys.stderr)
        return 1
    cpu = sorted(os.sched_getaffinity(0))[-1]
    ncpu = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        binary = build(Path(tmp))
        print(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} kernel {os.uname().release}, {ncpu} CPUs, "
              f"load {os.getloadavg()[0]:.1f}, workloads pinned to CPU {cpu}, {args.rounds} rounds")
        for hz in (997,):
            r = compare(f"profile {hz} Hz", binary, "spin", args.seconds, cpu, args.rounds,
                        lambda hz=hz: profile_source(hz))
            lost = 1 - r["probe"] / r["none"]
            per_sample_us = lost / hz * 1e6  # seconds of the traced CPU per sample, in us
            print(f"{r['label']:<24} spin iterations/s none {r['none']:,.0f} with {r['probe']:,.0f}: "
                  f"{100 * lost:+.2f}% of the CPU -> {per_sample_us:.1f} us per sample on the traced CPU "
                  f"(none {[round(x) for x in r['none_all']]}, with {[round(x) for x in r['probe_all']]})")
        from tui.model.probes import ProgramCost  # noqa: F401 - the cost report type
        for hz in (49, 997):
            with profile_source(hz) as source:
                cpu0 = time.process_time()
                time.sleep(10)
                cpu = time.process_time() - cpu0
                items = source.buffer.drain()
            costs = [item for item in items if type(item).__name__ == "CostReport"]
            runs = sum(c.runs for item in costs[1:] for c in item.costs)
            run_ns = sum(c.run_ns for item in costs[1:] for c in item.costs)
            samples = sum(s.count for item in items if type(item).__name__ == "ProfileInterval" for s in item.samples)
            taken = sum(item.taken for item in items if type(item).__name__ == "ProfileInterval")
            print(f"{'profile ' + str(hz) + ' Hz':<24} BPF {run_ns / max(runs, 1):,.0f} ns per sample "
                  f"({runs:,} runs, BPF_ENABLE_STATS); ebtop's reader {cpu * 1e6 / max(taken, 1):,.0f} us CPU "
                  f"per sample ({cpu:.2f} s CPU for {taken:,} samples, {samples:,} not idle, in 10 s = "
                  f"{100 * cpu / 10:.1f}% of a CPU)")
        r = compare("syscall-latency hist", binary, "getppid", args.calls, cpu, args.rounds,
                    lambda: latency_source("syscall-latency"))
        print(f"{r['label']:<24} getppid ns/call none {r['none']:.1f} with {r['probe']:.1f}: "
              f"+{r['probe'] - r['none']:.1f} ns per syscall (2 tracepoint hits) = "
              f"{(r['probe'] - r['none']) / 2:.1f} ns per histogram event, ratio {r['probe'] / r['none']:.2f}x")
        r = compare("runqlat hist", binary, "pingpong", args.trips, cpu, args.rounds,
                    lambda: latency_source("runqlat"))
        print(f"{r['label']:<24} pipe round trip ns none {r['none']:.0f} with {r['probe']:.0f}: "
              f"+{r['probe'] - r['none']:.0f} ns per round trip (2 wakeups + 2 switches) = "
              f"{(r['probe'] - r['none']) / 2:.0f} ns per measured wait, ratio {r['probe'] / r['none']:.2f}x")
        before = rss_kib()
        from tui.sources.counters import CounterSource
        from tui.sources.latency import LatencySource
        from tui.sources.profile import ProfileSource
        from tui.wiring.counters import parse_counter

        everything = [ProfileSource(interval=1.0),
                      LatencySource(kinds=("runqlat", "biolatency", "syscall-latency", "connect-latency")),
                      CounterSource([parse_counter("syscalls:sys_enter_openat:comm")])]
        for source in everything:
            source.start()
        time.sleep(12)
        after = rss_kib()
        for source in everything:
            source.stop()
        print(f"{'RSS, all probes':<24} {after[0] / 1024:.1f} MiB (peak {after[1] / 1024:.1f} MiB) with the sampler, "
              f"4 histograms and a counter loaded; {before[0] / 1024:.1f} MiB before loading them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
