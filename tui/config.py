"""Defaults from `config.toml` and the environment, applied under the command line's flags.

Precedence, lowest first: built-in defaults, `$XDG_CONFIG_HOME/ebtop/config.toml` (or
`~/.config/ebtop/config.toml`), environment variables (`HUBBLE_SERVER` and every other `HUBBLE_*`
the hubble CLI reads, `EBTOP_*` for ebtop's own flags), then flags. A bad file or value is reported
with its line and key, and ebtop starts anyway with the default for it.

The file's keys are flag names without the leading dashes, at top level or in any table, e.g.::

    hubble-server = "tls://hubble-relay.kube-system.svc:443"
    [hubble]
    hubble-tls-ca-cert-files = ["/etc/hubble/ca.crt"]
    [syscalls]
    interval = 2
    mount-tracefs = false      # or: no-mount-tracefs = true
    [ui]
    colors = "16"

Every value is converted as its flag converts it (the flag's own type and choices), so a file and a
flag can never mean different things: booleans are TOML booleans (or true/false, yes/no, on/off, 1/0
in the environment), numbers go through the flag's checks (`interval = 0` is refused as the flag is),
lists are TOML arrays (comma-separated in the environment). A `no-…` key sets the positive setting to
the opposite. Hubble's filter flags (`--namespace`, `--verdict`, …) are not configurable: they build
the server's request in order (`--not` negates the next one), so they are reported, never dropped.

`origins` records where each value came from, for `ebtop --show-config`.
"""

from __future__ import annotations

import argparse
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Flags that are actions, not defaults: never taken from a file or the environment.
NOT_CONFIGURABLE = {"help", "version", "batch", "count", "config", "show_config", "print_raw_filters"}
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")
FILTER_HINT = "a filter flag: not configurable (give it on the command line)"


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


@dataclass(frozen=True)
class Origin:
    """Where a setting's value came from: `default`, `file` (path:line), `environment`, `flag`."""

    kind: str
    where: str = ""

    def __str__(self) -> str:
        if self.kind == "default":
            return "default"
        if self.kind == "file":
            return self.where
        return f"{self.kind} {self.where}".strip()


@dataclass
class Loaded:
    """What `apply_defaults` installed: the problems to report and each value's origin."""

    problems: list[ConfigProblem] = field(default_factory=list)
    origins: dict[str, Origin] = field(default_factory=dict)


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where ebtop looks for its config file."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME", "~")).expanduser() / ".config")
    return Path(base) / "ebtop" / "config.toml"


# --- what a key means ----------------------------------------------------------------------------

def configurable(action: argparse.Action) -> bool:
    return action.dest not in NOT_CONFIGURABLE and action.dest != argparse.SUPPRESS and bool(action.option_strings)


def setting_name(action: argparse.Action) -> str:
    """The setting's own (positive) name: `interval`, `mount-tracefs`, `ip-translation`."""
    return action.dest.replace("_", "-")


def _long_options(action: argparse.Action) -> list[str]:
    return [option[2:] for option in action.option_strings if option.startswith("--")]


def _keys(parser: argparse.ArgumentParser) -> tuple[dict[str, tuple[argparse.Action, bool]], set[str]]:
    """Config key -> (action, negated), and the keys that name flags which are not configurable."""
    keys: dict[str, tuple[argparse.Action, bool]] = {}
    refused: set[str] = set()
    for action in parser._actions:  # noqa: SLF001 - argparse has no public list of actions
        if not configurable(action):
            if action.dest == argparse.SUPPRESS and action.option_strings and action.nargs != 0:
                refused.update(_long_options(action))
            continue
        for option in _long_options(action):
            negated = isinstance(action, argparse._StoreFalseAction) or (  # noqa: SLF001
                isinstance(action, argparse.BooleanOptionalAction) and option.startswith("no-"))
            keys[option] = (action, negated)
        keys.setdefault(setting_name(action), (action, False))
    return keys, refused


def _is_bool(action: argparse.Action) -> bool:
    return isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction  # noqa: SLF001
                      | argparse.BooleanOptionalAction)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS + FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise ValueError(f"expected true or false, got {value!r}")


def convert(action: argparse.Action, value: Any, negated: bool = False, *, from_env: bool = False) -> Any:
    """Check and convert one value to what the flag would have produced; raise ValueError.

    `negated`: the key was the flag's `no-…` form, so `true` means the positive setting is off. For
    a `store_false` flag given by its positive name (`mount-tracefs = false`) the value is the setting.
    """
    if _is_bool(action):
        given = _bool(value)
        if isinstance(action, argparse._StoreFalseAction) and not negated:  # noqa: SLF001
            return given  # `mount-tracefs = true`: the setting itself
        return not given if negated else given
    many = isinstance(action, argparse._AppendAction | argparse._ExtendAction) or action.nargs in ("*", "+")  # noqa: SLF001
    if many:
        items = value if isinstance(value, list) else [value]
        if from_env and isinstance(value, str):
            items = [part.strip() for part in value.split(",") if part.strip()]
        return [_one(action, item) for item in items]
    if isinstance(value, list):
        if not all(isinstance(item, str) for item in value):
            raise ValueError(f"expected a single value, got a list {value!r}")
        value = ",".join(value)  # a comma-list flag (--probes) written as a TOML array
    if isinstance(value, dict):
        raise ValueError("expected a single value, got a table")
    return _one(action, value)


def _one(action: argparse.Action, value: Any) -> Any:
    if isinstance(value, bool) and action.type is not None:
        raise ValueError(f"expected a value for --{_long_options(action)[0]}, got {str(value).lower()}")
    text = str(value)
    try:
        result = action.type(text) if callable(action.type) else text
    except argparse.ArgumentTypeError as error:
        raise ValueError(str(error)) from None
    if action.choices is not None and result not in action.choices:
        raise ValueError(f"{result!r} is not one of {', '.join(map(str, action.choices))}")
    return result


# --- the file ------------------------------------------------------------------------------------

def _line_of(text: str, key: str) -> int | None:
    pattern = re.compile(rf'^[ \t]*"?{re.escape(key)}"?[ \t]*=', re.MULTILINE)  # \s would cross lines
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


def _default_text(action: argparse.Action) -> str:
    default = action.default
    if default is None or default == argparse.SUPPRESS:
        return "the default"
    if isinstance(default, bool):
        return f"the default {str(default).lower()}"
    if isinstance(default, list | tuple):
        return f"the default {','.join(map(str, default)) or '(none)'}"
    return f"the default {default}"


def _read_text(path: Path) -> tuple[str | None, ConfigProblem | None]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, None
    except OSError as error:
        return None, ConfigProblem(str(path), None, "", f"cannot read: {error.strerror}; file ignored")
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        return None, ConfigProblem(str(path), line, "", f"not UTF-8 (byte 0x{data[error.start]:02x}); "
                                                        "file ignored, defaults used")


def defaults_from_file(parser: argparse.ArgumentParser, path: Path,
                       loaded: Loaded | None = None) -> tuple[dict[str, Any], list[ConfigProblem]]:
    """Parse the config file into argparse defaults; problems are reported, never raised."""
    text, problem = _read_text(path)
    if text is None:
        return {}, [problem] if problem else []
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"line (\d+)", str(error))
        line = int(match.group(1)) if match else None
        return {}, [ConfigProblem(str(path), line, "", f"not valid TOML ({error}); file ignored")]
    keys, refused = _keys(parser)
    defaults: dict[str, Any] = {}
    problems: list[ConfigProblem] = []
    for key, value in _flatten(data):
        line = _line_of(text, key)
        if key in refused:
            problems.append(ConfigProblem(str(path), line, key, f"{FILTER_HINT}; ignored"))
            continue
        if key not in keys:
            problems.append(ConfigProblem(str(path), line, key, "unknown key, ignored"))
            continue
        action, negated = keys[key]
        try:
            defaults[action.dest] = convert(action, value, negated)
        except (ValueError, TypeError) as error:
            problems.append(ConfigProblem(str(path), line, key, f"{error}; using {_default_text(action)}"))
            continue
        if loaded is not None:
            loaded.origins[action.dest] = Origin("file", f"{path}:{line}" if line else str(path))
    return defaults, problems


# --- the environment -----------------------------------------------------------------------------

