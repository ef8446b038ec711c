"""Column widths and name trimming of the Flows aggregate tables (pure functions, no app)."""

from __future__ import annotations

from rich.cells import cell_len

from tui.panes.flow_views import CELL_PADDING, MIN_NAME_WIDTH, VIEWS, Column, Name, cell, column_widths
from tui.render.glyphs import ASCII, UNICODE
from tui.render.trim import trim_middle


def test_trim_keeps_the_tail_of_pod_names_and_the_whole_workload_name() -> None:
    pod = "shop/api-5f6b8d9c4-k7wzn"
    assert trim_middle(pod, 40) == pod
    short = trim_middle(pod, 16, UNICODE.ellipsis)
    assert cell_len(short) == 16 and short.endswith("-k7wzn") and short.startswith("shop") and "…" in short
    assert trim_middle("kube-system/coredns", 14, UNICODE.ellipsis) == "kube-…/coredns"
    assert trim_middle("kube-system/coredns", 14, ASCII.ellipsis) == "kub.../coredns"
    for width in range(0, 30):
        for text in (pod, "kube-system/coredns", "日本語のポッド名前テスト", "x"):
            for head_first in (False, True):
                out = trim_middle(text, width, UNICODE.ellipsis, head_first=head_first)
                assert cell_len(out) <= width
                assert out == text or cell_len(text) > width


def test_dns_names_keep_their_head() -> None:
    out = trim_middle("redis.shop.svc.cluster.local.", 20, UNICODE.ellipsis, head_first=True)
    assert out.startswith("redis.shop.svc") and out.endswith("al.") and cell_len(out) == 20
    # Talkers' world destinations are FQDNs too: `api.payment…` and `api.payments…` stay apart.
    assert trim_middle("api.payments.example.com", 16, UNICODE.ellipsis).startswith("api.payments")


def test_names_share_the_width_the_numbers_leave() -> None:
    columns = (Column("n", 7, True), Name("Source", 20), Name("Destination", 20), Column("x", 5, True))
    fixed = 7 + 5 + CELL_PADDING * 4
    wide = column_widths(columns, 200)
    assert wide[0] == 7 and wide[3] == 5 and wide[1] + wide[2] == 200 - fixed and wide[1] == wide[2]
    # Too narrow for everything: the trailing number scrolls off, the names keep their declared widths.
    assert column_widths(columns, 60) == [7, 20, 20, 5]
    narrow = column_widths(columns, 40)
    assert narrow[1] + narrow[2] == 40 - 7 - CELL_PADDING * 3
    assert column_widths(columns, 10)[1:3] == [MIN_NAME_WIDTH, MIN_NAME_WIDTH]


def test_every_view_fits_its_counts_and_names_in_80_columns() -> None:
    available = 80 - 2  # a vertical scrollbar
    for spec in VIEWS.values():
        widths = column_widths(spec.columns, available)
        names = [w for w, c in zip(widths, spec.columns, strict=True) if c.flex]
        assert min(names) >= 12, spec.name
        last_name = max(i for i, c in enumerate(spec.columns) if c.flex)
        assert sum(w + CELL_PADDING for w in widths[:last_name + 1]) <= available, spec.name


def test_hostile_names_are_escaped_then_trimmed() -> None:
    text = cell("shop/\x1b[2Jpwn-[bold]x[/]-abcdef", 16)
    assert "\x1b" not in text.plain and cell_len(text.plain) <= 16 and text.plain.endswith("-abcdef")
    assert text.sort_value.startswith("shop/^[[2jpwn")
