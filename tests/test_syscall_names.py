"""The project's own syscall tables: modern numbers are named, unknown ones fall back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tui.model.syscall_names import syscall_name, syscall_number, syscall_table


@pytest.mark.parametrize(("number", "name"), [
    (0, "read"), (39, "getpid"), (110, "getppid"), (257, "openat"), (334, "rseq"), (435, "clone3"),
    (436, "close_range"), (437, "openat2"), (450, "set_mempolicy_home_node"), (451, "cachestat"),
    (462, "mseal"), (469, "file_setattr"), (470, "listns"),
])
def test_x86_64_names(number: int, name: str) -> None:
    assert syscall_name(number, "x86_64") == name


@pytest.mark.parametrize(("number", "name"), [
    (56, "openat"), (63, "read"), (64, "write"), (172, "getpid"), (173, "getppid"), (220, "clone"),
    (221, "execve"), (435, "clone3"), (437, "openat2"), (451, "cachestat"), (462, "mseal"),
])
def test_arm64_names(number: int, name: str) -> None:
    assert syscall_name(number, "aarch64") == name
    assert syscall_name(number, "arm64") == name


def test_unknown_number_falls_back() -> None:
    assert syscall_name(999, "x86_64") == "syscall_999"
    assert syscall_name(5, "riscv-unknown") == "syscall_5"


def test_number_lookup() -> None:
    assert syscall_number("getppid", "x86_64") == 110
    assert syscall_number("getppid", "aarch64") == 173
    assert syscall_number("no_such_call", "x86_64") is None


def test_table_sizes_and_uniqueness() -> None:
    x86 = syscall_table("x86_64")
    assert len(x86) >= 380 and max(x86) == 470
    assert len(set(x86.values())) == len(x86)
    assert len(syscall_table("aarch64")) >= 320


HEADER = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")


@pytest.mark.skipif(not HEADER.exists(), reason="x86_64 uapi header not installed")
def test_agrees_with_installed_uapi_header() -> None:
    found = dict((int(n), name) for name, n in re.findall(r"#define __NR_(\w+) (\d+)", HEADER.read_text()))
    assert found, "header had no syscall numbers"
    table = syscall_table("x86_64")
    assert {n: table.get(n) for n in found} == found
