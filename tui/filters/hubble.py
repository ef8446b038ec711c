"""`hubble observe` filter flags -> GetFlowsRequest allow/deny lists, with hubble's semantics.

Each flag is recorded in command-line order by `FilterFlag`; `--not` sends the next filter flag to the
deny list. Like hubble's filter tracker, every list is built as a `left` FlowFilter (source side) and
a `right` one (destination side): "either" flags (`--pod`, `--ip`, `--label`, `--port`, `--fqdn`) put
their value on the source field of `left` and the destination field of `right`, which the server ORs;
flags about the whole flow (`--verdict`, `--protocol`, `--type`, …) and `--from-*`/`--to-*` flags go
into both. Equal `left` and `right` collapse into one filter. Values are sent as typed, so the server
applies its own defaults (a pod without a namespace means namespace `default`).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

from tui.filters import FilterError
from tui.model.hubble_names import EVENT_TYPE_NAMES, RESERVED_BY_NAME, TRACE_POINTS
from tui.proto.flow import flow_pb2
from tui.proto.observer import observer_pb2

PROTOCOLS = ("icmp", "icmpv4", "icmpv6", "tcp", "udp", "sctp", "vrrp", "igmp", "dns", "http", "kafka")
DEST = "hubble_filter_flags"
DEFAULT_LAST = 20  # what `hubble observe` prints without --follow or another history flag

# flag -> (how it applies, FlowFilter field(s))
#   "either": source field on left, destination field on right
#   "both":   the same field on both sides
FILTER_FLAGS: dict[str, tuple[str, str, str]] = {
    "pod": ("either", "source_pod", "destination_pod"),
    "from-pod": ("both", "source_pod", ""),
    "to-pod": ("both", "destination_pod", ""),
    # namespaces qualify the pod and service filters of their side (or select the whole namespace)
    "namespace": ("namespace", "either", ""),
    "from-namespace": ("namespace", "source", ""),
    "to-namespace": ("namespace", "destination", ""),
    "service": ("either", "source_service", "destination_service"),
    "from-service": ("both", "source_service", ""),
    "to-service": ("both", "destination_service", ""),
    "workload": ("either", "source_workload", "destination_workload"),
    "from-workload": ("both", "source_workload", ""),
    "to-workload": ("both", "destination_workload", ""),
    "identity": ("either", "source_identity", "destination_identity"),
    "from-identity": ("both", "source_identity", ""),
    "to-identity": ("both", "destination_identity", ""),
    "label": ("either", "source_label", "destination_label"),
    "from-label": ("both", "source_label", ""),
    "to-label": ("both", "destination_label", ""),
    "ip": ("either", "source_ip", "destination_ip"),
    "from-ip": ("both", "source_ip", ""),
    "to-ip": ("both", "destination_ip", ""),
    "fqdn": ("either", "source_fqdn", "destination_fqdn"),
    "from-fqdn": ("both", "source_fqdn", ""),
    "to-fqdn": ("both", "destination_fqdn", ""),
    "port": ("either", "source_port", "destination_port"),
    "from-port": ("both", "source_port", ""),
    "to-port": ("both", "destination_port", ""),
    "traffic-direction": ("both", "traffic_direction", ""),
    "drop-reason-desc": ("both", "drop_reason_desc", ""),
    "verdict": ("both", "verdict", ""),
    "protocol": ("both", "protocol", ""),
    "http-status": ("both", "http_status_code", ""),
    "http-method": ("both", "http_method", ""),
    "http-path": ("both", "http_path", ""),
    "type": ("both", "event_type", ""),
    "node-name": ("both", "node_name", ""),
    "cel-expression": ("both", "cel_expression", ""),
}

HELP = {
    "pod": "flows from or to pod [NAMESPACE/]PREFIX (no namespace = default)",
    "from-pod": "flows from pod [NAMESPACE/]PREFIX",
    "to-pod": "flows to pod [NAMESPACE/]PREFIX",
    "namespace": "flows from or to any pod in NAMESPACE; with --pod/--service, the namespace of those names "
                 "(hubble's -n; the Processes pane uses --tetragon-namespace)",
    "from-namespace": "flows from pods in NAMESPACE (qualifies --from-pod/--from-service)",
    "to-namespace": "flows to pods in NAMESPACE (qualifies --to-pod/--to-service)",
    "service": "flows from or to service [NAMESPACE/]PREFIX (no namespace = default)",
    "from-service": "flows from service [NAMESPACE/]PREFIX",
    "to-service": "flows to service [NAMESPACE/]PREFIX",
    "workload": "flows from or to workload [KIND/]NAME (e.g. Deployment/api)",
    "from-workload": "flows from workload [KIND/]NAME",
    "to-workload": "flows to workload [KIND/]NAME",
    "identity": "flows from or to security identity N or a reserved name (world, host, health, …)",
    "from-identity": "flows from security identity N or a reserved name",
    "to-identity": "flows to security identity N or a reserved name",
    "from-ip": "flows from this IP or CIDR",
    "to-ip": "flows to this IP or CIDR",
    "from-fqdn": "flows from this DNS name (wildcards like *.example.com)",
    "to-fqdn": "flows to this DNS name (wildcards like *.example.com)",
    "from-port": "flows from this L4 port",
    "to-port": "flows to this L4 port",
    "traffic-direction": "ingress or egress",
    "drop-reason-desc": "drop reason name, e.g. POLICY_DENIED, POLICY_DENY, STALE_OR_UNROUTABLE_IP",
    "cel-expression": "CEL expression over `_flow`, evaluated by the server (a replay cannot evaluate it)",
    "label": "flows from or to endpoints matching the label selector (e.g. k8s:app=api, reserved:world)",
    "from-label": "flows from endpoints matching the label selector",
    "to-label": "flows to endpoints matching the label selector",
    "ip": "flows from or to this IP or CIDR",
    "fqdn": "flows from or to this DNS name (wildcards like *.example.com)",
    "port": "flows from or to this L4 port",
    "verdict": "FORWARDED, DROPPED, AUDIT, REDIRECTED, ERROR, TRACED or TRANSLATED",
    "protocol": "L4 or L7 protocol: " + ", ".join(PROTOCOLS),
    "http-status": "HTTP status code, or a class like 5+",
    "http-method": "HTTP method (GET, POST, …)",
    "http-path": "HTTP path regular expression",
    "type": "event type NAME[:SUBTYPE]: " + ", ".join(EVENT_TYPE_NAMES) + " (trace subtypes by name)",
    "node-name": "node name pattern (e.g. k8s*, cluster/node)",
}

# hubble: "filters --a and --b cannot be combined" (an either-flag and a one-side flag of the same kind)
# hubble's short forms that do not collide with ebtop's own (-n is ebtop's count, -f its --follow)
SHORT_FLAGS = {"type": "-t", "label": "-l"}

EXCLUSIVE = tuple((kind, f"{side}-{kind}") for kind in ("label", "ip", "fqdn", "port", "identity")
                  for side in ("from", "to"))


@dataclass(frozen=True)
class FilterFlag:
    name: str
    value: str
    negated: bool


class _NotAction(argparse.Action):
    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        if getattr(namespace, "_hubble_not_pending", False):
            parser.error("--not must be followed by a filter flag, not another --not")
        namespace._hubble_not_pending = True  # noqa: SLF001


class _FilterAction(argparse.Action):
    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        flags = list(getattr(namespace, DEST, None) or [])
        negated = bool(getattr(namespace, "_hubble_not_pending", False))
        namespace._hubble_not_pending = False  # noqa: SLF001
        flags.append(FilterFlag(self.metavar_name, str(values), negated))
        setattr(namespace, DEST, flags)

    @property
    def metavar_name(self) -> str:
        return self.option_strings[0][2:]


def add_filter_arguments(group: argparse._ArgumentGroup) -> None:
    """Add hubble's filter flags (order matters: `--not` negates the next one)."""
    group.add_argument("--not", nargs=0, action=_NotAction, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                       help="send the next filter flag to the deny list (repeat it per flag)")
    for name in FILTER_FLAGS:
        short = SHORT_FLAGS.get(name)
        group.add_argument(f"--{name}", *([short] if short else []), action=_FilterAction, dest=argparse.SUPPRESS,
                           default=argparse.SUPPRESS, metavar=name.split("-")[-1].upper(), help=HELP[name])
    group.add_argument("--print-raw-filters", action="store_true",
                       help="print the allowlist/denylist these flags make (YAML, as hubble) and exit")


