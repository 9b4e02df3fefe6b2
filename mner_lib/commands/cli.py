"""``python -m mner_lib``: the command line. Sub-commands live in :mod:`mner_lib.commands`."""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from mner_lib import commands


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # exit 2 with usage and the valid choices
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m mner_lib", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(
            "interrupted: finished files are kept; rerun the same command to resume",
            file=sys.stderr,
        )
        return 130
    except BrokenPipeError:  # the reader went away (`... | head`): nothing left to say
        try:  # no second error when Python flushes stdout at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):  # a stdout without a file descriptor
            pass
        return 141  # what a shell reports for a command killed by SIGPIPE
    except (ValueError, KeyError, OSError, RuntimeError) as err:
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return 2


def _one_line(err: BaseException) -> str:
    """An error as one line: a KeyError's key, an OSError's cause and file."""
    if isinstance(err, KeyError) and err.args:
        return str(err.args[0])
    if isinstance(err, OSError) and err.filename and str(err.filename) not in str(err.args):
        return f"{err.filename}: {err.strerror or err}"
    return " ".join(str(err).split("\n")[:1]) if isinstance(err, OSError) else str(err)


if __name__ == "__main__":
    raise SystemExit(main())
