"""BPF C sources compiled by bcc at run time; installed as the `tui.bpf` package data."""

from pathlib import Path

BPF_DIR = Path(__file__).resolve().parent


def bpf_source(name: str) -> str:
    """Return the text of one BPF C file shipped with ebtop (e.g. ``"syscalls.c"``)."""
    return (BPF_DIR / name).read_text()
