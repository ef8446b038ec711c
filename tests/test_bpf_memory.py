"""Compiling a BPF program leaves no LLVM code resident: ebtop's RSS stays near a plain Python's (root)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.kernel
ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import re
from tui.sources.bpf_env import COMPILER_LIBRARIES, close_bpf, load_bpf
bpf = load_bpf("RAW_TRACEPOINT_PROBE(sys_enter) { return 0; }")
resident, current = 0, None
for line in open("/proc/self/smaps"):
    if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
        parts = line.split()
        current = parts[1] == "r-xp" and len(parts) > 5 and any(n in parts[5] for n in COMPILER_LIBRARIES)
    elif line.startswith("Rss:") and current:
        resident += int(line.split()[1])
print(resident)
close_bpf(bpf)
"""


def test_compiler_code_is_released_after_a_program_is_loaded() -> None:
    """Without the release about 45 MiB of libLLVM/libclang code stays resident after one compile."""
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    resident_kib = int(out.stdout.split()[-1])
    assert resident_kib < 8 * 1024, f"{resident_kib} KiB of compiler code still resident"
