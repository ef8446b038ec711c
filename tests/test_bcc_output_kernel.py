"""bcc's messages while compiling are captured without taking the screen's stream, and name their cause.

With BCC_KERNEL_SOURCE pointing to an empty directory bcc prints "Unable to find kernel headers" on
stdout and clang's errors on stderr, while Textual keeps drawing on `sys.__stderr__`. The child here
does what the interactive app does (tui.screen_stream.detach_screen, then a real compile) with a thread
drawing on `sys.__stderr__` throughout, as Textual's writer thread does: the draws must reach the real
stderr, never the error text, and bcc's lines must reach neither the terminal's stdout nor stderr.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.kernel

CHILD = r"""
import sys, threading, time
from tui.screen_stream import detach_screen
from tui.sources.bpf_env import BpfUnavailable, load_bpf

detach_screen()
from textual.app import App
from textual.drivers.linux_driver import LinuxDriver
import asyncio
async def make_driver():
    return LinuxDriver(App(), debug=False, mouse=False, size=None)
driver = asyncio.run(make_driver())
sys.__stderr__.write(f"DRIVER-FD {driver._file.fileno()}\n")
stop = threading.Event()
def draw():
    while not stop.is_set():
        sys.__stderr__.write("SCREEN-DRAW (the pane shows an error)\n")
        sys.__stderr__.flush()
        time.sleep(0.005)
painter = threading.Thread(target=draw)
painter.start()
time.sleep(0.05)
try:
    load_bpf("int probe(void *ctx) { return 0; }")
    message = "loaded"
except BpfUnavailable as error:
    message = str(error)
stop.set()
painter.join()
sys.__stderr__.write("MESSAGE " + message.replace("\n", " ") + "\n")
"""


def _needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: bcc compiles and loads a real program")


def test_empty_bcc_kernel_source_is_named_and_the_screen_is_not_captured(tmp_path: Path) -> None:
    _needs_root()
    empty = tmp_path / "kernel-source"
    empty.mkdir()
    env = dict(os.environ, BCC_KERNEL_SOURCE=str(empty), PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=240)
    lines = done.stderr.splitlines()
    message = next((line for line in lines if line.startswith("MESSAGE ")), "")
    assert message, done.stderr[-3000:]
    assert "DRIVER-FD 2" not in lines and any(line.startswith("DRIVER-FD ") for line in lines), lines[:3]
    assert f"BCC_KERNEL_SOURCE={empty}" in message, message
    assert "SCREEN-DRAW" not in message, "the screen's output was captured into the error text"
    assert sum(line.startswith("SCREEN-DRAW") for line in lines) >= 3, "the screen's draws did not reach the terminal"
    assert "Unable to find kernel headers" not in done.stdout + done.stderr, (done.stdout, done.stderr[-2000:])
