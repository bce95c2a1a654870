"""Shared plumbing of the `pgz-*` command-line tools: logging, error reporting and exit codes.

Expected failures (`PrivateGazeError`) print ``Error: ...`` to stderr and exit 1 without a traceback; ``--debug``
shows it. Usage errors exit 2 (argparse). Library code never configures logging; only these entry points do.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from privategaze.errors import PrivateGazeError


class _StderrHandler(logging.StreamHandler):
    """Writes each record to the `sys.stderr` of that moment, not to the one current when the CLI started.

    A CLI called in-process (tests, notebooks) would otherwise leave a handler on a stream that is later closed.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    parser.add_argument("--quiet", action="store_true", help="only warnings and errors")


def run_command(
    parser: argparse.ArgumentParser, handler: Callable[[argparse.Namespace], int], argv: Sequence[str] | None
) -> int:
    """Parse `argv`, configure logging and run `handler(args)`, turning expected errors into exit code 1."""
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.debug else logging.WARNING if args.quiet else logging.INFO
    # Our loggers at the chosen level; third-party libraries (converters, optimisers) only at WARNING.
    logging.basicConfig(level=logging.WARNING, format="%(message)s", handlers=[_StderrHandler()], force=True)
    logging.getLogger("privategaze").setLevel(level)
    try:
        return handler(args)
    except PrivateGazeError as exc:
        if args.debug:
            raise
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
