"""Compact lines match `tetra getevents -o compact` (tetragon main) for every event type and kprobe function."""

from __future__ import annotations

import pytest
from google.protobuf import json_format

from tui.proto.tetragon import events_pb2
from tui.render import tetra_compact as tc

POD = {"namespace": "kube-system", "name": "tetragon"}
CURL = {"exec_id": "aWQ=", "pid": 42, "binary": "/usr/bin/curl", "arguments": "cilium.io", "pod": POD}


def event(data: dict) -> events_pb2.GetEventsResponse:
    return json_format.ParseDict(data, events_pb2.GetEventsResponse())


def kprobe(function: str, args: list[dict], process: dict | None = None) -> events_pb2.GetEventsResponse:
    return event({"process_kprobe": {"process": process or CURL, "function_name": function, "args": args}})


def line(data: events_pb2.GetEventsResponse, **kwargs: bool) -> str:
    return tc.render_line(data, **kwargs)


def test_exec_with_pod_and_with_node_name() -> None:
    assert line(event({"process_exec": {"process": CURL}})) == "🚀 process kube-system/tetragon /usr/bin/curl cilium.io"
    host = dict(CURL)
    del host["pod"]
    assert line(event({"process_exec": {"process": host}, "node_name": "my-node"})) == \
        "🚀 process my-node /usr/bin/curl cilium.io"
    # no pod and no node name: an empty source leaves a double space, as upstream
    assert line(event({"process_exec": {"process": host}})) == "🚀 process  /usr/bin/curl cilium.io"


def test_exit_signal_wins_over_status() -> None:
    assert line(event({"process_exit": {"process": CURL, "signal": "SIGKILL", "status": 3}})) == \
        "💥 exit    kube-system/tetragon /usr/bin/curl cilium.io SIGKILL"
    assert line(event({"process_exit": {"process": CURL, "status": 3}})) == \
        "💥 exit    kube-system/tetragon /usr/bin/curl cilium.io 3"
    assert line(event({"process_exit": {"process": CURL}})) == \
        "💥 exit    kube-system/tetragon /usr/bin/curl cilium.io 0"


def test_arguments_with_spaces_and_control_characters_are_go_quoted() -> None:
    proc = dict(CURL, arguments='-c "curl x"')
    assert line(event({"process_exec": {"process": proc}})) == \
        '🚀 process kube-system/tetragon /usr/bin/curl "-c \\"curl x\\""'
    proc = dict(CURL, arguments="a\x1b[2Jb", binary="/tmp/my bin")
    assert line(event({"process_exec": {"process": proc}})) == \
        '🚀 process kube-system/tetragon "/tmp/my bin" "a\\x1b[2Jb"'
    # a quote alone is not a reason to quote (only spaces and non-printables are)
    assert tc.maybe_quote('a"b') == 'a"b'
    assert tc.go_quote("é\u00a0\t\x7f\U0001f600\u200b") == '"é\\u00a0\\t\\x7f\U0001f600\\u200b"'


def test_loader_throttle_uprobe_usdt_lsm_test() -> None:
    assert line(event({"process_loader": {"process": CURL, "path": "/lib/libc.so", "buildid": "AQI="}})) == \
        "🧬 loader  kube-system/tetragon /usr/bin/curl 0102 /lib/libc.so"
    assert line(event({"process_loader": {"process": CURL, "path": "/lib/libc.so"}})) == \
        "🧬 loader  kube-system/tetragon /usr/bin/curl /lib/libc.so"
    assert line(event({"process_throttle": {"type": "THROTTLE_START", "cgroup": "session-429.scope"}})) == \
        "🧬 throttle START session-429.scope"
    assert line(event({"process_throttle": {"type": "THROTTLE_STOP", "cgroup": "session-429.scope"}})) == \
        "🧬 throttle STOP  session-429.scope"
    assert line(event({"process_uprobe": {"process": CURL, "path": "/bin/bash", "symbol": "readline"}})) == \
        "🕵️ uprobe  kube-system/tetragon /usr/bin/curl /bin/bash readline"
    assert line(event({"process_usdt": {"process": CURL, "path": "/bin/py", "provider": "python",
                                        "name": "function__entry"}})) == \
        "🕵️ usdt    kube-system/tetragon /usr/bin/curl /bin/py python function__entry"
    assert line(event({"process_lsm": {"process": CURL, "function_name": "file_open"}})) == \
        "🔒 LSM     kube-system/tetragon /usr/bin/curl file_open"
    assert line(event({"test": {}})) == "TEST EVENT"


