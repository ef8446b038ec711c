"""`address:port` written so that the port can always be read back: IPv6 addresses in brackets.

`::ffff:127.0.0.1:34845` reads as an IPv6 address ending in `:34845` or a port cut short; RFC 3986's
`[::ffff:127.0.0.1]:34845` cannot be misread. Views give these cells the width they need rather than
a fixed one that cuts the port.
"""

from __future__ import annotations


def host_port(address: str, port: int | str) -> str:
    """`10.0.0.1:80`, `[fd00::1]:443`, `[::ffff:127.0.0.1]:34845`."""
    if ":" in address:
        return f"[{address}]:{port}"
    return f"{address}:{port}"
