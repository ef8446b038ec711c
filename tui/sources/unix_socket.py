"""Why this user cannot open an agent's unix socket, said before dialing (gRPC would retry forever).

Cilium's hubble.sock and Tetragon's tetragon.sock are root's (0660, gid 0): connect() fails with EACCES,
which gRPC reports as UNAVAILABLE and retries; no retry fixes a missing permission.
"""

from __future__ import annotations

import os
import stat


def socket_path(target: str) -> str | None:
    """The file behind a `unix:` / `unix://` gRPC target, else None."""
    if target.startswith("unix://"):
        return target.removeprefix("unix://")
    if target.startswith("unix:"):
        return target.removeprefix("unix:")
    return None


def permission_problem(target: str, product: str) -> str | None:
    """A sentence naming the socket, its mode and owner and the fix, or None when it can be opened."""
    path = socket_path(target)
    if path is None:
        return None
    try:
        info = os.stat(path)
    except PermissionError:
        return (f"permission denied on {path}: its directory is closed to this user; the {product} socket "
                "is for root and its group only; run ebtop as root (sudo)")
    except OSError:
        return None
    if os.access(path, os.R_OK | os.W_OK):
        return None
    mode = stat.filemode(info.st_mode)
    return (f"permission denied on {path} ({mode}, uid {info.st_uid} gid {info.st_gid}): the {product} socket "
            f"is for root and its group only; run ebtop as root (sudo) or as a member of gid {info.st_gid}")
