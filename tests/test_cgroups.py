"""cgroup paths -> pod UID and container id (both kubelet drivers), /proc/PID/cgroup, cgroup ids."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tui.sources.cgroups import (
    CgroupResolver,
    PodNames,
    find_cgroup2_root,
    parse_cgroup_path,
    parse_proc_cgroup,
)

CID = "4f1c2b0a9e8d7c6b5a49382716f5e4d3c2b1a09f8e7d6c5b4a3928171615141a"
UID = "8d3f1a2b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"


@pytest.mark.parametrize("path, qos", [
    (f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID.replace('-', '_')}.slice/"
     f"cri-containerd-{CID}.scope", "burstable"),
    (f"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID.replace('-', '_')}.slice/"
     f"docker-{CID}.scope", "besteffort"),
    (f"/kubepods.slice/kubepods-pod{UID.replace('-', '_')}.slice/crio-{CID}.scope", "guaranteed"),
    (f"/kubepods/burstable/pod{UID}/{CID}", "burstable"),
    (f"/kubepods/pod{UID}/{CID}", "guaranteed"),
])
def test_both_cgroup_drivers(path: str, qos: str) -> None:
    found = parse_cgroup_path(path)
    assert found is not None
    assert (found.pod_uid, found.container_id, found.qos) == (UID, CID, qos)
    assert found.short_id == CID[:12]


def test_pod_level_and_non_pod_paths() -> None:
    pod_only = parse_cgroup_path(f"/kubepods/burstable/pod{UID}")
    assert pod_only is not None and pod_only.pod_uid == UID and pod_only.container_id == ""
    assert parse_cgroup_path("/system.slice/containerd.service") is None
    assert parse_cgroup_path("/user.slice/user-0.slice/session-1.scope") is None
    assert parse_cgroup_path("/kubepods.slice") is None


def test_proc_cgroup_prefers_the_kubepods_line() -> None:
    v2 = f"0::/kubepods/besteffort/pod{UID}/{CID}\n"
    assert parse_proc_cgroup(v2) == f"/kubepods/besteffort/pod{UID}/{CID}"
    hybrid = f"4:memory:/kubepods/pod{UID}/{CID}\n1:cpu:/\n0::/\n"
    assert parse_proc_cgroup(hybrid) == f"/kubepods/pod{UID}/{CID}"
    assert parse_proc_cgroup("0::/init.scope\n") == "/init.scope"


def test_resolver_reads_proc_files(tmp_path: Path) -> None:
    (tmp_path / "77").mkdir()
    (tmp_path / "77" / "cgroup").write_text(f"0::/kubepods/burstable/pod{UID}/{CID}\n")
    resolver = CgroupResolver(proc=str(tmp_path), cgroup_root="")
    pod = resolver.pod_of_pid(77)
    assert pod is not None and pod.container_id == CID
    assert resolver.pod_of_pid(78) is None  # gone: nothing, no error
    resolver.forget(77)
    (tmp_path / "77" / "cgroup").write_text("0::/system.slice/cron.service\n")
    assert resolver.pod_of_pid(77) is None


def test_cgroup_ids_are_directory_inodes(tmp_path: Path) -> None:
    leaf = tmp_path / "kubepods" / "burstable" / f"pod{UID}" / CID
    leaf.mkdir(parents=True)
    resolver = CgroupResolver(proc="/proc", cgroup_root=str(tmp_path))
    assert resolver.by_id(os.stat(leaf).st_ino) == f"/kubepods/burstable/pod{UID}/{CID}"
    found = resolver.pod_of_id(os.stat(leaf).st_ino)
    assert found is not None and found.pod_uid == UID
    assert resolver.by_id(1 << 60) is None


def test_own_process_on_this_machine() -> None:
    resolver = CgroupResolver()
    assert resolver.path_of_pid(os.getpid()) is not None
    root = find_cgroup2_root()
    if root is None:
        pytest.skip("no cgroup2 mount on this machine")
    assert resolver.by_id(os.stat(root).st_ino) == "/"


def test_pod_names_learnt_and_bounded() -> None:
    names = PodNames(capacity=2)
    names.learn(UID.upper(), "shop", "api-1")
    assert names.get(UID) is not None and names.get(UID).name == "api-1"
    names.learn("a", "ns", "x")
    names.learn("b", "ns", "y")
    assert names.get(UID) is None
