"""Names for sampled addresses: kernel ones from kallsyms, user ones through each process's mappings.

Why not bcc's `BPF.sym`: its cache is per pid (every process re-reads the symbol tables of libc,
python, ...), it never forgets a pid, and a frame it cannot name comes back as `[unknown]` with no
way to count them. Here ELF symbol tables are read once per binary (keyed by device, inode and
mtime, so the same file seen from two containers is read once and a replaced binary is re-read),
both caches are bounded, and a frame that cannot be named is `module+0xoffset` (the file offset, as
`addr2line -e module` wants it) with `named=False`, so the pane can show how many there are.
Containers are read through `/proc/PID/root`, which is the process's own view of its files.
A small ELF reader (symbol tables and program headers only) is enough; no dependency needed.
"""

from __future__ import annotations

import bisect
import os
import struct
from array import array
from collections import OrderedDict
from dataclasses import dataclass

from tui.model.stacks import Frame

BINARIES = 64  # symbol tables kept (least recently used go first)
PROCESSES = 2048  # process mappings kept
FRAMES = 50_000  # named addresses kept per cache (a hot loop's samples hit the same few addresses)
ELF_MAX_BYTES = 512 * 1024 * 1024

SHT_SYMTAB = 2
SHT_DYNSYM = 11
PT_LOAD = 1
STT_FUNC = 2
STT_GNU_IFUNC = 10


@dataclass(frozen=True, slots=True)
class Mapping:
    start: int
    end: int
    offset: int
    path: str


class ElfSymbols:
    """Function symbols of one ELF file, sorted by address, plus its loadable segments."""

    def __init__(self, addrs: list[int], sizes: list[int], names: list[str],
                 segments: list[tuple[int, int, int]], is_pie: bool) -> None:
        self.addrs = addrs
        self.sizes = sizes
        self.names = names
        self.segments = segments  # (file offset, vaddr, file size) of each PT_LOAD
        self.is_pie = is_pie

    @classmethod
    def empty(cls) -> ElfSymbols:
        return cls([], [], [], [], True)

    def vaddr(self, file_offset: int) -> int | None:
        """The link-time address of a file offset (what the symbol table speaks)."""
        for offset, vaddr, size in self.segments:
            if offset <= file_offset < offset + size:
                return vaddr + file_offset - offset
        return None

    def lookup(self, vaddr: int) -> str | None:
        index = bisect.bisect_right(self.addrs, vaddr) - 1
        if index < 0:
            return None
        start, size = self.addrs[index], self.sizes[index]
        if size == 0 or vaddr < start + size:  # size 0 (assembly): up to the next symbol
            return self.names[index]
        return None


