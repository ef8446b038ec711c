"""`ebtop --demo`: both demo servers on loopback, wired into the parsed arguments."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from tui.demo.server_base import DemoServer


@dataclass
class Demo:
    hubble: DemoServer
    tetragon: DemoServer

    def apply_to(self, args: argparse.Namespace) -> None:
        """Point the Flows and Processes sources at the demo servers."""
        args.hubble_server = self.hubble.target
        args.tetragon_server = [self.tetragon.target]

    def stop(self) -> None:
        self.hubble.stop()
        self.tetragon.stop()


def start_demo(seed: int = 1, rate: float = 40.0, address: str = "127.0.0.1:0") -> Demo:
    """Start the Hubble and Tetragon demo servers from the same seeded scenario."""
    from tui.demo.hubble_server import serve_hubble
    from tui.demo.tetragon_server import serve_tetragon

    # A lost-events notice now and then, so the demo shows how ebtop reports them.
    hubble = serve_hubble(address, seed=seed, rate=rate, lost_events_every=2000)
    return Demo(hubble, serve_tetragon(address, seed=seed, rate=rate))
