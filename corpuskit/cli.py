"""The ``corpuskit`` command.  Each command group lives in ``corpuskit/commands/<name>.py`` and
exposes ``register(subparsers)``; this module only finds them and turns errors into messages."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import __version__
from .errors import ConfigError, CorpusError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="corpuskit", description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"corpuskit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from . import commands

    for mod in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        importlib.import_module(f"{commands.__name__}.{mod.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as e:
        print(f"corpuskit: configuration error:\n{e}", file=sys.stderr)
        return 2
    except CorpusError as e:
        print(f"corpuskit: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("corpuskit: interrupted; completed tasks are kept, run the same command again to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
