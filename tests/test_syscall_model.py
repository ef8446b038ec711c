"""SyscallTop: ranking, views, change against the previous interval, bpftrace-style lines."""

from __future__ import annotations

from tui.model.syscalls import SyscallInterval, SyscallSample, SyscallTop, bpftrace_lines


def interval(samples: list[SyscallSample], seconds: float = 5.0, by_pid: bool = False) -> SyscallInterval:
    return SyscallInterval(at=0.0, seconds=seconds, samples=samples, by_pid=by_pid, failed_counted=True)


def test_by_comm_sums_over_syscalls_and_ranks() -> None:
    top = SyscallTop(arch="x86_64")
    top.add(interval([SyscallSample("loop", 110, 1000), SyscallSample("loop", 0, 10),
                      SyscallSample("dd", 1, 500, failed=5)]))
    rows = top.top(by="comm")
    assert [(r.label, r.count) for r in rows] == [("loop", 1010), ("dd", 500)]
    assert rows[0].rate == 202.0 and rows[0].share == 1.0 and rows[1].share == 500 / 1010
    assert rows[0].change is None


def test_by_syscall_uses_names() -> None:
    top = SyscallTop(arch="x86_64")
    top.add(interval([SyscallSample("a", 110, 7), SyscallSample("b", 110, 3), SyscallSample("b", 999, 1)]))
    assert [(r.label, r.count) for r in top.top(by="syscall")] == [("getppid", 10), ("syscall_999", 1)]


def test_by_pid_needs_pid_samples() -> None:
    top = SyscallTop()
    top.add(interval([SyscallSample("a", 1, 7)]))
    assert top.top(by="pid") == []
    top.add(interval([SyscallSample("a", 1, 7, pid=42), SyscallSample("a", 2, 1, pid=42)], by_pid=True))
    (row,) = top.top(by="pid")
    assert row.key == (42, "a") and row.label == "42 a" and row.count == 8


def test_failed_only_and_sort_by_failures() -> None:
    top = SyscallTop(arch="x86_64")
    top.add(interval([SyscallSample("a", 3, 100, failed=1), SyscallSample("b", 3, 10, failed=9),
                      SyscallSample("c", 3, 50)]))
    assert [r.label for r in top.top(sort="failures")] == ["b", "a", "c"]
    failed = top.top(failed_only=True)
    assert [(r.label, r.count) for r in failed] == [("b", 9), ("a", 1)]


def test_change_against_previous_interval_and_limit() -> None:
    top = SyscallTop()
    top.add(interval([SyscallSample(f"p{i}", 1, 10 + i) for i in range(20)]))
    top.add(interval([SyscallSample(f"p{i}", 1, 20 + i) for i in range(15)] + [SyscallSample("new", 1, 1000)]))
    rows = top.top(limit=10)
    assert len(rows) == 10
    assert rows[0].label == "new" and rows[0].change is None
    assert rows[1].label == "p14" and rows[1].change == 10


def test_bpftrace_lines_match_print_format() -> None:
    top = SyscallTop()
    top.add(interval([SyscallSample("loop", 110, 100035, pid=6315), SyscallSample("dd", 1, 40125, pid=6332)],
                     by_pid=True))
    lines = bpftrace_lines(top.top(by="comm"), at=0.0)
    assert lines[0].startswith("[") and lines[0].endswith("]") and len(lines[0]) == 10
    assert lines[1:] == ["@[dd]: 40125", "@[loop]: 100035"]
    assert bpftrace_lines(top.top(by="pid"), at=0.0)[1:] == ["@[6332, dd]: 40125", "@[6315, loop]: 100035"]


def test_cgroup_labels_name_containers_pods_and_host_cgroups() -> None:
    """The by-container / by-pod labels of cgroup paths as the kubelet writes them (both drivers)."""
    from tui.sources.kernel_syscalls import cgroup_labels

    uid = "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9"
    cid = "0123456789abcdef" * 4
    systemd = (f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{uid.replace('-', '_')}.slice/"
               f"cri-containerd-{cid}.scope")
    assert cgroup_labels(systemd) == (cid[:12], f"pod {uid}")
    assert cgroup_labels(f"/kubepods/pod{uid}/{cid}") == (cid[:12], f"pod {uid}")
    assert cgroup_labels(f"/kubepods/besteffort/pod{uid}") == (f"pod {uid}", f"pod {uid}")  # the pod's own cgroup
    assert cgroup_labels("/system.slice/ssh.service") == ("system.slice/ssh.service", "system.slice/ssh.service")
    assert cgroup_labels("/") == ("/", "/")
