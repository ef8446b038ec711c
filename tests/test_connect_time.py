"""TCP connect time: SYN/SYN-ACK pairing at one observation point, counted once, bounded."""

from __future__ import annotations

from tui.model.connect_time import ConnectTimes
from tui.model.map_digest import Handshake, MapNode

WEB, API, HOST = MapNode("shop", "web", "workload"), MapNode("shop", "api", "workload"), MapNode("", "host", "reserved")
T0 = 1_760_000_000 * 1_000_000_000
CONN = ("10.0.1.5", 40000, "10.0.2.7", 8080)


def syn(node: str, t: int, conn: tuple[str, int, str, int] = CONN, *, client_side: bool = True,
        endpoint: bool = True) -> Handshake:
    return Handshake(node, conn, t, False, client_side, endpoint)


def synack(node: str, t: int, conn: tuple[str, int, str, int] = CONN) -> Handshake:
    return Handshake(node, conn, t, True, False, True)


def test_client_side_pair_measures_syn_to_synack() -> None:
    times = ConnectTimes()
    assert times.add(syn("n1", T0), WEB, API) is None
    assert times.add(syn("n1", T0 + 9_000), WEB, API) is None  # the same SYN at to-network: first one counts
    assert times.add(synack("n1", T0 + 2_000_000), WEB, API) == 2.0
    rows = times.by_destination()
    assert [(r.destination, r.connects) for r in rows] == [("shop/api", 1)]
    assert 2.0 <= rows[0].p99_ms < 2.2


def test_handshake_seen_at_both_nodes_counts_once_and_server_side_waits() -> None:
    times = ConnectTimes()
    times.add(syn("n1", T0), WEB, API)  # client's node: SYN leaves the client
    times.add(syn("n2", T0 + 100_000, client_side=False), WEB, API)  # server's node: SYN arrives
    # The server's node sees its SYN-ACK first: the client is an endpoint, so that half is not used.
    assert times.add(synack("n2", T0 + 150_000), WEB, API) is None
    assert times.add(synack("n1", T0 + 300_000), WEB, API) == 0.3
    assert times.measured == 1
    # A second copy of the same events (two relays) is not counted again.
    times.add(syn("n1", T0 + 1), WEB, API)
    assert times.add(synack("n1", T0 + 300_001), WEB, API) is None
    assert times.histograms.totals[(WEB, API)][0] == 1


def test_server_side_measures_when_the_client_is_not_an_endpoint() -> None:
    times = ConnectTimes()
    times.add(syn("n2", T0, client_side=False, endpoint=False), HOST, API)
    assert times.add(synack("n2", T0 + 50_000), HOST, API) == 0.05


def test_quantiles_by_destination_and_bounds() -> None:
    times = ConnectTimes(max_pending=100)
    for index in range(100):
        conn = ("10.0.1.5", 30000 + index, "10.0.2.7", 8080)
        times.add(syn("n1", T0 + index * 1_000_000, conn), WEB, API)
        times.add(synack("n1", T0 + index * 1_000_000 + (index + 1) * 100_000, conn), WEB, API)  # 0.1 .. 10 ms
    row = times.by_destination()[0]
    assert row.connects == 100
    assert 5.0 <= row.p50_ms < 5.6 and 9.0 <= row.p90_ms < 9.9 and 9.9 <= row.p99_ms < 10.9
    for index in range(500):  # SYNs never answered: the pending table stays bounded
        times.add(syn("n1", T0 + 200_000_000 + index, ("10.9.9.9", index, "10.0.2.7", 80)), WEB, API)
    assert times.pending_count() == 100
    times.add(syn("n1", T0 + 60 * 1_000_000_000, ("10.9.9.9", 1, "10.0.2.8", 80)), WEB, API)
    assert times.pending_count() == 1  # unanswered for longer than PENDING_SECONDS: forgotten


def test_a_reused_four_tuple_later_is_a_new_connection() -> None:
    times = ConnectTimes()
    times.add(syn("n1", T0), WEB, API)
    assert times.add(synack("n1", T0 + 1_000_000), WEB, API) == 1.0
    later = T0 + 5 * 1_000_000_000  # the old connection is long closed (TIME_WAIT is over)
    times.add(syn("n1", later), WEB, API)
    assert times.add(synack("n1", later + 3_000_000), WEB, API) == 3.0
    assert times.measured == 2 and times.duplicates == 0
