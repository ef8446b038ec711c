"""Defaults from `config.toml` and the environment, applied under the command line's flags.

Precedence, lowest first: built-in defaults, `$XDG_CONFIG_HOME/ebtop/config.toml` (or
`~/.config/ebtop/config.toml`), environment variables (`HUBBLE_SERVER` and every other `HUBBLE_*`
the hubble CLI reads, `EBTOP_*` for ebtop's own flags), then flags. A bad file or value is reported
with its line and key, and ebtop starts anyway with what was valid.

The file's keys are flag names without the leading dashes, at top level or in any table, e.g.::

    hubble-server = "tls://hubble-relay.kube-system.svc:443"
    [hubble]
    hubble-tls-ca-cert-files = ["/etc/hubble/ca.crt"]
    [syscalls]
    interval = 2
    [ui]
    colors = "16"
"""

from __future__ import annotations

import argparse
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Flags that are actions, not defaults: never taken from a file or the environment.
NOT_CONFIGURABLE = {"help", "version", "batch", "count", "config"}


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in the config file or environment, located for the user."""

    source: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where ebtop looks for its config file."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME", "~")).expanduser() / ".config")
    return Path(base) / "ebtop" / "config.toml"


def _actions_by_key(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    actions: dict[str, argparse.Action] = {}
    for action in parser._actions:  # noqa: SLF001 - argparse has no public list of actions
        if action.dest in NOT_CONFIGURABLE or action.dest == argparse.SUPPRESS:
            continue
        for option in action.option_strings:
            if option.startswith("--"):
                actions[option[2:]] = action
        actions.setdefault(action.dest.replace("_", "-"), action)
    return actions


def _convert(action: argparse.Action, value: Any) -> Any:
    """Check and convert one value to what the flag would have produced; raise ValueError."""
    if isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction):  # noqa: SLF001
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
        raise ValueError(f"expected true or false, got {value!r}")
    many = isinstance(action, argparse._AppendAction) or action.nargs in ("*", "+")  # noqa: SLF001
    convert = action.type if callable(action.type) else (lambda item: item)
    if many:
        items = value if isinstance(value, list) else [value]
        if isinstance(value, str) and "," in value:
            items = [part for part in value.split(",") if part]
        return [_check_choice(action, convert(str(item) if action.type else item)) for item in items]
    if isinstance(value, list | dict):
        raise ValueError(f"expected a single value, got {type(value).__name__}")
    return _check_choice(action, convert(str(value)) if action.type else str(value))


def _check_choice(action: argparse.Action, value: Any) -> Any:
    if action.choices is not None and value not in action.choices:
        raise ValueError(f"{value!r} is not one of {', '.join(map(str, action.choices))}")
    return value


def _line_of(text: str, key: str) -> int | None:
    pattern = re.compile(rf'^\s*"?{re.escape(key)}"?\s*=', re.MULTILINE)
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _flatten(table: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Top-level keys and keys of tables, one level deep (tables only group keys)."""
    items: list[tuple[str, Any]] = []
    for key, value in table.items():
        if isinstance(value, dict):
            items.extend((inner, inner_value) for inner, inner_value in value.items())
        else:
            items.append((key, value))
    return items


def defaults_from_file(parser: argparse.ArgumentParser, path: Path) -> tuple[dict[str, Any], list[ConfigProblem]]:
    """Parse the config file into argparse defaults; problems are reported, never raised."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}, []
    except OSError as error:
        return {}, [ConfigProblem(str(path), None, "", f"cannot read: {error.strerror}")]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line = getattr(error, "lineno", None)
        match = re.search(r"line (\d+)", str(error))
        line = line or (int(match.group(1)) if match else None)
        return {}, [ConfigProblem(str(path), line, "", f"not valid TOML ({error}); file ignored")]
    actions = _actions_by_key(parser)
    defaults: dict[str, Any] = {}
    problems: list[ConfigProblem] = []
    for key, value in _flatten(data):
        action = actions.get(key)
        if action is None:
            problems.append(ConfigProblem(str(path), _line_of(text, key), key, "unknown key, ignored"))
            continue
        try:
            defaults[action.dest] = _convert(action, value)
        except (ValueError, TypeError) as error:
            problems.append(ConfigProblem(str(path), _line_of(text, key), key, f"{error}; ignored"))
    return defaults, problems


def env_name(action: argparse.Action) -> str | None:
    """The environment variable for a flag: `HUBBLE_*` for hubble's own, `EBTOP_*` for the rest."""
    long = next((opt[2:] for opt in action.option_strings if opt.startswith("--")), None)
    if long is None or action.dest in NOT_CONFIGURABLE:
        return None
    name = long.upper().replace("-", "_")
    return name if name.startswith("HUBBLE_") else f"EBTOP_{name}"


def defaults_from_env(parser: argparse.ArgumentParser,
                      environ: Mapping[str, str] | None = None) -> tuple[dict[str, Any], list[ConfigProblem]]:
    """Environment variables as argparse defaults; bad values are reported and skipped."""
    environ = os.environ if environ is None else environ
    defaults: dict[str, Any] = {}
    problems: list[ConfigProblem] = []
    for action in parser._actions:  # noqa: SLF001
        name = env_name(action)
        if name is None or name not in environ:
            continue
        try:
            defaults[action.dest] = _convert(action, environ[name])
        except (ValueError, TypeError) as error:
            problems.append(ConfigProblem("environment", None, name, f"{error}; ignored"))
    return defaults, problems


def apply_defaults(parser: argparse.ArgumentParser, path: Path | None = None,
                   environ: Mapping[str, str] | None = None) -> list[ConfigProblem]:
    """Install file, then environment values as the parser's defaults; return what was wrong."""
    file_defaults, problems = defaults_from_file(parser, path or config_path(environ))
    env_defaults, env_problems = defaults_from_env(parser, environ)
    parser.set_defaults(**{**file_defaults, **env_defaults})
    return problems + env_problems
