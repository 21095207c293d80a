"""The `rwa-bot` command: parse the arguments, read the settings, run the command's module.

Each command lives in its own module, imported only when it runs, so that `--help` loads no
engine and `ask` no database. Every failure a user can cause ends in one clear message and a
non-zero exit status, never a traceback.
"""

import importlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TextIO, cast

from bot.cli.parser import build_parser
from bot.cli.session import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_UNUSABLE, Session
from bot.config import ConfigError, load_settings

# The module of each command; each has `command(session) -> exit status`.
COMMANDS = {
    "ask": "bot.cli.ask",
    "chat": "bot.cli.chat",
    "report": "bot.cli.report",
    "queue": "bot.cli.queue",
    "privacy": "bot.cli.privacy",
    "db": "bot.cli.db",
    "run": "bot.cli.run",
    "faq": "bot.cli.faq",
    "links": "bot.cli.links",
    "eval": "bot.cli.evaluate",
}


def main(
    argv: Sequence[str] | None = None,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run the command line; return the exit status (0 ok, 1 failed check, 2 unusable).

    A reader that goes away (`rwa-bot ask ... | head -1`) or Ctrl-C ends the command quietly.
    """
    try:
        return _main(argv, stdin or sys.stdin, out or sys.stdout, err or sys.stderr)
    except BrokenPipeError:
        # Whatever is still buffered for the closed pipe must not raise again at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _main(argv: Sequence[str] | None, stdin: TextIO, out: TextIO, err: TextIO) -> int:
    for stream in (out, err):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(encoding="utf-8", errors="replace")
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as error:
        print(f"rwa-bot: {error}", file=err)
        return EXIT_UNUSABLE
    if args.content is not None:
        settings = replace(settings, content_dir=args.content)
    return _command(args.command)(Session(args, settings, stdin, out, err))


def _command(name: str) -> Callable[[Session], int]:
    """The command `name`, importing its module (and what that needs) now."""
    module = importlib.import_module(COMMANDS[name])
    return cast(Callable[[Session], int], module.command)


if __name__ == "__main__":
    raise SystemExit(main())
