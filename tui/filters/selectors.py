"""Kubernetes label-selector text shared by both demo servers' filter matching."""

from __future__ import annotations


def split_requirements(selector: str) -> list[str]:
    """Split `a=b,c in (x,y)` at top-level commas (not inside parentheses); empty parts are kept."""
    parts, depth, current = [], 0, []
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts
