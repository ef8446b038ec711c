"""Policy events (kprobe, tracepoint, LSM, uprobe, USDT) as small records, and why one is flagged.

A policy event hangs under its process in the forest. It keeps what a person scans for (function,
policy, action, the arguments as text) plus a flag when it touches something sensitive: a read or
write of a secret file, or a connection to an address outside private ranges.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from typing import Any

POLICY_KINDS = ("process_kprobe", "process_tracepoint", "process_lsm", "process_uprobe", "process_usdt")

SENSITIVE_PREFIXES = (
    "/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/passwd", "/etc/ld.so.preload", "/etc/crontab",
    "/root/.ssh/", "/etc/ssh/", "/etc/kubernetes/", "/var/run/secrets/", "/run/secrets/",
    "/var/lib/kubelet/pki/", "/proc/sys/kernel/core_pattern",
)
"""Paths whose access is worth a flag (credentials, auth config, cluster secrets, persistence)."""

_KIND_NAMES = {
    "process_kprobe": "kprobe", "process_tracepoint": "tracepoint", "process_lsm": "lsm",
    "process_uprobe": "uprobe", "process_usdt": "usdt",
}
_ACTION_PREFIX = "KPROBE_ACTION_"


@dataclass(slots=True)
class PolicyEvent:
    """One policy event, reduced to text."""

    time: float
    kind: str
    function: str
    policy: str
    action: str
    detail: str
    flag: str = ""


def is_sensitive_path(path: str) -> bool:
    """True for credential and auth files (a prefix match on the normalised path)."""
    if not path:
        return False
    if not path.startswith("/"):
        path = "/" + path  # old captures print paths without the leading slash
    return path.startswith(SENSITIVE_PREFIXES)


@functools.lru_cache(maxsize=8192)
def is_public_address(address: str) -> bool:
    """True when `address` is a routable address outside private, loopback and link-local ranges."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 4 and ip in _CGNAT:
        return False
    return ip.is_global


_CGNAT = ipaddress.ip_network("100.64.0.0/10")


def render_argument(arg: Any) -> str:
    """A kprobe argument as short text: a path, a socket tuple, a number, a capability…"""
    kind = arg.WhichOneof("arg")
    if kind is None:
        return ""
    value = getattr(arg, kind)
    if kind in ("file_arg", "path_arg", "linux_binprm_arg"):
        text = value.path
    elif kind == "sock_arg":
        text = f"{value.protocol or 'sock'} {value.saddr}:{value.sport} -> {value.daddr}:{value.dport}"
    elif kind == "skb_arg":
        text = f"skb {value.saddr}:{value.sport} -> {value.daddr}:{value.dport}"
    elif kind == "sockaddr_arg":
        text = f"{value.family} {value.addr}:{value.port}"
    elif kind == "capability_arg":
        text = value.name or str(value.value)
    elif kind in ("bytes_arg",):
        text = value[:32].hex() + ("…" if len(value) > 32 else "")
    elif kind == "truncated_bytes_arg":
        text = f"{value.bytes_arg[:32].hex()}… ({value.orig_size} bytes)"
    elif kind == "module_arg" or kind == "net_dev_arg":
        text = value.name
    elif kind == "syscall_id":
        text = f"{value.abi}/{value.id}" if value.abi else str(value.id)
    elif kind == "bpf_attr_arg":
        text = f"{value.ProgType} {value.ProgName}"
    elif kind == "bpf_map_arg":
        text = f"{value.MapType} {value.MapName}"
    elif kind == "perf_event_arg":
        text = f"{value.Type} {value.KprobeFunc}"
    elif kind in ("cred_arg", "process_credentials_arg"):
        text = f"uid={value.uid.value if value.HasField('uid') else '?'}" if kind == "process_credentials_arg" \
            else "cred"
    elif kind == "user_ns_arg" or kind == "user_namespace_arg":
        text = "userns"
    elif kind == "bpf_cmd_arg":
        text = str(value)
    else:
        text = str(value)
    return f"{arg.label}={text}" if arg.label else text


def _flag_for(function: str, args: Any) -> str:
    for arg in args:
        kind = arg.WhichOneof("arg")
        if kind in ("file_arg", "path_arg", "linux_binprm_arg"):
            path = getattr(arg, kind).path
            if is_sensitive_path(path):
                return f"sensitive file {path}"
        elif kind == "string_arg" and "open" in function and is_sensitive_path(arg.string_arg):
            return f"sensitive file {arg.string_arg}"
        elif kind == "sock_arg" and "connect" in function and is_public_address(arg.sock_arg.daddr):
            return f"connect to public {arg.sock_arg.daddr}:{arg.sock_arg.dport}"
        elif kind == "sockaddr_arg" and "connect" in function and is_public_address(arg.sockaddr_arg.addr):
            return f"connect to public {arg.sockaddr_arg.addr}:{arg.sockaddr_arg.port}"
    return ""


@functools.lru_cache(maxsize=256)
def _action_name(descriptor: Any, value: int) -> str:
    enum = descriptor.fields_by_name["action"].enum_type
    name = enum.values_by_number[value].name if value in enum.values_by_number else str(value)
    return name.removeprefix(_ACTION_PREFIX)


def policy_event(kind: str, event: Any, time: float) -> tuple:
    """Reduce a Process{Kprobe,Tracepoint,Lsm,Uprobe,Usdt} message to PolicyEvent fields.

    A plain tuple of strings and a float: the cyclic GC stops tracking it, so thousands of kept
    events cost no collection time (`PolicyEvent(*fields)` gives the named view).
    """
    if kind == "process_tracepoint":
        function = f"{event.subsys}/{event.event}"
    elif kind == "process_uprobe":
        function = f"{event.path}:{event.symbol}"
    elif kind == "process_usdt":
        function = f"{event.provider}:{event.name}"
    else:
        function = event.function_name
    args = event.args
    action_value = getattr(event, "action", 0)  # uprobe and usdt events have no action field
    action = _action_name(event.DESCRIPTOR, action_value) if action_value else ""
    detail = " ".join([text for text in map(render_argument, args) if text]) if args else ""
    if kind == "process_uprobe" and not detail:
        detail = event.path
    if kind == "process_kprobe" and event.HasField("return"):
        # the kprobe's return value (tetra's compact line omits it): `ret=-13`, `ret=/etc/passwd`
        ret = render_argument(getattr(event, "return"))
        if ret:
            detail = f"{detail} ret={ret}" if detail else f"ret={ret}"
    return (time, _KIND_NAMES[kind], function, event.policy_name, action, detail, _flag_for(function, args))
