#!/usr/bin/env bash
# Merge Debian's split linux-headers packages (-common + -<arch>) into one tree at DEST.
# bcc's BCC_KERNEL_SOURCE only works with a merged tree; the image uses it when the node has no headers.
set -euo pipefail
dest="${1:?usage: merge-headers.sh DEST}"
arch="$(dpkg --print-architecture)"
build="$(ls -d /usr/src/linux-headers-*-"$arch" 2>/dev/null | sort -V | tail -n 1)"
[ -n "$build" ] || { echo "merge-headers: no /usr/src/linux-headers-*-$arch (run deploy/setup.sh first)" >&2; exit 1; }
common="${build%-"$arch"}-common"
rm -rf "$dest" && mkdir -p "$dest"
cp -a "$common/." "$dest/"
cp -a "$build/." "$dest/"
echo "merge-headers: $dest from $(basename "$common") + $(basename "$build")"
