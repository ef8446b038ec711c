"""Preconditions for bcc: parsing, ordering, messages; and a real tiny program in the kernel."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import pytest

from tui.sources import bpf_env
from tui.sources.bpf_env import (
    ALL_VIEWS,
    BpfUnavailable,
    Environment,
    Problem,
    check_preconditions,
    close_bpf,
    explain,
    load_bpf,
    parse_cap_eff,
)

STATUS = "Name:\tpython\nCapInh:\t0000000000000000\nCapEff:\t000001fffeffffff\nCapBnd:\t000001ffffffffff\n"


def make_env(tmp_path: Path, *, cap: int = 0x1FFFEFFFFFF, euid: int = 0, bcc_error: str | None = None,
             headers: str | None = "6.18.1", release: str = "6.18.1", tracefs: bool = True) -> Environment:
    modules = tmp_path / "modules" / release
    if headers is not None:
        gen = modules / "build/include/generated"
        gen.mkdir(parents=True)
        (gen / "utsrelease.h").write_text(f'#define UTS_RELEASE "{headers}"\n')
    trace = tmp_path / "tracing"
    if tracefs:
        fmt = trace / bpf_env.PROBE_FORMAT
        fmt.parent.mkdir(parents=True)
        fmt.write_text("format:\n")
    return Environment(euid=euid, cap_eff=cap, release=release, modules_dir=modules,
                       tracefs_dirs=(trace,), bcc_error=bcc_error, env={})


def test_parse_cap_eff() -> None:
    assert parse_cap_eff(STATUS) == 0x1FFFEFFFFFF
    assert parse_cap_eff("Name: x\n") == 0
    assert parse_cap_eff("CapEff:\tc000000000\n") == 0xC000000000


def test_all_present_gives_no_problem(tmp_path: Path) -> None:
    assert check_preconditions(make_env(tmp_path), mount=False) == []


def test_bcc_missing_is_first_and_fatal(tmp_path: Path) -> None:
    problems = check_preconditions(make_env(tmp_path, bcc_error="ModuleNotFoundError: No module named 'bcc'",
                                            cap=0), mount=False)
    assert problems[0].fatal and "bcc is not importable" in problems[0].what
    assert "python3-bpfcc" in problems[0].fix
    assert "privileges" in problems[1].what  # both fatal ones are reported, in fixing order
    assert len(problems) == 2


def test_unprivileged_user_message(tmp_path: Path) -> None:
    (problem,) = check_preconditions(make_env(tmp_path, cap=0, euid=65534), mount=False)
    assert problem.fatal and "not root" in problem.what
    assert "CAP_BPF+CAP_PERFMON" in problem.fix
    assert "all local eBPF views" in problem.line()


def test_bpf_and_perfmon_caps_are_enough(tmp_path: Path) -> None:
    assert check_preconditions(make_env(tmp_path, cap=0xC000000000, euid=65534), mount=False) == []


def test_tracefs_missing_turns_off_tracepoint_views_only(tmp_path: Path) -> None:
    (problem,) = check_preconditions(make_env(tmp_path, tracefs=False), mount=False)
    assert not problem.fatal
    assert "raw tracepoints only" in problem.what and "mount -t tracefs" in problem.fix
    assert bpf_env.VIEW_COUNTS not in problem.disables
    assert bpf_env.VIEW_OPENS in problem.disables


def test_other_version_headers_are_accepted_and_said(tmp_path: Path) -> None:
    (problem,) = check_preconditions(make_env(tmp_path, headers="6.1.0-56-amd64"), mount=False)
    assert not problem.fatal and problem.disables == ()
    assert "6.1.0-56-amd64" in problem.line() and "6.18.1" in problem.line()


def test_missing_headers_name_the_package(tmp_path: Path) -> None:
    (problem,) = check_preconditions(make_env(tmp_path, headers=None), mount=False)
    assert problem.fatal and "linux-headers-6.18.1" in problem.fix


def test_problem_line_is_one_line() -> None:
    line = Problem("x missing", "do y", ("file opens",)).line()
    assert line == "x missing; do y (turns off: file opens)"
    assert "\n" not in Problem("a", "b", ALL_VIEWS, True).line()


def test_explain_never_leaves_bccs_bare_message() -> None:
    bare = "Failed to compile BPF module <text>"
    assert explain(bare, "could not open bpf map: c, error: Operation not permitted\n").startswith("not permitted")
    assert explain(bare, "Unable to find kernel headers. Try rebuilding\n").startswith("kernel headers not found")
    msg = explain(bare, "/virtual/main.c:1:5: error: use of undeclared identifier 'x'\n")
    assert msg.startswith("BPF C compile error") and "undeclared identifier" in msg
    assert "Failed to compile" not in explain(bare, "")


@pytest.mark.kernel
def test_tiny_program_loads_counts_and_detaches() -> None:
    assert not bpf_env.fatal(check_preconditions(mount=False))
    text = """
BPF_ARRAY(hits, u64, 1);
RAW_TRACEPOINT_PROBE(sys_enter) {
    if ((bpf_get_current_pid_tgid() >> 32) != TARGET) return 0;
    if (ctx->args[1] != 110 && ctx->args[1] != 173) return 0;  /* getppid on x86_64 / arm64 */
    int zero = 0; u64 *v = hits.lookup(&zero); if (v) __sync_fetch_and_add(v, 1);
    return 0;
}
"""
    bpf = load_bpf(text, cflags=[f"-DTARGET={os.getpid()}"])
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        for _ in range(1000):
            libc.getppid()  # glibc does not cache getppid
        assert bpf["hits"][ctypes.c_int(0)].value == 1000
    finally:
        close_bpf(bpf)
    assert bpf.raw_tracepoint_fds == {}
    close_bpf(None)


@pytest.mark.kernel
def test_compile_error_is_explained() -> None:
    with pytest.raises(BpfUnavailable) as info:
        load_bpf("RAW_TRACEPOINT_PROBE(sys_enter) { return not_declared; }")
    assert "not_declared" in str(info.value)
    assert "Failed to compile" not in str(info.value)
