#!/usr/bin/env bash
# ebtop setup: one idempotent script for a fresh Debian 12 machine (and the container image).
#
#   bash deploy/setup.sh          install what `ebtop` needs into ./.venv
#   bash deploy/setup.sh --test   the same, plus the test and lint tools
#
# It installs Debian's python3-bpfcc (bcc is not on PyPI; the PyPI package "bcc" is unrelated and is
# never installed), makes `bcc` importable from the project's venv, mounts tracefs when it is missing,
# and links kernel headers under /lib/modules/$(uname -r) from a Debian linux-headers package when none
# are there. It says what it did and what it could not do; a missing eBPF prerequisite is a warning,
# not a failure, because the Flows and Processes panes work without it.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${EBTOP_VENV:-$here/.venv}"
extras=""
[ "${1:-}" = "--test" ] && extras="[test]"
warnings=()

say()  { printf 'setup: %s\n' "$*"; }
warn() { printf 'setup: WARNING: %s\n' "$*" >&2; warnings+=("$*"); }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi
}

apt_updated=0
apt_install() {
    # Install Debian packages that are missing; update the lists once, only when needed.
    local missing=()
    for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ $apt_updated -eq 0 ]; then
        say "apt-get update"
        as_root apt-get update -qq >/dev/null || { warn "apt-get update failed"; return 1; }
        apt_updated=1
    fi
    say "installing Debian packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# 1. Debian packages: Python with venv, bcc's Python bindings, tmux for terminal tests.
if command -v apt-get >/dev/null; then
    apt_install python3 python3-venv python3-pip python3-bpfcc procps || warn "could not install Debian packages (python3-bpfcc): the Syscalls pane and the local process source will be off"
    if [ -n "$extras" ]; then
        apt_install bpftrace tmux || warn "could not install bpftrace/tmux: their benchmarks and terminal tests will skip"
        # gcc and binutils (nm, strip) build the test programs with known syscalls and call chains
        apt_install gcc binutils || warn "could not install gcc/binutils: the kernel tests that compile a workload will fail"
    fi
else
    warn "not a Debian-like system (no apt-get): install bcc's Python bindings yourself"
fi

# 2. tracefs: bcc reads tracepoint formats from /sys/kernel/tracing.
if [ ! -e /sys/kernel/tracing/events ]; then
    if as_root mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null; then
        say "mounted tracefs at /sys/kernel/tracing"
    else
        warn "tracefs is not mounted and could not be mounted: tracepoint probes will fall back to raw tracepoints where they can"
    fi
else
    say "tracefs present"
fi

# 3. Kernel headers under /lib/modules/$(uname -r)/{build,source}.
release="$(uname -r)"
moddir="/lib/modules/$release"
if [ -d "$moddir/build/include" ]; then
    say "kernel headers present at $moddir/build"
elif command -v apt-get >/dev/null; then
    arch="$(dpkg --print-architecture)"
    if apt-cache show "linux-headers-$release" >/dev/null 2>&1; then
        apt_install "linux-headers-$release" || true
    fi
    if [ ! -d "$moddir/build/include" ]; then
        # No package for this exact kernel (a cloud or VM kernel): tracepoint-only programs compile
        # fine against Debian's current headers, so link those.
        apt_install "linux-headers-$arch" || warn "could not install linux-headers-$arch"
        build_dir="$(ls -d /usr/src/linux-headers-*-"$arch" 2>/dev/null | sort -V | tail -n 1)"
        if [ -n "$build_dir" ]; then
            common_dir="${build_dir%-"$arch"}-common"
            as_root mkdir -p "$moddir"
            as_root ln -sfn "$build_dir" "$moddir/build"
            [ -d "$common_dir" ] && as_root ln -sfn "$common_dir" "$moddir/source"
            say "linked $moddir/build -> $build_dir (headers of another version: fine for ebtop's tracepoint-only programs)"
        else
            warn "no kernel headers found for $release: the Syscalls pane will be off"
        fi
    fi
fi

# 4. The project's virtual environment, made from Debian's python3 (the interpreter bcc is built for).
py=/usr/bin/python3
[ -x "$py" ] || py="$(command -v python3)"
if [ ! -x "$venv/bin/python" ]; then
    say "creating $venv from $py"
    "$py" -m venv "$venv" || { warn "could not create the venv"; exit 1; }
fi
"$venv/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
say "installing ebtop$extras into $venv"
if [ -n "$extras" ]; then
    "$venv/bin/python" -m pip install -q -e "$here$extras" || { warn "pip install failed"; exit 1; }
    # An editable install runs tui/ from the checkout: compile it once, or every launch compiles all of it
    # again where PYTHONDONTWRITEBYTECODE is set (about 0.3 s of start-up here).
    "$venv/bin/python" -m compileall -q "$here/tui" >/dev/null 2>&1 || true
else
    "$venv/bin/python" -m pip install -q "$here" || { warn "pip install failed"; exit 1; }
fi

# 5. Make Debian's bcc module (and only it) importable from the venv.
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
bcc_dir="$(/usr/bin/python3 -c 'import bcc, os; print(os.path.dirname(bcc.__file__))' 2>/dev/null || true)"
if [ -n "$bcc_dir" ]; then
    mkdir -p "$site/_ebtop_system_bcc"
    ln -sfn "$bcc_dir" "$site/_ebtop_system_bcc/bcc"
    echo "$site/_ebtop_system_bcc" > "$site/ebtop-system-bcc.pth"
    if "$venv/bin/python" -c 'import bcc' 2>/dev/null; then say "bcc importable from the venv ($bcc_dir)"; else warn "bcc linked but not importable"; fi
else
    warn "Debian's bcc module is not importable: the Syscalls pane and local process source will be off"
fi

if [ ${#warnings[@]} -eq 0 ]; then
    say "done: everything ebtop needs is in place"
else
    say "done, with ${#warnings[@]} warning(s):"
    printf '  - %s\n' "${warnings[@]}"
fi
exit 0
