"""A Hubble agent socket this user may not open: one clear sentence and no retrying (as Tetragon's says).

As root the permission check is bypassed, so the client runs in a child process as nobody (uid 65534)
against a socket file with mode 000 that a real listener holds.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import sys, time
from tui.sources.base import SourceState
from tui.sources.hubble import HubbleSource
from tui.sources.hubble_tls import resolve
from tui.proto.observer import observer_pb2
source = HubbleSource(resolve(sys.argv[1]), observer_pb2.GetFlowsRequest(follow=True), connect_timeout=2.0)
source.start()
deadline = time.monotonic() + 20
while time.monotonic() < deadline and source.status.get().state is not SourceState.FAILED:
    time.sleep(0.1)
status = source.status.get()
source.stop()
print(status.state.name, status.reason)
"""


def _run_as_user(target: str) -> str:
    """The child's last status line (as nobody when this test runs as root)."""
    root = str(Path(__file__).resolve().parents[1])
    kwargs: dict[str, object] = {}
    if os.geteuid() == 0:
        kwargs = {"user": 65534, "group": 65534, "extra_groups": []}
    done = subprocess.run([sys.executable, "-c", CHILD, target], capture_output=True, text=True, cwd="/",
                          env={"PYTHONPATH": root, "PATH": os.environ.get("PATH", "")}, timeout=90,
                          **kwargs)  # type: ignore[call-overload]
    return done.stdout.strip() + done.stderr.strip()[-2000:]


def test_hubble_socket_without_permission_fails_once_with_the_fix() -> None:
    directory = Path(tempfile.mkdtemp(prefix="ebtop-hubble-sock-"))
    os.chmod(directory, 0o755)
    path = directory / "hubble.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen()
    os.chmod(path, 0o000)
    try:
        out = _run_as_user(f"unix://{path}")
    finally:
        listener.close()
        shutil.rmtree(directory, ignore_errors=True)
    assert out.startswith("FAILED "), out
    assert f"permission denied on {path}" in out and "Hubble socket" in out and "run ebtop as root" in out, out
