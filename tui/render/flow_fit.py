"""Fit a compact flow line into the screen width without losing its verdict; mark drops on the whole line.

A `hubble observe -o compact` line is `time: src (id) -> dst (id) type VERDICT (summary)`. At 80 columns
the verdict used to fall off the right edge. A fitted line never has the date (the same on every line)
nor numeric `(ID:n)` identities (`narrow_pieces`), so all lines look alike; then `fit_pieces` gives up,
in order, what matters least until everything up to the verdict fits: reserved identities,
replica-set hashes and namespaces of pod names, the middle of the type, the middle of long host names,
then the time; the summary after the verdict is cut
at the edge with an ellipsis. Batch output never goes through here: it stays exactly hubble's line.

`line_styles` turns roles into Rich style names: explicit colours that stay apart in 16 and 256
colours (Textual's theme maps ANSI red and magenta to one pink, which 16 colours show as magenta, the
identity colour), and a drop or error marks the whole line (bold, verdict reversed), which still reads
when colours are off.
"""

from __future__ import annotations

import re

from rich.cells import cell_len, set_cell_size

from tui.render.glyphs import glyphs
from tui.render.hubble_compact import BAD, GOOD, HOST, IDENTITY, PLAIN, PORT, WARN, Pieces, narrow_pieces
from tui.render.trim import trim_middle

# Chosen so that Rich's downgrade lands on distinct palette entries: 16 colours red=1, bright
# magenta=13, cyan=6, bright yellow=11, green=2; 256 colours 196, 134, 38, 184, 40.
ROLE_STYLES = {PLAIN: "", HOST: "#00afd7", PORT: "#d7d700", IDENTITY: "#af5fd7", GOOD: "#00d700",
               BAD: "#ee1111", WARN: "#ffaf00"}
DROP_LINE = "bold"  # added to every piece of a dropped/errored flow's line
DROP_PLAIN = "bold #ee1111"  # the uncoloured parts of such a line
DROP_VERDICT = "bold reverse #ee1111"
MIN_SUMMARY = 8  # cells after the verdict below which the summary is left out
NO_TRIM = 1 << 30  # a floor no name is above: shorter forms, no cut middles
MIN_HOST = 12  # cells a host name keeps before the time goes
_POD_HASH = re.compile(r"^(?P<workload>.+?)-(?P<hash>[a-z0-9]{5,10})-(?P<pod>[a-z0-9]{5})$")


def verdict_index(pieces: Pieces) -> int | None:
    """Index of the verdict piece: the one before the summary's ` (` opener, or the last one of a
    fitted line whose summary was left out."""
    for index, piece in enumerate(pieces):
        if piece == (" (", PLAIN) and index > 0:
            return index - 1
    if pieces and pieces[-1][1] in (GOOD, BAD, WARN) and any(text == " -> " or text == " <- " or text == " <> "
                                                             for text, _ in pieces):
        return len(pieces) - 1
    return None


def _cells(pieces: Pieces) -> int:
    return sum(cell_len(text) for text, _ in pieces)


def _without_identities(pieces: Pieces) -> Pieces:
    out: Pieces = []
    for text, role in pieces:
        if role == IDENTITY:
            if out and out[-1] == (" ", PLAIN):
                out.pop()
            continue
        out.append((text, role))
    return out


def _shrink_hosts(pieces: Pieces, excess: int, floor: int) -> Pieces:
    """Shorten host names, the longest first, until `excess` cells are gone or all are at `floor`.

    Each name first steps through its shorter forms (`host_forms`: no replica-set hash, no
    namespace); only then are the middles cut, one cell at a time from the longest.
    """
    hosts = [i for i, (_, role) in enumerate(pieces) if role == HOST]
    forms = {i: host_forms(pieces[i][0].removesuffix(":")) for i in hosts}
    step = dict.fromkeys(hosts, 0)
    lengths = {i: cell_len(forms[i][0]) for i in hosts}
    while excess > 0:
        shorter = [i for i in hosts if step[i] + 1 < len(forms[i])]
        if not shorter:
            break
        index = max(shorter, key=lambda i: lengths[i])
        step[index] += 1
        new = cell_len(forms[index][step[index]])
        excess -= lengths[index] - new
        lengths[index] = new
    while excess > 0 and hosts:
        index = max(hosts, key=lambda i: lengths[i])
        if lengths[index] <= floor:
            break
        lengths[index] -= 1
        excess -= 1
    out = list(pieces)
    for index in hosts:
        colon = ":" if pieces[index][0].endswith(":") else ""
        text = forms[index][step[index]]
        out[index] = (trim_middle(text, lengths[index]) + colon, HOST)
    return out


