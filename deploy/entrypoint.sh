#!/usr/bin/env bash
# Container entrypoint: make the node's eBPF prerequisites visible to ebtop, then run the command.
# Works both in the debug-pod manifest (host paths mounted at the same paths) and under
# `kubectl debug node/NAME --profile=sysadmin` (the node's root filesystem at /host).
set -u
release="$(uname -r)"
note() { printf 'ebtop-entrypoint: %s\n' "$*" >&2; }

# tracefs: mount it if the node did not give it to us (needs CAP_SYS_ADMIN; harmless when refused).
if [ ! -e /sys/kernel/tracing/events ]; then
    mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null && note "mounted tracefs" \
        || note "tracefs not available: tracepoint probes fall back to raw tracepoints where possible"
fi

# Kernel headers: the node's own (mounted, or under /host), else the image's merged fallback tree.
if [ ! -d "/lib/modules/$release/build/include" ]; then
    if [ -d "/host/lib/modules/$release" ]; then
        mkdir -p "/lib/modules/$release" 2>/dev/null
        for link in build source; do
            target="$(readlink "/host/lib/modules/$release/$link" 2>/dev/null)" || continue
            case "$target" in /*) ln -sfn "/host$target" "/lib/modules/$release/$link" 2>/dev/null ;; esac
        done
    fi
    if [ ! -d "/lib/modules/$release/build/include" ] && [ -d /opt/ebtop/kernel-headers/include ]; then
        export BCC_KERNEL_SOURCE=/opt/ebtop/kernel-headers
        note "no headers for $release on this node: using the image's $(cat /opt/ebtop/kernel-headers/include/config/kernel.release 2>/dev/null || echo fallback) headers (fine for ebtop's tracepoint-only programs)"
    fi
fi

# Hubble and Tetragon sockets: as mounted, or under /host with `kubectl debug node/...`.
if [ -z "${HUBBLE_SERVER:-}" ] && [ ! -S /var/run/cilium/hubble.sock ] && [ -S /host/var/run/cilium/hubble.sock ]; then
    export HUBBLE_SERVER=unix:///host/var/run/cilium/hubble.sock
fi
if [ -z "${EBTOP_TETRAGON_SERVER:-}" ] && [ ! -S /var/run/tetragon/tetragon.sock ] && [ -S /host/var/run/tetragon/tetragon.sock ]; then
    export EBTOP_TETRAGON_SERVER=unix:///host/var/run/tetragon/tetragon.sock
fi

exec "$@"
