"""Batch mode `ebtop -b --pane syscalls`: bpftrace's print format, exact workload counts, clear failures."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.workload import Workload, build
from tui.cli import build_parser
from tui.model.syscalls import SyscallInterval, SyscallSample, SyscallTop
from tui.wiring.syscalls import interval_lines

ROOT = Path(__file__).resolve().parents[1]
HEADER = re.compile(r"^\[\d\d:\d\d:\d\d\]$")
LINE = re.compile(r"^@\[(.+)\]: (\d+)$")


def test_flags_parse_and_reject_bad_values() -> None:
    parser = build_parser()
    args = parser.parse_args(["--interval", "2.5", "--by", "pid", "--failed", "--probes", "opens,tcp"])
    assert (args.interval, args.by, args.failed, args.probes) == (2.5, "pid", True, ("opens", "tcp"))
    assert parser.parse_args(["--probes", "none"]).probes == ()
    for bad in (["--interval", "0"], ["--interval", "x"], ["--by", "uid"], ["--probes", "kprobes"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)


def test_interval_lines_follow_bpftrace_print() -> None:
    args = build_parser().parse_args(["--by", "syscall"])
    top = SyscallTop(arch="x86_64")
    top.add(SyscallInterval(0.0, 5.0, [SyscallSample("a", 110, 100_000), SyscallSample("b", 0, 7)]
                            + [SyscallSample("c", n, n + 1) for n in range(200, 220)]))
    lines = interval_lines(top, args)
    assert HEADER.match(lines[0])
    assert len(lines) == 11 and lines[-1] == "@[getppid]: 100000"
    counts = [int(LINE.match(line).group(2)) for line in lines[1:]]
    assert counts == sorted(counts)


def test_batch_without_privileges_fails_clearly(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("setpriv missing")
        prefix = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "--inh-caps=-all"]
    else:
        prefix = []
    done = subprocess.run([*prefix, sys.executable, "-m", "tui.cli", "-b", "--pane", "syscalls", "-n", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)})
    assert done.returncode == 1  # a runtime failure (no privileges), as in every pane; 2 is for usage
    assert done.stdout == ""
    assert "eBPF needs privileges" in done.stderr and "Failed to compile" not in done.stderr


@pytest.mark.kernel
def test_batch_counts_a_workload_exactly(tmp_path: Path) -> None:
    binary = build(tmp_path)
    comm = "ebb" + secrets.token_hex(5)
    batch = subprocess.Popen([sys.executable, "-m", "tui.cli", "-b", "--pane", "syscalls", "-n", "4",
                              "--interval", "1", "--by", "pid"], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert batch.stdout is not None
    blocks: list[list[str]] = [[]]
    started = False
    worker = None
    for line in batch.stdout:
        line = line.rstrip("\n")
        if line:
            blocks[-1].append(line)
            continue
        blocks.append([])
        if not started:  # the first interval is out: the probe is attached, run the workload
            worker = Workload(binary, comm, "getppid", 100_000)
            worker.go()
            assert worker.wait() == 0
            started = True
    assert batch.wait(timeout=60) == 0, batch.stderr.read() if batch.stderr else ""
    blocks = [b for b in blocks if b]
    assert len(blocks) == 4
    total = 0
    for block in blocks:
        assert HEADER.match(block[0]) and len(block) <= 11
        for line in block[1:]:
            match = LINE.match(line)
            assert match, line
            if worker is not None and match.group(1) == f"{worker.pid}, {comm}":
                total += int(match.group(2))
    assert 100_000 <= total < 100_100  # the getppid loop plus the helper's few startup calls


@pytest.mark.kernel
@pytest.mark.skipif(shutil.which("unshare") is None, reason="unshare missing")
@pytest.mark.parametrize("mount", [True, False])
def test_without_tracefs_counts_on_raw_tracepoints_or_mounts_it(mount: bool) -> None:
    """tracefs unmounted in a private mount namespace: ebtop mounts it, or counts on raw tracepoints."""
    flags = "" if mount else "--no-mount-tracefs"
    script = (f"umount /sys/kernel/tracing && exec {sys.executable} -m tui.cli -b --pane syscalls "
              f"-n 1 --interval 1 {flags}")
    done = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert HEADER.match(lines[0]) and all(LINE.match(line) for line in lines[1:]) and len(lines) > 1
    if mount:
        assert "ebtop mounted it" in done.stderr
    else:
        assert "tracefs is not mounted" in done.stderr and "raw tracepoints only" in done.stderr
        assert "file opens" in done.stderr  # the views it turns off are named


@pytest.mark.kernel
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv missing")
def test_cap_bpf_and_perfmon_are_enough(tmp_path: Path) -> None:
    """Root with only CAP_BPF+CAP_PERFMON (+DAC_READ_SEARCH for tracefs) counts, as the message says."""
    prefix = ["setpriv", "--inh-caps=-all", "--bounding-set=-all,+bpf,+perfmon,+dac_read_search"]
    done = subprocess.run([*prefix, sys.executable, "-m", "tui.cli", "-b", "--pane", "syscalls", "-n", "1",
                           "--interval", "1"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert HEADER.match(lines[0]) and len(lines) > 1 and all(LINE.match(line) for line in lines[1:])
