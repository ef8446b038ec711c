"""The hubble observe filter flags ebtop lacked, as requests (hubble's shapes) and as local predicates.

The same FlowFilter drives the server, the demo server's matcher and a replay (tui.filters.flow_match),
so each flag is checked on flows that must and must not match.
"""

from __future__ import annotations

import io

import pytest

from tui.cli import build_parser
from tui.filters import FilterError
from tui.filters.flow_match import compile_filters
from tui.filters.hubble import build_request, raw_filters_yaml
from tui.proto.flow import flow_pb2
from tui.wiring.flows import filter_flags, history_of
from tui.wiring.output import print_raw_filters


def request_for(*argv: str):
    args = build_parser().parse_args(list(argv))
    return build_request(filter_flags(args), history_of(args), live=True)


def matcher(*argv: str):
    request = request_for(*argv)
    return compile_filters(request.whitelist, request.blacklist)


def flow(src_ns="shop", src_pod="api-1", dst_ns="shop", dst_pod="db-0", **fields) -> flow_pb2.Flow:
    f = flow_pb2.Flow(**fields)
    f.source.namespace, f.source.pod_name = src_ns, src_pod
    f.destination.namespace, f.destination.pod_name = dst_ns, dst_pod
    f.IP.source, f.IP.destination = "10.0.0.1", "10.0.0.2"
    f.l4.TCP.source_port, f.l4.TCP.destination_port = 40000, 5432
    return f


def test_service_flags() -> None:
    request = request_for("--service", "shop/frontend")
    assert [list(f.source_service) for f in request.whitelist] == [["shop/frontend"], []]
    assert [list(f.destination_service) for f in request.whitelist] == [[], ["shop/frontend"]]
    match = matcher("--to-service", "shop/front")
    hit = flow()
    hit.destination_service.namespace, hit.destination_service.name = "shop", "frontend"
    assert match(hit) and not match(flow())


def test_workload_flags() -> None:
    request = request_for("--from-workload", "Deployment/api", "--workload", "db")
    left, right = request.whitelist
    assert [(w.kind, w.name) for w in left.source_workload] == [("Deployment", "api"), ("", "db")]
    assert [(w.kind, w.name) for w in right.destination_workload] == [("", "db")]
    match = matcher("--from-workload", "Deployment/api")
    hit = flow()
    hit.source.workloads.add(name="api", kind="Deployment")
    assert match(hit) and not match(flow())


def test_identity_flags_take_numbers_and_reserved_names() -> None:
    request = request_for("--to-identity", "world", "--to-identity", "12345")
    assert list(request.whitelist[0].destination_identity) == [2, 12345]
    match = matcher("--identity", "health")
    hit = flow()
    hit.destination.identity = 4
    assert match(hit) and not match(flow())
    with pytest.raises(FilterError, match="reserved identity"):
        request_for("--identity", "nonsense")


@pytest.mark.parametrize(("argv", "field", "value"), [
    (["--from-ip", "10.0.0.0/24"], "source_ip", ["10.0.0.0/24"]),
    (["--to-fqdn", "*.example.com"], "destination_fqdn", ["*.example.com"]),
    (["--from-port", "40000"], "source_port", ["40000"]),
    (["--to-label", "k8s:app=db"], "destination_label", ["k8s:app=db"]),
])
def test_from_and_to_flags_go_to_one_side_of_both_filters(argv, field, value) -> None:
    request = request_for(*argv)
    assert len(request.whitelist) == 1 and list(getattr(request.whitelist[0], field)) == value


def test_traffic_direction_and_drop_reason() -> None:
    request = request_for("--traffic-direction", "egress", "--drop-reason-desc", "policy_denied")
    assert list(request.whitelist[0].traffic_direction) == [flow_pb2.EGRESS]
    assert list(request.whitelist[0].drop_reason_desc) == [flow_pb2.POLICY_DENIED]
    match = matcher("--traffic-direction", "ingress")
    assert match(flow(traffic_direction=flow_pb2.INGRESS)) and not match(flow(traffic_direction=flow_pb2.EGRESS))
    with pytest.raises(FilterError, match="not a drop reason"):
        request_for("--drop-reason-desc", "BAD")
    with pytest.raises(FilterError, match="ingress or egress"):
        request_for("--traffic-direction", "sideways")


def test_http_status_class_and_node_name_glob() -> None:
    match = matcher("--http-status", "5+", "--node-name", "kind-*")
    hit = flow(node_name="kind-worker")
    hit.l7.http.code = 503
    miss = flow(node_name="kind-worker")
    miss.l7.http.code = 404
    other_node = flow(node_name="gke-1")
    other_node.l7.http.code = 503
    assert match(hit) and not match(miss) and not match(other_node)


def test_namespace_qualifies_pod_flags_as_hubble_does() -> None:
    request = request_for("--pod", "api", "--namespace", "shop")
    assert [list(f.source_pod) for f in request.whitelist] == [["shop/api"], []]
    assert [list(f.destination_pod) for f in request.whitelist] == [[], ["shop/api"]]
    request = request_for("--from-pod", "api", "--from-namespace", "shop", "--to-namespace", "db")
    assert list(request.whitelist[0].source_pod) == ["shop/api"]
    assert list(request.whitelist[0].destination_pod) == ["db/"]
    match = matcher("--pod", "api", "--namespace", "shop")
    assert match(flow()) and not match(flow(src_ns="other", dst_ns="other"))


def test_namespace_alone_selects_the_whole_namespace() -> None:
    request = request_for("--namespace", "kube-system")
    assert [list(f.source_pod) for f in request.whitelist] == [["kube-system/"], []]


def test_print_raw_filters_prints_hubbles_yaml() -> None:
    out = io.StringIO()
    args = build_parser().parse_args(["--verdict", "DROPPED", "--verdict", "ERROR", "--print-raw-filters"])
    assert print_raw_filters(args, out, io.StringIO()) == 0
    assert out.getvalue() == "allowlist:\n    - '{\"verdict\":[\"DROPPED\",\"ERROR\"]}'\n"
    assert raw_filters_yaml(request_for("--not", "--namespace", "kube-system")) == (
        "denylist:\n    - '{\"source_pod\":[\"kube-system/\"]}'\n    - '{\"destination_pod\":[\"kube-system/\"]}'\n")
    assert raw_filters_yaml(request_for()) == "{}\n"
    err = io.StringIO()
    bad = build_parser().parse_args(["--verdict", "NOPE", "--print-raw-filters"])
    assert print_raw_filters(bad, io.StringIO(), err) == 2 and "not a verdict" in err.getvalue()


def test_cel_expression_is_sent_and_refused_locally() -> None:
    request = request_for("--cel-expression", "_flow.verdict == Verdict.DROPPED")
    assert list(request.whitelist[0].experimental.cel_expression) == ["_flow.verdict == Verdict.DROPPED"]
    with pytest.raises(FilterError, match="no CEL engine"):
        compile_filters(request.whitelist, request.blacklist)


def test_either_and_one_side_flags_of_a_kind_conflict() -> None:
    with pytest.raises(FilterError, match="filters --port and --to-port cannot be combined"):
        request_for("--port", "80", "--to-port", "443")


def test_hubble_short_forms_t_and_l() -> None:
    request = request_for("-t", "drop", "-l", "k8s:app=api")
    assert [list(f.source_label) for f in request.whitelist] == [["k8s:app=api"], []]
    assert all(f.event_type[0].type == 1 for f in request.whitelist)
