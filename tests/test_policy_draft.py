"""A CiliumNetworkPolicy drafted from the demo's traffic: valid shape, covers what was seen and nothing else."""

from __future__ import annotations

import itertools
import re

import pytest
import yaml

from tui.demo.hubble_scenario import flow_responses
from tui.model.map_digest import MapNode
from tui.model.policy_draft import (
    draft_policy,
    dropped_connections,
    policy_allows,
    sides,
    to_yaml,
    workload_flows,
)
from tui.proto.flow import flow_pb2

FLOWS = [response.flow for response in itertools.islice(flow_responses(seed=7), 8000)]
# The fields a CiliumNetworkPolicy rule may carry (cilium.io/v2 CRD schema, the subset a draft writes).
RULE_PEERS = {"ingress": {"fromEndpoints", "fromEntities", "fromCIDR"},
              "egress": {"toEndpoints", "toEntities", "toCIDR", "toFQDNs"}}
RULE_L4 = {"toPorts", "icmps"}
PROTOCOLS = {"TCP", "UDP", "SCTP", "ANY"}
ENTITIES = {"host", "remote-node", "kube-apiserver", "health", "init", "ingress", "world", "cluster", "all",
            "unmanaged"}
DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
WORKLOADS = [MapNode("shop", "frontend", "workload"), MapNode("shop", "api", "workload"),
             MapNode("shop", "postgres", "workload"), MapNode("kube-system", "coredns", "workload")]


def check_schema(policy: dict) -> None:
    assert policy["apiVersion"] == "cilium.io/v2" and policy["kind"] == "CiliumNetworkPolicy"
    assert DNS_1123.match(policy["metadata"]["name"]) and len(policy["metadata"]["name"]) <= 253
    assert DNS_1123.match(policy["metadata"]["namespace"])
    spec = policy["spec"]
    assert set(spec) <= {"endpointSelector", "ingress", "egress"}
    assert spec["endpointSelector"]["matchLabels"] and all(
        isinstance(k, str) and isinstance(v, str) for k, v in spec["endpointSelector"]["matchLabels"].items())
    for direction in ("ingress", "egress"):
        assert isinstance(spec[direction], list) and spec[direction]
        for rule in spec[direction]:
            assert set(rule) <= RULE_PEERS[direction] | RULE_L4
            assert len(set(rule) & RULE_PEERS[direction]) <= 1
            for selector in rule.get("fromEndpoints", []) + rule.get("toEndpoints", []):
                assert set(selector) == {"matchLabels"} and "io.kubernetes.pod.namespace" in selector["matchLabels"]
            assert set(rule.get("toEntities", []) + rule.get("fromEntities", [])) <= ENTITIES
            for fqdn in rule.get("toFQDNs", []):
                assert set(fqdn) == {"matchName"} and DNS_1123.match(fqdn["matchName"])
            for port_rule in rule.get("toPorts", []):
                assert set(port_rule) <= {"ports", "rules"}
                for port in port_rule["ports"]:
                    assert isinstance(port["port"], str) and 1 <= int(port["port"]) <= 65535
                    assert port["protocol"] in PROTOCOLS
                if "rules" in port_rule:
                    assert port_rule["rules"] == {"dns": [{"matchPattern": "*"}]}
            for icmp in rule.get("icmps", []):
                assert all(set(f) == {"type", "family"} for f in icmp["fields"])