def raw_filters_yaml(request: observer_pb2.GetFlowsRequest) -> str:
    """What `hubble observe --print-raw-filters` prints: each FlowFilter as JSON in a YAML list.

    The output can go into hubble's config file or an exporter's allowlist/denylist as it is.
    """
    from tui.proto.protojson import to_go_json

    def block(key: str, filters: Sequence[flow_pb2.FlowFilter]) -> str:
        if not filters:
            return ""
        items = "".join("    - '" + to_go_json(f).replace("'", "''") + "'\n" for f in filters)
        return f"{key}:\n{items}"

    text = block("allowlist", request.whitelist) + block("denylist", request.blacklist)
    return text or "{}\n"


def check_trailing_not(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if getattr(args, "_hubble_not_pending", False):
        parser.error("--not must be followed by a filter flag")


def _event_type_filter(value: str) -> flow_pb2.EventTypeFilter:
    type_name, _, sub = value.partition(":")
    if type_name in EVENT_TYPE_NAMES:
        number = EVENT_TYPE_NAMES[type_name]
    elif type_name.isdigit():
        number = int(type_name)
    else:
        raise FilterError(f"--type {value!r}: unknown event type (one of {', '.join(EVENT_TYPE_NAMES)})")
    result = flow_pb2.EventTypeFilter(type=number)
    if sub:
        by_name = {name: code for code, name in TRACE_POINTS.items()}
        if sub in by_name and number == EVENT_TYPE_NAMES["trace"]:
            code = by_name[sub]
        elif sub.isdigit():
            code = int(sub)
        else:
            raise FilterError(f"--type {value!r}: unknown subtype {sub!r}")
        result.match_sub_type = True
        result.sub_type = code
    return result


def _workload(value: str) -> flow_pb2.Workload:
    kind, sep, name = value.rpartition("/")
    if not name:
        raise FilterError(f"--workload {value!r}: expected [KIND/]NAME")
    return flow_pb2.Workload(kind=kind if sep else "", name=name)


def _identity(name: str, value: str) -> int:
    if value.isdigit():
        return int(value)
    number = RESERVED_BY_NAME.get(value.removeprefix("reserved:"))
    if number is None:
        raise FilterError(f"--{name} {value!r}: not a number or a reserved identity "
                          f"({', '.join(sorted(RESERVED_BY_NAME))})")
    return number


def _check_value(flag: FilterFlag) -> object:
    name, value = flag.name, flag.value
    base = name.removeprefix("from-").removeprefix("to-")
    if base == "workload":
        return _workload(value)
    if base == "identity":
        return _identity(name, value)
    if name == "traffic-direction":
        upper = value.upper()
        if upper not in ("INGRESS", "EGRESS"):
            raise FilterError(f"--traffic-direction {value!r}: expected ingress or egress")
        return flow_pb2.TrafficDirection.Value(upper)
    if name == "drop-reason-desc":
        upper = value.upper()
        if upper not in flow_pb2.DropReason.DESCRIPTOR.values_by_name or upper == "DROP_REASON_UNKNOWN":
            raise FilterError(f"--drop-reason-desc {value!r}: not a drop reason (e.g. POLICY_DENIED, POLICY_DENY)")
        return flow_pb2.DropReason.Value(upper)
    if base == "port" and not (value.isdigit() and 0 < int(value) < 65536):
        raise FilterError(f"--{name} {value!r}: not a port number")
    if name == "verdict":
        upper = value.upper()
        if upper not in set(flow_pb2.Verdict.keys()) or upper == "VERDICT_UNKNOWN":
            raise FilterError(f"--verdict {value!r}: not a verdict (FORWARDED, DROPPED, AUDIT, REDIRECTED, "
                              "ERROR, TRACED, TRANSLATED)")
        return flow_pb2.Verdict.Value(upper)
    if name == "protocol" and value.lower() not in PROTOCOLS:
        raise FilterError(f"--protocol {value!r}: unknown protocol (one of {', '.join(PROTOCOLS)})")
    if name == "type":
        return _event_type_filter(value)
    if name == "port" and not (value.isdigit() and 0 < int(value) < 65536):
        raise FilterError(f"--port {value!r}: not a port number")
    if name == "http-status" and not re.fullmatch(r"\d{3}|\d\+", value):
        raise FilterError(f"--http-status {value!r}: expected a code like 404 or a class like 5+")
    if not value:
        raise FilterError(f"--{name}: empty value")
    return value


class _Tracker:
    """hubble's filterTracker: a left (source side) and right (destination side) FlowFilter."""

    def __init__(self) -> None:
        self.left: flow_pb2.FlowFilter | None = None
        self.right: flow_pb2.FlowFilter | None = None
        self.used: set[str] = set()
        self.namespaces: dict[str, list[str]] = {"either": [], "source": [], "destination": []}

    def _side(self, which: str) -> flow_pb2.FlowFilter:
        current = getattr(self, which)
        if current is None:
            current = flow_pb2.FlowFilter()
            setattr(self, which, current)
        return current

    def add(self, flag: FilterFlag) -> None:
        for first, second in EXCLUSIVE:
            if (flag.name == first and second in self.used) or (flag.name == second and first in self.used):
                raise FilterError(f"filters --{first} and --{second} cannot be combined")
        self.used.add(flag.name)
        mode, left_field, right_field = FILTER_FLAGS[flag.name]
        if mode == "namespace":
            if not flag.value or "/" in flag.value:
                raise FilterError(f"--{flag.name} {flag.value!r}: not a namespace name")
            self.namespaces[left_field].append(flag.value)
            self._side("left")
            self._side("right")
            return
        value = _check_value(flag)
        if mode == "either":
            _append(self._side("left"), left_field, value)
            _append(self._side("right"), right_field, value)
        else:
            _append(self._side("left"), left_field, value)
            _append(self._side("right"), left_field, value)

    def _qualify(self, target: flow_pb2.FlowFilter, side: str, namespaces: list[str]) -> None:
        """hubble: a namespace qualifies the side's pod and service names; alone it selects `ns/`."""
        names = [f"{side}_pod", f"{side}_service"]
        if not any(len(getattr(target, field)) for field in names):
            getattr(target, f"{side}_pod").extend(f"{ns}/" for ns in namespaces)
            return
        for field in names:
            values = list(getattr(target, field))
            if not values:
                continue
            qualified = [v if "/" in v else f"{ns}/{v}" for v in values for ns in namespaces]
            target.ClearField(field)
            getattr(target, field).extend(dict.fromkeys(qualified))

    def filters(self) -> list[flow_pb2.FlowFilter]:
        if self.left is not None and self.right is not None:
            if self.namespaces["either"]:
                self._qualify(self.left, "source", self.namespaces["either"])
                self._qualify(self.right, "destination", self.namespaces["either"])
            for side in ("source", "destination"):
                if self.namespaces[side]:
                    self._qualify(self.left, side, self.namespaces[side])
                    self._qualify(self.right, side, self.namespaces[side])
        if self.left is None and self.right is None:
            return []
        if self.left == self.right:
            return [self.left]  # type: ignore[list-item]
        return [f for f in (self.left, self.right) if f is not None]


def _append(target: flow_pb2.FlowFilter, field: str, value: object) -> None:
    if field == "cel_expression":
        target.experimental.cel_expression.append(str(value))
        return
    repeated = getattr(target, field)
    if isinstance(value, (flow_pb2.EventTypeFilter, flow_pb2.Workload)):
        repeated.add().CopyFrom(value)
    else:
        repeated.append(value)


def build_filters(flags: Sequence[FilterFlag]) -> tuple[list[flow_pb2.FlowFilter], list[flow_pb2.FlowFilter]]:
    """(whitelist, blacklist) for GetFlowsRequest; raises FilterError with hubble-like messages."""
    allow, deny = _Tracker(), _Tracker()
    for flag in flags:
        (deny if flag.negated else allow).add(flag)
    return allow.filters(), deny.filters()


def describe_filters(flags: Sequence[FilterFlag]) -> str:
    """The filters in force, as the user typed them (for the status line)."""
    return " ".join(f"{'--not ' if f.negated else ''}--{f.name} {f.value}" for f in flags)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_time(value: str, now: datetime | None = None) -> Timestamp:
    """`--since`/`--until`: a Go duration (`3s`, `1h43m` = that long ago) or an absolute time."""
    now = now or datetime.now(UTC)
    text = value.strip()
    if text and _DURATION.sub("", text) == "" and _DURATION.match(text):
        seconds = sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(text))
        when = now - timedelta(seconds=seconds)
    else:
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise FilterError(f"{value!r}: not a duration (like 5m or 1h30m) or a time (like "
                              "2006-01-02T15:04:05Z)") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
    stamp = Timestamp()
    stamp.FromDatetime(when)
    return stamp


