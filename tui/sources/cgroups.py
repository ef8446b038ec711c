"""pid or cgroup id -> container and pod, from the cgroup paths the kubelet creates.

A process's cgroup (`/proc/PID/cgroup`) names its pod and container on a Kubernetes node: the
kubelet puts every container under `kubepods`, with the pod UID and the container id in the path,
for both cgroup drivers:

    systemd:  /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<UID_with_underscores>.slice/
              cri-containerd-<ID>.scope   (docker-<ID>.scope, crio-<ID>.scope)
    cgroupfs: /kubepods/burstable/pod<UID>/<ID>   (/kubepods/pod<UID>/<ID> for guaranteed pods)

BPF programs key by `bpf_get_current_cgroup_id()`, the inode number of the cgroup v2 directory, so
`CgroupResolver.by_id` walks the cgroup2 mount to map ids back to paths. Pod names are not in the
path: `PodNames` learns UID -> namespace/name from Tetragon's process info where it is present.
Used by the join (kernel sockets) and by the Syscalls pane's by-container / by-pod counts.
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

_POD_RE = re.compile(r"pod([0-9a-fA-F]{8}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{12})")
_CONTAINER_RE = re.compile(r"^(?:(?:cri-containerd|docker|crio|containerd)-)?([0-9a-f]{64})(?:\.scope)?$")
_QOS = ("burstable", "besteffort")
CGROUP2_MOUNTS = ("/sys/fs/cgroup/unified", "/sys/fs/cgroup")
CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class PodCgroup:
    """What a kubepods cgroup path says: pod UID, container id (64 hex, may be empty) and QoS class."""

    pod_uid: str
    container_id: str
    qos: str
    path: str

    @property
    def short_id(self) -> str:
        """The 12-character id `crictl ps` and `docker ps` print."""
        return self.container_id[:12]


def parse_cgroup_path(path: str) -> PodCgroup | None:
    """The pod and container a cgroup path belongs to, or None outside `kubepods`."""
    if "kubepods" not in path:
        return None
    parts = [p for p in path.split("/") if p]
    uid = ""
    container = ""
    qos = "guaranteed"
    for part in parts:
        low = part.lower()
        for name in _QOS:
            if low in (name, f"kubepods-{name}.slice"):
                qos = name
        match = _POD_RE.search(part)
        if match and not uid:
            uid = match.group(1).replace("_", "-").lower()
            continue
        if uid:
            found = _CONTAINER_RE.match(part)
            if found:
                container = found.group(1)
    if not uid:
        return None
    return PodCgroup(uid, container, qos, path)


def parse_proc_cgroup(text: str) -> str:
    """The cgroup path from `/proc/PID/cgroup` text: the v2 line (`0::/...`), else a kubepods v1 line."""
    v2 = v1 = ""
    for line in text.splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":
            v2 = path
        elif "kubepods" in path and not v1:
            v1 = path
    if "kubepods" in v2 or not v1:
        return v2
    return v1


@dataclass(frozen=True, slots=True)
class PodName:
    namespace: str
    name: str


class PodNames:
    """Pod UID -> namespace/name, learnt from sources that know names (Tetragon's Process.pod)."""

    def __init__(self, capacity: int = CACHE_SIZE) -> None:
        self._names: OrderedDict[str, PodName] = OrderedDict()
        self.capacity = capacity

    def learn(self, uid: str, namespace: str, name: str) -> None:
        if not uid or not name:
            return
        self._names[uid.lower()] = PodName(namespace, name)
        self._names.move_to_end(uid.lower())
        while len(self._names) > self.capacity:
            self._names.popitem(last=False)

    def get(self, uid: str) -> PodName | None:
        return self._names.get(uid.lower())


class CgroupResolver:
    """pid -> PodCgroup and cgroup id -> path, with bounded caches (reads /proc and the cgroup2 mount)."""

    def __init__(self, proc: str = "/proc", cgroup_root: str | None = None, capacity: int = CACHE_SIZE) -> None:
        self.proc = proc
        self.cgroup_root = cgroup_root if cgroup_root is not None else find_cgroup2_root()
        self.capacity = capacity
        self._by_pid: OrderedDict[int, str] = OrderedDict()
        self._by_id: dict[int, str] = {}
        self._scanned = False

    def path_of_pid(self, pid: int) -> str | None:
        """The pid's cgroup path, or None when the process is gone or unreadable."""
        cached = self._by_pid.get(pid)
        if cached is not None:
            return cached
        try:
            text = Path(self.proc, str(pid), "cgroup").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        path = parse_proc_cgroup(text)
        self._by_pid[pid] = path
        while len(self._by_pid) > self.capacity:
            self._by_pid.popitem(last=False)
        return path

    def pod_of_pid(self, pid: int) -> PodCgroup | None:
        path = self.path_of_pid(pid)
        return parse_cgroup_path(path) if path else None

    def forget(self, pid: int) -> None:
        """The pid exited: it may be reused by another container's process."""
        self._by_pid.pop(pid, None)

    def by_id(self, cgroup_id: int) -> str | None:
        """Path (relative to the cgroup2 root, leading `/`) of the cgroup whose inode is `cgroup_id`."""
        path = self._by_id.get(cgroup_id)
        if path is None and self.cgroup_root:
            self.rescan()
            path = self._by_id.get(cgroup_id)
        return path

    def cached(self, cgroup_id: int) -> str | None:
        """The path of an id as of the last scan, without walking the mount (callers that see many
        ids choose when to `rescan`)."""
        return self._by_id.get(cgroup_id)

    def pod_of_id(self, cgroup_id: int) -> PodCgroup | None:
        path = self.by_id(cgroup_id)
        return parse_cgroup_path(path) if path else None

    def rescan(self) -> None:
        """Walk the cgroup2 mount once (new containers since the last scan get their ids)."""
        root = self.cgroup_root
        if not root:
            return
        found: dict[int, str] = {}
        for dirpath, dirnames, _ in os.walk(root):
            try:
                inode = os.stat(dirpath).st_ino
            except OSError:
                continue
            rel = "/" + os.path.relpath(dirpath, root) if dirpath != root else "/"
            found[inode] = rel.replace("/./", "/")
            if len(found) > 16 * self.capacity:
                dirnames.clear()
        self._by_id = found
        self._scanned = True


def find_cgroup2_root(mounts: str = "/proc/self/mounts") -> str | None:
    """Where cgroup v2 is mounted (unified hierarchy), from the mount table."""
    try:
        text = Path(mounts).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2] == "cgroup2":
            return fields[1]
    return None


__all__ = ["CgroupResolver", "PodCgroup", "PodName", "PodNames", "find_cgroup2_root", "parse_cgroup_path",
           "parse_proc_cgroup"]
