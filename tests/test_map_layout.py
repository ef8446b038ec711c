"""The map layout: layers in traffic direction, cycles, waypoints, order independence, ASCII, few crossings."""

from __future__ import annotations

import random

from tui.render.map_layout import ASCII_LINES, LayoutEdge, LayoutNode, layout


def nodes(*names: str, group: str = "ns") -> list[LayoutNode]:
    return [LayoutNode(name, name, group) for name in names]


def text(picture) -> str:  # noqa: ANN001 - MapLayout
    return "\n".join("".join(t for t, _ in row) for row in picture.rows)


def test_clients_left_data_stores_right() -> None:
    picture = layout(nodes("web", "api", "db", "cache"),
                     [LayoutEdge("web", "api"), LayoutEdge("api", "db"), LayoutEdge("api", "cache")])
    column = {key: place.column for key, place in picture.placed.items()}
    assert column == {"web": 0, "api": 1, "db": 2, "cache": 2}
    assert picture.columns[2] == sorted(picture.columns[2], key=lambda k: picture.placed[k].row)
    assert picture.hidden_edges == 0
    assert text(picture).count("▶") == 3


def test_a_cycle_is_broken_and_counted_not_drawn() -> None:
    picture = layout(nodes("a", "b", "c"), [LayoutEdge("a", "b"), LayoutEdge("b", "c"), LayoutEdge("c", "a"),
                                            LayoutEdge("b", "b")])
    assert picture.hidden_edges == 2  # c -> a closes the cycle, b -> b loops
    assert [picture.placed[k].column for k in ("a", "b", "c")] == [0, 1, 2]


def test_long_edges_pass_through_waypoints_to_the_right_column() -> None:
    picture = layout(nodes("lb", "web", "api", "db"),
                     [LayoutEdge("lb", "web"), LayoutEdge("web", "api"), LayoutEdge("api", "db"),
                      LayoutEdge("lb", "db", "dropping")])
    db = picture.placed["db"]
    assert db.column == 3
    # The dropping edge ends in the drop marker (the healthy api -> db edge shares the arrow cell).
    row = "".join(t for t, _ in picture.rows[db.row])
    assert row[db.x0 - 1] == "✖"
    roles = {role for t, role in picture.rows[db.row] if "✖" in t}
    assert roles == {"edge:dropping"}


def test_layout_does_not_depend_on_input_order() -> None:
    ns = nodes("web", "api", "db", "cache", "dns", group="shop") + nodes("ext", group="(outside)")
    edges = [LayoutEdge("web", "api"), LayoutEdge("api", "db"), LayoutEdge("api", "cache"), LayoutEdge("web", "dns"),
             LayoutEdge("api", "dns"), LayoutEdge("web", "ext", "erroring")]
    first = layout(ns, edges)
    rng = random.Random(4)
    for _ in range(30):
        shuffled_nodes, shuffled_edges = list(ns), list(edges)
        rng.shuffle(shuffled_nodes)
        rng.shuffle(shuffled_edges)
        other = layout(shuffled_nodes, shuffled_edges)
        assert other.rows == first.rows and other.placed == first.placed


def test_states_change_colours_not_positions() -> None:
    ns = nodes("web", "api", "db")
    healthy = layout(ns, [LayoutEdge("web", "api"), LayoutEdge("api", "db")])
    failing = layout(ns, [LayoutEdge("web", "api", "erroring"), LayoutEdge("api", "db", "dropping")])
    assert healthy.placed == failing.placed
    assert text(healthy).replace("▶", "?") == text(failing).replace("!", "?").replace("✖", "?")


def test_namespaces_are_framed_groups_and_ascii_has_no_unicode() -> None:
    ns = nodes("web", group="shop") + nodes("coredns", group="kube-system")
    picture = layout(ns, [LayoutEdge("web", "coredns")], unicode=False)
    drawn = text(picture)
    assert "+- shop -" in drawn and "+- kube-system -" in drawn and "| web" in drawn
    assert drawn.isascii() and ">" in drawn
    assert set(ASCII_LINES.values()) <= {" ", "|", "-", "+"}


def test_barycentre_order_avoids_crossings() -> None:
    # Two clients each calling their own server: the servers line up with their clients (no X).
    ns = nodes("a-client", "b-client", "a-server", "b-server")
    picture = layout(ns, [LayoutEdge("a-client", "b-server"), LayoutEdge("b-client", "a-server")])
    placed = picture.placed
    first_client = min(("a-client", "b-client"), key=lambda k: placed[k].row)
    partner = {"a-client": "b-server", "b-client": "a-server"}[first_client]
    assert placed[partner].row == min(placed["a-server"].row, placed["b-server"].row)
    assert "┼" not in text(picture)


def test_long_names_lose_their_middle_under_the_cap() -> None:
    picture = layout(nodes("objects.storage.example.net", "web"), [LayoutEdge("web", "objects.storage.example.net")],
                     max_name=14)
    assert "objects.storage.example.net" not in text(picture)
    assert any(len(row) and "objec" in "".join(t for t, _ in row) for row in picture.rows)