def env_name(action: argparse.Action) -> str | None:
    """The environment variable for a flag: `HUBBLE_*` for hubble's own, `EBTOP_*` for the rest."""
    long = next(iter(_long_options(action)), None)
    if long is None or action.dest in NOT_CONFIGURABLE:
        return None
    if isinstance(action, argparse._StoreFalseAction) and long.startswith("no-"):  # noqa: SLF001
        long = setting_name(action)  # EBTOP_MOUNT_TRACEFS=false, the positive setting
    name = long.upper().replace("-", "_")
    return name if name.startswith("HUBBLE_") else f"EBTOP_{name}"


def defaults_from_env(parser: argparse.ArgumentParser, environ: Mapping[str, str] | None = None,
                      loaded: Loaded | None = None) -> tuple[dict[str, Any], list[ConfigProblem]]:
    """Environment variables as argparse defaults; bad values are reported and skipped."""
    environ = os.environ if environ is None else environ
    defaults: dict[str, Any] = {}
    problems: list[ConfigProblem] = []
    for action in parser._actions:  # noqa: SLF001
        name = env_name(action)
        if name is None or name not in environ:
            continue
        if not configurable(action):
            if action.nargs != 0:
                problems.append(ConfigProblem("environment", None, name,
                                              f"--{_long_options(action)[0]} is {FILTER_HINT}; ignored"))
            continue
        try:
            defaults[action.dest] = convert(action, environ[name], from_env=True)
        except (ValueError, TypeError) as error:
            problems.append(ConfigProblem("environment", None, name, f"{error}; using {_default_text(action)}"))
            continue
        if loaded is not None:
            loaded.origins[action.dest] = Origin("environment", name)
    return defaults, problems


def apply_defaults(parser: argparse.ArgumentParser, path: Path | None = None,
                   environ: Mapping[str, str] | None = None) -> Loaded:
    """Install file, then environment values as the parser's defaults; say what was wrong and where
    each value came from (flags are added by `record_flags` once the command line is parsed)."""
    loaded = Loaded()
    file_defaults, problems = defaults_from_file(parser, path or config_path(environ), loaded)
    env_defaults, env_problems = defaults_from_env(parser, environ, loaded)
    parser.set_defaults(**{**file_defaults, **env_defaults})
    loaded.problems = problems + env_problems
    return loaded


# --- flags and --show-config ---------------------------------------------------------------------

class _Unset(list):  # noqa: FURB189 - a list so that append/extend actions can copy and grow it
    """The default of every setting while finding which ones the command line gave."""


def record_flags(parser: argparse.ArgumentParser, argv: Sequence[str], loaded: Loaded) -> None:
    """Mark the settings the command line gave, by parsing `argv` again with no defaults at all."""
    probe = argparse.Namespace()
    actions = [action for action in parser._actions if configurable(action)]  # noqa: SLF001
    for action in actions:
        setattr(probe, action.dest, _Unset())
    given, _ = parser.parse_known_args(list(argv), probe)
    for action in actions:
        value = getattr(given, action.dest, None)
        if not (isinstance(value, _Unset) and not value):
            loaded.origins[action.dest] = Origin("flag", f"--{_long_options(action)[0]}")


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, Path):
        value = str(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in text) + '"'


def show_config(parser: argparse.ArgumentParser, args: argparse.Namespace, loaded: Loaded,
                notes: Sequence[str] = ()) -> str:
    """Every setting as a config.toml line, with where its value came from (a TOML comment).

    Unset settings are commented out (TOML has no null); hubble filter flags are listed apart.
    """
    lines = ["# ebtop settings: value and where it came from (default, file:line, environment, flag)"]
    rows: list[tuple[str, str]] = []
    for action in parser._actions:  # noqa: SLF001
        if not configurable(action):
            continue
        value = getattr(args, action.dest, None)
        origin = str(loaded.origins.get(action.dest, Origin("default")))
        name = setting_name(action)
        rows.append((f"# {name} (unset)" if value is None else f"{name} = {_toml(value)}", origin))
    width = min(48, max(len(text) for text, _ in rows))
    lines += [f"{text:<{width}}  # {origin}" for text, origin in rows]
    lines += [f"# {note}" for note in notes]
    for problem in loaded.problems:
        lines.append(f"# problem: {problem}")
    return "\n".join(lines) + "\n"
