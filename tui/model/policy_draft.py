"""Draft a CiliumNetworkPolicy (cilium.io/v2) from the traffic seen, and check flows against a policy.

For one workload, the draft allows the ingress and egress that reached their destination in the
flows given (the window): peers by their Kubernetes labels (`toEndpoints`/`fromEndpoints`, namespace
label included), reserved identities as entities (`host`, `remote-node`, `kube-apiserver`, ...),
names outside the cluster as `toFQDNs` (with the DNS rule toFQDNs needs: DNS to kube-dns through the
DNS proxy), other outside addresses as /32 CIDRs; ports and protocols as `toPorts`, ICMP as `icmps`.
Connections that were dropped (any of their flows) are not allowed by the draft: they are what it
would keep dropping.

`policy_allows` evaluates a policy (the parsed YAML, not the draft's internals) for one flow, for the
subset of the CiliumNetworkPolicy schema a draft uses; `would_drop` lists the flows it does not cover.
Socket-translation events (trace-sock, a Service's ClusterIP before load balancing) are not subject
to policy and are left out. `to_yaml` writes YAML without a YAML library (strings JSON-quoted, which
is valid YAML), so the runtime needs none.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from tui.model.flow_aggregates import digest
from tui.model.map_digest import KIND_FQDN, KIND_IP, KIND_RESERVED, KIND_SERVICE, MapNode
from tui.proto.flow import flow_pb2

NAMESPACE_LABEL = "io.kubernetes.pod.namespace"
# Labels that differ per pod of one workload, or that Cilium adds: never part of a selector.
_VOLATILE = frozenset(("io.cilium.k8s.policy.cluster", "pod-template-hash", "controller-revision-hash",
                       "statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index",
                       "pod-template-generation", "io.cilium.k8s.policy.serviceaccount"))
KUBE_DNS = {"k8s-app": "kube-dns", NAMESPACE_LABEL: "kube-system"}
_L4 = ("TCP", "UDP", "SCTP")
_DROPPED = (flow_pb2.DROPPED, flow_pb2.ERROR)
_SOCK = flow_pb2.SOCK


def k8s_labels(endpoint: flow_pb2.Endpoint) -> dict[str, str]:
    """`k8s:app=api` style labels as a selector dict (other sources and volatile labels dropped)."""
    out = {}
    for label in endpoint.labels:
        source, _, rest = label.partition(":")
        if source != "k8s" or not rest:
            continue
        key, _, value = rest.partition("=")
        if key not in _VOLATILE:
            out[key] = value
    if endpoint.namespace:
        out[NAMESPACE_LABEL] = endpoint.namespace
    return out


@dataclass(frozen=True)
class Side:
    """One flow seen from the workload: direction, peer, port, protocol (ICMP type for ICMP)."""

    egress: bool
    peer: MapNode
    peer_endpoint: flow_pb2.Endpoint
    peer_ip: str
    peer_names: tuple[str, ...]
    port: int
    protocol: str
    icmp: tuple[str, int] | None
    connection: tuple[str, int, str, int, str]
    """Client IP and port, server IP and port, protocol: the flows of one connection share it."""


def sides(flow: flow_pb2.Flow, workload: MapNode) -> list[Side]:
    """How `flow` involves `workload`: egress (it is the client), ingress (the server), both or none."""
    if flow.Type == _SOCK:
        return []
    keys = digest(flow).map
    if keys is None:
        return []
    reply = flow.HasField("is_reply") and flow.is_reply.value
    client_ep, server_ep = (flow.destination, flow.source) if reply else (flow.source, flow.destination)
    client_ip, server_ip = (flow.IP.destination, flow.IP.source) if reply else (flow.IP.source, flow.IP.destination)
    client_names, server_names = ((flow.destination_names, flow.source_names) if reply
                                  else (flow.source_names, flow.destination_names))
    icmp = None
    kind = flow.l4.WhichOneof("protocol") if flow.HasField("l4") else None
    if kind in ("ICMPv4", "ICMPv6"):
        message = getattr(flow.l4, kind)
        request = {0: 8, 129: 128}.get(message.type, message.type) if reply else message.type
        icmp = ("IPv4" if kind == "ICMPv4" else "IPv6", request)
    client_port = 0
    if kind in _L4:
        l4 = getattr(flow.l4, kind)
        client_port = l4.destination_port if reply else l4.source_port
    connection = (client_ip, client_port, server_ip, keys.port, keys.protocol)
    out = []
    if keys.client == workload:
        out.append(Side(True, keys.server, server_ep, server_ip, tuple(server_names), keys.port, keys.protocol, icmp,
                        connection))
    if keys.server == workload:
        out.append(Side(False, keys.client, client_ep, client_ip, tuple(client_names), keys.port, keys.protocol, icmp,
                        connection))
    return out


def dropped_connections(flows: Iterable[flow_pb2.Flow], workload: MapNode) -> set[tuple[str, int, str, int, str]]:
    """Connections of the workload with a dropped flow: their packets did not get through."""
    return {side.connection for flow in flows if flow.verdict in _DROPPED for side in sides(flow, workload)}


def workload_flows(flows: Iterable[flow_pb2.Flow], workload: MapNode) -> list[flow_pb2.Flow]:
    """The flows subject to the workload's policy (it is one end; socket-translation events left out)."""
    return [flow for flow in flows if sides(flow, workload)]