@dataclass(frozen=True)
class History:
    """`--last/--first/--since/--until/--follow` as the user gave them."""

    last: int | None = None
    first: int | None = None
    since: str | None = None
    until: str | None = None
    follow: bool | None = None


def build_request(flags: Sequence[FilterFlag], history: History = History(),
                  live: bool = True, now: datetime | None = None) -> observer_pb2.GetFlowsRequest:
    """The GetFlowsRequest for a pane (`live`: follow unless history ends it) or a batch run.

    Batch runs are `hubble observe`: they follow only with --follow, and without --follow, --first,
    --since or --until they ask for the last `DEFAULT_LAST` flows.
    """
    if history.first is not None and history.last is not None:
        raise FilterError("--first and --last cannot be combined")
    if history.first is not None and history.follow:
        raise FilterError("--first and --follow cannot be combined")
    whitelist, blacklist = build_filters(flags)
    request = observer_pb2.GetFlowsRequest(whitelist=whitelist, blacklist=blacklist)
    any_history = any(v is not None for v in (history.last, history.first, history.since, history.until))
    ends = history.first is not None or (history.until is not None and not history.follow)
    if live:
        request.follow = not ends
    else:
        request.follow = bool(history.follow)
    if history.first is not None:
        request.first = True
        request.number = history.first
    elif history.last is not None:
        request.number = history.last
    elif not live and not request.follow and not any_history:
        request.number = DEFAULT_LAST
    if history.since:
        request.since.CopyFrom(parse_time(history.since, now))
    if history.until and not request.follow:
        request.until.CopyFrom(parse_time(history.until, now))
    return request
