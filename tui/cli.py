"""Command line: interactive app, batch mode (`-b`, like `top -b`) and the demo.

Each pane family owns its flags and its batch printer in `tui.wiring.<family>`; this module only
assembles them, so `ebtop --help` always lists what the code accepts.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from tui import __version__
from tui import batch as batch_flags
from tui.batch import EXIT_CODES
from tui.config import apply_defaults, config_path, record_flags, show_config
from tui.threads import name_threads
from tui.wiring import flows, processes, profile, syscalls

COLOR_SYSTEMS = {"auto": "auto", "16": "standard", "256": "256", "truecolor": "truecolor", "never": None}
FAMILIES = {"flows": flows, "processes": processes, "syscalls": syscalls, "profile": profile}

DESCRIPTION = """\
A top-style terminal monitor for eBPF observability on a Kubernetes node.
Four live panes: Flows (Cilium Hubble's flow stream), Processes (Tetragon's process
events, or local bcc exec/exit tracepoints), Syscalls (local bcc counters, latency
histograms, custom tracepoint counters) and Profile (on-CPU stacks sampled on every CPU).
"""

EPILOG = """\
Defaults come from $XDG_CONFIG_HOME/ebtop/config.toml (keys are flag names without dashes), then
the environment (HUBBLE_SERVER, HUBBLE_TLS and the other HUBBLE_* variables the hubble CLI reads;
EBTOP_<FLAG> for the rest), then flags. Values are converted as the flag converts them (true/false,
numbers, TOML arrays or comma lists); a no-... key means its flag (no-mount-tracefs = true). The
Flows filter flags are not configurable. A bad value, unknown key or unreadable file is reported
with its line and key and the default is used; --show-config prints every setting and its origin.
Signals (TERM, HUP, INT), q and a lost terminal all restore the terminal and detach every BPF program.

Without a cluster, `ebtop --demo` starts in-process Hubble and Tetragon demo servers and
connects to them through the same client code as real servers.

The Syscalls pane and the local process source need root (or CAP_BPF+CAP_PERFMON), Debian's
python3-bpfcc and kernel headers; where they are missing that pane says why and the others
keep working. Batch mode prints plain lines to stdout, like `top -b`:
  ebtop -b --pane flows --hubble-file flows.json
  ebtop -b --pane processes --tetragon-file events.json --timestamps
  ebtop -b --pane flows --hubble-server localhost:4245 -n 50   (the last 50 flows; -f follows)
  ebtop -b --pane syscalls -n 3 --interval 5

