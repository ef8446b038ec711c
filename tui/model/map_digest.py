"""Who a flow's two ends are on the service map, and the few facts the map and connect times need.

A map node is a workload (`namespace/name` from the flow's `workloads`, else the pod name without its
ReplicaSet/pod suffix), a Service a socket was translated from, a reserved identity (world, host,
kube-apiserver, remote-node, health, ...), or outside the cluster the FQDN the flow names, else the
address. `map_keys` runs in the reader thread beside `flow_aggregates.digest`: it must stay cheap.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from tui.model.hubble_names import EVENT_TRACE, RESERVED_IDENTITIES
from tui.proto.flow import flow_pb2

# Kubernetes' random name suffixes use this alphabet (no vowels, no 0/1/3): a pod of a Deployment is
# `<name>-<pod-template-hash>-<5 chars>`, of a DaemonSet or Job `<name>-<5 chars>`, of a StatefulSet
# `<name>-<ordinal>`. Matching only that alphabet keeps `nginx-proxy` whole.
_SAFE = "bcdfghjklmnpqrstvwxz2456789"
_POD_SUFFIX = re.compile(rf"(?:-[{_SAFE}]{{6,10}})?-[{_SAFE}]{{5}}$|-\d+$")

KIND_WORKLOAD, KIND_SERVICE, KIND_RESERVED, KIND_FQDN, KIND_IP = "workload", "service", "reserved", "fqdn", "ip"
_WORLD = frozenset((0, 2, 9, 10))  # unknown and world identities: named by FQDN or address instead
_EVENT_TRACE = EVENT_TRACE


class MapNode(NamedTuple):
    """One node of the service map; `namespace` is empty outside the cluster and for reserved ones."""

    namespace: str
    name: str
    kind: str

    @property
    def label(self) -> str:
        if self.kind == KIND_RESERVED:
            return f"({self.name})"
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def group(self) -> str:
        """The box the map draws it in: its namespace, `(reserved)` or `(outside)`."""
        if self.namespace:
            return self.namespace
        return "(reserved)" if self.kind == KIND_RESERVED else "(outside)"


@lru_cache(maxsize=4096)
def workload_name(pod_name: str) -> str:
    """`api-5f6b8d9c4-k7wzn` -> `api`, `postgres-0` -> `postgres`; other names unchanged."""
    stripped = _POD_SUFFIX.sub("", pod_name)
    return stripped or pod_name


def _reserved_from_labels(labels: object) -> str:
    for label in labels:  # type: ignore[attr-defined]
        if label.startswith("reserved:"):
            return label[9:]
    return ""


def node_of(endpoint: flow_pb2.Endpoint, ip: str, names: object, service: flow_pb2.Service | None) -> MapNode:
    """The map node of one end of a flow."""
    namespace = endpoint.namespace
    if len(endpoint.workloads):
        return MapNode(namespace, endpoint.workloads[0].name, KIND_WORKLOAD)
    pod = endpoint.pod_name
    if pod:
        return MapNode(namespace, workload_name(pod), KIND_WORKLOAD)
    identity = endpoint.identity
    if identity not in _WORLD:
        reserved = RESERVED_IDENTITIES.get(identity) or _reserved_from_labels(endpoint.labels)
        if reserved:
            return MapNode("", reserved, KIND_RESERVED)
    if service is not None and service.name:
        return MapNode(service.namespace, service.name, KIND_SERVICE)  # a ClusterIP before translation
    if len(names):  # type: ignore[arg-type]
        return MapNode("", names[0], KIND_FQDN)  # type: ignore[index]
    if ip:
        return MapNode("", ip, KIND_IP)
    reserved = RESERVED_IDENTITIES.get(identity) or _reserved_from_labels(endpoint.labels) or "unknown"
    return MapNode("", reserved, KIND_RESERVED)


def describe_endpoint(endpoint: flow_pb2.Endpoint, ip: str, names: object, flow: flow_pb2.Flow,
                      source: bool) -> tuple[MapNode, str]:
    """The map node and the talkers label (`flow_aggregates.endpoint_label`) of one end, each field read once.

    The digest needs both for every flow; reading the endpoint once keeps the map cheap in the reader.
    """
    namespace = endpoint.namespace
    workloads = endpoint.workloads
    if workloads:
        name = workloads[0].name
        label = f"{namespace}/{name}" if namespace else name
        return MapNode(namespace, name, KIND_WORKLOAD), label
    pod = endpoint.pod_name
    if pod:
        return (MapNode(namespace, workload_name(pod), KIND_WORKLOAD),
                f"{namespace}/{pod}" if namespace else pod)
    identity = endpoint.identity
    reserved = RESERVED_IDENTITIES.get(identity)
    if len(names):  # type: ignore[arg-type]
        label = names[0]  # type: ignore[index]
    elif reserved is not None and identity not in _WORLD:
        label = f"({reserved})"
    else:
        label = ip or "(unknown)"
    service = flow.source_service if source else flow.destination_service
    return node_of(endpoint, ip, names, service), label


class Handshake(NamedTuple):
    """A SYN or SYN-ACK trace event: enough to pair the two at one observation point."""

    node: str
    """The Cilium node that observed it (the clock both times come from)."""
    connection: tuple[str, int, str, int]
    """Client IP, client port, server IP, server port (the SYN's direction)."""
    time_ns: int
    synack: bool
    client_side: bool
    """The SYN left the client's own endpoint (FROM_ENDPOINT): measured where the client waits."""
    client_is_endpoint: bool
    """The client is a pod on a Cilium node (else only the server side can measure)."""


def handshake_of(flow: flow_pb2.Flow, ip_src: str, ip_dst: str, sport: int, dport: int,
                 event_type: int | None = None) -> Handshake | None:
    """The handshake step this flow shows, or None (not a TCP SYN / SYN-ACK trace event)."""
    if (flow.event_type.type if event_type is None else event_type) != _EVENT_TRACE:
        return None
    flags = flow.l4.TCP.flags
    if not flags.SYN or flags.RST or flags.FIN:
        return None
    time_ns = flow.time.seconds * 1_000_000_000 + flow.time.nanos
    if flags.ACK:  # SYN-ACK: server -> client
        return Handshake(flow.node_name, (ip_dst, dport, ip_src, sport), time_ns, True, False,
                         bool(flow.destination.pod_name))
    return Handshake(flow.node_name, (ip_src, sport, ip_dst, dport), time_ns, False,
                     flow.trace_observation_point == flow_pb2.FROM_ENDPOINT, bool(flow.source.pod_name))


class MapKeys(NamedTuple):
    """What the service map counts for one flow."""

    client: MapNode
    server: MapNode
    port: int
    protocol: str
    l7_error: bool
    """An HTTP 5xx response or a DNS response with an error rcode."""
    handshake: Handshake | None


def map_keys(flow: flow_pb2.Flow, ip_src: str, ip_dst: str, protocol: str, sport: int, dport: int,
             reply: bool) -> MapKeys:
    """The map's keys of one flow, with the client on the left whichever way the packet went."""
    src = node_of(flow.source, ip_src, flow.source_names,
                  flow.source_service if not flow.source.pod_name else None)
    dst = node_of(flow.destination, ip_dst, flow.destination_names,
                  flow.destination_service if not flow.destination.pod_name else None)
    return map_keys_of(flow, src, dst, ip_src, ip_dst, protocol, sport, dport, reply, _l7_error(flow))


def _l7_error(flow: flow_pb2.Flow) -> bool:
    error = False
    if flow.HasField("l7") and flow.l7.type == flow_pb2.RESPONSE:
        record = flow.l7.WhichOneof("record")
        if record == "http":
            error = flow.l7.http.code >= 500
        elif record == "dns":
            error = flow.l7.dns.rcode != 0
    return error


def map_keys_of(flow: flow_pb2.Flow, src: MapNode, dst: MapNode, ip_src: str, ip_dst: str, protocol: str,
                sport: int, dport: int, reply: bool, l7_error: bool, event_type: int | None = None) -> MapKeys:
    """`map_keys` for a digest that has the nodes, the L7 error and the event type already."""
    handshake = handshake_of(flow, ip_src, ip_dst, sport, dport, event_type) if protocol == "TCP" else None
    if reply:
        return MapKeys(dst, src, sport, protocol, l7_error, handshake)
    return MapKeys(src, dst, dport, protocol, l7_error, handshake)


# -- policy verdicts ------------------------------------------------------------------------------
DEFAULT_DENY = "default deny"
P_DENIED, P_DROP, P_AUDIT = 1, 2, 3  # value index: a policy-verdict DROPPED, a drop event, an AUDIT verdict
_POLICY_DROP_REASONS = frozenset((133, 181, 189))  # POLICY_DENIED, POLICY_DENY, AUTH_REQUIRED
_EVENT_POLICY_VERDICT = 5
_EVENT_DROP = 1
_DROP_NAMES = frozenset(flow_pb2.DropReason.values())


class PolicyKey(NamedTuple):
    """One row of the Policies view: which policy, why, and who was stopped talking to whom."""

    policy: str
    reason: str
    client: MapNode
    server: MapNode
    audit: bool
    """Audit verdicts (what enforcement would drop) are kept apart from enforced drops."""


def _policy_names(policies: object) -> list[str]:
    names = []
    for policy in policies:  # type: ignore[attr-defined]
        if not policy.name:
            continue
        name = f"{policy.namespace}/{policy.name}" if policy.namespace else policy.name
        names.append(f"{name} ({policy.kind})" if policy.kind else name)
    return names


def denied_by_text(flow: flow_pb2.Flow) -> str:
    """The `*_denied_by` policies of the flow's direction, or `default deny` when it names none."""
    direction = flow.traffic_direction
    names: list[str] = []
    if direction != flow_pb2.INGRESS:
        names += _policy_names(flow.egress_denied_by)
    if direction != flow_pb2.EGRESS:
        names += _policy_names(flow.ingress_denied_by)
    return ", ".join(names) if names else DEFAULT_DENY


def policy_of(flow: flow_pb2.Flow, keys: MapKeys) -> tuple[PolicyKey, int] | None:
    """The Policies view's key and column for a policy drop, policy-denied verdict or audit verdict."""
    verdict = flow.verdict
    event = flow.event_type.type
    if verdict == flow_pb2.AUDIT:
        column = P_AUDIT
    elif verdict in (flow_pb2.DROPPED, flow_pb2.ERROR):
        if event == _EVENT_POLICY_VERDICT:
            column = P_DENIED
        elif (flow.drop_reason_desc or flow.drop_reason) in _POLICY_DROP_REASONS or (
                event == _EVENT_DROP and flow.event_type.sub_type in _POLICY_DROP_REASONS):
            column = P_DROP
        else:
            return None
    else:
        return None
    reason_code = flow.drop_reason_desc or flow.drop_reason
    if reason_code in _DROP_NAMES and reason_code:
        reason = flow_pb2.DropReason.Name(reason_code)
    elif reason_code:
        reason = str(reason_code)
    else:
        reason = "POLICY_DENIED" if column != P_DROP else "unknown"
    return PolicyKey(denied_by_text(flow), reason, keys.client, keys.server, column == P_AUDIT), column
