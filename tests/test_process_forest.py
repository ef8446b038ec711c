"""Every linking rule of the process forest, with made-up Tetragon events."""

from __future__ import annotations

import pytest
from google.protobuf import json_format

from tui.model.processes import ProcessForest
from tui.proto.tetragon import events_pb2

NODE = "worker-1"
POD = {"namespace": "shop", "name": "api-1", "container": {"name": "api"}}


def proc(exec_id: str, pid: int, binary: str, parent: str = "", *, args: str = "", flags: str = "execve clone",
         start: int = 100, pod: dict | None = None) -> dict:
    data = {"exec_id": exec_id, "pid": pid, "binary": binary, "arguments": args, "flags": flags,
            "parent_exec_id": parent, "start_time": f"1970-01-01T00:{start // 60:02d}:{start % 60:02d}Z", "uid": 0}
    if pod:
        data["pod"] = pod
    return data


def ts(seconds: float) -> str:
    whole = int(seconds)
    return f"1970-01-01T00:{whole // 60:02d}:{whole % 60:02d}.{int(round((seconds - whole) * 1000)):03d}Z"


def exec_(process: dict, parent: dict | None = None, ancestors: list[dict] | None = None, t: float = 100) -> object:
    body: dict = {"process": process}
    if parent:
        body["parent"] = parent
    if ancestors:
        body["ancestors"] = ancestors
    return json_format.ParseDict({"process_exec": body, "node_name": NODE, "time": ts(t)},
                                 events_pb2.GetEventsResponse())


def exit_(process: dict, parent: dict | None = None, *, status: int = 0, signal: str = "", t: float = 101) -> object:
    body: dict = {"process": process, "status": status, "signal": signal}
    if parent:
        body["parent"] = parent
    return json_format.ParseDict({"process_exit": body, "node_name": NODE, "time": ts(t)},
                                 events_pb2.GetEventsResponse())


def kprobe(process: dict, function: str, args: list[dict], parent: dict | None = None, t: float = 100.5,
           policy: str = "p", action: str = "KPROBE_ACTION_POST") -> object:
    body: dict = {"process": process, "function_name": function, "args": args, "policy_name": policy,
                  "action": action}
    if parent:
        body["parent"] = parent
    return json_format.ParseDict({"process_kprobe": body, "node_name": NODE, "time": ts(t)},
                                 events_pb2.GetEventsResponse())


INIT = proc("init", 1, "/sbin/init", "kernel")
KERNEL = proc("kernel", 0, "<kernel>", "kernel", flags="procFS")
BASH = proc("bash", 10, "/bin/bash", "init")
CURL = proc("curl", 11, "/usr/bin/curl", "bash", args="cilium.io")


def test_parent_by_parent_exec_id() -> None:
    forest = ProcessForest()
    forest.add_many([exec_(INIT), exec_(BASH, INIT), exec_(CURL, BASH)])
    assert forest.get("curl").parent_id == "bash"
    assert list(forest.get("bash").children) == ["curl"]
    assert [n.exec_id for n in forest.chain(forest.get("curl"))] == ["init", "bash"]


def test_placeholders_from_parent_and_ancestors() -> None:
    forest = ProcessForest()
    forest.add(exec_(CURL, parent=BASH, ancestors=[INIT]))
    bash, init = forest.get("bash"), forest.get("init")
    assert bash.placeholder and not bash.seen_exec and bash.binary == "/bin/bash"
    assert init.placeholder and init.binary == "/sbin/init"
    assert forest.get("curl").parent_id == "bash" and bash.parent_id == "init"
    forest.add(exec_(BASH, INIT))  # the real exec upgrades the placeholder, keeping its children
    assert not forest.get("bash").placeholder and list(forest.get("bash").children) == ["curl"]


