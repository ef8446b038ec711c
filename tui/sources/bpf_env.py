"""Can ebtop run bcc programs here, and if not, why not: one checked line per missing piece.

bcc's own failure text ("Failed to compile BPF module <text>") hides the real cause (no privileges,
no headers, no tracefs), so the preconditions are checked before bcc is touched, in the order a
person would fix them, and `load_bpf` turns whatever bcc printed into a message that names the cause.
No Textual here: batch mode and the Processes helper's local exec source use it too.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Views the local eBPF programs feed; a Problem lists which of them it turns off.
VIEW_COUNTS = "syscall counts"
VIEW_FAILED = "failed syscalls"
VIEW_LATENCY = "syscall time"
VIEW_OPENS = "file opens"
VIEW_RETRANS = "TCP retransmits"
VIEW_CONNLAT = "TCP connect latency"
VIEW_SLOWIO = "slow block I/O"
VIEW_COST = "ebtop's BPF cost"
VIEW_EXEC = "local process events"
ALL_VIEWS: tuple[str, ...] = (
    VIEW_COUNTS, VIEW_FAILED, VIEW_LATENCY, VIEW_OPENS, VIEW_RETRANS, VIEW_CONNLAT,
    VIEW_SLOWIO, VIEW_COST, VIEW_EXEC,
)
# Views that need `TRACEPOINT_PROBE` (tracefs); syscall counts run on raw tracepoints.
TRACEPOINT_VIEWS: tuple[str, ...] = (
    VIEW_FAILED, VIEW_LATENCY, VIEW_OPENS, VIEW_RETRANS, VIEW_CONNLAT, VIEW_SLOWIO, VIEW_EXEC,
)

CAP_SYS_ADMIN = 21
CAP_PERFMON = 38
CAP_BPF = 39
CAP_DAC_READ_SEARCH = 2

TRACEFS_DIRS = (Path("/sys/kernel/tracing"), Path("/sys/kernel/debug/tracing"))
PROBE_FORMAT = "events/raw_syscalls/sys_enter/format"


@dataclass(frozen=True)
class Problem:
    """One missing precondition: what is missing, what to do, which views it turns off."""

    what: str
    fix: str
    disables: tuple[str, ...] = ()
    fatal: bool = False

    def line(self) -> str:
        """The one line shown on the pane and printed by batch mode."""
        text = self.what
        if self.fix:
            text += f"; {self.fix}"
        if self.disables:
            off = "all local eBPF views" if set(self.disables) >= set(ALL_VIEWS) else ", ".join(self.disables)
            text += f" (turns off: {off})"
        elif not self.fatal:
            text += " (note)"
        return text

    __str__ = line  # a source's problems print as their line (batch mode's stderr)


@dataclass
class Environment:
    """Facts the checks read, gathered in one place so tests can give made-up ones."""

    euid: int
    cap_eff: int
    release: str
    modules_dir: Path
    tracefs_dirs: tuple[Path, ...] = TRACEFS_DIRS
    bcc_error: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def current(cls) -> Environment:
        release = os.uname().release
        return cls(
            euid=os.geteuid(),
            cap_eff=read_cap_eff(),
            release=release,
            modules_dir=Path("/lib/modules") / release,
            bcc_error=bcc_import_error(),
            env=dict(os.environ),
        )


class BpfUnavailable(RuntimeError):
    """bcc could not compile, load or attach a program; the message names the real cause."""


# ----------------------------------------------------------------------------- facts


def parse_cap_eff(status_text: str) -> int:
    """The effective capability mask from the text of /proc/<pid>/status (0 when absent)."""
    match = re.search(r"^CapEff:\s*([0-9a-fA-F]+)\s*$", status_text, re.MULTILINE)
    return int(match.group(1), 16) if match else 0


def read_cap_eff(path: str = "/proc/self/status") -> int:
    try:
        return parse_cap_eff(Path(path).read_text())
    except OSError:
        return 0


def has_cap(mask: int, cap: int) -> bool:
    return bool(mask >> cap & 1)


def bcc_import_error() -> str | None:
    """None when `import bcc` works, else the reason in one line."""
    try:
        import bcc  # noqa: F401
    except Exception as exc:  # ImportError, or OSError when libbcc.so cannot be loaded
        return f"{type(exc).__name__}: {exc}"
    return None


def header_release(build_dir: Path) -> str | None:
    """The kernel release the headers under `build_dir` were made for, when they say."""
    uts = build_dir / "include/generated/utsrelease.h"
    try:
        match = re.search(r'UTS_RELEASE\s+"([^"]+)"', uts.read_text())
        if match:
            return match.group(1)
    except OSError:
        pass
    try:
        return (build_dir / "include/config/kernel.release").read_text().strip() or None
    except OSError:
        return None


def tracefs_dir(dirs: tuple[Path, ...] = TRACEFS_DIRS) -> Path | None:
    """The first tracefs mount that exposes the syscall tracepoints, if any."""
    for candidate in dirs:
        if (candidate / PROBE_FORMAT).exists():
            return candidate
    return None


def mount_tracefs(target: Path = TRACEFS_DIRS[0]) -> str | None:
    """Mount tracefs at `target`; None on success, else the reason."""
    try:
        done = subprocess.run(["mount", "-t", "tracefs", "tracefs", str(target)],
                              capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    if done.returncode != 0:
        return done.stderr.strip() or f"mount exited {done.returncode}"
    return None


# ----------------------------------------------------------------------------- checks


def check_bcc(env: Environment) -> list[Problem]:
    if env.bcc_error is None:
        return []
    return [Problem(
        f"bcc is not importable ({env.bcc_error})",
        "install Debian's python3-bpfcc and run ebtop from a venv made with --system-site-packages "
        "(deploy/setup.sh); the PyPI package named bcc is unrelated",
        ALL_VIEWS, fatal=True,
    )]


def check_privileges(env: Environment) -> list[Problem]:
    mask = env.cap_eff
    bpf_ok = has_cap(mask, CAP_SYS_ADMIN) or (has_cap(mask, CAP_BPF) and has_cap(mask, CAP_PERFMON))
    if bpf_ok:
        return []
    who = "not root" if env.euid != 0 else "root without CAP_BPF+CAP_PERFMON or CAP_SYS_ADMIN"
    return [Problem(
        f"eBPF needs privileges ({who}, CapEff {mask:016x})",
        "run as root, or grant CAP_BPF+CAP_PERFMON (and read access to /sys/kernel/tracing), "
        "e.g. setcap or a privileged debug pod",
        ALL_VIEWS, fatal=True,
    )]


def check_tracefs(env: Environment, mount: bool = True) -> list[Problem]:
    if tracefs_dir(env.tracefs_dirs) is not None:
        found = tracefs_dir(env.tracefs_dirs)
        if found is not None and not os.access(found / "events", os.R_OK | os.X_OK):
            return [Problem(
                f"{found} is not readable by this user",
                "add CAP_DAC_READ_SEARCH or run as root; raw tracepoints still work",
                TRACEPOINT_VIEWS,
            )]
        return []
    target = env.tracefs_dirs[0]
    reason = "no CAP_SYS_ADMIN to mount it" if mount else "not mounting it, as asked"
    if mount and has_cap(env.cap_eff, CAP_SYS_ADMIN) and target.is_dir():
        failure = mount_tracefs(target)
        if failure is None and tracefs_dir(env.tracefs_dirs) is not None:
            return [Problem(f"tracefs was not mounted; ebtop mounted it at {target}", "")]
        reason = f"mount failed: {failure}"
    return [Problem(
        f"tracefs is not mounted ({reason}); raw tracepoints only",
        f"run: mount -t tracefs tracefs {target}",
        TRACEPOINT_VIEWS,
    )]


def check_headers(env: Environment) -> list[Problem]:
    if env.env.get("BCC_KERNEL_SOURCE"):
        return []
    build = env.modules_dir / "build"
    if (build / "include").is_dir():
        made_for = header_release(build)
        if made_for is None or made_for == env.release:
            return []
        return [Problem(
            f"kernel headers are for {made_for}, the kernel is {env.release}: "
            "accepted, ebtop's programs read tracepoint fields only",
            "",
        )]
    if Path("/sys/kernel/kheaders.tar.xz").exists():
        return [Problem("no kernel headers; bcc will unpack /sys/kernel/kheaders.tar.xz (slower start)", "")]
    return [Problem(
        f"kernel headers for {env.release} are missing ({build}/include not found)",
        f"apt-get install linux-headers-{env.release}, or mount the host's /lib/modules and /usr/src "
        "into the pod",
        ALL_VIEWS, fatal=True,
    )]


def check_preconditions(env: Environment | None = None, mount: bool = True) -> list[Problem]:
    """Every problem found, in fixing order: bcc, privileges, tracefs, headers.

    A fatal problem stops the checks that depend on it (no point asking about tracefs without bcc).
    """
    env = env if env is not None else Environment.current()
    problems = check_bcc(env)
    problems += check_privileges(env)
    if any(p.fatal for p in problems):
        return problems
    problems += check_tracefs(env, mount=mount)
    problems += check_headers(env)
    return problems


def fatal(problems: list[Problem]) -> bool:
    return any(p.fatal for p in problems)


def disabled_views(problems: list[Problem]) -> set[str]:
    return {view for problem in problems for view in problem.disables}


# ----------------------------------------------------------------------------- loading


def program_text(name: str) -> str:
    """The text of one of ebtop's BPF C files (``bpf/<name>``, installed as ``tui.bpf``).

    An editable install maps only ``tui`` to the source tree, so ``tui.bpf`` may not import there;
    the file is then read from the ``bpf/`` directory next to the ``tui`` package.
    """
    try:
        from tui.bpf import bpf_source
    except ImportError:
        import tui

        return (Path(tui.__file__).resolve().parent.parent / "bpf" / name).read_text()
    return bpf_source(name)

# bcc prints compiler diagnostics on fd 2, which is also where Textual draws: capture it while
# compiling (one compile at a time) and give the text back when nothing went wrong.
_STDERR_LOCK = threading.Lock()

_CAUSES: tuple[tuple[str, str], ...] = (
    (r"Operation not permitted|Need super-user|Permission denied",
     "not permitted: eBPF needs root or CAP_BPF+CAP_PERFMON (and read access to /sys/kernel/tracing)"),
    (r"Unable to find kernel headers|chdir\(/lib/modules|kconfig\.h' file not found|autoconf\.h' file not found",
     "kernel headers not found: install linux-headers-$(uname -r) or mount the host's /lib/modules and /usr/src"),
    (r"tracing/events/[^ ]+: No such file|will not be visible",
     "tracepoint format not readable: tracefs is not mounted at /sys/kernel/tracing (mount -t tracefs tracefs "
     "/sys/kernel/tracing)"),
    (r"[Ii]nvalid argument|R\d+ .*invalid|processed \d+ insns",
     "the kernel's verifier rejected the program"),
)


def explain(bcc_message: str, diagnostics: str) -> str:
    """A message naming the real cause of a bcc failure, with the first useful lines bcc printed."""
    text = f"{bcc_message}\n{diagnostics}"
    cause = next((reason for pattern, reason in _CAUSES if re.search(pattern, text)), None)
    source_dir = os.environ.get("BCC_KERNEL_SOURCE")
    if source_dir and cause is not None and cause.startswith("kernel headers not found"):
        cause = (f"kernel headers not found in BCC_KERNEL_SOURCE={source_dir} (empty, or not a kernel "
                 "source tree with include/ and the generated headers): fix or unset BCC_KERNEL_SOURCE")
    errors = [line.strip() for line in diagnostics.splitlines() if "error" in line.lower()]
    detail = "; ".join(errors[:3])
    if cause is None:
        cause = "BPF C compile error" if errors else "bcc could not load the program"
    parts = [cause]
    if detail:
        parts.append(detail)
    elif bcc_message and "Failed to compile BPF module" not in bcc_message:
        parts.append(bcc_message)
    return ": ".join(parts)


def load_bpf(text: str, cflags: list[str] | None = None, capture_stderr: bool = True) -> Any:
    """Compile, load and auto-attach a bcc program; raise BpfUnavailable naming the cause.

    Blocking and thread-agnostic: call it from a worker thread (the compile releases the GIL).
    If bcc fails half-way through auto-attaching, what it attached is detached again.
    """
    try:
        from bcc import BPF
    except Exception as exc:
        raise BpfUnavailable(f"bcc is not importable ({type(exc).__name__}: {exc})") from exc
    with _STDERR_LOCK, _captured_stderr(capture_stderr) as captured:
        bpf = BPF.__new__(BPF)
        try:
            bpf.__init__(text=text.encode(), cflags=list(cflags or []))
        except Exception as exc:
            close_bpf(bpf)
            captured.failed = True
            raise BpfUnavailable(explain(str(exc), captured.read())) from exc
        finally:
            release_compiler_memory()
    return bpf


# Mapped files whose pages only the compiler touches: once a program is loaded they are dead weight.
COMPILER_LIBRARIES = ("libLLVM", "libclang", "libbcc", "libz3")
MADV_DONTNEED = 4


def release_compiler_memory(maps_path: str = "/proc/self/maps") -> int:
    """Give back what compiling cost: freed heap (malloc_trim) and LLVM's code pages; bytes unmapped.

    bcc compiles in-process with LLVM/clang, and ~60 MiB of its code stays resident after every
    program is loaded (bench/README.md, Memory). Only executable, never-written segments (`r-xp`) are
    dropped: their pages are the file's own, so a later compile faults them back in unchanged, while
    relocated read-only data (RELRO) and writable segments are left alone.
    """
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.malloc_trim(0)
        libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        with open(maps_path) as maps:
            lines = maps.read().splitlines()
    except (OSError, AttributeError):
        return 0
    released = 0
    for line in lines:
        parts = line.split()
        if len(parts) < 6 or parts[1] != "r-xp" or not any(name in parts[5] for name in COMPILER_LIBRARIES):
            continue
        start, end = (int(value, 16) for value in parts[0].split("-"))
        if libc.madvise(start, end - start, MADV_DONTNEED) == 0:
            released += end - start
    return released


def close_bpf(bpf: Any) -> None:
    """Detach and free a BPF object; safe on None and on half-built objects (never `if bpf:`)."""
    if bpf is None:
        return
    try:
        bpf.cleanup()
    except Exception:  # a half-initialised object lacks some attributes; detach what exists
        for name in ("tracepoint_fds", "raw_tracepoint_fds"):
            for key in list(getattr(bpf, name, {}) or {}):
                try:
                    if name == "tracepoint_fds":
                        bpf.detach_tracepoint(key)
                    else:
                        bpf.detach_raw_tracepoint(key)
                except Exception:
                    pass


class _captured_stderr:  # noqa: N801 - used as a context manager
    """Point fd 2 at a temp file; on exit restore it and replay the text unless loading failed."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.failed = False
        self._text = ""
        self._file: Any = None
        self._fds: tuple[int, ...] = ()
        self._saved_fds: list[int] = []

    def __enter__(self) -> _captured_stderr:
        if self.enabled:
            from tui.screen_stream import detached

            # fd 1 too once the screen has its own descriptor: bcc says "Unable to find kernel headers"
            # on stdout (in batch mode stdout is ebtop's output and stays alone).
            self._fds = (1, 2) if detached() else (2,)
            try:
                self._file = tempfile.TemporaryFile()
                self._saved_fds = [os.dup(fd) for fd in self._fds]
                for fd in self._fds:
                    os.dup2(self._file.fileno(), fd)
            except OSError:
                self.enabled = False
        return self

    def read(self) -> str:
        if not self.enabled or self._file is None:
            return ""
        self._file.flush()
        self._file.seek(0)
        return self._file.read().decode("utf-8", "replace")

    def __exit__(self, *exc: object) -> None:
        if not self.enabled:
            return
        data = self.read().encode()
        for fd, saved in zip(self._fds, self._saved_fds, strict=True):
            os.dup2(saved, fd)
            os.close(saved)
        self._file.close()
        if data and not self.failed and 1 not in self._fds:  # interactive: fd 2 is the terminal under the screen
            with contextlib.suppress(OSError):
                os.write(2, data)