def host_forms(text: str) -> list[str]:
    """`shop/frontend-6c7b7f8d9-x2lqp`, `shop/frontend…x2lqp`, `…/frontend…x2lqp`: each says less."""
    mark = glyphs().ellipsis
    forms = [text]
    namespace, slash, name = text.rpartition("/")
    match = _POD_HASH.match(name)
    if match:
        name = f"{match['workload']}{mark}{match['pod']}"
        forms.append(f"{namespace}{slash}{name}")
    if slash and namespace:
        forms.append(f"{mark}/{name}")
    return forms


def _shrink_type(pieces: Pieces, verdict: int, excess: int) -> Pieces:
    text, role = pieces[verdict - 1]
    inner = text.strip()
    if not inner or role != PLAIN:
        return pieces
    keep = max(4, cell_len(inner) - excess)
    out = list(pieces)
    out[verdict - 1] = (f" {trim_middle(inner, keep)} ", PLAIN)
    return out


def _cut(pieces: Pieces, width: int) -> Pieces:
    """The pieces that fit in `width` cells; a cut piece ends with an ellipsis."""
    out: Pieces = []
    used = 0
    mark = glyphs().ellipsis
    for text, role in pieces:
        size = cell_len(text)
        if used + size <= width:
            out.append((text, role))
            used += size
            continue
        room = width - used
        if room > cell_len(mark):
            out.append((set_cell_size(text, room - cell_len(mark)) + mark, role))
        elif room > 0:
            out.append((mark[:room], role))
        break
    return out


def fit_pieces(pieces: Pieces, width: int) -> Pieces:
    """The line in at most `width` cells, verdict included whenever the verdict itself fits."""
    if width <= 0:
        return pieces
    pieces = narrow_pieces(pieces)  # every fitted line alike: no date, no numeric identities
    if _cells(pieces) <= width:
        return pieces
    verdict = verdict_index(pieces)
    if verdict is None:
        return _cut(pieces, width)

    def head(p: Pieces) -> int:
        return _cells(p[:verdict_index(p) + 1])  # type: ignore[operator]

    steps = (
        _without_identities,
        lambda p: _shrink_hosts(p, head(p) - width, NO_TRIM),  # shorter forms only
        lambda p: _shrink_type(p, verdict_index(p), head(p) - width),  # type: ignore[arg-type]
        lambda p: _shrink_hosts(p, head(p) - width, MIN_HOST),
        lambda p: [(_time_only(p[0][0]), p[0][1]), *p[1:]],
        lambda p: _shrink_hosts(p, head(p) - width, 3),
    )
    for step in steps:
        if head(pieces) <= width:
            break
        pieces = step(pieces)
    verdict = verdict_index(pieces)
    if verdict is not None and width - head(pieces) < MIN_SUMMARY:
        pieces = pieces[:verdict + 1]  # `FORWARDED (…` says nothing the verdict does not
    return _cut(pieces, width)


def _time_only(text: str) -> str:
    """`15:04:05.000: ` -> `` (the last thing to go before names are cut to nothing)."""
    return "" if text.endswith(": ") else text


def line_styles(pieces: Pieces) -> list[tuple[str, str]]:
    """(text, Rich style) pieces; a dropped or errored flow is marked on its whole line."""
    verdict = verdict_index(pieces)
    if verdict is None or pieces[verdict][1] != BAD:
        return [(text, ROLE_STYLES[role]) for text, role in pieces]
    out = []
    for index, (text, role) in enumerate(pieces):
        if index == verdict:
            out.append((text, DROP_VERDICT))
        elif role == PLAIN:
            out.append((text, DROP_PLAIN))
        else:
            out.append((text, f"{DROP_LINE} {ROLE_STYLES[role]}"))
    return out