def test_exec_without_clone_replaces_image_and_keeps_history() -> None:
    forest = ProcessForest()
    sh = proc("sh", 20, "/bin/sh", "bash", args='-c "curl x"')
    curl_in_place = proc("curl2", 20, "/usr/bin/curl", "sh", args="x", flags="execve rootcwd")
    forest.add_many([exec_(BASH), exec_(sh, BASH), kprobe(sh, "tcp_connect", []), exec_(curl_in_place, sh)])
    assert forest.get("sh") is forest.get("curl2")  # the old id resolves to the new image
    node = forest.get("curl2")
    assert node.parent_id == "bash" and list(forest.get("bash").children) == ["curl2"]
    assert node.history == (("sh", "/bin/sh", '-c "curl x"'),)
    assert node.event_count == 1
    assert "sh" not in forest.nodes


def test_replacement_before_the_replaced_exec_arrives() -> None:
    forest = ProcessForest()
    sh = proc("sh", 20, "/bin/sh", "bash", args='-c "curl x"')
    curl_in_place = proc("curl2", 20, "/usr/bin/curl", "sh", args="x", flags="execve rootcwd")
    forest.add_many([exec_(BASH), kprobe(curl_in_place, "tcp_connect", [], parent=sh), exec_(curl_in_place, sh),
                     exec_(sh, BASH)])
    node = forest.get("curl2")
    assert node.binary == "/usr/bin/curl" and node.parent_id == "bash" and forest.get("sh") is node
    assert node.history == (("sh", "/bin/sh", '-c "curl x"'),)


def test_exec_with_clone_on_same_pid_is_not_a_replacement() -> None:
    forest = ProcessForest()
    forest.add_many([exec_(BASH), exec_(proc("b2", 10, "/bin/b2", "bash"))])
    assert forest.get("b2").parent_id == "bash" and "bash" in forest.nodes


def test_exit_of_never_seen_exec_is_a_forked_child() -> None:
    forest = ProcessForest()
    forest.add(exec_(BASH))
    clone = proc("clone1", 30, "/bin/bash", "bash", flags="clone")
    forest.add(exit_(clone, BASH, status=2))
    node = forest.get("clone1")
    assert node.forked and node.exited and node.status == 2 and node.parent_id == "bash"
    assert node.failed


def test_kernel_self_parent_and_cycles_are_guarded() -> None:
    forest = ProcessForest()
    forest.add_many([exec_(KERNEL), exec_(INIT, KERNEL)])
    assert forest.get("kernel").parent_id == "" and forest.counts["cycles"] >= 1
    assert forest.get("init").parent_id == "kernel"
    a = proc("a", 40, "/a", "b")
    b = proc("b", 41, "/b", "a")
    forest.add_many([exec_(a), exec_(b)])
    assert not (forest.get("a").parent_id == "b" and forest.get("b").parent_id == "a")
    assert len(forest.chain(forest.get("a"))) < 5 and len(forest.chain(forest.get("b"))) < 5
    assert {n.exec_id for n in forest.roots()} >= {"kernel"}


def test_exit_before_exec_and_kprobe_before_exec_land_on_the_same_node() -> None:
    forest = ProcessForest()
    forest.add(exec_(BASH))
    forest.add(kprobe(CURL, "tcp_connect", [{"sock_arg": {"daddr": "1.1.1.1", "dport": 443, "saddr": "10.0.0.1"}}],
                      parent=BASH))
    forest.add(exit_(CURL, BASH, status=0, t=102))
    forest.add(exec_(CURL, BASH, t=101))
    node = forest.get("curl")
    assert node.seen_exec and node.exited and node.event_count == 1 and node.parent_id == "bash"
    assert not node.placeholder and not node.forked
    assert node.flagged and "1.1.1.1" in node.flags_raised[0]
    assert list(forest.get("bash").children) == ["curl"]


def test_child_before_parent_without_parent_message_is_linked_later() -> None:
    forest = ProcessForest()
    forest.add(exec_(CURL))
    assert forest.get("curl").parent_id == "bash" and "bash" not in forest.nodes
    forest.add(exec_(BASH))
    assert list(forest.get("bash").children) == ["curl"]


