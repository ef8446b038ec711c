"""Real BPF: syscalls counted per cgroup in the kernel and labelled by container and pod (root only).

A real process is moved into a cgroup v2 directory made for the test: once a plain one (its row is
the cgroup path, as on a host without Kubernetes), once one named as the kubelet names a
container's cgroup (its rows are the container id and the pod UID).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.workload import Workload, build
from tui.model.syscall_names import syscall_number
from tui.model.syscalls import SyscallTop
from tui.sources.cgroups import find_cgroup2_root

pytestmark = pytest.mark.kernel
CALLS = 50_000
POD_UID = "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9"
CONTAINER = "ab" * 32


@pytest.fixture(scope="module")
def workload_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("workload"))


@pytest.fixture
def cgroup_dirs() -> Iterator[list[Path]]:
    made: list[Path] = []
    yield made
    for path in reversed(made):
        if path.exists():
            os.rmdir(path)


def make_cgroup(made: list[Path], *parts: str) -> Path:
    root = find_cgroup2_root()
    if root is None:
        pytest.skip("no cgroup v2 mount")
    path = Path(root)
    for part in parts:
        path = path / part
        if not path.exists():
            path.mkdir()
            made.append(path)
    return path


def count_in(binary: Path, cgroup: Path) -> tuple[SyscallTop, Workload]:
    from tui.sources.kernel_syscalls import SyscallCounter

    counter = SyscallCounter(mode="cgroup")
    try:
        worker = Workload(binary, "ebtcg" + secrets.token_hex(4), "getppid", CALLS)
        (cgroup / "cgroup.procs").write_text(str(worker.pid))
        worker.go()
        assert worker.wait() == 0
        top = SyscallTop()
        top.add(counter.read())
    finally:
        counter.close()
    return top, worker


def getppid_of(top: SyscallTop, path: str) -> int:
    nr = syscall_number("getppid")
    assert top.latest is not None
    return sum(s.count for s in top.latest.samples if s.cgroup == path and s.sysid == nr)


def test_a_plain_cgroup_is_counted_exactly_under_its_path(workload_binary: Path, cgroup_dirs: list[Path]) -> None:
    name = "ebtop-test-" + secrets.token_hex(4)
    cgroup = make_cgroup(cgroup_dirs, name)
    top, _ = count_in(workload_binary, cgroup)
    assert getppid_of(top, f"/{name}") == CALLS
    rows = {row.label: row.count for row in top.top(by="container", limit=1000)}
    assert rows.get(name, 0) >= CALLS  # the workload's own startup calls come on top
    assert {row.label: row.count for row in top.top(by="pod", limit=1000)}.get(name, 0) >= CALLS
    assert top.top(by="comm") == []  # counted by cgroup: no comm rows until the kernel counts by comm


def test_a_kubepods_cgroup_is_labelled_by_container_and_pod(workload_binary: Path, cgroup_dirs: list[Path]) -> None:
    uid = POD_UID.replace("-", "_")
    cgroup = make_cgroup(cgroup_dirs, "kubepods.slice", "kubepods-besteffort.slice",
                         f"kubepods-besteffort-pod{uid}.slice", f"cri-containerd-{CONTAINER}.scope")
    top, _ = count_in(workload_binary, cgroup)
    containers = {row.label: row.count for row in top.top(by="container", limit=1000)}
    pods = {row.label: row.count for row in top.top(by="pod", limit=1000)}
    assert containers.get(CONTAINER[:12], 0) >= CALLS
    assert pods.get(f"pod {POD_UID}", 0) >= CALLS
