"""Fit a name into a fixed number of cells by cutting its middle, where names say the least.

Pod and workload names differ at the end (`api-5f6b8d9c4-k7wzn` vs `api-5f6b8d9c4-q9t2m`) and namespaces
at the start, so both ends stay and the ellipsis goes in between, the tail getting the larger part;
a short `namespace/name` keeps its whole name and cuts the namespace. DNS names differ at the start
(`redis.shop.svc.cluster.local.`, `api.payments.example.com`), so `head_first`, or a name with dots
and no slash, gives the head the larger part instead.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size

from tui.render.glyphs import glyphs


def trim_middle(text: str, width: int, ellipsis: str | None = None, *, head_first: bool = False) -> str:
    """`text` if it fits in `width` cells, else its head, an ellipsis and its longer tail."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    mark = glyphs().ellipsis if ellipsis is None else ellipsis
    room = width - cell_len(mark)
    if room <= 0:
        return _tail(text, width)
    if not head_first and "." in text and "/" not in text:
        head_first = True  # a DNS name or an address: the start tells them apart
    head = room - room // 4 if head_first else room // 3
    slash = text.find("/")
    if not head_first and slash > 0 and room - cell_len(text[slash:]) > 0:
        head = room - cell_len(text[slash:])  # `kube-sys…/coredns`: the whole name after the namespace
    return set_cell_size(text, head) + mark + _tail(text, room - head) if head else mark + _tail(text, room)


def _tail(text: str, width: int) -> str:
    """The last `width` cells of `text` (wide characters that would be cut are dropped)."""
    out = ""
    for char in reversed(text):
        if cell_len(out) + cell_len(char) > width:
            break
        out = char + out
    return out