# -- drafting --------------------------------------------------------------------------------------
def _peer_key(side: Side) -> tuple[str, str]:
    """Which rule a peer lands in: ("endpoints", ...), ("entities", name), ("fqdn", name), ("cidr", ip)."""
    peer = side.peer
    if peer.kind == KIND_RESERVED:
        return ("entities", "world" if peer.name in ("world-ipv4", "world-ipv6") else peer.name)
    if peer.kind == KIND_FQDN and side.egress:
        return ("fqdn", peer.name)
    if peer.kind in (KIND_IP, KIND_FQDN):
        return ("cidr", side.peer_ip)
    return ("endpoints", peer.label)


def _port_entry(side: Side) -> tuple[str, object] | None:
    if side.icmp is not None:
        return ("icmp", side.icmp)
    if side.protocol in _L4 and side.port:
        return ("port", (side.port, side.protocol))
    return None


def draft_policy(flows: Iterable[flow_pb2.Flow], workload: MapNode, name: str | None = None) -> dict[str, object]:
    """The CiliumNetworkPolicy allowing what reached its destination, as a plain dict (see `to_yaml`).

    A connection with a dropped flow did not reach it, even if its first packets were traced leaving
    the client: none of its flows are allowed for.
    """
    flows = list(flows)
    dropped = dropped_connections(flows, workload)
    selector: dict[str, str] | None = None
    rules: dict[bool, dict[tuple[str, str], dict[str, object]]] = {True: {}, False: {}}
    dns_seen = False
    for flow in flows:
        for side in sides(flow, workload):
            if side.connection in dropped:
                continue
            own = flow.destination if (side.egress == (flow.HasField("is_reply") and flow.is_reply.value)) \
                else flow.source
            labels = {k: v for k, v in k8s_labels(own).items() if k != NAMESPACE_LABEL}
            selector = labels if selector is None else {k: v for k, v in selector.items() if labels.get(k) == v}
            key = _peer_key(side)
            rule = rules[side.egress].setdefault(key, {"labels": None, "ports": set(), "icmp": set(), "any": False})
            if key[0] == "endpoints":
                peer_labels = k8s_labels(side.peer_endpoint)
                old = rule["labels"]
                rule["labels"] = peer_labels if old is None else {
                    k: v for k, v in old.items() if peer_labels.get(k) == v}  # type: ignore[union-attr]
            entry = _port_entry(side)
            if entry is None:
                rule["any"] = True
            elif entry[0] == "icmp":
                rule["icmp"].add(entry[1])  # type: ignore[union-attr]
            else:
                rule["ports"].add(entry[1])  # type: ignore[union-attr]
                if side.egress and entry[1][0] == 53:  # type: ignore[index]
                    dns_seen = True
    namespace = workload.namespace
    spec: dict[str, object] = {"endpointSelector": {"matchLabels": dict(sorted((selector or {}).items()))}}
    has_fqdn = any(key[0] == "fqdn" for key in rules[True])
    for egress in (False, True):
        out = []
        for key in sorted(rules[egress]):
            rule = rules[egress][key]
            entry: dict[str, object] = {}
            kind, value = key
            if kind == "endpoints":
                entry["toEndpoints" if egress else "fromEndpoints"] = [
                    {"matchLabels": dict(sorted((rule["labels"] or {}).items()))}]  # type: ignore[union-attr]
            elif kind == "entities":
                entry["toEntities" if egress else "fromEntities"] = [value]
            elif kind == "fqdn":
                entry["toFQDNs"] = [{"matchName": value}]
            else:
                entry["toCIDR" if egress else "fromCIDR"] = [f"{value}/{128 if ':' in value else 32}"]
            ports = sorted(rule["ports"])  # type: ignore[call-overload]
            icmps = sorted(rule["icmp"])  # type: ignore[call-overload]
            if rule["any"]:
                out.append(entry)  # traffic without ports (no L4 seen): an L3-only rule
                continue
            if ports:
                port_rule: dict[str, object] = {"ports": [{"port": str(p), "protocol": proto} for p, proto in ports]}
                if egress and kind == "endpoints" and any(p == 53 for p, _ in ports) and (has_fqdn or dns_seen):
                    port_rule["rules"] = {"dns": [{"matchPattern": "*"}]}
                out.append({**entry, "toPorts": [port_rule]})
            if icmps:  # a rule of its own: ports and ICMP types of one peer are separate grants
                out.append({**entry, "icmps": [{"fields": [{"type": t, "family": fam} for fam, t in icmps]}]})
        if egress and has_fqdn and not any(
                isinstance(r.get("toPorts"), list) and any("rules" in p for p in r["toPorts"]) for r in out):
            out.append({"toEndpoints": [{"matchLabels": dict(sorted(KUBE_DNS.items()))}],
                        "toPorts": [{"ports": [{"port": "53", "protocol": "ANY"}],
                                     "rules": {"dns": [{"matchPattern": "*"}]}}]})
        spec["egress" if egress else "ingress"] = out or [{}]  # `- {}`: nothing seen, nothing allowed
    policy_name = name or f"ebtop-draft-{workload.name}"
    metadata: dict[str, object] = {"name": policy_name}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": metadata, "spec": spec}


