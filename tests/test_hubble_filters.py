"""hubble observe filter flags -> GetFlowsRequest, with hubble's left/right and --not semantics."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tui.cli import build_parser
from tui.filters.hubble import FilterError, History, build_filters, build_request, parse_time
from tui.proto.flow import flow_pb2
from tui.wiring.flows import filter_flags, history_of


def request_for(*argv: str, live: bool = True):
    args = build_parser().parse_args(list(argv))
    return build_request(filter_flags(args), history_of(args), live=live)


def test_either_flags_make_a_source_and_a_destination_filter() -> None:
    request = request_for("--pod", "shop/api", "--verdict", "DROPPED")
    assert [list(f.source_pod) for f in request.whitelist] == [["shop/api"], []]
    assert [list(f.destination_pod) for f in request.whitelist] == [[], ["shop/api"]]
    assert all(list(f.verdict) == [flow_pb2.DROPPED] for f in request.whitelist)
    assert not request.blacklist
    assert request.follow


def test_whole_flow_flags_collapse_to_one_filter_and_repeat_as_or() -> None:
    request = request_for("--verdict", "DROPPED", "--verdict", "forwarded", "--protocol", "TCP")
    assert len(request.whitelist) == 1
    assert list(request.whitelist[0].verdict) == [flow_pb2.DROPPED, flow_pb2.FORWARDED]
    assert list(request.whitelist[0].protocol) == ["TCP"]


def test_not_sends_only_the_next_flag_to_the_blacklist() -> None:
    request = request_for("--namespace", "shop", "--not", "--label", "reserved:host", "--port", "8080")
    assert [list(f.source_pod) for f in request.whitelist] == [["shop/"], []]
    assert [list(f.destination_port) for f in request.whitelist] == [[], ["8080"]]
    assert [list(f.source_label) for f in request.blacklist] == [["reserved:host"], []]
    assert [list(f.destination_label) for f in request.blacklist] == [[], ["reserved:host"]]


def test_from_and_to_flags_apply_to_both_sides() -> None:
    request = request_for("--from-pod", "a", "--to-label", "k8s:app=db", "--ip", "10.0.0.0/8")
    left, right = request.whitelist
    assert list(left.source_pod) == list(right.source_pod) == ["a"]
    assert list(left.destination_label) == list(right.destination_label) == ["k8s:app=db"]
    assert list(left.source_ip) == ["10.0.0.0/8"] and list(right.destination_ip) == ["10.0.0.0/8"]


def test_all_named_flags_reach_their_fields() -> None:
    request = request_for("--from-label", "k8s:a=b", "--to-pod", "x/y", "--fqdn", "*.example.com",
                          "--http-status", "5+", "--http-method", "GET", "--http-path", "/api/.*",
                          "--type", "trace:to-endpoint", "--node-name", "worker-*")
    left = request.whitelist[0]
    assert list(left.http_status_code) == ["5+"] and list(left.http_method) == ["GET"]
    assert list(left.http_path) == ["/api/.*"] and list(left.node_name) == ["worker-*"]
    assert list(left.source_fqdn) == ["*.example.com"]
    assert (left.event_type[0].type, left.event_type[0].match_sub_type, left.event_type[0].sub_type) == (4, True, 0)
    assert list(request.whitelist[1].destination_fqdn) == ["*.example.com"]


@pytest.mark.parametrize(("argv", "message"), [
    (["--verdict", "ALLOWED"], "not a verdict"),
    (["--protocol", "quic"], "unknown protocol"),
    (["--port", "http"], "not a port number"),
    (["--http-status", "abc"], "expected a code"),
    (["--type", "bogus"], "unknown event type"),
    (["--ip", "1.1.1.1", "--to-ip", "2.2.2.2"], "filters --ip and --to-ip cannot be combined"),
    (["--label", "a", "--from-label", "b"], "filters --label and --from-label cannot be combined"),
    (["--first", "5", "--last", "5"], "--first and --last cannot be combined"),
])
def test_bad_filters_are_refused_with_hubbles_message(argv: list[str], message: str) -> None:
    with pytest.raises(FilterError, match=message):
        request_for(*argv)


def test_not_must_precede_a_filter_flag() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--not", "--not", "--pod", "a"])
    args = build_parser().parse_args(["--pod", "a", "--not"])
    from tui.wiring.flows import make_source

    with pytest.raises(FilterError, match="--not must be followed"):
        make_source(args, live=True)


def test_history_flags() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    request = build_request([], History(last=100), live=True)
    assert (request.number, request.follow, request.first) == (100, True, False)
    request = build_request([], History(first=10), live=True)
    assert (request.number, request.follow, request.first) == (10, False, True)
    request = build_request([], History(since="1h30m", until="2026-01-02T03:00:00Z"), live=False, now=now)
    assert request.since.ToDatetime(tzinfo=UTC) == datetime(2026, 1, 2, 1, 34, 5, tzinfo=UTC)
    assert request.until.ToDatetime(tzinfo=UTC) == datetime(2026, 1, 2, 3, 0, 0, tzinfo=UTC)
    assert not request.follow
    batch = build_request([], History(), live=False)  # batch with no history: the last 20, as hubble observe
    assert (batch.follow, batch.number, batch.first) == (False, 20, False)
    assert build_request([], History(follow=True), live=False).number == 0
    assert not build_request([], History(last=5), live=False).follow
    assert build_request([], History(last=5, follow=True), live=False).follow
    with pytest.raises(FilterError, match="not a duration"):
        parse_time("yesterday")


def test_empty_filters() -> None:
    assert build_filters([]) == ([], [])


def test_a_bad_filter_in_the_pane_is_a_visible_failure_not_a_crash() -> None:
    from tui.wiring.flows import create_pane

    pane = create_pane(build_parser().parse_args(["--verdict", "ALLOWED", "--namespace", "shop"]))
    assert pane.source is None
    assert "cannot start the Hubble source: --verdict" in pane.store.ring[0].text
    line = pane.status_line()
    assert "hubble: failed: --verdict 'ALLOWED': not a verdict" in line
    assert "filters: --verdict ALLOWED --namespace shop" in line


def test_tls_flag_rules_like_the_hubble_cli(tmp_path) -> None:
    from tui.sources.hubble_tls import ConnectionConfigError, TlsOptions, resolve

    assert resolve("tls://relay:443").tls.enabled and resolve("tls://relay:443").target == "relay:443"
    assert not resolve("relay:4245").tls.enabled
    assert resolve(None, socket_path=str(tmp_path / "absent.sock")).target == "localhost:4245"
    sock = tmp_path / "hubble.sock"
    sock.touch()
    assert resolve(None, socket_path=str(sock)).target == f"unix://{sock}"
    with pytest.raises(ConnectionConfigError, match="transport layer security required"):
        resolve("relay:4245", TlsOptions(client_cert_file="c", client_key_file="k"))
    with pytest.raises(ConnectionConfigError, match="must be given together"):
        resolve("tls://relay:4245", TlsOptions(client_cert_file="c"))