""" + EXIT_CODES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ebtop", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ebtop {__version__}")
    general = parser.add_argument_group("general")
    general.add_argument("--demo", action="store_true",
                         help="start in-process demo Hubble and Tetragon servers and connect to them")
    general.add_argument("--demo-seed", type=int, default=1, metavar="N",
                         help="seed of the demo scenario; the same seed gives the same cluster story (default 1)")
    general.add_argument("--demo-rate", type=float, default=40.0, metavar="R",
                         help="demo scenario episodes per second (default 40)")
    general.add_argument("-b", "--batch", action="store_true",
                         help="batch mode: print plain lines of one pane (--pane) to stdout and exit")
    general.add_argument("--pane", choices=sorted(FAMILIES), default="flows",
                         help="pane shown first, or printed in batch mode (default flows)")
    general.add_argument("-n", "--iterations", dest="count", type=int, default=0, metavar="N",
                         help="batch mode: flows: the last N (as --last); processes: stop after N events; "
                              "syscalls: N intervals (--count is a custom tracepoint counter)")
    batch_flags.add_arguments(general)
    from tui.wiring.output import add_output_argument

    add_output_argument(general)
    general.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                         help="batch mode colour (default auto: only on a terminal, and not with NO_COLOR)")
    general.add_argument("--colors", choices=tuple(COLOR_SYSTEMS), default="auto",
                         help="interactive colours: auto, 16, 256, truecolor, or never (a monochrome theme "
                              "with text markers; NO_COLOR in the environment means never)")
    general.add_argument("--no-mouse", action="store_true",
                         help="do not capture the mouse (keeps the terminal's own selection); every action has a key")
    general.add_argument("--serve", type=int, default=None, metavar="PORT",
                         help="serve the app to a web browser on http://localhost:PORT instead of this terminal "
                              "(for talks; needs the textual-serve package: pip install 'ebtop[serve]')")
    general.add_argument("--show-config", action="store_true",
                         help="print every setting as config.toml lines, each with where its value came from "
                              "(default, file:line, environment, flag), and exit")
    general.add_argument("--config", type=Path, default=None, metavar="FILE",
                         help="config file (default $XDG_CONFIG_HOME/ebtop/config.toml or ~/.config/ebtop/config.toml)")
    for family in FAMILIES.values():
        family.add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    config_file = _early_config_path(argv)
    loaded = apply_defaults(parser, config_file)
    args = parser.parse_args(argv)
    if args.show_config:
        from tui.filters.hubble import DEST, describe_filters

        record_flags(parser, argv, loaded)
        filters = describe_filters(getattr(args, DEST, None) or [])
        notes = [f"flows filters (flags only, not configurable): {filters}"] if filters else []
        sys.stdout.write(show_config(parser, args, loaded, notes))
        return 0
    for family in FAMILIES.values():  # a flag of one family that cannot apply here: usage error
        problem = family.check_usage(args) if hasattr(family, "check_usage") else None
        if problem:
            parser.error(problem)
    views = getattr(FAMILIES[args.pane], "BATCH_VIEWS", None)
    if views is not None and getattr(args, "view", None) not in views:
        parser.error(f"--view {args.view} is not a view of the {args.pane} pane (choose from {', '.join(views)})")
    args.config_notices = [str(problem) for problem in loaded.problems]
    for notice in args.config_notices:
        print(f"ebtop: config: {notice}", file=sys.stderr)
    if not args.batch and args.serve is None:  # before the terminal watch: fd 0 must be the keyboard
        from tui.stdin_replay import StdinReplayError, separate_keys_from_data

        try:
            separate_keys_from_data(args)
        except StdinReplayError as error:
            print(f"ebtop: {error}", file=sys.stderr)
            return 2
    from tui.shutdown import QUIT_WAIT, SHUTDOWN, Interrupted

    SHUTDOWN.install(interactive=not args.batch and args.serve is None)
    if getattr(args, "print_raw_filters", False):  # hubble observe --print-raw-filters: print and exit
        from tui.wiring.output import print_raw_filters

        return print_raw_filters(args, sys.stdout, sys.stderr)
    if not args.batch and getattr(args, "output", "compact") != "compact":
        print(f"ebtop: -o {args.output} is a batch-mode output: add -b (and --pane)", file=sys.stderr)
        return 2
    if args.serve is not None:
        return serve_in_browser(args.serve, argv)
    name_threads()  # `top -H` shows ebtop-ui, hubble-reader, … instead of python
    demo = None
    if args.demo:
        from tui.demo.runner import spawn_demo

        demo = spawn_demo(seed=args.demo_seed, rate=args.demo_rate)  # its own process: ebtop's cost stays ebtop's
        demo.apply_to(args)
        SHUTDOWN.on_leave(demo.abandon)  # `q` leaves without this function's `finally`
    try:
        if args.batch:
            if demo is not None:
                demo.wait_ready()
            return FAMILIES[args.pane].run_batch(args)
        code = run_app(args, before_run=demo.wait_ready if demo is not None else None)
    except Interrupted as stop:  # SIGTERM, SIGHUP or SIGINT in batch mode (tui/shutdown.py)
        return stop.code
    except KeyboardInterrupt:
        return 130
    except RuntimeError as error:
        from tui.demo.runner import DemoError

        if not isinstance(error, DemoError):
            raise
        print(f"ebtop: {error}", file=sys.stderr)
        return 1
    finally:
        if demo is not None:
            demo.stop(timeout=QUIT_WAIT)
    return SHUTDOWN.leave(code)  # the terminal is restored: what still stops must not hold the prompt


def _early_config_path(argv: Sequence[str]) -> Path:
    """`--config FILE` must be known before parsing, since the file supplies the defaults."""
    for index, item in enumerate(argv):
        if item == "--config" and index + 1 < len(argv):
            return Path(argv[index + 1])
        if item.startswith("--config="):
            return Path(item.split("=", 1)[1])
    return config_path()


def apply_color_choice(colors: str, environ: dict[str, str] | os._Environ[str] = os.environ) -> None:
    """Set Textual's colour system before it is imported; `never` and NO_COLOR mean monochrome."""
    if colors == "never" or "NO_COLOR" in environ:
        environ["NO_COLOR"] = "1"
        return
    environ["TEXTUAL_COLOR_SYSTEM"] = COLOR_SYSTEMS[colors] or "auto"


def serve_in_browser(port: int, argv: Sequence[str]) -> int:
    """Run `ebtop` (without --serve) per browser session through textual-serve, on localhost only."""
    try:
        from textual_serve.server import Server
    except ImportError:
        print("ebtop: --serve needs the textual-serve package: pip install 'ebtop[serve]'", file=sys.stderr)
        return 2
    rest = list(argv)
    for index, item in enumerate(rest):
        if item == "--serve":
            del rest[index:index + 2]
            break
        if item.startswith("--serve="):
            del rest[index]
            break
    command = shlex.join([sys.executable, "-m", "tui", *rest])
    print(f"ebtop: serving `{command}` on http://localhost:{port} (Ctrl-C stops)", file=sys.stderr)
    Server(command, host="localhost", port=port, title="ebtop").serve()
    return 0


def run_app(args: argparse.Namespace, before_run: Callable[[], None] | None = None) -> int:
    """Run the app; `before_run` (the demo servers coming up) is waited for before the sources start."""
    apply_color_choice(args.colors)
    from tui.app import EbtopApp, PaneSlot
    from tui.screen_stream import detach_screen

    detach_screen()  # the screen on its own fd: bcc's compile captures fds 1 and 2 (tui/screen_stream.py)

    # Tabs first, panes after the first frame (tui.app.PaneSlot); the demo servers come up meanwhile.
    slots = [PaneSlot(name, name.title(), partial(family.create_pane, args)) for name, family in FAMILIES.items()]
    app = EbtopApp(slots, initial=args.pane, notices=args.config_notices, wait_before_start=before_run)
    result = app.run(mouse=not args.no_mouse)
    if app.start_error is not None:  # the demo servers did not come up: main says why
        raise app.start_error
    if app.return_code:  # a crash (Textual printed the traceback) or a signal
        return app.return_code
    return result or 0


if __name__ == "__main__":
    sys.exit(main())
