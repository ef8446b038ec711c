import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import wrappers_pb2 as _wrappers_pb2
from tui.proto.tetragon import bpf_pb2 as _bpf_pb2
from tui.proto.tetragon import capabilities_pb2 as _capabilities_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TaintedBitsType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TAINT_UNSET: _ClassVar[TaintedBitsType]
    TAINT_PROPRIETARY_MODULE: _ClassVar[TaintedBitsType]
    TAINT_FORCED_MODULE: _ClassVar[TaintedBitsType]
    TAINT_FORCED_UNLOAD_MODULE: _ClassVar[TaintedBitsType]
    TAINT_STAGED_MODULE: _ClassVar[TaintedBitsType]
    TAINT_OUT_OF_TREE_MODULE: _ClassVar[TaintedBitsType]
    TAINT_UNSIGNED_MODULE: _ClassVar[TaintedBitsType]
    TAINT_KERNEL_LIVE_PATCH_MODULE: _ClassVar[TaintedBitsType]
    TAINT_TEST_MODULE: _ClassVar[TaintedBitsType]

class KprobeAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    KPROBE_ACTION_UNKNOWN: _ClassVar[KprobeAction]
    KPROBE_ACTION_POST: _ClassVar[KprobeAction]
    KPROBE_ACTION_FOLLOWFD: _ClassVar[KprobeAction]
    KPROBE_ACTION_SIGKILL: _ClassVar[KprobeAction]
    KPROBE_ACTION_UNFOLLOWFD: _ClassVar[KprobeAction]
    KPROBE_ACTION_OVERRIDE: _ClassVar[KprobeAction]
    KPROBE_ACTION_COPYFD: _ClassVar[KprobeAction]
    KPROBE_ACTION_GETURL: _ClassVar[KprobeAction]
    KPROBE_ACTION_DNSLOOKUP: _ClassVar[KprobeAction]
    KPROBE_ACTION_NOPOST: _ClassVar[KprobeAction]
    KPROBE_ACTION_SIGNAL: _ClassVar[KprobeAction]
    KPROBE_ACTION_TRACKSOCK: _ClassVar[KprobeAction]
    KPROBE_ACTION_UNTRACKSOCK: _ClassVar[KprobeAction]
    KPROBE_ACTION_NOTIFYENFORCER: _ClassVar[KprobeAction]
    KPROBE_ACTION_CLEANUPENFORCERNOTIFICATION: _ClassVar[KprobeAction]
    KPROBE_ACTION_SET: _ClassVar[KprobeAction]
TAINT_UNSET: TaintedBitsType
TAINT_PROPRIETARY_MODULE: TaintedBitsType
TAINT_FORCED_MODULE: TaintedBitsType
TAINT_FORCED_UNLOAD_MODULE: TaintedBitsType
TAINT_STAGED_MODULE: TaintedBitsType
TAINT_OUT_OF_TREE_MODULE: TaintedBitsType
TAINT_UNSIGNED_MODULE: TaintedBitsType
TAINT_KERNEL_LIVE_PATCH_MODULE: TaintedBitsType
TAINT_TEST_MODULE: TaintedBitsType
KPROBE_ACTION_UNKNOWN: KprobeAction
KPROBE_ACTION_POST: KprobeAction
KPROBE_ACTION_FOLLOWFD: KprobeAction
KPROBE_ACTION_SIGKILL: KprobeAction
KPROBE_ACTION_UNFOLLOWFD: KprobeAction
KPROBE_ACTION_OVERRIDE: KprobeAction
KPROBE_ACTION_COPYFD: KprobeAction
KPROBE_ACTION_GETURL: KprobeAction
KPROBE_ACTION_DNSLOOKUP: KprobeAction
KPROBE_ACTION_NOPOST: KprobeAction
KPROBE_ACTION_SIGNAL: KprobeAction
KPROBE_ACTION_TRACKSOCK: KprobeAction
KPROBE_ACTION_UNTRACKSOCK: KprobeAction
KPROBE_ACTION_NOTIFYENFORCER: KprobeAction
KPROBE_ACTION_CLEANUPENFORCERNOTIFICATION: KprobeAction
KPROBE_ACTION_SET: KprobeAction

class Image(_message.Message):
    __slots__ = ("id", "name")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class SecurityContext(_message.Message):
    __slots__ = ("privileged",)
    PRIVILEGED_FIELD_NUMBER: _ClassVar[int]
    privileged: bool
    def __init__(self, privileged: _Optional[bool] = ...) -> None: ...