# -- evaluating ------------------------------------------------------------------------------------
def _selector_matches(selector: object, labels: dict[str, str], namespace: str) -> bool:
    if not isinstance(selector, dict):
        return False
    match = dict(selector.get("matchLabels") or {})
    match.setdefault(NAMESPACE_LABEL, namespace)  # a CNP's peer selectors default to its own namespace
    return all(labels.get(key.removeprefix("k8s:")) == str(value) for key, value in match.items())


def _peer_allowed(rule: dict[str, object], side: Side, namespace: str) -> bool:
    prefix = "to" if side.egress else "from"
    endpoints = rule.get(f"{prefix}Endpoints")
    if isinstance(endpoints, list) and side.peer.kind not in (KIND_RESERVED, KIND_FQDN, KIND_IP, KIND_SERVICE):
        labels = k8s_labels(side.peer_endpoint)
        if any(_selector_matches(s, labels, namespace) for s in endpoints):
            return True
    entities = rule.get(f"{prefix}Entities")
    if isinstance(entities, list) and side.peer.kind == KIND_RESERVED:
        name = "world" if side.peer.name in ("world-ipv4", "world-ipv6") else side.peer.name
        if name in entities or "all" in entities:
            return True
    cidrs = rule.get(f"{prefix}CIDR")
    if isinstance(cidrs, list) and side.peer_ip:
        try:
            address = ipaddress.ip_address(side.peer_ip)
            if any(address in ipaddress.ip_network(str(c), strict=False) for c in cidrs):
                return True
        except ValueError:
            pass
    fqdns = rule.get("toFQDNs") if side.egress else None
    if isinstance(fqdns, list):
        names = {n.rstrip(".") for n in side.peer_names}
        if any(isinstance(f, dict) and str(f.get("matchName", "")).rstrip(".") in names for f in fqdns):
            return True
    return False


