"""A C program with a known hot call chain (main -> ebt_outer -> ebt_middle -> ebt_leaf), built with
frame pointers at -O0 so a stack walk sees every frame. It renames itself to the comm given, prints
`ready`, waits for a line on stdin (so the sampler is attached first), then spins for N seconds.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

CHAIN = ("main", "ebt_outer", "ebt_middle", "ebt_leaf")

SOURCE = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>
volatile unsigned long sink;
__attribute__((noinline)) void ebt_leaf(void) { for (int i = 0; i < 100000; i++) sink += (unsigned long)i * i; }
__attribute__((noinline)) void ebt_middle(void) { ebt_leaf(); }
__attribute__((noinline)) void ebt_outer(void) { ebt_middle(); }
int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: hotchain SECONDS COMM\n"); return 2; }
    double secs = atof(argv[1]);
    prctl(PR_SET_NAME, argv[2], 0, 0, 0);
    printf("ready\n"); fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof(line), stdin)) return 4;
    struct timespec a, b; clock_gettime(CLOCK_MONOTONIC, &a);
    do { ebt_outer(); clock_gettime(CLOCK_MONOTONIC, &b); }
    while ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9 < secs);
    return 0;
}
"""


def build(directory: Path, strip: bool = False) -> Path:
    """Compile the program into `directory` (stripped of its symbol tables when asked)."""
    source = directory / "hotchain.c"
    binary = directory / ("hotchain-stripped" if strip else "hotchain")
    source.write_text(SOURCE)
    subprocess.run(["gcc", "-O0", "-fno-omit-frame-pointer", "-o", str(binary), str(source)],
                   check=True, capture_output=True)
    if strip:
        subprocess.run(["strip", "--strip-all", str(binary)], check=True, capture_output=True)
    return binary


class HotChain:
    """One started program, held at its start line until `go()`."""

    def __init__(self, binary: Path, seconds: float, comm: str) -> None:
        self.proc = subprocess.Popen([str(binary), str(seconds), comm], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"
        self.pid = self.proc.pid

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