class Container(_message.Message):
    __slots__ = ("id", "name", "image", "start_time", "pid", "maybe_exec_probe", "security_context")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    MAYBE_EXEC_PROBE_FIELD_NUMBER: _ClassVar[int]
    SECURITY_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    image: Image
    start_time: _timestamp_pb2.Timestamp
    pid: _wrappers_pb2.UInt32Value
    maybe_exec_probe: bool
    security_context: SecurityContext
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., image: _Optional[_Union[Image, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., pid: _Optional[_Union[_wrappers_pb2.UInt32Value, _Mapping]] = ..., maybe_exec_probe: _Optional[bool] = ..., security_context: _Optional[_Union[SecurityContext, _Mapping]] = ...) -> None: ...

class Pod(_message.Message):
    __slots__ = ("namespace", "name", "container", "pod_labels", "workload", "workload_kind", "pod_annotations")
    class PodLabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class PodAnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    POD_LABELS_FIELD_NUMBER: _ClassVar[int]
    WORKLOAD_FIELD_NUMBER: _ClassVar[int]
    WORKLOAD_KIND_FIELD_NUMBER: _ClassVar[int]
    POD_ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    container: Container
    pod_labels: _containers.ScalarMap[str, str]
    workload: str
    workload_kind: str
    pod_annotations: _containers.ScalarMap[str, str]
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ..., container: _Optional[_Union[Container, _Mapping]] = ..., pod_labels: _Optional[_Mapping[str, str]] = ..., workload: _Optional[str] = ..., workload_kind: _Optional[str] = ..., pod_annotations: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Capabilities(_message.Message):
    __slots__ = ("permitted", "effective", "inheritable")
    PERMITTED_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FIELD_NUMBER: _ClassVar[int]
    INHERITABLE_FIELD_NUMBER: _ClassVar[int]
    permitted: _containers.RepeatedScalarFieldContainer[_capabilities_pb2.CapabilitiesType]
    effective: _containers.RepeatedScalarFieldContainer[_capabilities_pb2.CapabilitiesType]
    inheritable: _containers.RepeatedScalarFieldContainer[_capabilities_pb2.CapabilitiesType]
    def __init__(self, permitted: _Optional[_Iterable[_Union[_capabilities_pb2.CapabilitiesType, str]]] = ..., effective: _Optional[_Iterable[_Union[_capabilities_pb2.CapabilitiesType, str]]] = ..., inheritable: _Optional[_Iterable[_Union[_capabilities_pb2.CapabilitiesType, str]]] = ...) -> None: ...

class Namespace(_message.Message):
    __slots__ = ("inum", "is_host")
    INUM_FIELD_NUMBER: _ClassVar[int]
    IS_HOST_FIELD_NUMBER: _ClassVar[int]
    inum: int
    is_host: bool
    def __init__(self, inum: _Optional[int] = ..., is_host: _Optional[bool] = ...) -> None: ...

class Namespaces(_message.Message):
    __slots__ = ("uts", "ipc", "mnt", "pid", "pid_for_children", "net", "time", "time_for_children", "cgroup", "user")
    UTS_FIELD_NUMBER: _ClassVar[int]
    IPC_FIELD_NUMBER: _ClassVar[int]
    MNT_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    PID_FOR_CHILDREN_FIELD_NUMBER: _ClassVar[int]
    NET_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    TIME_FOR_CHILDREN_FIELD_NUMBER: _ClassVar[int]
    CGROUP_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    uts: Namespace
    ipc: Namespace
    mnt: Namespace
    pid: Namespace
    pid_for_children: Namespace
    net: Namespace
    time: Namespace
    time_for_children: Namespace
    cgroup: Namespace
    user: Namespace
    def __init__(self, uts: _Optional[_Union[Namespace, _Mapping]] = ..., ipc: _Optional[_Union[Namespace, _Mapping]] = ..., mnt: _Optional[_Union[Namespace, _Mapping]] = ..., pid: _Optional[_Union[Namespace, _Mapping]] = ..., pid_for_children: _Optional[_Union[Namespace, _Mapping]] = ..., net: _Optional[_Union[Namespace, _Mapping]] = ..., time: _Optional[_Union[Namespace, _Mapping]] = ..., time_for_children: _Optional[_Union[Namespace, _Mapping]] = ..., cgroup: _Optional[_Union[Namespace, _Mapping]] = ..., user: _Optional[_Union[Namespace, _Mapping]] = ...) -> None: ...

class UserNamespace(_message.Message):
    __slots__ = ("level", "uid", "gid", "ns")
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    GID_FIELD_NUMBER: _ClassVar[int]
    NS_FIELD_NUMBER: _ClassVar[int]
    level: _wrappers_pb2.Int32Value
    uid: _wrappers_pb2.UInt32Value
    gid: _wrappers_pb2.UInt32Value
    ns: Namespace
    def __init__(self, level: _Optional[_Union[_wrappers_pb2.Int32Value, _Mapping]] = ..., uid: _Optional[_Union[_wrappers_pb2.UInt32Value, _Mapping]] = ..., gid: _Optional[_Union[_wrappers_pb2.UInt32Value, _Mapping]] = ..., ns: _Optional[_Union[Namespace, _Mapping]] = ...) -> None: ...

class ProcessCredentials(_message.Message):
    __slots__ = ("uid", "gid", "euid", "egid", "suid", "sgid", "fsuid", "fsgid", "securebits", "caps", "user_ns")
    UID_FIELD_NUMBER: _ClassVar[int]
    GID_FIELD_NUMBER: _ClassVar[int]
    EUID_FIELD_NUMBER: _ClassVar[int]
    EGID_FIELD_NUMBER: _ClassVar[int]
    SUID_FIELD_NUMBER: _ClassVar[int]
    SGID_FIELD_NUMBER: _ClassVar[int]
    FSUID_FIELD_NUMBER: _ClassVar[int]
    FSGID_FIELD_NUMBER: _ClassVar[int]
    SECUREBITS_FIELD_NUMBER: _ClassVar[int]
    CAPS_FIELD_NUMBER: _ClassVar[int]
    USER_NS_FIELD_NUMBER: _ClassVar[int]
    uid: _wrappers_pb2.UInt32Value
    gid: _wrappers_pb2.UInt32Value
    euid: _wrappers_pb2.UInt32Value
    egid: _wrappers_pb2.UInt32Value
    suid: _wrappers_pb2.UInt32Value
    sgid: _wrappers_pb2.UInt32Value
    fsuid: _wrappers_pb2.UInt32Value
    fsgid: _wrappers_pb2.UInt32Value
    securebits: _containers.RepeatedScalarFieldContainer[_capabilities_pb2.SecureBitsType]
    caps: Capabilities
    user_ns: UserNamespace
    def __init__(self, uid: _Optional[_Union[_wrappers_pb2.UInt32Value, _Mapping]] = ..., gid: _Optional[_Union[_wrappers_pb2.UInt32Value, _Mapping]] = ..., euid: _Optional[_Union[_wrappers_pb2.UInt32Value, _Mapping]] = ..., egid: _Optional[_Union[_wrappers_pb2.UInt32Value, _Mapping]] = ..., suid: _Optional[_Union[_wrappers_pb2.UInt32Value, _Mapping]] = ..., sgid: _Optional[_Union[_wrappers_pb2.UInt32Value, _Mapping]] = ..., fsuid: _Optional[_Union[_wrappers_pb2.UInt32Value, _Mapping]] = ..., fsgid: _Optional[_Union[_wrappers_pb2.UInt32Value, _Mapping]] = ..., securebits: _Optional[_Iterable[_Union[_capabilities_pb2.SecureBitsType, str]]] = ..., caps: _Optional[_Union[Capabilities, _Mapping]] = ..., user_ns: _Optional[_Union[UserNamespace, _Mapping]] = ...) -> None: ...

class InodeProperties(_message.Message):
    __slots__ = ("number", "links")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    LINKS_FIELD_NUMBER: _ClassVar[int]
    number: int
    links: _wrappers_pb2.UInt32Value
    def __init__(self, number: _Optional[int] = ..., links: _Optional[_Union[_wrappers_pb2.UInt32Value, _Mapping]] = ...) -> None: ...

class FileProperties(_message.Message):
    __slots__ = ("inode", "path")
    INODE_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    inode: InodeProperties
    path: str
    def __init__(self, inode: _Optional[_Union[InodeProperties, _Mapping]] = ..., path: _Optional[str] = ...) -> None: ...

class BinaryProperties(_message.Message):
    __slots__ = ("setuid", "setgid", "privileges_changed", "file")
    SETUID_FIELD_NUMBER: _ClassVar[int]
    SETGID_FIELD_NUMBER: _ClassVar[int]
    PRIVILEGES_CHANGED_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    setuid: _wrappers_pb2.UInt32Value
    setgid: _wrappers_pb2.UInt32Value
    privileges_changed: _containers.RepeatedScalarFieldContainer[_capabilities_pb2.ProcessPrivilegesChanged]
    file: FileProperties
    def __init__(self, setuid: _Optional[_Union[_wrappers_pb2.UInt32Value, _Mapping]] = ..., setgid: _Optional[_Union[_wrappers_pb2.UInt32Value, _Mapping]] = ..., privileges_changed: _Optional[_Iterable[_Union[_capabilities_pb2.ProcessPrivilegesChanged, str]]] = ..., file: _Optional[_Union[FileProperties, _Mapping]] = ...) -> None: ...

class UserRecord(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class Process(_message.Message):
    __slots__ = ("exec_id", "pid", "uid", "cwd", "binary", "arguments", "flags", "start_time", "auid", "pod", "docker", "parent_exec_id", "refcnt", "cap", "ns", "tid", "process_credentials", "binary_properties", "user", "in_init_tree")
    EXEC_ID_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    CWD_FIELD_NUMBER: _ClassVar[int]
    BINARY_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    AUID_FIELD_NUMBER: _ClassVar[int]
    POD_FIELD_NUMBER: _ClassVar[int]
    DOCKER_FIELD_NUMBER: _ClassVar[int]
    PARENT_EXEC_ID_FIELD_NUMBER: _ClassVar[int]
    REFCNT_FIELD_NUMBER: _ClassVar[int]
    CAP_FIELD_NUMBER: _ClassVar[int]
    NS_FIELD_NUMBER: _ClassVar[int]
    TID_FIELD_NUMBER: _ClassVar[int]
    PROCESS_CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    BINARY_PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    IN_INIT_TREE_FIELD_NUMBER: _ClassVar[int]
    exec_id: str
    pid: _wrappers_pb2.UInt32Value
    uid: _wrappers_pb2.UInt32Value
    cwd: str
    binary: str
    arguments: str
    flags: str
    start_time: _timestamp_pb2.Timestamp
    auid: _wrappers_pb2.UInt32Value
    pod: Pod
    docker: str
    parent_exec_id: str
    refcnt: int
    cap: Capabilities
    ns: Namespaces
    tid: _wrappers_pb2.UInt32Value
    process_credentials: ProcessCredentials
    binary_properties: BinaryProperties
    user: UserRecord
    in_init_tree: _wrappers_pb2.BoolValue
    def __init__(self, exec_id: _Optional[str] = ..., pid: _Optional[_Union[_wrappers_pb2.UInt32Value, _Mapping]] = ..., uid: _Optional[_Union[_wrappers_pb2.UInt32Value, _Mapping]] = ..., cwd: _Optional[str] = ..., binary: _Optional[str] = ..., arguments: _Optional[str] = ..., flags: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., auid: _Optional[_Union[_wrappers_pb2.UInt32Value, _Mapping]] = ..., pod: _Optional[_Union[Pod, _Mapping]] = ..., docker: _Optional[str] = ..., parent_exec_id: _Optional[str] = ..., refcnt: _Optional[int] = ..., cap: _Optional[_Union[Capabilities, _Mapping]] = ..., ns: _Optional[_Union[Namespaces, _Mapping]] = ..., tid: _Optional[_Union[_wrappers_pb2.UInt32Value, _Mapping]] = ..., process_credentials: _Optional[_Union[ProcessCredentials, _Mapping]] = ..., binary_properties: _Optional[_Union[BinaryProperties, _Mapping]] = ..., user: _Optional[_Union[UserRecord, _Mapping]] = ..., in_init_tree: _Optional[_Union[_wrappers_pb2.BoolValue, _Mapping]] = ...) -> None: ...

class ProcessExec(_message.Message):
    __slots__ = ("process", "parent", "ancestors")
    PROCESS_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    ANCESTORS_FIELD_NUMBER: _ClassVar[int]
    process: Process
    parent: Process
    ancestors: _containers.RepeatedCompositeFieldContainer[Process]
    def __init__(self, process: _Optional[_Union[Process, _Mapping]] = ..., parent: _Optional[_Union[Process, _Mapping]] = ..., ancestors: _Optional[_Iterable[_Union[Process, _Mapping]]] = ...) -> None: ...

class ProcessExit(_message.Message):
    __slots__ = ("process", "parent", "signal", "status", "time", "ancestors")
    PROCESS_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    ANCESTORS_FIELD_NUMBER: _ClassVar[int]
    process: Process
    parent: Process
    signal: str
    status: int
    time: _timestamp_pb2.Timestamp
    ancestors: _containers.RepeatedCompositeFieldContainer[Process]
    def __init__(self, process: _Optional[_Union[Process, _Mapping]] = ..., parent: _Optional[_Union[Process, _Mapping]] = ..., signal: _Optional[str] = ..., status: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ancestors: _Optional[_Iterable[_Union[Process, _Mapping]]] = ...) -> None: ...

class KprobeSock(_message.Message):
    __slots__ = ("family", "type", "protocol", "mark", "priority", "saddr", "daddr", "sport", "dport", "cookie", "state")
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    MARK_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    SADDR_FIELD_NUMBER: _ClassVar[int]
    DADDR_FIELD_NUMBER: _ClassVar[int]
    SPORT_FIELD_NUMBER: _ClassVar[int]
    DPORT_FIELD_NUMBER: _ClassVar[int]
    COOKIE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    family: str
    type: str
    protocol: str
    mark: int
    priority: int
    saddr: str
    daddr: str
    sport: int
    dport: int
    cookie: int
    state: str
    def __init__(self, family: _Optional[str] = ..., type: _Optional[str] = ..., protocol: _Optional[str] = ..., mark: _Optional[int] = ..., priority: _Optional[int] = ..., saddr: _Optional[str] = ..., daddr: _Optional[str] = ..., sport: _Optional[int] = ..., dport: _Optional[int] = ..., cookie: _Optional[int] = ..., state: _Optional[str] = ...) -> None: ...

class KprobeSkb(_message.Message):
    __slots__ = ("hash", "len", "priority", "mark", "saddr", "daddr", "sport", "dport", "proto", "sec_path_len", "sec_path_olen", "protocol", "family")
    HASH_FIELD_NUMBER: _ClassVar[int]
    LEN_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    MARK_FIELD_NUMBER: _ClassVar[int]
    SADDR_FIELD_NUMBER: _ClassVar[int]
    DADDR_FIELD_NUMBER: _ClassVar[int]
    SPORT_FIELD_NUMBER: _ClassVar[int]
    DPORT_FIELD_NUMBER: _ClassVar[int]
    PROTO_FIELD_NUMBER: _ClassVar[int]
    SEC_PATH_LEN_FIELD_NUMBER: _ClassVar[int]
    SEC_PATH_OLEN_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    hash: int
    len: int
    priority: int
    mark: int
    saddr: str
    daddr: str
    sport: int
    dport: int
    proto: int
    sec_path_len: int
    sec_path_olen: int
    protocol: str
    family: str
    def __init__(self, hash: _Optional[int] = ..., len: _Optional[int] = ..., priority: _Optional[int] = ..., mark: _Optional[int] = ..., saddr: _Optional[str] = ..., daddr: _Optional[str] = ..., sport: _Optional[int] = ..., dport: _Optional[int] = ..., proto: _Optional[int] = ..., sec_path_len: _Optional[int] = ..., sec_path_olen: _Optional[int] = ..., protocol: _Optional[str] = ..., family: _Optional[str] = ...) -> None: ...

class KprobeSockaddr(_message.Message):
    __slots__ = ("family", "addr", "port")
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    ADDR_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    family: str
    addr: str
    port: int
    def __init__(self, family: _Optional[str] = ..., addr: _Optional[str] = ..., port: _Optional[int] = ...) -> None: ...

class KprobeNetDev(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class KprobePath(_message.Message):
    __slots__ = ("mount", "path", "flags", "permission")
    MOUNT_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    PERMISSION_FIELD_NUMBER: _ClassVar[int]
    mount: str
    path: str
    flags: str
    permission: str
    def __init__(self, mount: _Optional[str] = ..., path: _Optional[str] = ..., flags: _Optional[str] = ..., permission: _Optional[str] = ...) -> None: ...

class KprobeFile(_message.Message):
    __slots__ = ("mount", "path", "flags", "permission")
    MOUNT_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    PERMISSION_FIELD_NUMBER: _ClassVar[int]
    mount: str
    path: str
    flags: str
    permission: str
    def __init__(self, mount: _Optional[str] = ..., path: _Optional[str] = ..., flags: _Optional[str] = ..., permission: _Optional[str] = ...) -> None: ...

class KprobeTruncatedBytes(_message.Message):
    __slots__ = ("bytes_arg", "orig_size")
    BYTES_ARG_FIELD_NUMBER: _ClassVar[int]
    ORIG_SIZE_FIELD_NUMBER: _ClassVar[int]
    bytes_arg: bytes
    orig_size: int
    def __init__(self, bytes_arg: _Optional[bytes] = ..., orig_size: _Optional[int] = ...) -> None: ...

class KprobeCred(_message.Message):
    __slots__ = ("permitted", "effective", "inheritable")
    PERMITTED_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FIELD_NUMBER: _ClassVar[int]
    INHERITABLE_FIELD_NUMBER: _ClassVar[int]
    permitted: _containers.RepeatedScalarFieldContainer[_capabilities_pb2.CapabilitiesType]
    effective: _containers.RepeatedScalarFieldContainer[_capabilities_pb2.CapabilitiesType]
    inheritable: _containers.RepeatedScalarFieldContainer[_capabilities_pb2.CapabilitiesType]
    def __init__(self, permitted: _Optional[_Iterable[_Union[_capabilities_pb2.CapabilitiesType, str]]] = ..., effective: _Optional[_Iterable[_Union[_capabilities_pb2.CapabilitiesType, str]]] = ..., inheritable: _Optional[_Iterable[_Union[_capabilities_pb2.CapabilitiesType, str]]] = ...) -> None: ...

class KprobeLinuxBinprm(_message.Message):
    __slots__ = ("path", "flags", "permission")
    PATH_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    PERMISSION_FIELD_NUMBER: _ClassVar[int]
    path: str
    flags: str
    permission: str
    def __init__(self, path: _Optional[str] = ..., flags: _Optional[str] = ..., permission: _Optional[str] = ...) -> None: ...

class KprobeCapability(_message.Message):
    __slots__ = ("value", "name")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    value: _wrappers_pb2.Int32Value
    name: str
    def __init__(self, value: _Optional[_Union[_wrappers_pb2.Int32Value, _Mapping]] = ..., name: _Optional[str] = ...) -> None: ...

class KprobeUserNamespace(_message.Message):
    __slots__ = ("level", "owner", "group", "ns")
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    NS_FIELD_NUMBER: _ClassVar[int]
    level: _wrappers_pb2.Int32Value
    owner: _wrappers_pb2.UInt32Value
    group: _wrappers_pb2.UInt32Value
    ns: Namespace
    def __init__(self, level: _Optional[_Union[_wrappers_pb2.Int32Value, _Mapping]] = ..., owner: _Optional[_Union[_wrappers_pb2.UInt32Value, _Mapping]] = ..., group: _Optional[_Union[_wrappers_pb2.UInt32Value, _Mapping]] = ..., ns: _Optional[_Union[Namespace, _Mapping]] = ...) -> None: ...

class KprobeBpfAttr(_message.Message):
    __slots__ = ("ProgType", "InsnCnt", "ProgName")
    PROGTYPE_FIELD_NUMBER: _ClassVar[int]
    INSNCNT_FIELD_NUMBER: _ClassVar[int]
    PROGNAME_FIELD_NUMBER: _ClassVar[int]
    ProgType: str
    InsnCnt: int
    ProgName: str
    def __init__(self, ProgType: _Optional[str] = ..., InsnCnt: _Optional[int] = ..., ProgName: _Optional[str] = ...) -> None: ...

class KprobePerfEvent(_message.Message):
    __slots__ = ("KprobeFunc", "Type", "Config", "ProbeOffset")
    KPROBEFUNC_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    PROBEOFFSET_FIELD_NUMBER: _ClassVar[int]
    KprobeFunc: str
    Type: str
    Config: int
    ProbeOffset: int
    def __init__(self, KprobeFunc: _Optional[str] = ..., Type: _Optional[str] = ..., Config: _Optional[int] = ..., ProbeOffset: _Optional[int] = ...) -> None: ...

class KprobeBpfMap(_message.Message):
    __slots__ = ("MapType", "KeySize", "ValueSize", "MaxEntries", "MapName")
    MAPTYPE_FIELD_NUMBER: _ClassVar[int]
    KEYSIZE_FIELD_NUMBER: _ClassVar[int]
    VALUESIZE_FIELD_NUMBER: _ClassVar[int]
    MAXENTRIES_FIELD_NUMBER: _ClassVar[int]
    MAPNAME_FIELD_NUMBER: _ClassVar[int]
    MapType: str
    KeySize: int
    ValueSize: int
    MaxEntries: int
    MapName: str
    def __init__(self, MapType: _Optional[str] = ..., KeySize: _Optional[int] = ..., ValueSize: _Optional[int] = ..., MaxEntries: _Optional[int] = ..., MapName: _Optional[str] = ...) -> None: ...

class SyscallId(_message.Message):
    __slots__ = ("id", "abi")
    ID_FIELD_NUMBER: _ClassVar[int]
    ABI_FIELD_NUMBER: _ClassVar[int]
    id: int
    abi: str
    def __init__(self, id: _Optional[int] = ..., abi: _Optional[str] = ...) -> None: ...

class KernelModule(_message.Message):
    __slots__ = ("name", "signature_ok", "tainted")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_OK_FIELD_NUMBER: _ClassVar[int]
    TAINTED_FIELD_NUMBER: _ClassVar[int]
    name: str
    signature_ok: _wrappers_pb2.BoolValue
    tainted: _containers.RepeatedScalarFieldContainer[TaintedBitsType]
    def __init__(self, name: _Optional[str] = ..., signature_ok: _Optional[_Union[_wrappers_pb2.BoolValue, _Mapping]] = ..., tainted: _Optional[_Iterable[_Union[TaintedBitsType, str]]] = ...) -> None: ...

class KprobeArgument(_message.Message):
    __slots__ = ("string_arg", "int_arg", "skb_arg", "size_arg", "bytes_arg", "path_arg", "file_arg", "truncated_bytes_arg", "sock_arg", "cred_arg", "long_arg", "bpf_attr_arg", "perf_event_arg", "bpf_map_arg", "uint_arg", "user_namespace_arg", "capability_arg", "process_credentials_arg", "user_ns_arg", "module_arg", "kernel_cap_t_arg", "cap_inheritable_arg", "cap_permitted_arg", "cap_effective_arg", "linux_binprm_arg", "net_dev_arg", "bpf_cmd_arg", "syscall_id", "sockaddr_arg", "label")
    STRING_ARG_FIELD_NUMBER: _ClassVar[int]
    INT_ARG_FIELD_NUMBER: _ClassVar[int]
    SKB_ARG_FIELD_NUMBER: _ClassVar[int]
    SIZE_ARG_FIELD_NUMBER: _ClassVar[int]
    BYTES_ARG_FIELD_NUMBER: _ClassVar[int]
    PATH_ARG_FIELD_NUMBER: _ClassVar[int]
    FILE_ARG_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_BYTES_ARG_FIELD_NUMBER: _ClassVar[int]
    SOCK_ARG_FIELD_NUMBER: _ClassVar[int]
    CRED_ARG_FIELD_NUMBER: _ClassVar[int]
    LONG_ARG_FIELD_NUMBER: _ClassVar[int]
    BPF_ATTR_ARG_FIELD_NUMBER: _ClassVar[int]
    PERF_EVENT_ARG_FIELD_NUMBER: _ClassVar[int]
    BPF_MAP_ARG_FIELD_NUMBER: _ClassVar[int]
    UINT_ARG_FIELD_NUMBER: _ClassVar[int]
    USER_NAMESPACE_ARG_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_ARG_FIELD_NUMBER: _ClassVar[int]
    PROCESS_CREDENTIALS_ARG_FIELD_NUMBER: _ClassVar[int]
    USER_NS_ARG_FIELD_NUMBER: _ClassVar[int]
    MODULE_ARG_FIELD_NUMBER: _ClassVar[int]
    KERNEL_CAP_T_ARG_FIELD_NUMBER: _ClassVar[int]
    CAP_INHERITABLE_ARG_FIELD_NUMBER: _ClassVar[int]
    CAP_PERMITTED_ARG_FIELD_NUMBER: _ClassVar[int]
    CAP_EFFECTIVE_ARG_FIELD_NUMBER: _ClassVar[int]
    LINUX_BINPRM_ARG_FIELD_NUMBER: _ClassVar[int]
    NET_DEV_ARG_FIELD_NUMBER: _ClassVar[int]
    BPF_CMD_ARG_FIELD_NUMBER: _ClassVar[int]
    SYSCALL_ID_FIELD_NUMBER: _ClassVar[int]
    SOCKADDR_ARG_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    string_arg: str
    int_arg: int
    skb_arg: KprobeSkb
    size_arg: int
    bytes_arg: bytes
    path_arg: KprobePath
    file_arg: KprobeFile
    truncated_bytes_arg: KprobeTruncatedBytes
    sock_arg: KprobeSock
    cred_arg: KprobeCred
    long_arg: int
    bpf_attr_arg: KprobeBpfAttr
    perf_event_arg: KprobePerfEvent
    bpf_map_arg: KprobeBpfMap
    uint_arg: int
    user_namespace_arg: KprobeUserNamespace
    capability_arg: KprobeCapability
    process_credentials_arg: ProcessCredentials
    user_ns_arg: UserNamespace
    module_arg: KernelModule
    kernel_cap_t_arg: str
    cap_inheritable_arg: str
    cap_permitted_arg: str
    cap_effective_arg: str
    linux_binprm_arg: KprobeLinuxBinprm
    net_dev_arg: KprobeNetDev
    bpf_cmd_arg: _bpf_pb2.BpfCmd
    syscall_id: SyscallId
    sockaddr_arg: KprobeSockaddr
    label: str
    def __init__(self, string_arg: _Optional[str] = ..., int_arg: _Optional[int] = ..., skb_arg: _Optional[_Union[KprobeSkb, _Mapping]] = ..., size_arg: _Optional[int] = ..., bytes_arg: _Optional[bytes] = ..., path_arg: _Optional[_Union[KprobePath, _Mapping]] = ..., file_arg: _Optional[_Union[KprobeFile, _Mapping]] = ..., truncated_bytes_arg: _Optional[_Union[KprobeTruncatedBytes, _Mapping]] = ..., sock_arg: _Optional[_Union[KprobeSock, _Mapping]] = ..., cred_arg: _Optional[_Union[KprobeCred, _Mapping]] = ..., long_arg: _Optional[int] = ..., bpf_attr_arg: _Optional[_Union[KprobeBpfAttr, _Mapping]] = ..., perf_event_arg: _Optional[_Union[KprobePerfEvent, _Mapping]] = ..., bpf_map_arg: _Optional[_Union[KprobeBpfMap, _Mapping]] = ..., uint_arg: _Optional[int] = ..., user_namespace_arg: _Optional[_Union[KprobeUserNamespace, _Mapping]] = ..., capability_arg: _Optional[_Union[KprobeCapability, _Mapping]] = ..., process_credentials_arg: _Optional[_Union[ProcessCredentials, _Mapping]] = ..., user_ns_arg: _Optional[_Union[UserNamespace, _Mapping]] = ..., module_arg: _Optional[_Union[KernelModule, _Mapping]] = ..., kernel_cap_t_arg: _Optional[str] = ..., cap_inheritable_arg: _Optional[str] = ..., cap_permitted_arg: _Optional[str] = ..., cap_effective_arg: _Optional[str] = ..., linux_binprm_arg: _Optional[_Union[KprobeLinuxBinprm, _Mapping]] = ..., net_dev_arg: _Optional[_Union[KprobeNetDev, _Mapping]] = ..., bpf_cmd_arg: _Optional[_Union[_bpf_pb2.BpfCmd, str]] = ..., syscall_id: _Optional[_Union[SyscallId, _Mapping]] = ..., sockaddr_arg: _Optional[_Union[KprobeSockaddr, _Mapping]] = ..., label: _Optional[str] = ...) -> None: ...

class StackTraceEntry(_message.Message):
    __slots__ = ("address", "offset", "symbol", "module")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    MODULE_FIELD_NUMBER: _ClassVar[int]
    address: int
    offset: int
    symbol: str
    module: str
    def __init__(self, address: _Optional[int] = ..., offset: _Optional[int] = ..., symbol: _Optional[str] = ..., module: _Optional[str] = ...) -> None: ...

class ProcessKprobe(_message.Message):
    __slots__ = ("process", "parent", "function_name", "args", "action", "kernel_stack_trace", "policy_name", "return_action", "message", "tags", "user_stack_trace", "ancestors")
    PROCESS_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    FUNCTION_NAME_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    RETURN_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    KERNEL_STACK_TRACE_FIELD_NUMBER: _ClassVar[int]
    POLICY_NAME_FIELD_NUMBER: _ClassVar[int]
    RETURN_ACTION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    USER_STACK_TRACE_FIELD_NUMBER: _ClassVar[int]
    ANCESTORS_FIELD_NUMBER: _ClassVar[int]
    process: Process
    parent: Process
    function_name: str
    args: _containers.RepeatedCompositeFieldContainer[KprobeArgument]
    action: KprobeAction
    kernel_stack_trace: _containers.RepeatedCompositeFieldContainer[StackTraceEntry]
    policy_name: str
    return_action: KprobeAction
    message: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    user_stack_trace: _containers.RepeatedCompositeFieldContainer[StackTraceEntry]
    ancestors: _containers.RepeatedCompositeFieldContainer[Process]
    def __init__(self, process: _Optional[_Union[Process, _Mapping]] = ..., parent: _Optional[_Union[Process, _Mapping]] = ..., function_name: _Optional[str] = ..., args: _Optional[_Iterable[_Union[KprobeArgument, _Mapping]]] = ..., action: _Optional[_Union[KprobeAction, str]] = ..., kernel_stack_trace: _Optional[_Iterable[_Union[StackTraceEntry, _Mapping]]] = ..., policy_name: _Optional[str] = ..., return_action: _Optional[_Union[KprobeAction, str]] = ..., message: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., user_stack_trace: _Optional[_Iterable[_Union[StackTraceEntry, _Mapping]]] = ..., ancestors: _Optional[_Iterable[_Union[Process, _Mapping]]] = ..., **kwargs) -> None: ...

class ProcessTracepoint(_message.Message):
    __slots__ = ("process", "parent", "subsys", "event", "args", "policy_name", "action", "message", "tags", "ancestors")
    PROCESS_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    SUBSYS_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    POLICY_NAME_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    ANCESTORS_FIELD_NUMBER: _ClassVar[int]
    process: Process
    parent: Process
    subsys: str
    event: str
    args: _containers.RepeatedCompositeFieldContainer[KprobeArgument]
    policy_name: str
    action: KprobeAction
    message: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    ancestors: _containers.RepeatedCompositeFieldContainer[Process]
    def __init__(self, process: _Optional[_Union[Process, _Mapping]] = ..., parent: _Optional[_Union[Process, _Mapping]] = ..., subsys: _Optional[str] = ..., event: _Optional[str] = ..., args: _Optional[_Iterable[_Union[KprobeArgument, _Mapping]]] = ..., policy_name: _Optional[str] = ..., action: _Optional[_Union[KprobeAction, str]] = ..., message: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., ancestors: _Optional[_Iterable[_Union[Process, _Mapping]]] = ...) -> None: ...

class ProcessUprobe(_message.Message):
    __slots__ = ("process", "parent", "path", "symbol", "policy_name", "message", "args", "tags", "ancestors", "offset", "ref_ctr_offset")
    PROCESS_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    POLICY_NAME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    ANCESTORS_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    REF_CTR_OFFSET_FIELD_NUMBER: _ClassVar[int]
    process: Process
    parent: Process
    path: str
    symbol: str
    policy_name: str
    message: str
    args: _containers.RepeatedCompositeFieldContainer[KprobeArgument]
    tags: _containers.RepeatedScalarFieldContainer[str]
    ancestors: _containers.RepeatedCompositeFieldContainer[Process]
    offset: int
    ref_ctr_offset: int
    def __init__(self, process: _Optional[_Union[Process, _Mapping]] = ..., parent: _Optional[_Union[Process, _Mapping]] = ..., path: _Optional[str] = ..., symbol: _Optional[str] = ..., policy_name: _Optional[str] = ..., message: _Optional[str] = ..., args: _Optional[_Iterable[_Union[KprobeArgument, _Mapping]]] = ..., tags: _Optional[_Iterable[str]] = ..., ancestors: _Optional[_Iterable[_Union[Process, _Mapping]]] = ..., offset: _Optional[int] = ..., ref_ctr_offset: _Optional[int] = ...) -> None: ...

class ProcessUsdt(_message.Message):
    __slots__ = ("process", "parent", "path", "provider", "name", "policy_name", "message", "args", "tags", "ancestors")
    PROCESS_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    POLICY_NAME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    ANCESTORS_FIELD_NUMBER: _ClassVar[int]
    process: Process
    parent: Process
    path: str
    provider: str
    name: str
    policy_name: str
    message: str
    args: _containers.RepeatedCompositeFieldContainer[KprobeArgument]
    tags: _containers.RepeatedScalarFieldContainer[str]
    ancestors: _containers.RepeatedCompositeFieldContainer[Process]
    def __init__(self, process: _Optional[_Union[Process, _Mapping]] = ..., parent: _Optional[_Union[Process, _Mapping]] = ..., path: _Optional[str] = ..., provider: _Optional[str] = ..., name: _Optional[str] = ..., policy_name: _Optional[str] = ..., message: _Optional[str] = ..., args: _Optional[_Iterable[_Union[KprobeArgument, _Mapping]]] = ..., tags: _Optional[_Iterable[str]] = ..., ancestors: _Optional[_Iterable[_Union[Process, _Mapping]]] = ...) -> None: ...

class ProcessLsm(_message.Message):
    __slots__ = ("process", "parent", "function_name", "policy_name", "message", "args", "action", "tags", "ancestors", "ima_hash")
    PROCESS_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    FUNCTION_NAME_FIELD_NUMBER: _ClassVar[int]
    POLICY_NAME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    ANCESTORS_FIELD_NUMBER: _ClassVar[int]
    IMA_HASH_FIELD_NUMBER: _ClassVar[int]
    process: Process
    parent: Process
    function_name: str
    policy_name: str
    message: str
    args: _containers.RepeatedCompositeFieldContainer[KprobeArgument]
    action: KprobeAction
    tags: _containers.RepeatedScalarFieldContainer[str]
    ancestors: _containers.RepeatedCompositeFieldContainer[Process]
    ima_hash: str
    def __init__(self, process: _Optional[_Union[Process, _Mapping]] = ..., parent: _Optional[_Union[Process, _Mapping]] = ..., function_name: _Optional[str] = ..., policy_name: _Optional[str] = ..., message: _Optional[str] = ..., args: _Optional[_Iterable[_Union[KprobeArgument, _Mapping]]] = ..., action: _Optional[_Union[KprobeAction, str]] = ..., tags: _Optional[_Iterable[str]] = ..., ancestors: _Optional[_Iterable[_Union[Process, _Mapping]]] = ..., ima_hash: _Optional[str] = ...) -> None: ...

class ProcessLoader(_message.Message):
    __slots__ = ("process", "path", "buildid", "parent", "ancestors")
    PROCESS_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    BUILDID_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    ANCESTORS_FIELD_NUMBER: _ClassVar[int]
    process: Process
    path: str
    buildid: bytes
    parent: Process
    ancestors: _containers.RepeatedCompositeFieldContainer[Process]
    def __init__(self, process: _Optional[_Union[Process, _Mapping]] = ..., path: _Optional[str] = ..., buildid: _Optional[bytes] = ..., parent: _Optional[_Union[Process, _Mapping]] = ..., ancestors: _Optional[_Iterable[_Union[Process, _Mapping]]] = ...) -> None: ...

class Test(_message.Message):
    __slots__ = ("arg0", "arg1", "arg2", "arg3")
    ARG0_FIELD_NUMBER: _ClassVar[int]
    ARG1_FIELD_NUMBER: _ClassVar[int]
    ARG2_FIELD_NUMBER: _ClassVar[int]
    ARG3_FIELD_NUMBER: _ClassVar[int]
    arg0: int
    arg1: int
    arg2: int
    arg3: int
    def __init__(self, arg0: _Optional[int] = ..., arg1: _Optional[int] = ..., arg2: _Optional[int] = ..., arg3: _Optional[int] = ...) -> None: ...
