"""Typed settings per pane family: built from ebtop's own parser, config file and environment included."""

from __future__ import annotations

from pathlib import Path

from tui.cli import build_parser
from tui.config import apply_defaults
from tui.settings import FlowDisplay, ProcessDisplay, SyscallSettings


def args_from(tmp_path: Path, config: str = "", environ: dict[str, str] | None = None, argv: list[str] = ()):
    cfg = tmp_path / "config.toml"
    cfg.write_text(config)
    parser = build_parser()
    assert apply_defaults(parser, cfg, environ=environ or {}).problems == []
    return parser.parse_args(list(argv))


def test_every_family_builds_from_the_parser_defaults(tmp_path: Path) -> None:
    args = args_from(tmp_path)
    assert SyscallSettings.from_args(args) == SyscallSettings(5.0, "comm", "count", False, False,
                                                              ("opens", "tcp", "blockio"), True, 10.0)
    assert ProcessDisplay.from_args(args) == ProcessDisplay(False, 60.0, 50_000, None)
    assert FlowDisplay.from_args(args).translate_ips


def test_flow_display_follows_file_and_flags(tmp_path: Path) -> None:
    from tui.wiring.flows import compact_options, create_pane

    args = args_from(tmp_path, "ip-translation = false\nflow-buffer = 500\nwindow = 30\n")
    display = FlowDisplay.from_args(args)
    assert not display.translate_ips and not compact_options(args).ip_translation
    pane = create_pane(args)
    assert (pane.store.ring.maxlen, pane.store.aggregates.window) == (500, 30)
    assert not FlowDisplay.from_args(args_from(tmp_path, argv=["--numeric"])).translate_ips


def test_the_syscalls_interval_has_one_owner(tmp_path: Path) -> None:
    from tui.wiring.syscalls import create_pane

    args = args_from(tmp_path, "[syscalls]\ninterval = 2\nsort = \"failures\"\n")
    settings = SyscallSettings.from_args(args)
    assert settings.interval == 2.0 and settings.count_failures
    pane = create_pane(args)
    assert pane.source.interval == pane.interval == 2.0 and pane.source.failed
    pane.source.set_interval(10)
    assert pane.interval == 10  # the pane reads the source's value, it keeps no copy


def test_process_display_from_the_environment(tmp_path: Path) -> None:
    from tui.wiring.processes import create_pane

    args = args_from(tmp_path, environ={"EBTOP_RETENTION": "30", "EBTOP_MAX_PROCESSES": "100",
                                        "EBTOP_TIMESTAMPS": "yes"}, argv=["--tetragon-file", "/dev/null"])
    pane = create_pane(args)
    assert (pane.forest.retention, pane.forest.max_nodes, pane.timestamps, pane.live_clock) == (30.0, 100, True, False)
