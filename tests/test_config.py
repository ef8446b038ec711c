"""Config file and environment give defaults; flags win; bad input is reported with line and key."""

from __future__ import annotations

import argparse
from pathlib import Path

from tui.config import apply_defaults, config_path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hubble-server", default="localhost:4245")
    parser.add_argument("--hubble-tls", action="store_true")
    parser.add_argument("--hubble-tls-ca-cert-files", action="append")
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--colors", choices=("auto", "16", "never"), default="auto")
    return parser


def test_file_then_env_then_flags(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('hubble-server = "file:4245"\n[syscalls]\ninterval = 2\n[ui]\ncolors = "16"\n')
    parser = _parser()
    problems = apply_defaults(parser, cfg, environ={"HUBBLE_SERVER": "env:4245", "HUBBLE_TLS": "true"})
    assert problems == []
    args = parser.parse_args([])
    assert (args.hubble_server, args.hubble_tls, args.interval, args.colors) == ("env:4245", True, 2.0, "16")
    assert parser.parse_args(["--hubble-server", "flag:1"]).hubble_server == "flag:1"


def test_bad_values_reported_with_line_and_key(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('# ebtop\nhubble-server = "ok:1"\ninterval = "soon"\ncolours = "16"\ncolors = "pink"\n')
    parser = _parser()
    problems = apply_defaults(parser, cfg, environ={})
    text = [str(p) for p in problems]
    assert any(":3: interval:" in t for t in text)
    assert any(":4: colours: unknown key" in t for t in text)
    assert any(":5: colors:" in t and "pink" in t for t in text)
    args = parser.parse_args([])
    assert args.hubble_server == "ok:1" and args.interval == 5.0 and args.colors == "auto"


def test_invalid_toml_ignored_with_line(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('hubble-server = "a"\ninterval = = 3\n')
    parser = _parser()
    problems = apply_defaults(parser, cfg, environ={})
    assert len(problems) == 1 and problems[0].line == 2
    assert parser.parse_args([]).hubble_server == "localhost:4245"


def test_env_list_and_bad_bool() -> None:
    parser = _parser()
    problems = apply_defaults(parser, Path("/nonexistent/ebtop.toml"),
                              environ={"HUBBLE_TLS_CA_CERT_FILES": "/a.crt,/b.crt", "HUBBLE_TLS": "maybe"})
    assert parser.parse_args([]).hubble_tls_ca_cert_files == ["/a.crt", "/b.crt"]
    assert [p.key for p in problems] == ["HUBBLE_TLS"]


def test_config_path_honours_xdg() -> None:
    assert config_path({"XDG_CONFIG_HOME": "/x"}) == Path("/x/ebtop/config.toml")
    assert config_path({"HOME": "/home/u"}) == Path("/home/u/.config/ebtop/config.toml")