def test_tracepoints_raw_syscall_and_other() -> None:
    assert line(event({"process_tracepoint": {"process": CURL, "subsys": "sched", "event": "sched_switch"}})) == \
        "⁉️ tracepoint kube-system/tetragon /usr/bin/curl sched sched_switch"
    raw = {"process_tracepoint": {"process": CURL, "subsys": "raw_syscalls", "event": "sys_enter",
                                  "args": [{"long_arg": "0"}, {"size_arg": "3"}, {"size_arg": "4096"}]}}
    assert line(event(raw)) == \
        "☎  syscall kube-system/tetragon /usr/bin/curl read(unsigned int fd=3, char *buf=0x1000, size_t count=?)"
    raw["process_tracepoint"]["args"] = [{"long_arg": "99999"}]
    assert line(event(raw)).endswith(" unknown")


KPROBES = [
    ("__x64_sys_write", [{"file_arg": {"path": "/etc/password"}}, {"int_arg": 3}, {"size_arg": "1234"}],
     "📝 write   kube-system/tetragon /usr/bin/curl /etc/password 1234 bytes"),
    ("__x64_sys_read", [{"file_arg": {"path": "/etc/password"}}, {"int_arg": 3}, {"size_arg": "10"}],
     "📚 read    kube-system/tetragon /usr/bin/curl /etc/password 10 bytes"),
    ("__x64_sys_write", [], "📝 write   kube-system/tetragon /usr/bin/curl  "),
    ("fd_install", [{"int_arg": 3}, {"file_arg": {"path": "/etc/x"}}], "📬 open    kube-system/tetragon /usr/bin/curl /etc/x"),
    ("fd_install", [], "📬 open    kube-system/tetragon /usr/bin/curl "),
    ("__x64_sys_openat", [{"int_arg": -100}, {"string_arg": "/etc/x"}],
     "📬️ openat  kube-system/tetragon /usr/bin/curl /etc/x"),
    ("__arm64_sys_open", [{"int_arg": 0}, {"string_arg": "/etc/y"}],
     "📬️ open    kube-system/tetragon /usr/bin/curl /etc/y"),
    ("__x64_sys_close", [{"file_arg": {"path": "/etc/x"}}], "📪 close   kube-system/tetragon /usr/bin/curl /etc/x"),
    ("__x64_sys_mount", [{"string_arg": "/dev/vda1"}, {"string_arg": "/mnt"}],
     "💾 mount   kube-system/tetragon /usr/bin/curl /dev/vda1 /mnt"),
    ("__x64_sys_pivot_root", [{"string_arg": "/new"}, {"string_arg": "/old"}],
     "💾 pivot_root kube-system/tetragon /usr/bin/curl /new /old"),
    ("__x64_sys_setuid", [{"int_arg": 0}], "🔑 setuid  kube-system/tetragon /usr/bin/curl 0"),
    ("__x64_sys_clock_settime", [], "⏰ clock_settime kube-system/tetragon /usr/bin/curl"),
    ("__x64_sys_setns", [{"int_arg": 3}, {"int_arg": 0x40000000}], "🔧 setns   kube-system/tetragon /usr/bin/curl net"),
    ("__x64_sys_setns", [{"int_arg": 3}, {"int_arg": 0x20000}], "🔧 setns   kube-system/tetragon /usr/bin/curl mnt"),
    ("proc_exec_connector", [], "🔧 proc_exec_connector kube-system/tetragon /usr/bin/curl"),
    ("tcp_connect", [{"sock_arg": {"saddr": "10.32.0.28", "sport": 45200, "daddr": "104.198.14.52", "dport": 443}}],
     "🔌 connect kube-system/tetragon /usr/bin/curl tcp 10.32.0.28:45200 -> 104.198.14.52:443"),
    ("tcp_close", [{"sock_arg": {"saddr": "10.0.0.1", "sport": 1, "daddr": "10.0.0.2", "dport": 2}}],
     "🧹 close   kube-system/tetragon /usr/bin/curl tcp 10.0.0.1:1 -> 10.0.0.2:2"),
    ("tcp_sendmsg", [{"sock_arg": {"saddr": "10.0.0.1", "sport": 1, "daddr": "10.0.0.2", "dport": 2}},
                     {"int_arg": 1174}],
     "📤 sendmsg kube-system/tetragon /usr/bin/curl tcp 10.0.0.1:1 -> 10.0.0.2:2 bytes 1174"),
    ("bpf_check", [{"bpf_attr_arg": {"ProgType": "BPF_PROG_TYPE_KPROBE", "ProgName": "p", "InsnCnt": 12}}],
     "🐝 bpf_load kube-system/tetragon /usr/bin/curl BPF_PROG_TYPE_KPROBE p instruction count 12"),
    ("security_perf_event_alloc", [{"perf_event_arg": {"Type": "PERF_TYPE_TRACEPOINT", "KprobeFunc": "f"}}],
     "🐝 perf_event_alloc kube-system/tetragon /usr/bin/curl PERF_TYPE_TRACEPOINT f"),
    ("security_bpf_map_alloc", [{"bpf_map_arg": {"MapType": "BPF_MAP_TYPE_HASH", "MapName": "m", "KeySize": 4,
                                                 "ValueSize": 8, "MaxEntries": 10}}],
     "🗺 bpf_map_create kube-system/tetragon /usr/bin/curl BPF_MAP_TYPE_HASH m key size 4 value size 8 max entries 10"),
    ("security_bpf_map_create", [{"bpf_map_arg": {"MapType": "BPF_MAP_TYPE_ARRAY", "MapName": "a", "KeySize": 4,
                                                  "ValueSize": 4, "MaxEntries": 1}}],
     "🗺 bpf_map_create kube-system/tetragon /usr/bin/curl BPF_MAP_TYPE_ARRAY a key size 4 value size 4 max entries 1"),
    ("security_file_permission", [{"file_arg": {"path": "/etc/shadow"}}, {"int_arg": 4}],
     "📚 read    kube-system/tetragon /usr/bin/curl /etc/shadow"),
    ("security_file_permission", [{"file_arg": {"path": "/etc/passwd"}}, {"int_arg": 2}],
     "📝 write   kube-system/tetragon /usr/bin/curl /etc/passwd"),
    ("security_file_permission", [{"file_arg": {"path": "/etc/passwd"}}, {"int_arg": 8}],
     "❓ security_file_permission kube-system/tetragon /usr/bin/curl /etc/passwd"),
    ("security_mmap_file", [{"file_arg": {"path": "/lib/x.so"}}, {"uint_arg": 5}],
     "📝 mmap-rx kube-system/tetragon /usr/bin/curl /lib/x.so"),
    ("security_mmap_file", [], "❓ security_mmap_file kube-system/tetragon /usr/bin/curl "),
    ("security_path_truncate", [{"path_arg": {"path": "/etc/passwd"}}],
     "📝 truncate kube-system/tetragon /usr/bin/curl /etc/passwd"),
    ("security_file_truncate", [{"file_arg": {"path": "/etc/passwd"}}],
     "📝 truncate kube-system/tetragon /usr/bin/curl /etc/passwd"),
    ("commit_creds", [], "❓ syscall kube-system/tetragon /usr/bin/curl commit_creds"),
    ("__x64_sys_setgid", [], "❓ syscall kube-system/tetragon /usr/bin/curl __x64_sys_setgid"),
]