def read_elf(path: str) -> ElfSymbols:
    """Parse a 64-bit little-endian ELF file's symbol tables; empty for anything else."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > ELF_MAX_BYTES:
                return ElfSymbols.empty()
            data = handle.read()
    except OSError:
        return ElfSymbols.empty()
    return parse_elf(data)


def parse_elf(data: bytes) -> ElfSymbols:
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return ElfSymbols.empty()
    try:
        e_type = struct.unpack_from("<H", data, 16)[0]
        phoff, shoff = struct.unpack_from("<QQ", data, 32)
        phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", data, 54)
        segments = []
        for i in range(phnum):
            p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from(
                "<IIQQQQ", data, phoff + i * phentsize)
            if p_type == PT_LOAD:
                segments.append((p_offset, p_vaddr, p_filesz))
        sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
        symbols: dict[int, tuple[int, str]] = {}
        for wanted in (SHT_SYMTAB, SHT_DYNSYM):  # .symtab first: it has the static functions too
            for sh in sections:
                if sh[1] != wanted or sh[9] == 0:
                    continue
                strtab = sections[sh[6]]
                str_off, str_size = strtab[4], strtab[5]
                off, size, entsize = sh[4], sh[5], sh[9]
                for pos in range(off, off + size - entsize + 1, entsize):
                    st_name, st_info, _other, st_shndx, st_value, st_size = struct.unpack_from(
                        "<IBBHQQ", data, pos)
                    kind = st_info & 0xF
                    if kind not in (STT_FUNC, STT_GNU_IFUNC) or st_value == 0 or st_shndx == 0:
                        continue
                    if st_value in symbols and symbols[st_value][0] >= st_size:
                        continue
                    end = data.find(b"\0", str_off + st_name, str_off + str_size)
                    name = data[str_off + st_name:end].decode("utf-8", "replace")
                    symbols[st_value] = (st_size, name)
            if symbols:
                break
    except (struct.error, IndexError):
        return ElfSymbols.empty()
    ordered = sorted(symbols.items())
    return ElfSymbols([a for a, _ in ordered], [s for _, (s, _n) in ordered], [n for _, (_s, n) in ordered],
                      segments, e_type == 3)


def parse_maps(text: str) -> list[Mapping]:
    """Executable file-backed and anonymous mappings from the text of /proc/PID/maps."""
    out = []
    for line in text.splitlines():
        parts = line.split(None, 5)
        if len(parts) < 5 or "x" not in parts[1]:
            continue
        start, _, end = parts[0].partition("-")
        path = parts[5].strip() if len(parts) > 5 else ""
        out.append(Mapping(int(start, 16), int(end, 16), int(parts[2], 16), path))
    out.sort(key=lambda m: m.start)
    return out


class KernelSymbols:
    """/proc/kallsyms text symbols, sorted; module symbols keep their `[module]`.

    Kept compact (about 5 MiB for 120,000 symbols, against 16 MiB as lists of ints and strings):
    addresses in an array, names in one string with an array of offsets, module names interned."""

    def __init__(self, path: str = "/proc/kallsyms") -> None:
        self.path = path
        self.addrs: array[int] = array("Q")
        self._names = ""
        self._starts: array[int] = array("I")
        self._modules: array[int] = array("H")
        self._module_names: list[str] = []
        self.loaded = False
        self.usable = True

    def _load(self) -> None:
        self.loaded = True
        rows = []
        modules: dict[str, int] = {}
        try:
            with open(self.path) as handle:
                for line in handle:
                    parts = line.split()
                    if len(parts) < 3 or parts[1] not in "tTwW":
                        continue
                    module = parts[3].strip("[]") if len(parts) > 3 else "kernel"
                    rows.append((int(parts[0], 16), parts[2], modules.setdefault(module, len(modules))))
        except OSError:
            rows = []
        rows.sort()
        self.addrs = array("Q", (r[0] for r in rows))
        starts, position = array("I"), 0
        for row in rows:
            starts.append(position)
            position += len(row[1])
        starts.append(position)
        self._starts = starts
        self._names = "".join(r[1] for r in rows)
        self._modules = array("H", (r[2] for r in rows))
        self._module_names = list(modules)
        self.usable = any(self.addrs)  # all zero: kptr_restrict hides them

    def __len__(self) -> int:
        return len(self.addrs)

    def name(self, index: int) -> str:
        return self._names[self._starts[index]:self._starts[index + 1]]

    def frame(self, addr: int) -> Frame:
        if not self.loaded:
            self._load()
        index = bisect.bisect_right(self.addrs, addr) - 1
        if index < 0 or not self.usable:
            return Frame(f"[kernel]+0x{addr:x}", "[kernel]", named=False, kernel=True)
        module = self._module_names[self._modules[index]]
        return Frame(self.name(index), "[kernel]" if module == "kernel" else f"[{module}]", named=True, kernel=True)


class Symbolizer:
    """Kernel and user frames for sampled addresses, with bounded per-binary and per-pid caches."""

    def __init__(self, proc: str = "/proc", kallsyms: str = "/proc/kallsyms") -> None:
        self.proc = proc
        self.kernel = KernelSymbols(kallsyms)
        self._binaries: OrderedDict[tuple[int, int, int], ElfSymbols] = OrderedDict()
        self._maps: OrderedDict[int, list[Mapping]] = OrderedDict()
        self._refreshed: set[int] = set()
        self._frames: dict[tuple[int, int], Frame] = {}
        self._kernel_frames: dict[int, Frame] = {}
        self.binaries_read = 0

    def new_interval(self) -> None:
        """Allow each process's mappings to be re-read once more (a library loaded since)."""
        self._refreshed.clear()

    def forget(self, pid: int) -> None:
        self._maps.pop(pid, None)
        self._frames = {key: frame for key, frame in self._frames.items() if key[0] != pid}

    def kernel_frames(self, addrs: list[int]) -> list[Frame]:
        cache = self._kernel_frames
        if len(cache) > FRAMES:
            cache.clear()
        out = []
        for addr in addrs:
            frame = cache.get(addr)
            if frame is None:
                frame = cache[addr] = self.kernel.frame(addr)
            out.append(frame)
        return out

    def user_frames(self, pid: int, addrs: list[int]) -> list[Frame]:
        """Frames of one process's stack; named ones are remembered per (pid, address), unnamed ones are
        asked again (a library mapped since may name them)."""
        cache = self._frames
        if len(cache) > FRAMES:
            cache.clear()
        out = []
        for addr in addrs:
            frame = cache.get((pid, addr))
            if frame is None:
                frame = self.user_frame(pid, addr)
                if frame.named:
                    cache[(pid, addr)] = frame
            out.append(frame)
        return out

    def user_frame(self, pid: int, addr: int) -> Frame:
        mapping = self._mapping(pid, addr)
        if mapping is None:
            return Frame(f"[unknown]+0x{addr:x}", "[unknown]", named=False, kernel=False)
        module = os.path.basename(mapping.path) if mapping.path else "[anon]"
        file_offset = addr - mapping.start + mapping.offset
        if mapping.path.startswith("/"):
            symbols = self._binary(pid, mapping.path)
            vaddr = symbols.vaddr(file_offset)
            name = symbols.lookup(vaddr) if vaddr is not None else None
            if name:
                return Frame(name, module, named=True, kernel=False)
        return Frame(f"{module}+0x{file_offset:x}", module, named=False, kernel=False)

    def _mapping(self, pid: int, addr: int) -> Mapping | None:
        maps = self._maps.get(pid)
        if maps is not None:
            self._maps.move_to_end(pid)
            found = _find(maps, addr)
            if found is not None or pid in self._refreshed:
                return found
        self._refreshed.add(pid)
        try:
            with open(f"{self.proc}/{pid}/maps") as handle:
                maps = parse_maps(handle.read())
        except OSError:
            maps = maps or []  # the process is gone: keep what was known
        self._maps[pid] = maps
        while len(self._maps) > PROCESSES:
            self._maps.popitem(last=False)
        return _find(maps, addr)

    def _binary(self, pid: int, path: str) -> ElfSymbols:
        full = f"{self.proc}/{pid}/root{path}"
        try:
            info = os.stat(full)
        except OSError:
            return ElfSymbols.empty()
        key = (info.st_dev, info.st_ino, info.st_mtime_ns)
        found = self._binaries.get(key)
        if found is not None:
            self._binaries.move_to_end(key)
            return found
        symbols = read_elf(full)
        self.binaries_read += 1
        self._binaries[key] = symbols
        while len(self._binaries) > BINARIES:
            self._binaries.popitem(last=False)
        return symbols


def _find(maps: list[Mapping], addr: int) -> Mapping | None:
    index = bisect.bisect_right(maps, addr, key=lambda m: m.start) - 1
    if index >= 0 and addr < maps[index].end:
        return maps[index]
    return None
