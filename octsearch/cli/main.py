"""Entry point of the ``octsearch`` command.

Each command group lives in its own module of this package and exposes
``register(subparsers)``, which adds its sub-commands and sets ``func`` on each; ``func(args)``
returns the exit code. Heavy libraries (torch, ray, fvcore) are imported inside the commands, so
``octsearch --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from octsearch.errors import OctsearchError

# Command groups, in the order of the data flow: model -> space -> trial -> search -> store.
COMMAND_MODULES: tuple[str, ...] = (
    "octsearch.cli.model_commands",
    "octsearch.cli.data_commands",
    "octsearch.cli.space_commands",
    "octsearch.cli.trial_commands",
    "octsearch.cli.launch_commands",
    "octsearch.cli.tabulate_commands",
    "octsearch.cli.calibrate_commands",
    "octsearch.cli.store_commands",
    "octsearch.cli.effects_commands",
    "octsearch.cli.supernet_commands",
    "octsearch.cli.validate_commands",
    "octsearch.cli.dashboard_commands",
)


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error and exit code 2 (its default code, kept explicit)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"octsearch: error: {_escape_breaks(message)}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="octsearch", description="Search per-layer alphas of Octave Convolution networks.")
    from octsearch import __version__

    parser.add_argument("--version", action="version", version=f"octsearch {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def one_line(error: BaseException) -> str:
    """The error's message on one line: a value that carries a line break (a path, a name) is
    shown with it escaped, so the message stays one line whatever the user typed."""
    return _escape_breaks(str(error).strip() or type(error).__name__)


def _escape_breaks(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except OctsearchError as e:
        print(f"octsearch: error: {one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("octsearch: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