def _port_allowed(rule: dict[str, object], side: Side) -> bool:
    to_ports, icmps = rule.get("toPorts"), rule.get("icmps")
    if to_ports is None and icmps is None:
        return True  # an L3-only rule allows every port
    if side.icmp is not None:
        family, kind = side.icmp
        return isinstance(icmps, list) and any(
            isinstance(f, dict) and int(f.get("type", -1)) == kind and f.get("family", "IPv4") == family
            for entry in icmps for f in (entry.get("fields") or []))
    if not isinstance(to_ports, list):
        return False
    for port_rule in to_ports:
        for port in port_rule.get("ports") or []:
            protocol = str(port.get("protocol", "ANY")).upper()
            if str(port.get("port")) == str(side.port) and (protocol == "ANY" or protocol == side.protocol):
                return True
    return False


def policy_allows(policy: dict[str, object], flow: flow_pb2.Flow, workload: MapNode) -> bool:
    """Whether `policy` (applied to `workload`) lets `flow` through, for each side it is on."""
    spec = policy.get("spec")
    if not isinstance(spec, dict):
        return False
    namespace = str((policy.get("metadata") or {}).get("namespace", workload.namespace))  # type: ignore[union-attr]
    for side in sides(flow, workload):
        rules = spec.get("egress" if side.egress else "ingress") or []
        if not any(_peer_allowed(rule, side, namespace) and _port_allowed(rule, side) for rule in rules):
            return False
    return True


def would_drop(policy: dict[str, object], flows: Iterable[flow_pb2.Flow], workload: MapNode) -> list[flow_pb2.Flow]:
    """The flows of the workload the policy would not let through."""
    return [flow for flow in flows if sides(flow, workload) and not policy_allows(policy, flow, workload)]


# -- YAML ------------------------------------------------------------------------------------------
_PLAIN_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9._/-]*$")
_YAML_WORDS = frozenset(("true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"))


def _key(key: object) -> str:
    text = str(key)
    return text if _PLAIN_KEY.match(text) and text.lower() not in _YAML_WORDS else json.dumps(text)


def _scalar(value: object) -> str:
    if isinstance(value, dict) and not value:
        return "{}"
    if isinstance(value, list) and not value:
        return "[]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value))  # a JSON string is a YAML double-quoted scalar; escapes every control char


def _emit(value: object, indent: int, lines: list[str], prefix: str) -> None:
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            lines.append(f"{prefix}{{}}" if prefix.strip() else f"{pad}{{}}")
            return
        first = True
        for key, inner in value.items():
            head = prefix if first else pad
            first = False
            name = _key(key)
            if isinstance(inner, (dict, list)) and inner:
                lines.append(f"{head}{name}:")
                _emit(inner, indent + 2, lines, " " * (indent + 2))
            else:
                lines.append(f"{head}{name}: {_scalar(inner)}")
        return
    if isinstance(value, list):
        for inner in value:
            if isinstance(inner, dict) and inner:
                _emit(inner, indent + 2, lines, f"{pad}- ")
            else:
                lines.append(f"{pad}- {_scalar(inner)}")
        return
    lines.append(f"{prefix}{_scalar(value)}")


def to_yaml(policy: dict[str, object]) -> str:
    """YAML text of a draft (block style, keys in the order the draft made them)."""
    lines: list[str] = []
    _emit(policy, 0, lines, "")
    return "\n".join(lines) + "\n"