@pytest.mark.parametrize("workload", WORKLOADS, ids=lambda w: w.label)
def test_draft_parses_has_the_schema_and_covers_exactly_what_got_through(workload: MapNode) -> None:
    draft = draft_policy(FLOWS, workload)
    policy = yaml.safe_load(to_yaml(draft))
    assert policy == draft
    check_schema(policy)
    mine = workload_flows(FLOWS, workload)
    assert mine
    dropped = dropped_connections(mine, workload)
    for flow in mine:
        through = not any(side.connection in dropped for side in sides(flow, workload))
        assert policy_allows(policy, flow, workload) == through, flow
    # Nothing else: every rule lets some observed flow through (the DNS-proxy rule toFQDNs needs aside) ...
    for direction in ("ingress", "egress"):
        for index, rule in enumerate(policy["spec"][direction]):
            if not rule:
                continue
            alone = {**policy, "spec": {**policy["spec"], direction: [rule],
                                        ("egress" if direction == "ingress" else "ingress"): [{"toEntities": ["all"]}
                                                                                              if direction == "ingress"
                                                                                              else {"fromEntities": ["all"]}]}}
            assert any(policy_allows(alone, flow, workload) for flow in mine), (direction, index, rule)
    # ... and a port or a peer that was not seen is not let through.
    allowed = next(flow for flow in mine if policy_allows(policy, flow, workload) and flow.l4.HasField("TCP"))
    other_port = flow_pb2.Flow()
    other_port.CopyFrom(allowed)
    reply = allowed.is_reply.value
    if reply:
        other_port.l4.TCP.source_port = 1
    else:
        other_port.l4.TCP.destination_port = 1
    assert not policy_allows(policy, other_port, workload)
    stranger = flow_pb2.Flow()
    stranger.CopyFrom(allowed)
    side = sides(allowed, workload)[0]
    peer = (stranger.source if (side.egress == reply) else stranger.destination)
    if peer.pod_name:
        del peer.labels[:]
        peer.labels.append(f"k8s:io.kubernetes.pod.namespace={peer.namespace}")
        peer.labels.append("k8s:app=intruder")
        peer.ClearField("workloads")
        peer.workloads.add(name="intruder", kind="Deployment")
        assert not policy_allows(policy, stranger, workload)


def test_the_policy_drop_is_what_the_draft_keeps_dropping() -> None:
    postgres = MapNode("shop", "postgres", "workload")
    policy = yaml.safe_load(to_yaml(draft_policy(FLOWS, postgres)))
    peers = [rule["fromEndpoints"][0]["matchLabels"].get("app") for rule in policy["spec"]["ingress"]
             if "fromEndpoints" in rule]
    assert "api" in peers and "loadgen" not in peers  # loadgen -> postgres was denied
    mine = workload_flows(FLOWS, postgres)
    denied = [f for f in mine if not policy_allows(policy, f, postgres)]
    assert denied and all(f.source.workloads[0].name == "loadgen" for f in denied if not f.is_reply.value)
    assert any(f.verdict == flow_pb2.DROPPED for f in denied)


def test_fqdn_egress_comes_with_the_dns_rule_it_needs() -> None:
    frontend = MapNode("shop", "frontend", "workload")
    egress = yaml.safe_load(to_yaml(draft_policy(FLOWS, frontend)))["spec"]["egress"]
    names = {f["matchName"] for rule in egress for f in rule.get("toFQDNs", [])}
    assert "api.payments.example.com" in names
    dns = [rule for rule in egress for p in rule.get("toPorts", []) if "rules" in p]
    assert dns and dns[0]["toEndpoints"][0]["matchLabels"]["io.kubernetes.pod.namespace"] == "kube-system"


def test_yaml_quotes_hostile_label_values() -> None:
    flow = flow_pb2.Flow(verdict=flow_pb2.FORWARDED)
    flow.IP.source, flow.IP.destination = "10.0.0.1", "10.0.0.2"
    flow.l4.TCP.source_port, flow.l4.TCP.destination_port = 40000, 80
    flow.source.namespace, flow.source.pod_name = "a", "web-1"
    flow.source.labels.extend(["k8s:app=web", "k8s:io.kubernetes.pod.namespace=a"])
    flow.destination.namespace, flow.destination.pod_name = "a", "db-0"
    flow.destination.labels.extend(['k8s:app=x"\n: [evil]', "k8s:true=yes", "k8s:io.kubernetes.pod.namespace=a"])
    web = MapNode("a", "web", "workload")
    draft = draft_policy([flow], web)
    assert yaml.safe_load(to_yaml(draft)) == draft
