"""`ebtop --demo`: both demo servers, wired into the parsed arguments.

The interactive app and batch mode run the servers in their own process (`spawn_demo`), so what
`top` shows for ebtop is ebtop's own cost, not the scenario's; screenshots, the soak and tests that
want one process use `start_demo`. Both serve the same seeded scenario through the same client code.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the servers' module imports gRPC: not before ebtop has spawned the demo process
    from tui.demo.server_base import DemoServer

READY = "READY"
READY_TIMEOUT = 15.0


@dataclass
class Demo:
    hubble: DemoServer
    tetragon: DemoServer

    def apply_to(self, args: argparse.Namespace) -> None:
        """Point the Flows and Processes sources at the demo servers."""
        args.hubble_server = self.hubble.target
        args.tetragon_server = [self.tetragon.target]

    def wait_ready(self) -> None:
        """In-process servers are ready once started."""

    def stop(self) -> None:
        self.hubble.stop()
        self.tetragon.stop()


def start_demo(seed: int = 1, rate: float = 40.0, address: str = "127.0.0.1:0") -> Demo:
    """Start the Hubble and Tetragon demo servers in this process, from the same seeded scenario."""
    from tui.demo.hubble_server import serve_hubble
    from tui.demo.tetragon_server import serve_tetragon

    # A lost-events notice now and then, so the demo shows how ebtop reports them.
    start = shared_start_time(seed, rate)
    hubble = serve_hubble(address, seed=seed, rate=rate, lost_events_every=2000, start_time=start)
    return Demo(hubble, serve_tetragon(address, seed=seed, rate=rate, start_time=start))


def shared_start_time(seed: int, rate: float) -> float | None:
    """One scenario start (Unix s) for both servers, so a connection has the same time in both.

    The Hubble history ends "now"; each server taking "now" itself would shift them apart by the
    time the first takes to fill its history (the flow/process join sees that as other sockets).
    """
    if rate <= 0:
        return None
    import time

    from tui.demo.tetragon_server import hubble_live_offset

    return time.time() - hubble_live_offset(seed, rate)


class DemoError(RuntimeError):
    """The demo servers' process did not come up; the message says why."""


class DemoProcess:
    """The demo servers in a child process, on unix sockets whose paths are known before it is up.

    The targets are fixed at spawn time, so the panes can be built while the child starts; the
    child ends when its stdin closes (ebtop exiting, or killed), so it never outlives ebtop.
    """

    def __init__(self, seed: int, rate: float) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="ebtop-demo-"))
        self.hubble_target = f"unix://{self.workdir}/hubble.sock"
        self.tetragon_target = f"unix://{self.workdir}/tetragon.sock"
        self._stderr = open(self.workdir / "stderr", "w+b")  # noqa: SIM115 - lives as long as the child
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tui.demo.runner", "--seed", str(seed), "--rate", str(rate),
             "--dir", str(self.workdir)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[2]),
                                                                          os.environ.get("PYTHONPATH")]))},
        )
        self._ready = False

    def apply_to(self, args: argparse.Namespace) -> None:
        """Point the Flows and Processes sources at the demo servers."""
        args.hubble_server = self.hubble_target
        args.tetragon_server = [self.tetragon_target]

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Block until the child says both servers listen; DemoError with its stderr otherwise."""
        if self._ready:
            return
        assert self.process.stdout is not None
        import selectors

        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            line = self.process.stdout.readline() if selector.select(timeout) else ""
        if not line.startswith(READY):
            self._stderr.seek(0)
            detail = self._stderr.read().decode(errors="replace").strip().splitlines()
            self.stop()
            raise DemoError("the demo servers did not start" + (f": {detail[-1]}" if detail else ""))
        self._ready = True

    def abandon(self) -> None:
        """ebtop leaves at once (`Shutdown.leave_now`): the child ends on EOF by itself; only its
        directory is removed here, without waiting for it."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def stop(self, timeout: float = 3.0) -> None:
        """Close the child's stdin (it ends at once on EOF); killed if still there after `timeout`."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(3)
        if not self._stderr.closed:
            self._stderr.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


def spawn_demo(seed: int = 1, rate: float = 40.0) -> DemoProcess:
    """Start the demo servers in their own process (see `DemoProcess`)."""
    return DemoProcess(seed, rate)


def _child_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tui.demo.runner", description="ebtop's demo servers")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=40.0)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args(argv)
    # Ctrl-C in batch mode reaches the whole process group: ebtop decides when the demo ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from tui.demo.hubble_server import serve_hubble
    from tui.demo.tetragon_server import serve_tetragon

    start = shared_start_time(args.seed, args.rate)
    hubble = serve_hubble(f"unix://{args.dir}/hubble.sock", seed=args.seed, rate=args.rate, lost_events_every=2000,
                          start_time=start)
    tetragon = serve_tetragon(f"unix://{args.dir}/tetragon.sock", seed=args.seed, rate=args.rate, start_time=start)
    print(READY, flush=True)
    with contextlib.suppress(OSError, KeyboardInterrupt):
        sys.stdin.read()  # EOF: ebtop has gone
    hubble.stop(0)
    tetragon.stop(0)
    # Nothing to save: end now instead of waiting for gRPC's threads to wind down (seconds on a loaded
    # box), which held ebtop's quit back; the kernel closes the sockets.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(_child_main())
