"""The socket index: 5-tuple -> process by lifetime, replies, translated services, port reuse, bounds."""

from __future__ import annotations

import pytest

from tui.model.sockets import ACCEPT, SECOND, ProcessRef, SocketIndex

CURL = ProcessRef(5120, "/usr/bin/curl", exec_id="curl-1")
CURL2 = ProcessRef(5177, "/usr/bin/curl", exec_id="curl-2")
NGINX = ProcessRef(4211, "/usr/sbin/nginx")
API = ProcessRef(4388, "/app/api")
T0 = 1_767_225_600 * SECOND


def test_exact_tuple_and_reply_find_the_connecting_process() -> None:
    index = SocketIndex()
    index.open("TCP", "10.0.1.17", 40000, "10.0.1.42", 8080, NGINX, T0)
    assert index.process_for("TCP", "10.0.1.17", 40000, "10.0.1.42", 8080, T0 + 1000) == NGINX
    # the reply (server -> client) belongs to the same connection
    assert index.process_for("TCP", "10.0.1.42", 8080, "10.0.1.17", 40000, T0 + 2000) == NGINX
    # another port, another address: nothing
    assert index.process_for("TCP", "10.0.1.17", 40001, "10.0.1.42", 8080, T0) is None
    assert index.process_for("UDP", "10.0.1.17", 40000, "10.0.1.42", 8080, T0) is None


def test_accepting_process_when_the_client_is_unknown() -> None:
    index = SocketIndex()
    index.open("TCP", "10.0.1.42", 8080, "10.0.1.1", 51000, API, T0, role=ACCEPT)
    join = index.lookup("TCP", "10.0.1.1", 51000, "10.0.1.42", 8080, T0 + 5)
    assert join.client is None and join.server is not None
    assert join.process == API
    index.open("TCP", "10.0.1.1", 51000, "10.0.1.42", 8080, NGINX, T0)
    join = index.lookup("TCP", "10.0.1.42", 8080, "10.0.1.1", 51000, T0 + 5)
    assert join.process == NGINX and join.server is not None and join.server.process == API


def test_service_destination_matches_on_source_address_and_port() -> None:
    index = SocketIndex()
    # the socket was translated at connect: it sees the backend, the flow may show the ClusterIP
    index.open("UDP", "10.0.2.77", 45000, "10.0.2.2", 53, CURL, T0)
    assert index.process_for("UDP", "10.0.2.77", 45000, "10.96.0.10", 53, T0 + 10) == CURL
    assert index.process_for("UDP", "10.96.0.10", 53, "10.0.2.77", 45000, T0 + 20) == CURL
    # not a service address: the destination must agree
    assert index.process_for("UDP", "10.0.2.77", 45000, "10.0.9.9", 53, T0 + 10) is None
    # explicit flag (trace-sock pre-translation point) wins over the prefix guess
    assert index.process_for("UDP", "10.0.2.77", 45000, "10.0.9.9", 53, T0 + 10, dst_is_service=True) == CURL


def test_reused_port_is_decided_by_lifetime_never_by_a_stale_entry() -> None:
    index = SocketIndex(slack_ns=SECOND)
    key = ("TCP", "10.0.2.77", 40000, "203.0.113.10", 443)
    index.open(*key, CURL, T0)
    index.close(*key, T0 + 2 * SECOND)
    index.open(*key, CURL2, T0 + 10 * SECOND)
    index.close(*key, T0 + 11 * SECOND)
    # inside each lifetime: its own process
    assert index.process_for(*key, T0 + SECOND) == CURL
    assert index.process_for(*key, T0 + 10 * SECOND + 5) == CURL2
    # a FIN shortly after the first close still belongs to the first socket
    assert index.process_for(*key, T0 + 2 * SECOND + SECOND // 2) == CURL
    # between the two lifetimes, beyond the slack: nobody, not the stale first one
    assert index.process_for(*key, T0 + 5 * SECOND) is None
    # after the second close plus slack: nobody
    assert index.process_for(*key, T0 + 13 * SECOND) is None
    # a SYN a moment before the second connect event is reported: the second socket
    assert index.process_for(*key, T0 + 10 * SECOND - SECOND // 2) == CURL2


def test_reuse_without_a_close_ends_the_old_socket() -> None:
    index = SocketIndex()
    key = ("TCP", "10.0.2.77", 40000, "203.0.113.10", 443)
    index.open(*key, CURL, T0)
    index.open(*key, CURL2, T0 + 60 * SECOND)  # close never seen (lost event)
    assert index.process_for(*key, T0 + 30 * SECOND) == CURL
    assert index.process_for(*key, T0 + 60 * SECOND + 1) == CURL2
    assert index.process_for(*key, T0 + 90 * SECOND) == CURL2


def test_sendmsg_extends_and_repeated_reports_do_not_duplicate() -> None:
    index = SocketIndex()
    key = ("TCP", "10.0.1.17", 40000, "10.0.1.42", 8080)
    index.touch(*key, NGINX, T0)
    index.open(*key, NGINX, T0 + 5)
    index.touch(*key, NGINX, T0 + 10)
    assert len(index) == 1
    index.close(*key, T0 + 20)
    assert len(index) == 1 and next(index.records()).closed_ns == T0 + 20


def test_closed_sockets_expire_by_event_time() -> None:
    index = SocketIndex(retain_ns=5 * SECOND)
    key = ("TCP", "10.0.1.17", 40000, "10.0.1.42", 8080)
    index.open(*key, NGINX, T0)
    index.close(*key, T0 + SECOND)
    assert len(index) == 1
    index.open("TCP", "10.0.1.17", 40001, "10.0.1.42", 8080, NGINX, T0 + 7 * SECOND)
    assert len(index) == 1 and index.expired == 1
    assert index.process_for(*key, T0 + SECOND) is None


def test_open_sockets_expire_after_their_ttl() -> None:
    index = SocketIndex(open_ttl_ns=10 * SECOND)
    index.open("TCP", "10.0.1.17", 40000, "10.0.1.42", 8080, NGINX, T0)
    index.open("TCP", "10.0.1.17", 40001, "10.0.1.42", 8080, NGINX, T0 + 11 * SECOND)
    assert len(index) == 1 and index.expired == 1


@pytest.mark.parametrize("capacity", [1, 10, 100])
def test_capacity_bounds_the_index(capacity: int) -> None:
    index = SocketIndex(capacity=capacity)
    for port in range(1000):
        index.open("TCP", "10.0.1.17", 30000 + port, "10.0.1.42", 8080, NGINX, T0 + port)
    assert len(index) == capacity
    assert sum(1 for _ in index.records()) == capacity
    assert index.evicted == 1000 - capacity
    # the newest survive
    assert index.process_for("TCP", "10.0.1.17", 30999, "10.0.1.42", 8080, T0 + 999) == NGINX


def test_a_key_keeps_only_its_recent_lifetimes() -> None:
    index = SocketIndex()
    key = ("TCP", "10.0.2.77", 40000, "203.0.113.10", 443)
    for i in range(20):
        index.open(*key, ProcessRef(i, "/usr/bin/curl"), T0 + i * 10 * SECOND)
        index.close(*key, T0 + i * 10 * SECOND + SECOND)
    assert sum(1 for _ in index.records()) <= 4
    assert index.process_for(*key, T0 + 190 * SECOND + 5) == ProcessRef(19, "/usr/bin/curl")