@pytest.mark.parametrize(("function", "args", "expected"), KPROBES, ids=[f"{k[0]}-{i}" for i, k in enumerate(KPROBES)])
def test_kprobe_functions(function: str, args: list[dict], expected: str) -> None:
    assert line(kprobe(function, args)) == expected


def test_paths_with_spaces_are_quoted_in_kprobe_lines() -> None:
    got = line(kprobe("security_mmap_file", [{"file_arg": {"path": "/tmp/x (deleted)"}}, {"uint_arg": 1}]))
    assert got == '📝 mmap-r  kube-system/tetragon /usr/bin/curl "/tmp/x (deleted)"'


def test_caps_trailer_quirk_pads_by_bytes_to_column_120() -> None:
    caps = {"effective": ["CAP_CHOWN"] * 22}
    got = line(event({"process_exec": {"process": dict(CURL, cap=caps)}}))
    head = "🚀 process kube-system/tetragon /usr/bin/curl cilium.io"
    assert got == head + " " + " " * (120 - len(head.encode()) - len("🛑 CAP_SYS_ADMIN")) + "🛑 CAP_SYS_ADMIN"
    # 21 effective capabilities, even with CAP_SYS_ADMIN among them, print no trailer (index-based loop)
    few = {"effective": ["CAP_SYS_ADMIN"] * 21}
    assert line(event({"process_exec": {"process": dict(CURL, cap=few)}})) == head


