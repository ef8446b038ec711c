"""config.toml and the environment through ebtop's own parser (`tui.cli.build_parser()`).

Every value is converted as its flag converts it; bad values are reported with file, line and key
and the default is used; `--show-config` says where each value came from.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tui.cli import build_parser, main
from tui.config import apply_defaults, config_path

NO_ENV: dict[str, str] = {}


def parsed(tmp_path: Path, text: str | bytes = "", environ: dict[str, str] | None = None,
           argv: list[str] | None = None):
    """(args, problems as text) for a config file with `text`, the environment and flags."""
    cfg = tmp_path / "config.toml"
    cfg.write_bytes(text if isinstance(text, bytes) else text.encode())
    parser = build_parser()
    loaded = apply_defaults(parser, cfg, environ=NO_ENV if environ is None else environ)
    return parser.parse_args(argv or []), [str(problem) for problem in loaded.problems]


def test_file_then_environment_then_flags(tmp_path: Path) -> None:
    text = 'hubble-server = "file:4245"\nwindow = 30\n[syscalls]\ninterval = 2\n[ui]\ncolors = "16"\n'
    args, problems = parsed(tmp_path, text, {"HUBBLE_SERVER": "env:4245", "HUBBLE_TLS": "true"})
    assert problems == []
    assert (args.hubble_server, args.hubble_tls, args.interval, args.colors, args.window) == \
        ("env:4245", True, 2.0, "16", 30)
    args, _ = parsed(tmp_path, text, {"HUBBLE_SERVER": "env:4245"}, ["--hubble-server", "flag:1", "--interval", "7"])
    assert (args.hubble_server, args.interval) == ("flag:1", 7.0)


def test_booleans_are_booleans_and_no_keys_mean_the_flag(tmp_path: Path) -> None:
    from tui.wiring.flows import compact_options

    args, problems = parsed(tmp_path, "ip-translation = false\nno-mount-tracefs = true\n")
    assert problems == []
    assert args.ip_translation is False and not compact_options(args).ip_translation
    assert args.mount_tracefs is False  # as --no-mount-tracefs
    assert parsed(tmp_path, "mount-tracefs = false\n")[0].mount_tracefs is False
    assert parsed(tmp_path, "no-mount-tracefs = false\n")[0].mount_tracefs is True
    assert parsed(tmp_path, "no-ip-translation = true\n")[0].ip_translation is False
    assert parsed(tmp_path, "", {"EBTOP_MOUNT_TRACEFS": "off", "EBTOP_IP_TRANSLATION": "no"})[0] \
        .mount_tracefs is False
    args, problems = parsed(tmp_path, 'hubble-tls = "maybe"\n', {"EBTOP_FAILED": "sometimes"})
    assert args.hubble_tls is False and args.failed is False
    assert problems == ["{}:1: hubble-tls: expected true or false, got 'maybe'; using the default false"
                        .format(tmp_path / "config.toml"),
                        "environment: EBTOP_FAILED: expected true or false, got 'sometimes'; using the default false"]


def test_lists_from_arrays_and_comma_separated_environment(tmp_path: Path) -> None:
    text = 'tetragon-namespace = ["shop", "kube-system"]\nprobes = ["opens", "tcp"]\n'
    args, problems = parsed(tmp_path, text, {"HUBBLE_TLS_CA_CERT_FILES": "/a.crt,/b.crt"})
    assert problems == []
    assert args.tetragon_namespace == ["shop", "kube-system"] and args.probes == ("opens", "tcp")
    assert args.hubble_tls_ca_cert_files == ["/a.crt", "/b.crt"]


def test_filter_flags_are_reported_as_not_configurable_never_dropped(tmp_path: Path) -> None:
    args, problems = parsed(tmp_path, '[flows]\nnamespace = "shop"\n', {"EBTOP_NAMESPACE": "shop"})
    assert problems == [
        f"{tmp_path / 'config.toml'}:2: namespace: a filter flag: not configurable (give it on the command "
        "line); ignored",
        "environment: EBTOP_NAMESPACE: --namespace is a filter flag: not configurable (give it on the "
        "command line); ignored"]


@pytest.mark.parametrize(("text", "key", "message", "dest", "default"), [
    ('interval = "abc"', "interval", "not a number: 'abc'; using the default 5.0", "interval", 5.0),
    ("interval = 0", "interval", "must be positive: '0'; using the default 5.0", "interval", 5.0),
    ("flow-buffer = -1", "flow-buffer", "must be at least 1: '-1'; using the default 10000", "flow_buffer", 10_000),
    ("window = 1.5", "window", "not a whole number: '1.5'; using the default 60", "window", 60),
    ("interval = true", "interval", "expected a value for --interval, got true; using the default 5.0",
     "interval", 5.0),
    ('colors = "pink"', "colors", "'pink' is not one of auto, 16, 256, truecolor, never; using the default auto",
     "colors", "auto"),
])
def test_bad_values_are_reported_with_line_and_key_and_the_default_is_used(
        tmp_path: Path, text: str, key: str, message: str, dest: str, default: object) -> None:
    args, problems = parsed(tmp_path, f'# ebtop\nhubble-server = "ok:1"\n{text}\n')
    assert problems == [f"{tmp_path / 'config.toml'}:3: {key}: {message}"]
    assert getattr(args, dest) == default and args.hubble_server == "ok:1"


def test_bad_environment_number_is_reported(tmp_path: Path) -> None:
    args, problems = parsed(tmp_path, "", {"EBTOP_INTERVAL": "abc", "EBTOP_WINDOW": "0"})
    assert sorted(problems) == ["environment: EBTOP_INTERVAL: not a number: 'abc'; using the default 5.0",
                                "environment: EBTOP_WINDOW: must be at least 1: '0'; using the default 60"]
    assert (args.interval, args.window) == (5.0, 60)


def test_unknown_key_invalid_toml_and_non_utf8_files(tmp_path: Path) -> None:
    _, problems = parsed(tmp_path, 'colours = "16"\n')
    assert problems == [f"{tmp_path / 'config.toml'}:1: colours: unknown key, ignored"]
    args, problems = parsed(tmp_path, 'hubble-server = "a"\ninterval = = 3\n')
    assert len(problems) == 1 and ":2: not valid TOML" in problems[0] and args.hubble_server is None
    args, problems = parsed(tmp_path, b'interval = 2\n# caf\xe9\n')
    assert problems == [f"{tmp_path / 'config.toml'}:2: not UTF-8 (byte 0xe9); file ignored, defaults used"]
    assert args.interval == 5.0


def test_config_path_honours_xdg() -> None:
    assert config_path({"XDG_CONFIG_HOME": "/x"}) == Path("/x/ebtop/config.toml")
    assert config_path({"HOME": "/home/u"}) == Path("/home/u/.config/ebtop/config.toml")


def _show(monkeypatch, capsys, cfg: Path, env: dict[str, str], argv: list[str]) -> str:
    for name in [name for name in __import__("os").environ if name.startswith(("EBTOP_", "HUBBLE_"))]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["--config", str(cfg), "--show-config", *argv]) == 0
    return capsys.readouterr().out


def test_show_config_says_where_every_value_came_from(tmp_path: Path, monkeypatch, capsys) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[syscalls]\n\ninterval = 2\nno-mount-tracefs = true\ninterval-typo = 1\nwindow = 0\n')
    out = _show(monkeypatch, capsys, cfg, {"HUBBLE_SERVER": "env:4245"},
                ["--colors", "16", "--namespace", "shop", "--not", "--verdict", "DROPPED"])
    lines = {line.split(" = ")[0]: line for line in out.splitlines() if " = " in line and not line.startswith("#")}
    assert lines["interval"].split("#")[1].strip() == f"{cfg}:3"
    assert lines["mount-tracefs"].startswith("mount-tracefs = false") and lines["mount-tracefs"].endswith(f"{cfg}:4")
    assert lines["hubble-server"].endswith("# environment HUBBLE_SERVER")
    assert lines["colors"].startswith('colors = "16"') and lines["colors"].endswith("# flag --colors")
    assert lines["window"].startswith("window = 60") and lines["window"].endswith("# default")
    assert lines["by"].endswith("# default")
    assert "# flows filters (flags only, not configurable): --namespace shop --not --verdict DROPPED" in out
    assert f"# problem: {cfg}:5: interval-typo: unknown key, ignored" in out
    assert f"# problem: {cfg}:6: window: must be at least 1: '0'; using the default 60" in out


def test_show_config_output_is_a_config_file_that_gives_the_same_settings(tmp_path: Path, monkeypatch,
                                                                          capsys) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('interval = 2\nip-translation = false\ntetragon-namespace = ["shop"]\nprobes = ["tcp"]\n')
    out = _show(monkeypatch, capsys, cfg, {}, ["--retention", "30"])
    data = tomllib.loads(out)  # valid TOML, unset settings commented out
    assert data["interval"] == 2.0 and data["ip-translation"] is False and data["retention"] == 30.0
    again = tmp_path / "again.toml"
    again.write_text(out)
    before, _ = parsed(tmp_path, cfg.read_text(), argv=["--retention", "30"])
    parser = build_parser()
    assert apply_defaults(parser, again, environ=NO_ENV).problems == []
    after = parser.parse_args([])
    assert vars(after) == vars(before)
