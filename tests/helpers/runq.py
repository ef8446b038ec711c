"""A C program for run-queue latency with a known shape, pinned to one CPU:

- `runq COMM sleep N PRIO CPU`: N times sleep 1 ms and wake (SCHED_FIFO PRIO, so CFS load on the
  machine cannot delay it: each wakeup runs within microseconds unless a higher RT task holds the CPU);
- `runq COMM sleep3 N PRIO CPU`: the same with 3 ms sleeps;
- `runq COMM hog SECONDS PRIO CPU`: SCHED_FIFO PRIO (higher), spin 20 ms, sleep 1 ms, for SECONDS.
With the hog on the same CPU, a 3 ms sleeper runs in the hog's 1 ms pause and wakes 2 ms into its next
20 ms spin: each wakeup waits about 18 ms, the [16K, 32K) microsecond bucket.
Prints `ready`, waits for a line on stdin, then runs.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

SOURCE = r"""
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
    if (argc < 6) { fprintf(stderr, "usage: runq COMM sleep|hog N PRIO CPU\n"); return 2; }
    cpu_set_t set; CPU_ZERO(&set); CPU_SET(atoi(argv[5]), &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) { perror("sched_setaffinity"); return 3; }
    struct sched_param sp = { .sched_priority = atoi(argv[4]) };
    if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0) { perror("sched_setscheduler"); return 3; }
    prctl(PR_SET_NAME, argv[1], 0, 0, 0);
    printf("ready\n"); fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof(line), stdin)) return 4;
    struct timespec ms = { 0, 1000000 }, three = { 0, 3000000 };
    if (strncmp(argv[2], "sleep", 5) == 0) {
        long n = atol(argv[3]);
        struct timespec *t = strcmp(argv[2], "sleep3") == 0 ? &three : &ms;
        for (long i = 0; i < n; i++) nanosleep(t, NULL);
    } else {
        double end = now() + atof(argv[3]);
        while (now() < end) { double stop = now() + 0.020; while (now() < stop) ; nanosleep(&ms, NULL); }
    }
    return 0;
}
"""


def build(directory: Path) -> Path:
    source = directory / "runq.c"
    binary = directory / "runq"
    source.write_text(SOURCE)
    subprocess.run(["gcc", "-O2", "-o", str(binary), str(source)], check=True, capture_output=True)
    return binary


class Runq:
    def __init__(self, binary: Path, comm: str, mode: str, amount: float, prio: int, cpu: int) -> None:
        self.proc = subprocess.Popen([str(binary), comm, mode, str(amount), str(prio), str(cpu)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"
        self.pid = self.proc.pid

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def wait(self, timeout: float = 60) -> int:
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
