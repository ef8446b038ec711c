"""Naming sampled addresses: ELF symbol tables through a live process's mappings, kallsyms, and
`module+0xoffset` with named=False where there is nothing to name a frame with."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.hotchain import HotChain, build
from tui.sources.symbols import KernelSymbols, Symbolizer, parse_maps, read_elf


def nm_address(binary: Path, name: str) -> int:
    out = subprocess.run(["nm", str(binary)], check=True, capture_output=True, text=True).stdout
    return next(int(line.split()[0], 16) for line in out.splitlines() if line.endswith(f" {name}"))


@pytest.fixture(scope="module")
def binaries(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("symbols")
    return build(directory), build(directory, strip=True)


@pytest.fixture
def running(binaries: tuple[Path, Path]) -> Iterator[tuple[HotChain, HotChain]]:
    plain, stripped = HotChain(binaries[0], 1, "ebtsym"), HotChain(binaries[1], 1, "ebtsym2")
    yield plain, stripped
    plain.stop()
    stripped.stop()


def load_base(pid: int, binary: Path) -> int:
    maps = parse_maps(Path(f"/proc/{pid}/maps").read_text())
    text = next(m for m in maps if m.path == str(binary))
    return text.start - text.offset  # the first PT_LOAD of a gcc PIE starts at vaddr 0


def test_elf_reader_agrees_with_nm(binaries: tuple[Path, Path]) -> None:
    symbols = read_elf(str(binaries[0]))
    for name in ("main", "ebt_outer", "ebt_middle", "ebt_leaf"):
        address = nm_address(binaries[0], name)
        assert symbols.lookup(address) == name
        assert symbols.lookup(address + 3) == name
    assert read_elf(str(binaries[1])).lookup(nm_address(binaries[0], "ebt_leaf")) is None


def test_user_frames_through_the_process_mappings(binaries: tuple[Path, Path],
                                                   running: tuple[HotChain, HotChain]) -> None:
    plain, stripped = running
    symbolizer = Symbolizer()
    base = load_base(plain.pid, binaries[0])
    frame = symbolizer.user_frame(plain.pid, base + nm_address(binaries[0], "ebt_leaf") + 4)
    assert (frame.name, frame.module, frame.named) == ("ebt_leaf", "hotchain", True)
    # a second process of another binary, then the first again: one symbol table read per binary
    leaf = nm_address(binaries[0], "ebt_leaf")
    unnamed = symbolizer.user_frame(stripped.pid, load_base(stripped.pid, binaries[1]) + leaf + 4)
    assert unnamed.named is False
    assert unnamed.name == f"hotchain-stripped+0x{leaf + 4:x}"  # the file offset: text starts at 0
    symbolizer.user_frame(plain.pid, base + nm_address(binaries[0], "main"))
    assert symbolizer.binaries_read == 2


def test_address_outside_every_mapping(running: tuple[HotChain, HotChain]) -> None:
    frame = Symbolizer().user_frame(running[0].pid, 0x10)
    assert frame.named is False and frame.module == "[unknown]"


def test_gone_process_is_unnamed_not_an_error() -> None:
    frame = Symbolizer().user_frame(2**22 + 12345, 0x401000)
    assert frame.named is False


@pytest.mark.skipif(os.geteuid() != 0, reason="kallsyms addresses are zero for non-root")
def test_kernel_symbols_from_kallsyms() -> None:
    wanted = "vfs_read"
    address = next(int(line.split()[0], 16) for line in Path("/proc/kallsyms").read_text().splitlines()
                   if line.split()[2] == wanted)
    kernel = KernelSymbols()
    frame = kernel.frame(address + 8)
    assert (frame.name, frame.module, frame.kernel, frame.named) == (wanted, "[kernel]", True, True)


def test_kallsyms_hidden_gives_unnamed_frames(tmp_path: Path) -> None:
    fake = tmp_path / "kallsyms"
    fake.write_text("0000000000000000 T _stext\n0000000000000000 T vfs_read\n")
    frame = KernelSymbols(str(fake)).frame(0xFFFFFFFF81000010)
    assert frame.named is False and frame.name.startswith("[kernel]+0x")