def test_exit_signal_status_and_lifetime() -> None:
    forest = ProcessForest()
    forest.add(exec_(proc("s", 50, "/bin/sleep", start=100), t=100))
    forest.add(exit_(proc("s", 50, "/bin/sleep", start=100), signal="SIGKILL", t=107.5))
    node = forest.get("s")
    assert node.signal == "SIGKILL" and not node.failed and node.lifetime(1000) == pytest.approx(7.5)


def test_retention_prunes_exited_unless_live_descendants() -> None:
    forest = ProcessForest(retention=60)
    forest.add_many([exec_(BASH, t=100), exec_(CURL, BASH, t=100), exit_(BASH, t=101)])
    forest.prune(now=200)
    assert "bash" in forest.nodes  # curl still runs below it
    forest.add(exit_(CURL, t=150))
    forest.prune(now=205)
    assert "curl" in forest.nodes and "bash" in forest.nodes  # curl exited 55 s ago
    forest.prune(now=211)
    assert "curl" not in forest.nodes and "bash" not in forest.nodes  # both gone, cascade


def test_node_cap_evicts_oldest_exited_first() -> None:
    forest = ProcessForest(max_nodes=10, retention=1e9)
    forest.add(exec_(BASH, t=1))
    for i in range(30):
        p = proc(f"p{i}", 100 + i, "/bin/true", "bash")
        forest.add(exec_(p, t=2 + i))
        forest.add(exit_(p, t=2.5 + i))
    assert len(forest) <= 10
    assert "bash" in forest.nodes and "p29" in forest.nodes and "p0" not in forest.nodes
    assert forest.counts["evicted"] >= 21


def test_node_cap_holds_even_when_nothing_exits() -> None:
    forest = ProcessForest(max_nodes=50)
    for i in range(500):
        forest.add(exec_(proc(f"q{i}", 1000 + i, "/bin/x", f"q{i - 1}" if i else ""), t=i))
    assert len(forest) == 50
    assert forest.get("q499").parent_id == "q498"


def test_grouping_by_node_namespace_pod_container() -> None:
    forest = ProcessForest()
    shim = proc("shim", 5, "/usr/bin/containerd-shim")
    app = proc("app", 6, "/app/api", "shim", pod=POD)
    forest.add_many([exec_(shim), exec_(app, shim)])
    assert forest.get("shim").group == (NODE, "", "", "")
    assert forest.get("app").group == (NODE, "shop", "api-1", "api")
    assert forest.display_parent(forest.get("app")) is None  # shown under its pod, not under the shim
    roots = {n.exec_id for n in forest.roots()}
    assert roots == {"shim", "app"}


def test_policy_events_hang_under_process_with_rendered_arguments() -> None:
    forest = ProcessForest()
    forest.add(exec_(CURL))
    forest.add(kprobe(CURL, "security_file_permission", [{"file_arg": {"path": "/etc/shadow"}}, {"int_arg": 4}],
                      policy="file-monitoring", action="KPROBE_ACTION_SIGKILL"))
    forest.add(kprobe(CURL, "tcp_connect", [{"sock_arg": {"protocol": "IPPROTO_TCP", "saddr": "10.0.0.1",
                                                          "sport": 5, "daddr": "10.0.0.2", "dport": 80}}]))
    node = forest.get("curl")
    first, second = node.policy_events()
    assert (first.function, first.policy, first.action) == ("security_file_permission", "file-monitoring", "SIGKILL")
    assert first.detail.startswith("/etc/shadow") and first.flag == "sensitive file /etc/shadow"
    assert second.detail == "IPPROTO_TCP 10.0.0.1:5 -> 10.0.0.2:80" and second.flag == ""
    assert node.flags_raised == ("sensitive file /etc/shadow",)


def test_change_log_reports_added_updated_removed() -> None:
    forest = ProcessForest(retention=1)
    forest.add(exec_(BASH, t=1))
    added, _, removed, _ = forest.take_changes()
    assert added == ["bash"] and not removed
    forest.add(exit_(BASH, t=2))
    added, updated, _, _ = forest.take_changes()
    assert not added and "bash" in updated
    forest.prune(now=10)
    _, _, removed, _ = forest.take_changes()
    assert removed == ["bash"]