def test_colour_always_wraps_spans_and_pads_with_empty_caps() -> None:
    got = line(event({"process_exec": {"process": CURL}}), color=True)
    head = ("\x1b[34m🚀 process\x1b[0m \x1b[32mkube-system/tetragon\x1b[0m \x1b[35m/usr/bin/curl\x1b[0m "
            "\x1b[36mcilium.io\x1b[0m")
    caps = "\x1b[35m\x1b[0m"
    assert got == head + " " + " " * (120 - len(head.encode()) - len(caps)) + caps
    throttle = line(event({"process_throttle": {"type": "THROTTLE_START", "cgroup": "c"}}), color=True)
    assert throttle == "\x1b[31m🧬 throttle\x1b[0m \x1b[31mSTART\x1b[0m c"
    exit_line = line(event({"process_exit": {"process": CURL, "status": 1}}), color=True)
    assert "\x1b[31m1\x1b[0m" in exit_line


def test_timestamps_prefix_in_utc_with_nanoseconds() -> None:
    data = event({"process_exec": {"process": CURL}, "time": "1970-01-01T00:00:00Z"})
    assert line(data, timestamps=True) == "1970-01-01T00:00:00.000000000Z 🚀 process kube-system/tetragon /usr/bin/curl cilium.io"
    data = event({"process_exec": {"process": CURL}, "time": "2024-05-06T07:08:09.123456789Z"})
    assert line(data, timestamps=True).startswith("2024-05-06T07:08:09.123456789Z 🚀")


def test_unknown_type_and_missing_process_raise_specific_errors() -> None:
    with pytest.raises(tc.UnknownEventType, match="rate_limit_info"):
        line(event({"rate_limit_info": {"number_of_dropped_process_events": "3"}}))
    with pytest.raises(tc.UnknownEventType):
        line(events_pb2.GetEventsResponse())
    with pytest.raises(tc.MissingProcessInfo):
        line(event({"process_exec": {"parent": CURL}}))


def test_stack_traces_and_ima_hash_follow_the_line() -> None:
    data = event({"process_kprobe": {"process": CURL, "function_name": "f", "kernel_stack_trace": [
        {"address": "4096", "offset": "16", "symbol": "do_sys_open"}],
        "user_stack_trace": [{"address": "255", "offset": "1", "module": "/lib/libc.so"}]}})
    assert tc.render_extra_lines(data) == ["Kernel:", "   0x1000: do_sys_open+0x10", "User:", "   0xff: (/lib/libc.so+0x1)"]
    lsm = event({"process_lsm": {"process": CURL, "function_name": "file_open", "ima_hash": "sha256:ab",
                                 "args": [{"file_arg": {"path": "/etc/x"}}]}})
    assert tc.render_extra_lines(lsm) == ["   /etc/x sha256:ab"]


def test_rich_text_escapes_control_characters_and_keeps_markup_literal() -> None:
    data = event({"process_exec": {"process": dict(CURL, arguments="[/x]", pod={"namespace": "ns", "name": "p\x1bq"})}})
    text = tc.render_text(data)
    assert text.plain == "🚀 process ns/p^[q /usr/bin/curl [/x]"
    assert any(span.style == "magenta" for span in text.spans)
