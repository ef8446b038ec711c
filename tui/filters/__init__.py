"""Filters as domain code: Hubble FlowFilter and Tetragon allow/deny semantics, shared by every user.

`hubble` and `tetragon` turn flags into requests; `flow_match` and `tetragon_match` compile requests
into predicates, which the demo servers apply as a server would, and which ebtop applies itself where no
server filters (file replay, local exec events). One `FilterError` for all: a usage error (exit 2) in
batch mode and the pane's problem when live.
"""

from __future__ import annotations

import re
from collections.abc import Sequence


class FilterError(ValueError):
    """A filter value that cannot be used (bad verdict, regex, CIDR, event type …), with the message."""


def compile_regexes(patterns: Sequence[str], what: str) -> list[re.Pattern[str]]:
    """Each pattern compiled (searched, not anchored, as Go's regexp.MatchString), or a FilterError."""
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except re.error as error:
            raise FilterError(f"invalid regular expression in {what}: {pattern!r}: {error}") from None
    return compiled
