"""Hubble's FlowFilter semantics, server side: compile whitelist/blacklist filters into one predicate.

Rules (as the Hubble server applies them): the whitelist is an OR of FlowFilters, every set field of
one FlowFilter must match (AND), and the values inside one field are alternatives (OR). A flow is
returned when it matches the whitelist (or the whitelist is empty) and matches no blacklist filter.
Invalid filter values raise `FilterError` (the server answers INVALID_ARGUMENT), never match silently.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import urlsplit

from tui.filters import FilterError, compile_regexes
from tui.filters.selectors import split_requirements
from tui.proto.flow import flow_pb2
from tui.proto.observer import observer_pb2

FlowPredicate = Callable[[flow_pb2.Flow], bool]
ResponsePredicate = Callable[[observer_pb2.GetFlowsResponse], bool]
DEFAULT_NAMESPACE = "default"
L4_PROTOCOLS = {"tcp": ("TCP",), "udp": ("UDP",), "sctp": ("SCTP",), "icmp": ("ICMPv4", "ICMPv6"),
                "icmpv4": ("ICMPv4",), "icmpv6": ("ICMPv6",), "vrrp": ("VRRP",), "igmp": ("IGMP",)}
L7_PROTOCOLS = ("dns", "http", "kafka")
EVENT_TYPE_L7 = 129


# -- field matchers ------------------------------------------------------------------------------
def _ip_matcher(values: Sequence[str], attr: str) -> FlowPredicate:
    nets = []
    for value in values:
        try:
            nets.append(ipaddress.ip_network(value, strict=False) if "/" in value
                        else ipaddress.ip_network(ipaddress.ip_address(value)))
        except ValueError:
            raise FilterError(f"invalid IP address or CIDR in filter: {value!r}") from None

    def match(flow: flow_pb2.Flow) -> bool:
        text = getattr(flow.IP, attr)
        if not text:
            return False
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            return False
        return any(address in net for net in nets)

    return match


def _parse_namespaced(values: Sequence[str], what: str) -> list[tuple[str | None, str]]:
    """`[ns/]prefix` -> (namespace or None for any, name prefix); no slash means namespace `default`."""
    parsed = []
    for value in values:
        if not value:
            raise FilterError(f"empty {what} filter")
        if "/" in value:
            namespace, prefix = value.split("/", 1)
            parsed.append((namespace or None, prefix))
        else:
            parsed.append((DEFAULT_NAMESPACE, value))
    return parsed


def _pod_matcher(values: Sequence[str], side: str) -> FlowPredicate:
    wanted = _parse_namespaced(values, "pod")

    def match(flow: flow_pb2.Flow) -> bool:
        endpoint = getattr(flow, side)
        if not endpoint.namespace and not endpoint.pod_name:
            return False
        return any((ns is None or ns == endpoint.namespace) and endpoint.pod_name.startswith(prefix)
                   for ns, prefix in wanted)

    return match


def _service_matcher(values: Sequence[str], side: str) -> FlowPredicate:
    wanted = _parse_namespaced(values, "service")

    def match(flow: flow_pb2.Flow) -> bool:
        service = getattr(flow, f"{side}_service")
        if not service.name and not service.namespace:
            return False
        return any((ns is None or ns == service.namespace) and service.name.startswith(prefix)
                   for ns, prefix in wanted)

    return match


_FQDN_CHARS = re.compile(r"^[-a-zA-Z0-9_.*]+$")


def _fqdn_matcher(values: Sequence[str], side: str) -> FlowPredicate:
    patterns = []
    for value in values:
        pattern = value.strip().rstrip(".").lower()
        if not pattern or not _FQDN_CHARS.match(pattern):
            raise FilterError(f"invalid FQDN pattern: {value!r}")
        patterns.append(re.compile(re.escape(pattern).replace(r"\*", r"[-a-z0-9_.]*")))

    def match(flow: flow_pb2.Flow) -> bool:
        names = getattr(flow, f"{side}_names")
        return any(p.fullmatch(name.rstrip(".").lower()) for name in names for p in patterns)

    return match


# Label selectors: comma-separated requirements, Kubernetes syntax; keys may carry a label source
# (`k8s:app=x`, `reserved:world`); without one they match a label of any source.
_REQ_SET = re.compile(r"^\s*(?P<key>[^\s!=(),]+)\s+(?P<op>in|notin)\s+\((?P<vals>[^)]*)\)\s*$")
_REQ_CMP = re.compile(r"^\s*(?P<key>[^\s!=(),]+)\s*(?P<op>==|=|!=)\s*(?P<val>[^\s!=(),]*)\s*$")
_REQ_EXISTS = re.compile(r"^\s*(?P<neg>!)?\s*(?P<key>[^\s!=(),]+)\s*$")
_KNOWN_SOURCES = ("k8s", "reserved", "cidr", "fqdn", "container", "unspec", "any", "cilium", "kvstore")


def _split_requirements(selector: str) -> list[str]:
    return [part for part in split_requirements(selector) if part.strip()]


def _split_key(key: str) -> tuple[str | None, str]:
    source, sep, rest = key.partition(":")
    if sep and source in _KNOWN_SOURCES:
        return (None if source == "any" else source), rest
    return None, key


def _parse_labels(labels: Iterable[str]) -> list[tuple[str | None, str, str]]:
    parsed = []
    for label in labels:
        key, _, value = label.partition("=")
        source, name = _split_key(key)
        parsed.append((source, name, value))
    return parsed


def compile_selector(selector: str) -> Callable[[Iterable[str]], bool]:
    """A Kubernetes-style label selector over Cilium labels (`source:key=value`)."""
    requirements: list[tuple[str | None, str, str, frozenset[str]]] = []
    if not selector.strip():
        raise FilterError("empty label selector")
    for part in _split_requirements(selector):
        if m := _REQ_SET.match(part):
            values = frozenset(v.strip() for v in m["vals"].split(",") if v.strip())
            source, key = _split_key(m["key"])
            requirements.append((source, key, m["op"], values))
        elif m := _REQ_CMP.match(part):
            source, key = _split_key(m["key"])
            requirements.append((source, key, "!=" if m["op"] == "!=" else "=", frozenset((m["val"],))))
        elif m := _REQ_EXISTS.match(part):
            source, key = _split_key(m["key"])
            requirements.append((source, key, "!" if m["neg"] else "exists", frozenset()))
        else:
            raise FilterError(f"invalid label selector {selector!r} (at {part.strip()!r})")

    def match(labels: Iterable[str]) -> bool:
        parsed = _parse_labels(labels)
        for source, key, op, values in requirements:
            found = [v for (s, k, v) in parsed if k == key and (source is None or s == source)]
            if op == "exists" and not found:
                return False
            if op == "!" and found:
                return False
            if op in ("=", "in") and not any(v in values for v in found):
                return False
            if op in ("!=", "notin") and any(v in values for v in found):
                return False
        return True

    return match


def _label_matcher(values: Sequence[str], side: str) -> FlowPredicate:
    selectors = [compile_selector(v) for v in values]

    def match(flow: flow_pb2.Flow) -> bool:
        labels = getattr(flow, side).labels
        return any(sel(labels) for sel in selectors)

    return match


def _workload_matcher(values: Sequence[flow_pb2.Workload], side: str) -> FlowPredicate:
    wanted = [(w.name, w.kind.lower()) for w in values]

    def match(flow: flow_pb2.Flow) -> bool:
        workloads = getattr(flow, side).workloads
        return any((not name or w.name == name) and (not kind or w.kind.lower() == kind)
                   for w in workloads for name, kind in wanted)

    return match


def _protocol_matcher(values: Sequence[str]) -> FlowPredicate:
    l4: set[str] = set()
    l7: set[str] = set()
    for value in values:
        name = value.lower()
        if name in L4_PROTOCOLS:
            l4.update(L4_PROTOCOLS[name])
        elif name in L7_PROTOCOLS:
            l7.add(name)
        else:
            raise FilterError(f"unknown protocol: {value!r}")

    def match(flow: flow_pb2.Flow) -> bool:
        if l4 and flow.HasField("l4") and flow.l4.WhichOneof("protocol") in l4:
            return True
        return bool(l7) and flow.HasField("l7") and flow.l7.WhichOneof("record") in l7

    return match


def _ports(values: Sequence[str]) -> set[int]:
    ports = set()
    for value in values:
        try:
            port = int(value, 10)
        except ValueError:
            raise FilterError(f"invalid port in filter: {value!r}") from None
        if not 0 <= port <= 65535:
            raise FilterError(f"port out of range in filter: {value!r}")
        ports.add(port)
    return ports


def _port_matcher(values: Sequence[str], attr: str) -> FlowPredicate:
    ports = _ports(values)

    def match(flow: flow_pb2.Flow) -> bool:
        kind = flow.l4.WhichOneof("protocol")
        if kind not in ("TCP", "UDP", "SCTP"):
            return False
        return getattr(getattr(flow.l4, kind), attr) in ports

    return match


_STATUS_FULL = re.compile(r"^[1-5][0-9]{2}$")
_STATUS_PREFIX = re.compile(r"^[1-5][0-9]?\+$")


def _http_status_matcher(values: Sequence[str], event_types: Sequence[flow_pb2.EventTypeFilter]
                         ) -> FlowPredicate:
    if event_types and not any(e.type == EVENT_TYPE_L7 for e in event_types):
        raise FilterError("filtering by http status code requires the event type filter to match 'l7' events")
    full, prefixes = set(), []
    for value in values:
        if _STATUS_FULL.match(value):
            full.add(value)
        elif _STATUS_PREFIX.match(value):
            prefixes.append(value[:-1])
        else:
            raise FilterError(f"invalid http status code filter: {value!r}")

    def match(flow: flow_pb2.Flow) -> bool:
        if not flow.l7.HasField("http") or flow.l7.http.code == 0:
            return False
        code = f"{flow.l7.http.code:03d}"
        return code in full or any(code.startswith(p) for p in prefixes)

    return match


_regexes = compile_regexes


def _http_path_matcher(values: Sequence[str]) -> FlowPredicate:
    regexes = _regexes(values, "http path")

    def match(flow: flow_pb2.Flow) -> bool:
        if not flow.l7.HasField("http") or not flow.l7.http.url:
            return False
        path = urlsplit(flow.l7.http.url).path
        return any(r.search(path) for r in regexes)

    return match


def _http_url_matcher(values: Sequence[str]) -> FlowPredicate:
    regexes = _regexes(values, "http url")

    def match(flow: flow_pb2.Flow) -> bool:
        url = flow.l7.http.url if flow.l7.HasField("http") else ""
        return bool(url) and any(r.search(url) for r in regexes)

    return match


def _dns_query_matcher(values: Sequence[str]) -> FlowPredicate:
    regexes = _regexes(values, "dns query")

    def match(flow: flow_pb2.Flow) -> bool:
        if not flow.l7.HasField("dns"):
            return False
        return any(r.search(flow.l7.dns.query) for r in regexes)

    return match


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(re.escape(pattern).replace(r"\*", ".*"))


def _node_name_matcher(values: Sequence[str]) -> FlowPredicate:
    """Patterns `node*`, `cluster/node*`, `cluster/` (a flow without a cluster prefix is in `default`)."""
    wanted = []
    for value in values:
        if not value:
            raise FilterError("empty node name filter")
        cluster, sep, node = value.partition("/")
        if sep:
            wanted.append((_glob(cluster) if cluster else None, _glob(node) if node else None))
        else:
            wanted.append((None, _glob(value)))

    def match(flow: flow_pb2.Flow) -> bool:
        if not flow.node_name:
            return False
        cluster, sep, node = flow.node_name.partition("/")
        if not sep:
            cluster, node = DEFAULT_NAMESPACE, flow.node_name
        return any((cp is None or cp.fullmatch(cluster)) and (np is None or np.fullmatch(node))
                   for cp, np in wanted)

    return match


def _event_type_matcher(values: Sequence[flow_pb2.EventTypeFilter]) -> FlowPredicate:
    wanted = [(e.type, e.match_sub_type, e.sub_type) for e in values]

    def match(flow: flow_pb2.Flow) -> bool:
        if not flow.HasField("event_type"):
            return False
        etype, sub = flow.event_type.type, flow.event_type.sub_type
        return any(etype == t and (not use_sub or sub == s) for t, use_sub, s in wanted)

    return match


def _tcp_flags_matcher(values: Sequence[flow_pb2.TCPFlags]) -> FlowPredicate:
    names = [f.name for f in flow_pb2.TCPFlags.DESCRIPTOR.fields]
    wanted = [[name for name in names if getattr(flags, name)] for flags in values]

    def match(flow: flow_pb2.Flow) -> bool:
        if not flow.l4.HasField("TCP"):
            return False
        have = flow.l4.TCP.flags
        return any(all(getattr(have, name) for name in entry) for entry in wanted)

    return match


def _reply_matcher(values: Sequence[bool]) -> FlowPredicate:
    wanted = set(values)

    def match(flow: flow_pb2.Flow) -> bool:
        return flow.HasField("is_reply") and flow.is_reply.value in wanted

    return match


def _interface_matcher(values: Sequence[flow_pb2.NetworkInterface]) -> FlowPredicate:
    wanted = [(i.index, i.name) for i in values]

    def match(flow: flow_pb2.Flow) -> bool:
        if not flow.HasField("interface"):
            return False
        iface = flow.interface
        return any((not index or iface.index == index) and (not name or iface.name == name)
                   for index, name in wanted)

    return match


def _in(getter: Callable[[flow_pb2.Flow], object], values: Iterable[object]) -> FlowPredicate:
    wanted = set(values)
    return lambda flow: getter(flow) in wanted


# -- assembling ----------------------------------------------------------------------------------
def compile_filter(ff: flow_pb2.FlowFilter) -> FlowPredicate:
    """One FlowFilter -> predicate (AND of its set fields). An empty filter matches everything."""
    checks: list[FlowPredicate] = []
    add = checks.append
    if ff.uuid:
        add(_in(lambda f: f.uuid, ff.uuid))
    for side in ("source", "destination"):
        if getattr(ff, f"{side}_ip"):
            add(_ip_matcher(getattr(ff, f"{side}_ip"), side))
        if getattr(ff, f"{side}_pod"):
            add(_pod_matcher(getattr(ff, f"{side}_pod"), side))
        if getattr(ff, f"{side}_fqdn"):
            add(_fqdn_matcher(getattr(ff, f"{side}_fqdn"), side))
        if getattr(ff, f"{side}_label"):
            add(_label_matcher(getattr(ff, f"{side}_label"), side))
        if getattr(ff, f"{side}_service"):
            add(_service_matcher(getattr(ff, f"{side}_service"), side))
        if getattr(ff, f"{side}_workload"):
            add(_workload_matcher(getattr(ff, f"{side}_workload"), side))
        if getattr(ff, f"{side}_cluster_name"):
            add(_in(lambda f, s=side: getattr(f, s).cluster_name, getattr(ff, f"{side}_cluster_name")))
        if getattr(ff, f"{side}_identity"):
            add(_in(lambda f, s=side: getattr(f, s).identity, getattr(ff, f"{side}_identity")))
        if getattr(ff, f"{side}_port"):
            add(_port_matcher(getattr(ff, f"{side}_port"), f"{side}_port"))
    if ff.source_ip_xlated:
        add(_ip_matcher(ff.source_ip_xlated, "source_xlated"))
    if ff.traffic_direction:
        add(_in(lambda f: f.traffic_direction, ff.traffic_direction))
    if ff.verdict:
        add(_in(lambda f: f.verdict, ff.verdict))
    if ff.drop_reason_desc:
        add(_in(lambda f: f.drop_reason_desc, ff.drop_reason_desc))
    if ff.interface:
        add(_interface_matcher(ff.interface))
    if ff.event_type:
        add(_event_type_matcher(ff.event_type))
    if ff.http_status_code:
        add(_http_status_matcher(ff.http_status_code, ff.event_type))
    if ff.protocol:
        add(_protocol_matcher(ff.protocol))
    if ff.reply:
        add(_reply_matcher(ff.reply))
    if ff.dns_query:
        add(_dns_query_matcher(ff.dns_query))
    if ff.http_method:
        methods = {m.upper() for m in ff.http_method}
        add(lambda f: f.l7.HasField("http") and f.l7.http.method.upper() in methods)
    if ff.http_path:
        add(_http_path_matcher(ff.http_path))
    if ff.http_url:
        add(_http_url_matcher(ff.http_url))
    if ff.http_header:
        headers = {(h.key, h.value) for h in ff.http_header}
        add(lambda f: f.l7.HasField("http") and any((h.key, h.value) in headers for h in f.l7.http.headers))
    if ff.tcp_flags:
        add(_tcp_flags_matcher(ff.tcp_flags))
    if ff.node_name:
        add(_node_name_matcher(ff.node_name))
    if ff.node_labels:
        selectors = [compile_selector(v) for v in ff.node_labels]
        add(lambda f: any(sel(f.node_labels) for sel in selectors))
    if ff.ip_version:
        add(_in(lambda f: f.IP.ipVersion if f.HasField("IP") else None, ff.ip_version))
    if ff.trace_id:
        add(_in(lambda f: f.trace_context.parent.trace_id or None, ff.trace_id))
    if ff.ip_trace_id:
        add(_in(lambda f: f.ip_trace_id.trace_id or None, ff.ip_trace_id))
    if ff.encrypted:
        add(_in(lambda f: f.IP.encrypted if f.HasField("IP") else None, ff.encrypted))
    if ff.experimental.cel_expression:
        raise FilterError("--cel-expression cannot be evaluated here: ebtop has no CEL engine, so a --hubble-file "
                          "replay (and the demo server) refuse it; a Hubble server evaluates it")

    if not checks:
        return lambda flow: True
    if len(checks) == 1:
        return checks[0]
    return lambda flow: all(check(flow) for check in checks)


def compile_filters(whitelist: Sequence[flow_pb2.FlowFilter],
                    blacklist: Sequence[flow_pb2.FlowFilter]) -> FlowPredicate:
    """The request's whitelist and blacklist as one predicate: (any whitelist or none given) and no blacklist."""
    allow = [compile_filter(ff) for ff in whitelist]
    deny = [compile_filter(ff) for ff in blacklist]

    def match(flow: flow_pb2.Flow) -> bool:
        if allow and not any(a(flow) for a in allow):
            return False
        return not any(d(flow) for d in deny)

    return match


def request_predicate(request: observer_pb2.GetFlowsRequest) -> ResponsePredicate:
    """What a GetFlowsRequest keeps of responses read from a file, as hubble's `--input-file` reader does.

    A response outside `since`/`until` (its time, else its flow's) is dropped; a flow must pass the
    whitelist and blacklist; a response without a flow (node status, lost events) passes unless a
    whitelist asks for particular flows. Raises FilterError for values a server would refuse.
    """
    matches = compile_filters(request.whitelist, request.blacklist)
    since = request.since.ToNanoseconds() if request.HasField("since") else None
    until = request.until.ToNanoseconds() if request.HasField("until") else None
    others_pass = not request.whitelist

    def keep(response: observer_pb2.GetFlowsResponse) -> bool:
        if since is not None or until is not None:
            stamp = response.time if response.HasField("time") else response.flow.time
            nanos = stamp.ToNanoseconds()
            if (since is not None and nanos < since) or (until is not None and nanos > until):
                return False
        if response.HasField("flow"):
            return matches(response.flow)
        return others_pass

    return keep
