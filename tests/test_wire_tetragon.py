"""Wire compatibility of ebtop's Tetragon schema subset (protos/tetragon/*.proto).

The numbers and types below were checked against cilium/tetragon api/v1/tetragon (tetragon.proto,
events.proto, sensors.proto, capabilities.proto, bpf.proto; v1.7.0 per ../shared/notes/tetragon.md,
cross-checked with the vendored api in the tetragon repository and the generated gRPC API reference).
A protobuf reader only sees numbers and wire types, so these tables are what "compatible" means.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor as FD

from tui.proto.tetragon import (
    capabilities_pb2,
    events_pb2,
    sensors_pb2,
    sensors_pb2_grpc,
    tetragon_pb2,
)

MSG, STR, BOOL, U32, I32, U64, I64, BYTES, ENUM = (
    FD.TYPE_MESSAGE, FD.TYPE_STRING, FD.TYPE_BOOL, FD.TYPE_UINT32, FD.TYPE_INT32, FD.TYPE_UINT64,
    FD.TYPE_INT64, FD.TYPE_BYTES, FD.TYPE_ENUM,
)
REP = "repeated"

# message -> field -> (number, type, type name for messages/enums or None, "repeated" or "")
EXPECTED: dict[str, dict[str, tuple]] = {
    "Process": {
        "exec_id": (1, STR), "pid": (2, MSG, "google.protobuf.UInt32Value"),
        "uid": (3, MSG, "google.protobuf.UInt32Value"), "cwd": (4, STR), "binary": (5, STR),
        "arguments": (6, STR), "flags": (7, STR), "start_time": (8, MSG, "google.protobuf.Timestamp"),
        "auid": (9, MSG, "google.protobuf.UInt32Value"), "pod": (10, MSG, "tetragon.Pod"),
        "docker": (11, STR), "parent_exec_id": (12, STR), "refcnt": (13, U32),
        "cap": (14, MSG, "tetragon.Capabilities"), "ns": (15, MSG, "tetragon.Namespaces"),
        "tid": (16, MSG, "google.protobuf.UInt32Value"),
        "process_credentials": (17, MSG, "tetragon.ProcessCredentials"),
        "binary_properties": (18, MSG, "tetragon.BinaryProperties"), "user": (19, MSG, "tetragon.UserRecord"),
        "in_init_tree": (20, MSG, "google.protobuf.BoolValue"),
    },
    "Pod": {
        "namespace": (1, STR), "name": (2, STR), "container": (4, MSG, "tetragon.Container"),
        "pod_labels": (5, MSG, "tetragon.Pod.PodLabelsEntry", REP), "workload": (6, STR),
        "workload_kind": (7, STR), "pod_annotations": (8, MSG, "tetragon.Pod.PodAnnotationsEntry", REP),
    },
    "Container": {
        "id": (1, STR), "name": (2, STR), "image": (3, MSG, "tetragon.Image"),
        "start_time": (4, MSG, "google.protobuf.Timestamp"), "pid": (5, MSG, "google.protobuf.UInt32Value"),
        "maybe_exec_probe": (13, BOOL), "security_context": (14, MSG, "tetragon.SecurityContext"),
    },
    "Image": {"id": (1, STR), "name": (2, STR)},
    "Capabilities": {
        "permitted": (1, ENUM, "tetragon.CapabilitiesType", REP),
        "effective": (2, ENUM, "tetragon.CapabilitiesType", REP),
        "inheritable": (3, ENUM, "tetragon.CapabilitiesType", REP),
    },
    "Namespace": {"inum": (1, U32), "is_host": (2, BOOL)},
    "Namespaces": {name: (number, MSG, "tetragon.Namespace") for number, name in enumerate(
        ("uts", "ipc", "mnt", "pid", "pid_for_children", "net", "time", "time_for_children", "cgroup", "user"),
        start=1)},
    "ProcessCredentials": {
        **{name: (number, MSG, "google.protobuf.UInt32Value") for number, name in enumerate(
            ("uid", "gid", "euid", "egid", "suid", "sgid", "fsuid", "fsgid"), start=1)},
        "securebits": (9, ENUM, "tetragon.SecureBitsType", REP), "caps": (10, MSG, "tetragon.Capabilities"),
        "user_ns": (11, MSG, "tetragon.UserNamespace"),
    },
    "BinaryProperties": {
        "setuid": (1, MSG, "google.protobuf.UInt32Value"), "setgid": (2, MSG, "google.protobuf.UInt32Value"),
        "privileges_changed": (3, ENUM, "tetragon.ProcessPrivilegesChanged", REP),
        "file": (4, MSG, "tetragon.FileProperties"),
    },
    "UserRecord": {"name": (1, STR)},
    "ProcessExec": {
        "process": (1, MSG, "tetragon.Process"), "parent": (2, MSG, "tetragon.Process"),
        "ancestors": (3, MSG, "tetragon.Process", REP),
    },
    "ProcessExit": {
        "process": (1, MSG, "tetragon.Process"), "parent": (2, MSG, "tetragon.Process"), "signal": (3, STR),
        "status": (4, U32), "time": (5, MSG, "google.protobuf.Timestamp"),
        "ancestors": (6, MSG, "tetragon.Process", REP),
    },
    "ProcessKprobe": {
        "process": (1, MSG, "tetragon.Process"), "parent": (2, MSG, "tetragon.Process"),
        "function_name": (3, STR), "args": (4, MSG, "tetragon.KprobeArgument", REP),
        "return": (5, MSG, "tetragon.KprobeArgument"), "action": (6, ENUM, "tetragon.KprobeAction"),
        "kernel_stack_trace": (7, MSG, "tetragon.StackTraceEntry", REP), "policy_name": (8, STR),
        "return_action": (9, ENUM, "tetragon.KprobeAction"), "message": (10, STR), "tags": (11, STR, None, REP),
        "user_stack_trace": (12, MSG, "tetragon.StackTraceEntry", REP),
        "ancestors": (13, MSG, "tetragon.Process", REP),
    },
    "ProcessTracepoint": {
        "process": (1, MSG, "tetragon.Process"), "parent": (2, MSG, "tetragon.Process"), "subsys": (4, STR),
        "event": (5, STR), "args": (6, MSG, "tetragon.KprobeArgument", REP), "policy_name": (7, STR),
        "action": (8, ENUM, "tetragon.KprobeAction"), "message": (9, STR), "tags": (10, STR, None, REP),
        "ancestors": (11, MSG, "tetragon.Process", REP),
    },
    "ProcessLsm": {
        "process": (1, MSG, "tetragon.Process"), "parent": (2, MSG, "tetragon.Process"),
        "function_name": (3, STR), "policy_name": (5, STR), "message": (6, STR),
        "args": (7, MSG, "tetragon.KprobeArgument", REP), "action": (8, ENUM, "tetragon.KprobeAction"),
        "tags": (9, STR, None, REP), "ancestors": (10, MSG, "tetragon.Process", REP), "ima_hash": (11, STR),
    },
    "ProcessUprobe": {
        "process": (1, MSG, "tetragon.Process"), "parent": (2, MSG, "tetragon.Process"), "path": (3, STR),
        "symbol": (4, STR), "policy_name": (5, STR), "message": (6, STR),
        "args": (7, MSG, "tetragon.KprobeArgument", REP), "tags": (8, STR, None, REP),
        "ancestors": (9, MSG, "tetragon.Process", REP), "offset": (10, U64), "ref_ctr_offset": (11, U64),
    },
    "ProcessLoader": {
        "process": (1, MSG, "tetragon.Process"), "path": (2, STR), "buildid": (3, BYTES),
        "parent": (4, MSG, "tetragon.Process"), "ancestors": (5, MSG, "tetragon.Process", REP),
    },
    "KprobeArgument": {
        "string_arg": (1, STR), "int_arg": (2, I32), "skb_arg": (3, MSG, "tetragon.KprobeSkb"),
        "size_arg": (4, U64), "bytes_arg": (5, BYTES), "path_arg": (6, MSG, "tetragon.KprobePath"),
        "file_arg": (7, MSG, "tetragon.KprobeFile"),
        "truncated_bytes_arg": (8, MSG, "tetragon.KprobeTruncatedBytes"),
        "sock_arg": (9, MSG, "tetragon.KprobeSock"), "cred_arg": (10, MSG, "tetragon.KprobeCred"),
        "long_arg": (11, I64), "bpf_attr_arg": (12, MSG, "tetragon.KprobeBpfAttr"),
        "perf_event_arg": (13, MSG, "tetragon.KprobePerfEvent"), "bpf_map_arg": (14, MSG, "tetragon.KprobeBpfMap"),
        "uint_arg": (15, U32), "user_namespace_arg": (16, MSG, "tetragon.KprobeUserNamespace"),
        "capability_arg": (17, MSG, "tetragon.KprobeCapability"), "label": (18, STR),
        "process_credentials_arg": (19, MSG, "tetragon.ProcessCredentials"),
        "user_ns_arg": (20, MSG, "tetragon.UserNamespace"), "module_arg": (21, MSG, "tetragon.KernelModule"),
        "kernel_cap_t_arg": (22, STR), "cap_inheritable_arg": (23, STR), "cap_permitted_arg": (24, STR),
        "cap_effective_arg": (25, STR), "linux_binprm_arg": (26, MSG, "tetragon.KprobeLinuxBinprm"),
        "net_dev_arg": (27, MSG, "tetragon.KprobeNetDev"), "bpf_cmd_arg": (28, ENUM, "tetragon.BpfCmd"),
        "syscall_id": (29, MSG, "tetragon.SyscallId"), "sockaddr_arg": (30, MSG, "tetragon.KprobeSockaddr"),
    },
    "KprobeSock": {
        "family": (1, STR), "type": (2, STR), "protocol": (3, STR), "mark": (4, U32), "priority": (5, U32),
        "saddr": (6, STR), "daddr": (7, STR), "sport": (8, U32), "dport": (9, U32), "cookie": (10, U64),
        "state": (11, STR),
    },
    "KprobeSkb": {
        "hash": (1, U32), "len": (2, U32), "priority": (3, U32), "mark": (4, U32), "saddr": (5, STR),
        "daddr": (6, STR), "sport": (7, U32), "dport": (8, U32), "proto": (9, U32), "sec_path_len": (10, U32),
        "sec_path_olen": (11, U32), "protocol": (12, STR), "family": (13, STR),
    },
    "KprobePath": {"mount": (1, STR), "path": (2, STR), "flags": (3, STR), "permission": (4, STR)},
    "KprobeFile": {"mount": (1, STR), "path": (2, STR), "flags": (3, STR), "permission": (4, STR)},
    "KprobeTruncatedBytes": {"bytes_arg": (1, BYTES), "orig_size": (2, U64)},
    "KprobeCapability": {"value": (1, MSG, "google.protobuf.Int32Value"), "name": (2, STR)},
    "KprobeBpfAttr": {"ProgType": (1, STR), "InsnCnt": (2, U32), "ProgName": (3, STR)},
    "KprobePerfEvent": {"KprobeFunc": (1, STR), "Type": (2, STR), "Config": (3, U64), "ProbeOffset": (4, U64)},
    "KprobeBpfMap": {"MapType": (1, STR), "KeySize": (2, U32), "ValueSize": (3, U32), "MaxEntries": (4, U32),
                     "MapName": (5, STR)},
    "KprobeLinuxBinprm": {"path": (1, STR), "flags": (2, STR), "permission": (3, STR)},
    "KprobeSockaddr": {"family": (1, STR), "addr": (2, STR), "port": (3, U32)},
    "SyscallId": {"id": (1, U32), "abi": (2, STR)},
    "KernelModule": {"name": (1, STR), "signature_ok": (2, MSG, "google.protobuf.BoolValue"),
                     "tainted": (3, ENUM, "tetragon.TaintedBitsType", REP)},
    "StackTraceEntry": {"address": (1, U64), "offset": (2, U64), "symbol": (3, STR), "module": (4, STR)},
    "Test": {"arg0": (1, U64), "arg1": (2, U64), "arg2": (3, U64), "arg3": (4, U64)},
    "Filter": {
        "binary_regex": (1, STR, None, REP), "namespace": (2, STR, None, REP),
        "health_check": (3, MSG, "google.protobuf.BoolValue"), "pid": (4, U32, None, REP),
        "pid_set": (5, U32, None, REP), "event_set": (6, ENUM, "tetragon.EventType", REP),
        "pod_regex": (7, STR, None, REP), "arguments_regex": (8, STR, None, REP), "labels": (9, STR, None, REP),
        "policy_names": (10, STR, None, REP), "capabilities": (11, MSG, "tetragon.CapFilter"),
        "parent_binary_regex": (12, STR, None, REP), "cel_expression": (13, STR, None, REP),
        "parent_arguments_regex": (14, STR, None, REP), "container_id": (15, STR, None, REP),
        "in_init_tree": (16, MSG, "google.protobuf.BoolValue"), "ancestor_binary_regex": (17, STR, None, REP),
        "container_name_regex": (18, STR, None, REP), "namespace_regex": (19, STR, None, REP),
    },
    "CapFilter": {"permitted": (1, MSG, "tetragon.CapFilterSet"), "effective": (2, MSG, "tetragon.CapFilterSet"),
                  "inheritable": (3, MSG, "tetragon.CapFilterSet")},
    "CapFilterSet": {name: (number, ENUM, "tetragon.CapabilitiesType", REP)
                     for number, name in enumerate(("any", "all", "exactly", "none"), start=1)},
    "FieldFilter": {"event_set": (1, ENUM, "tetragon.EventType", REP),
                    "fields": (2, MSG, "google.protobuf.FieldMask"),
                    "action": (3, ENUM, "tetragon.FieldFilterAction"),
                    "invert_event_set": (4, MSG, "google.protobuf.BoolValue")},
    "GetEventsRequest": {
        "allow_list": (1, MSG, "tetragon.Filter", REP), "deny_list": (2, MSG, "tetragon.Filter", REP),
        "aggregation_options": (3, MSG, "tetragon.AggregationOptions"),
        "field_filters": (4, MSG, "tetragon.FieldFilter", REP),
    },
    "AggregationOptions": {"window_size": (1, MSG, "google.protobuf.Duration"), "channel_buffer_size": (2, U64)},
    "AggregationInfo": {"count": (1, U64)},
    "RateLimitInfo": {"number_of_dropped_process_events": (1, U64)},
    "ProcessThrottle": {"type": (1, ENUM, "tetragon.ThrottleType"), "cgroup": (2, STR)},
    "GetEventsResponse": {
        "process_exec": (1, MSG, "tetragon.ProcessExec"), "process_exit": (5, MSG, "tetragon.ProcessExit"),
        "process_kprobe": (9, MSG, "tetragon.ProcessKprobe"),
        "process_tracepoint": (10, MSG, "tetragon.ProcessTracepoint"),
        "process_loader": (11, MSG, "tetragon.ProcessLoader"), "process_uprobe": (12, MSG, "tetragon.ProcessUprobe"),
        "process_throttle": (27, MSG, "tetragon.ProcessThrottle"), "process_lsm": (28, MSG, "tetragon.ProcessLsm"),
        "process_usdt": (29, MSG, "tetragon.ProcessUsdt"), "test": (40000, MSG, "tetragon.Test"),
        "rate_limit_info": (40001, MSG, "tetragon.RateLimitInfo"),
        "node_name": (1000, STR), "time": (1001, MSG, "google.protobuf.Timestamp"),
        "aggregation_info": (1002, MSG, "tetragon.AggregationInfo"), "cluster_name": (1003, STR),
        "node_labels": (1004, MSG, "tetragon.GetEventsResponse.NodeLabelsEntry", REP),
    },
    "GetVersionRequest": {},
    "GetVersionResponse": {"version": (1, STR)},
    "SecurityContext": {"privileged": (1, BOOL)},
    "UserNamespace": {"level": (1, MSG, "google.protobuf.Int32Value"), "uid": (2, MSG, "google.protobuf.UInt32Value"),
                      "gid": (3, MSG, "google.protobuf.UInt32Value"), "ns": (4, MSG, "tetragon.Namespace")},
    "InodeProperties": {"number": (1, U64), "links": (2, MSG, "google.protobuf.UInt32Value")},
    "FileProperties": {"inode": (1, MSG, "tetragon.InodeProperties"), "path": (2, STR)},
    "KprobeNetDev": {"name": (1, STR)},
    "KprobeCred": {
        "permitted": (1, ENUM, "tetragon.CapabilitiesType", REP),
        "effective": (2, ENUM, "tetragon.CapabilitiesType", REP),
        "inheritable": (3, ENUM, "tetragon.CapabilitiesType", REP),
    },
    "KprobeUserNamespace": {"level": (1, MSG, "google.protobuf.Int32Value"),
                            "owner": (2, MSG, "google.protobuf.UInt32Value"),
                            "group": (3, MSG, "google.protobuf.UInt32Value"), "ns": (4, MSG, "tetragon.Namespace")},
    "ProcessUsdt": {
        "process": (1, MSG, "tetragon.Process"), "parent": (2, MSG, "tetragon.Process"), "path": (3, STR),
        "provider": (4, STR), "name": (5, STR), "policy_name": (6, STR), "message": (7, STR),
        "args": (8, MSG, "tetragon.KprobeArgument", REP), "tags": (9, STR, None, REP),
        "ancestors": (10, MSG, "tetragon.Process", REP),
    },
    # sensors.proto: ListTracingPolicies and GetDebug (cilium/tetragon api/v1/tetragon/sensors.proto, main)
    "ListTracingPoliciesRequest": {},
    "ListTracingPoliciesResponse": {"policies": (1, MSG, "tetragon.TracingPolicyStatus", REP)},
    "TracingPolicyStatus": {
        "id": (1, U64), "name": (2, STR), "namespace": (3, STR), "info": (4, STR),
        "sensors": (5, STR, None, REP), "enabled": (6, BOOL), "filter_id": (7, U64), "error": (8, STR),
        "state": (9, ENUM, "tetragon.TracingPolicyState"), "kernel_memory_bytes": (10, U64),
        "mode": (11, ENUM, "tetragon.TracingPolicyMode"), "stats": (12, MSG, "tetragon.TracingPolicyStats"),
    },
    "TracingPolicyStats": {"action_counters": (1, MSG, "tetragon.TracingPolicyActionCounters")},
    "TracingPolicyActionCounters": {name: (number, U64) for number, name in enumerate(
        ("post", "signal", "monitor_signal", "override", "monitor_override", "notify_enforcer",
         "monitor_notify_enforcer", "set", "monitor_set"), start=1)},
    "DumpProcessCacheReqArgs": {"skip_zero_refcnt": (1, BOOL), "exclude_execve_map_processes": (2, BOOL)},
    "ProcessInternal": {
        "process": (1, MSG, "tetragon.Process"), "color": (2, STR),
        "refcnt": (3, MSG, "google.protobuf.UInt32Value"),
        "refcnt_ops": (4, MSG, "tetragon.ProcessInternal.RefcntOpsEntry", REP),
    },
    "DumpProcessCacheResArgs": {"processes": (1, MSG, "tetragon.ProcessInternal", REP)},
    "GetDebugRequest": {"flag": (1, ENUM, "tetragon.ConfigFlag"), "dump": (2, MSG, "tetragon.DumpProcessCacheReqArgs")},
    "GetDebugResponse": {"flag": (1, ENUM, "tetragon.ConfigFlag"), "level": (2, ENUM, "tetragon.LogLevel"),
                         "processes": (3, MSG, "tetragon.DumpProcessCacheResArgs")},
}

MODULES = (tetragon_pb2, events_pb2, sensors_pb2)


def _descriptor(name: str):
    for module in MODULES:
        if name in module.DESCRIPTOR.message_types_by_name:
            return module.DESCRIPTOR.message_types_by_name[name]
    raise KeyError(name)


def _expected_rows() -> list[tuple[str, str, tuple]]:
    return [(message, field, spec) for message, fields in EXPECTED.items() for field, spec in fields.items()]


@pytest.mark.parametrize(("message", "field", "spec"), _expected_rows(),
                         ids=[f"{m}.{f}" for m, f, _ in _expected_rows()])
def test_field_number_and_type_match_upstream(message: str, field: str, spec: tuple) -> None:
    number, kind, type_name, label = (*spec, None, "")[:4]
    descriptor = _descriptor(message)
    assert descriptor.full_name == f"tetragon.{message}"
    fd = descriptor.fields_by_name[field]
    assert fd.number == number
    assert fd.type == kind
    if kind == MSG:
        assert fd.message_type.full_name == type_name
    elif kind == ENUM:
        assert fd.enum_type.full_name == type_name
    assert fd.is_repeated == (label == REP)


def test_every_declared_field_is_checked() -> None:
    """A field added to the schema without a verified number here fails this test."""
    for message, fields in EXPECTED.items():
        declared = set(_descriptor(message).fields_by_name)
        assert declared == set(fields), f"{message}: unchecked {declared - set(fields)}, missing {set(fields) - declared}"


def test_every_declared_message_is_checked() -> None:
    declared = {name for module in MODULES for name in module.DESCRIPTOR.message_types_by_name}
    assert declared == set(EXPECTED)


def test_enum_numbers_match_upstream() -> None:
    event_type = events_pb2.EventType
    assert dict(event_type.items()) == {
        "UNDEF": 0, "PROCESS_EXEC": 1, "PROCESS_EXIT": 5, "PROCESS_KPROBE": 9, "PROCESS_TRACEPOINT": 10,
        "PROCESS_LOADER": 11, "PROCESS_UPROBE": 12, "PROCESS_THROTTLE": 27, "PROCESS_LSM": 28,
        "PROCESS_USDT": 29, "TEST": 40000, "RATE_LIMIT_INFO": 40001,
    }
    # Tetragon's rule: an EventType value equals the number of its oneof field in GetEventsResponse.
    oneof = events_pb2.GetEventsResponse.DESCRIPTOR.oneofs_by_name["event"]
    for fd in oneof.fields:
        assert event_type.Value(fd.name.upper()) == fd.number
    action = tetragon_pb2.KprobeAction
    assert action.Value("KPROBE_ACTION_POST") == 1
    assert action.Value("KPROBE_ACTION_SIGKILL") == 3
    assert action.Value("KPROBE_ACTION_OVERRIDE") == 5
    assert action.Value("KPROBE_ACTION_NOPOST") == 9
    assert action.Value("KPROBE_ACTION_SIGNAL") == 10
    caps = capabilities_pb2.CapabilitiesType
    assert caps.Value("CAP_CHOWN") == 0
    assert caps.Name(1) == "DAC_OVERRIDE"  # upstream's spelling, seen in real exports
    assert caps.Value("CAP_SYS_ADMIN") == 21
    assert caps.Value("CAP_CHECKPOINT_RESTORE") == 40
    assert events_pb2.ThrottleType.Value("THROTTLE_STOP") == 2
    assert events_pb2.FieldFilterAction.Value("EXCLUDE") == 1
    assert dict(sensors_pb2.TracingPolicyState.items()) == {
        "TP_STATE_UNKNOWN": 0, "TP_STATE_ENABLED": 1, "TP_STATE_DISABLED": 2, "TP_STATE_LOAD_ERROR": 3,
        "TP_STATE_ERROR": 4, "TP_STATE_LOADING": 5, "TP_STATE_UNLOADING": 6,
    }
    assert dict(sensors_pb2.TracingPolicyMode.items()) == {
        "TP_MODE_UNKNOWN": 0, "TP_MODE_ENFORCE": 1, "TP_MODE_MONITOR": 2, "TP_MODE_MONITOR_ONLY": 3,
    }
    assert dict(sensors_pb2.ConfigFlag.items()) == {"CONFIG_FLAG_LOG_LEVEL": 0, "CONFIG_FLAG_DUMP_PROCESS_CACHE": 1}
    assert sensors_pb2.LogLevel.Value("LOG_LEVEL_PANIC") == 0
    assert sensors_pb2.LogLevel.Value("LOG_LEVEL_TRACE") == 6
    assert sensors_pb2.GetDebugResponse.DESCRIPTOR.oneofs_by_name["arg"].fields[1].name == "processes"
    assert sensors_pb2.TracingPolicyStatus.DESCRIPTOR.fields_by_name["stats"].has_presence


def test_service_paths_match_the_agent() -> None:
    service = sensors_pb2.DESCRIPTOR.services_by_name["FineGuidanceSensors"]
    assert service.full_name == "tetragon.FineGuidanceSensors"
    methods = {m.name: m for m in service.methods}
    assert set(methods) == {"GetEvents", "GetVersion", "ListTracingPolicies", "GetDebug"}
    for name in ("ListTracingPolicies", "GetDebug"):
        assert not methods[name].server_streaming and not methods[name].client_streaming
        assert methods[name].input_type.full_name == f"tetragon.{name}Request"
        assert methods[name].output_type.full_name == f"tetragon.{name}Response"
    assert methods["GetEvents"].server_streaming and not methods["GetEvents"].client_streaming
    assert methods["GetEvents"].input_type.full_name == "tetragon.GetEventsRequest"
    assert methods["GetEvents"].output_type.full_name == "tetragon.GetEventsResponse"
    assert not methods["GetVersion"].server_streaming
    assert hasattr(sensors_pb2_grpc, "FineGuidanceSensorsStub")


def test_generated_code_lives_inside_the_package() -> None:
    assert tetragon_pb2.__name__ == "tui.proto.tetragon.tetragon_pb2"
    assert tetragon_pb2.DESCRIPTOR.package == "tetragon"


def _curl_connect() -> events_pb2.GetEventsResponse:
    process = tetragon_pb2.Process(
        exec_id="d29ya2VyLTE6MTIzNDU2Nzg5OjQyMTE=", binary="/usr/bin/curl",
        arguments="-s https://api.payments.example.com/v1/charge", flags="execve rootcwd",
        parent_exec_id="d29ya2VyLTE6MTExOjQyMTE=", refcnt=1,
    )
    process.pid.value = 4211
    process.uid.value = 0
    process.start_time.FromSeconds(1_700_000_000)
    process.pod.namespace = "shop"
    process.pod.name = "frontend-7d9c5b7f8-x2lqp"
    process.pod.pod_labels["app"] = "frontend"
    process.pod.container.maybe_exec_probe = False
    process.pod.container.pid.value = 7
    process.cap.effective.extend([capabilities_pb2.CAP_NET_RAW, capabilities_pb2.DAC_OVERRIDE])
    kprobe = tetragon_pb2.ProcessKprobe(process=process, function_name="tcp_connect",
                                        policy_name="connect-outside-cluster",
                                        action=tetragon_pb2.KPROBE_ACTION_POST)
    kprobe.args.add(sock_arg=tetragon_pb2.KprobeSock(family="AF_INET", type="SOCK_STREAM", protocol="IPPROTO_TCP",
                                                    saddr="10.0.1.17", daddr="203.0.113.10", sport=41234,
                                                    dport=443, cookie=2**63 + 5))
    kprobe.args.add(size_arg=2**40, label="len")
    response = events_pb2.GetEventsResponse(process_kprobe=kprobe, node_name="worker-1", cluster_name="default")
    response.time.FromNanoseconds(1_700_000_000_123_456_789)
    response.node_labels["zone"] = "a"
    return response


def test_binary_round_trip_keeps_every_field() -> None:
    original = _curl_connect()
    data = original.SerializeToString()
    decoded = events_pb2.GetEventsResponse.FromString(data)
    assert decoded == original
    assert decoded.WhichOneof("event") == "process_kprobe"
    assert decoded.process_kprobe.args[0].WhichOneof("arg") == "sock_arg"
    assert decoded.process_kprobe.args[0].sock_arg.cookie == 2**63 + 5
    assert decoded.process_kprobe.args[1].label == "len"
    # Field 1000 (node_name) is a length-delimited tag: varint (1000 << 3 | 2) = 0xc2 0x3e.
    assert b"\xc2\x3e\x08worker-1" in data


def test_unknown_fields_from_a_newer_agent_survive_binary_decoding() -> None:
    # A newer agent may send fields this schema lacks (e.g. Process.environment_variables=21,
    # KprobeArgument.bpf_prog_arg=31): a reader must skip them, not fail.
    known = _curl_connect().SerializeToString()
    unknown_string_field_77 = bytes([(77 << 3 | 2) & 0x7F | 0x80, (77 << 3 | 2) >> 7, 3]) + b"new"
    decoded = events_pb2.GetEventsResponse.FromString(known + unknown_string_field_77)
    assert decoded.node_name == "worker-1"
    assert decoded.SerializeToString().endswith(unknown_string_field_77)  # kept and re-emitted


EXPORT_LINES = [
    # A process_exec as the JSON exporter writes it, with fields from newer/other versions.
    json.dumps({
        "process_exec": {
            "process": {
                "exec_id": "d29ya2VyLTE6MjAwMDAwMDAwMDo1MTIw", "pid": 5120, "uid": 0, "cwd": "/",
                "binary": "/bin/sh", "arguments": "-c \"curl -s https://objects.storage.example.net/bucket\"",
                "flags": "execve rootcwd clone", "start_time": "2026-01-01T00:00:02.000000001Z",
                "auid": 4294967295, "docker": "3a1b2c3d4e5f60718293a4b5c6d7e8f",
                "parent_exec_id": "d29ya2VyLTE6MTAwMDAwMDAwMDo1MTIw", "refcnt": 1,
                "pod": {"namespace": "tools", "name": "loadgen-84b6c7d5f9-r8vts",
                        "container": {"id": "containerd://3a1b", "name": "loadgen",
                                      "image": {"id": "docker.io/curlimages/curl@sha256:00", "name": "curl:8.5.0"},
                                      "start_time": "2026-01-01T00:00:00Z", "pid": 12,
                                      "maybe_exec_probe": False, "new_container_field": {"x": 1}},
                        "pod_labels": {"app": "loadgen"}, "workload": "loadgen", "workload_kind": "Deployment",
                        "labels": ["k8s:app=loadgen"]},
                "cap": {"effective": ["CAP_CHOWN", "DAC_OVERRIDE", "CAP_A_FUTURE_ONE"]},
                "in_init_tree": False,
                "environment_variables": [{"Key": "PATH", "Value": "/bin"}],
            },
            "parent": {"exec_id": "d29ya2VyLTE6MTAwMDAwMDAwMDo1MTIw", "pid": 5120, "binary": "/bin/sh"},
        },
        "node_name": "worker-2", "time": "2026-01-01T00:00:02.000000001Z", "cluster_name": "default",
        "some_future_top_level": 7,
    }),
    # A kprobe whose argument kind this schema does not declare, next to ones it does.
    json.dumps({
        "process_kprobe": {
            "process": {"exec_id": "eA==", "pid": 1, "binary": "/usr/bin/cat"},
            "function_name": "fd_install", "policy_name": "sensitive-files", "action": "KPROBE_ACTION_SIGKILL",
            "args": [{"int_arg": 3}, {"file_arg": {"path": "/etc/shadow", "permission": "-rw-r-----"}},
                     {"bpf_prog_arg": {"ProgType": "BPF_PROG_TYPE_KPROBE"}}, {"size_arg": "18446744073709551615"}],
            "return_action": "KPROBE_ACTION_NEW_IN_A_LATER_RELEASE",
            "data": {"whatever": True},
        },
        "node_name": "worker-1", "time": "2026-01-01T00:00:03Z",
    }),
    # An exit of a fork child (exec id never exec'd) killed by a signal.
    json.dumps({
        "process_exit": {"process": {"exec_id": "Zm9yaw==", "pid": 99, "binary": "/app/api", "flags": "clone"},
                         "signal": "SIGKILL", "status": 0, "time": "2026-01-01T00:00:04.5Z"},
        "node_name": "worker-2", "time": "2026-01-01T00:00:04.5Z",
    }),
    json.dumps({"process_throttle": {"type": "THROTTLE_START", "cgroup": "/kubepods/besteffort/pod1"},
                "node_name": "worker-1", "time": "2026-01-01T00:00:05Z"}),
]


def _parse(line: str) -> events_pb2.GetEventsResponse:
    return json_format.Parse(line, events_pb2.GetEventsResponse(), ignore_unknown_fields=True)


def test_export_lines_parse_ignoring_unknown_fields() -> None:
    exec_event, kprobe_event, exit_event, throttle_event = (_parse(line) for line in EXPORT_LINES)

    process = exec_event.process_exec.process
    assert process.pid.value == 5120 and process.uid.value == 0 and process.HasField("uid")
    assert process.auid.value == 4294967295
    assert process.arguments == '-c "curl -s https://objects.storage.example.net/bucket"'
    assert process.pod.container.pid.value == 12 and process.pod.workload_kind == "Deployment"
    assert dict(process.pod.pod_labels) == {"app": "loadgen"}
    assert list(process.cap.effective) == [capabilities_pb2.CAP_CHOWN, capabilities_pb2.DAC_OVERRIDE]
    assert process.HasField("in_init_tree") and not process.in_init_tree.value
    assert exec_event.time.nanos == 1 and exec_event.cluster_name == "default"
    assert exec_event.process_exec.parent.exec_id == process.parent_exec_id

    kprobe = kprobe_event.process_kprobe
    assert kprobe.action == tetragon_pb2.KPROBE_ACTION_SIGKILL
    assert kprobe.return_action == tetragon_pb2.KPROBE_ACTION_UNKNOWN
    assert [arg.WhichOneof("arg") for arg in kprobe.args] == ["int_arg", "file_arg", None, "size_arg"]
    assert kprobe.args[1].file_arg.path == "/etc/shadow"
    assert kprobe.args[3].size_arg == 2**64 - 1

    assert exit_event.process_exit.signal == "SIGKILL" and exit_event.process_exit.time.nanos == 500_000_000
    assert throttle_event.process_throttle.type == events_pb2.THROTTLE_START


def test_strict_parse_rejects_what_lenient_parse_skips() -> None:
    """Proves the lines above really carry unknown fields, so the lenient test is not vacuous."""
    for line in EXPORT_LINES[:2]:
        with pytest.raises(json_format.ParseError):
            json_format.Parse(line, events_pb2.GetEventsResponse())


def test_json_round_trip_uses_proto_names() -> None:
    original = _curl_connect()
    text = json_format.MessageToJson(original, preserving_proto_field_name=True)
    as_dict = json.loads(text)
    sock = as_dict["process_kprobe"]["args"][0]["sock_arg"]
    assert sock["cookie"] == str(2**63 + 5)  # 64-bit integers are strings in protojson
    assert as_dict["process_kprobe"]["process"]["cap"]["effective"] == ["CAP_NET_RAW", "DAC_OVERRIDE"]
    assert as_dict["time"] == "2023-11-14T22:13:20.123456789Z"
    assert _parse(text) == original


# Real events from upstream repositories and docs; sample_events.sources.jsonl says where each is from.
SAMPLE_EVENTS = Path(__file__).resolve().parent / "data" / "upstream" / "sample_events.jsonl"


def test_real_sample_events_parse_and_round_trip() -> None:
    """Every real captured event parses; modern ones (strict upstream parse) survive a JSON round trip.

    Some lines come from the 2022 book and pre-v1.1 docs (Pod.labels, kprobe stack_trace): those
    fields were already dropped by the fixture builder and are recorded in the sources file.
    """
    path = SAMPLE_EVENTS
    lines = path.read_text(encoding="utf-8").splitlines()
    sources_path = path.with_name("sample_events.sources.jsonl")
    sources = [json.loads(line) for line in sources_path.read_text(encoding="utf-8").splitlines()]
    assert len(lines) >= 50 and len(sources) == len(lines)

    modern = parsed = 0
    kinds: set[str] = set()
    for line, source in zip(lines, sources, strict=True):
        message = _parse(line)
        parsed += 1
        kinds.add(message.WhichOneof("event"))
        if source.get("strict_protojson_parse_of_raw", True):
            modern += 1
            json_format.Parse(line, events_pb2.GetEventsResponse())  # no unknown field at all
            back = json_format.MessageToDict(message, preserving_proto_field_name=True)
            assert back == json.loads(line), line[:120]
    assert parsed == len(lines)
    assert modern >= 70
    assert {"process_exec", "process_exit", "process_kprobe"} <= kinds
