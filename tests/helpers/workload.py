"""A C workload that makes an exact number of syscalls under a chosen comm, on a chosen CPU.

It is compiled with gcc at test time, prints `ready`, waits for a line on stdin (so the BPF
program is attached before the first counted call), runs, and exits. Raw `syscall()` is used so
libc cannot cache or batch anything.
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
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: workload COMM getppid|badclose COUNT CPU\n"); return 2; }
    long count = atol(argv[3]);
    int cpu = atoi(argv[4]);
    if (cpu >= 0) {
        cpu_set_t set; CPU_ZERO(&set); CPU_SET(cpu, &set);
        if (sched_setaffinity(0, sizeof(set), &set) != 0) { perror("sched_setaffinity"); return 3; }
    }
    prctl(PR_SET_NAME, argv[1], 0, 0, 0);
    printf("ready\n"); fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof(line), stdin)) return 4;
    if (strcmp(argv[2], "getppid") == 0)
        for (long i = 0; i < count; i++) syscall(SYS_getppid);
    else
        for (long i = 0; i < count; i++) syscall(SYS_close, -1);
    return 0;
}
"""


def build(directory: Path) -> Path:
    """Compile the workload into `directory` and return the binary's path."""
    source = directory / "workload.c"
    binary = directory / "workload"
    source.write_text(SOURCE)
    subprocess.run(["gcc", "-O2", "-o", str(binary), str(source)], check=True, capture_output=True)
    return binary


class Workload:
    """One started workload process, held at its start line until `go()`."""

    def __init__(self, binary: Path, comm: str, call: str, count: int, cpu: int = -1) -> None:
        self.proc = subprocess.Popen([str(binary), comm, call, str(count), str(cpu)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"
        self.pid = self.proc.pid

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def wait(self) -> int:
        return self.proc.wait(timeout=60)
