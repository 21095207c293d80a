"""The `rwa-bot` command: ask, chat, report, queue, run, faq check, eval.

Thin: it reads arguments, loads settings and content, calls the engine, prints. Every failure a
user can cause ends in one clear message and a non-zero exit status, never a traceback.
"""

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from bot.answers.answering import Answerer, build_engine
from bot.answers.evaluation import EvalFileError, calibration_samples, evaluate, format_report
from bot.answers.followups import Conversation
from bot.answers.reply import render_plain, to_json
from bot.cli.chat import TerminalDesk, run_chat
from bot.config import ConfigError, Settings, load_settings
from bot.content.calibration import fit, save_calibration
from bot.content.loader import Content, read_content
from bot.content.problems import Problem
from bot.store.migrations import MigrationError
from bot.telegram.message_keys import BOT_MESSAGE_KEYS

EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rwa-bot",
        description="Answers questions about one article on RWA tokenization in mainland China "
        "and Hong Kong, quoting its own words; hands real cases to a lawyer.",
    )
    parser.add_argument("--config", type=Path, help="a config file (default: $RWA_BOT_CONFIG)")
    parser.add_argument(
        "--content",
        type=Path,
        metavar="DIR",
        help="the content folder to answer from (default: the shipped faq/)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    ask = commands.add_parser("ask", help="answer a question, or one per line of standard input")
    ask.add_argument("question", nargs="*", help="the question (omit to read standard input)")
    ask.add_argument("--json", action="store_true", help="print one JSON object per question")
    ask.add_argument(
        "--conversation",
        action="store_true",
        help="read standard input as one conversation, one turn a line (follow-ups use context)",
    )
    ask.add_argument(
        "--lang",
        choices=["en", "zh"],
        help="language for messages without words (default: detected)",
    )

    commands.add_parser("chat", help="talk with the bot in the terminal (no token needed)")

    report = commands.add_parser(
        "report", help="unanswered questions, answers voted down, FAQ entries used"
    )
    report.add_argument("--limit", type=int, default=20, help="rows per section (default 20)")

    queue = commands.add_parser("queue", help="the tickets of people who asked for a lawyer")
    queue_commands = queue.add_subparsers(dest="queue_command", metavar="ACTION", required=True)
    queue_list = queue_commands.add_parser("list", help="the tickets, oldest first")
    queue_list.add_argument("--json", action="store_true", help="print a JSON array of tickets")
    queue_list.add_argument(
        "--status", choices=["open", "claimed", "closed"], help="only tickets with this status"
    )
    queue_show = queue_commands.add_parser(
        "show", help="one ticket: answers, recent questions, transcript"
    )
    queue_show.add_argument("ticket", type=int, metavar="N", help="the ticket's number")
    queue_show.add_argument("--json", action="store_true", help="print it as a JSON object")
    queue_export = queue_commands.add_parser(
        "export", help="every ticket with its transcript, as a JSON array"
    )
    queue_export.add_argument("--json", action="store_true", help="JSON (the only format)")

    run = commands.add_parser("run", help="run the Telegram bot (needs RWA_BOT_TOKEN)")
    run.add_argument(
        "--webhook",
        action="store_true",
        help="serve a webhook (settings: webhook.url, listen, port, secret token)",
    )

    faq = commands.add_parser("faq", help="work with the FAQ content")
    faq_commands = faq.add_subparsers(dest="faq_command", metavar="ACTION", required=True)
    faq_commands.add_parser("check", help="check every file of the content folder")

    evaluation = commands.add_parser("eval", help="run an evaluation set and report accuracy")
    evaluation.add_argument("files", type=Path, nargs="+", metavar="FILE", help="evaluation sets")
    evaluation.add_argument("--quiet", action="store_true", help="do not list the failures")
    evaluation.add_argument(
        "--calibrate",
        action="store_true",
        help="fit confidence to the sets (writes calibration.yaml into the content folder)",
    )
    return parser


def _print_problems(problems: Sequence[Problem], out: TextIO) -> None:
    for problem in problems:
        print(problem, file=out)


def _load(settings: Settings, err: TextIO) -> Content | None:
    content, problems = read_content(settings.content_dir, message_keys=BOT_MESSAGE_KEYS)
    if content is None:
        _print_problems([p for p in problems if p.severity == "error"], err)
        print(
            f"rwa-bot: the content in {settings.content_dir} has errors; "
            "run 'rwa-bot faq check' for the full list.",
            file=err,
        )
    return content


def _faq_check(settings: Settings, out: TextIO) -> int:
    content, problems = read_content(settings.content_dir, dt.date.today(), BOT_MESSAGE_KEYS)
    _print_problems(problems, out)
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    files = len({p.file for p in problems})
    if content is not None:
        print(
            f"ok: {len(content.sources)} source(s), {len(content.passages)} passages, "
            f"{len(content.entries)} FAQ entries; {warnings} warning(s).",
            file=out,
        )
        return EXIT_OK
    print(f"{errors} error(s) and {warnings} warning(s) in {files} file(s).", file=out)
    return EXIT_FAILED


def _ask(engine: Answerer, args: argparse.Namespace, stdin: TextIO, out: TextIO) -> int:
    questions = (
        [" ".join(args.question)] if args.question else [line.rstrip("\r\n") for line in stdin]
    )
    conversation = Conversation(engine) if args.conversation else None
    for number, question in enumerate(questions):
        if conversation is not None:
            reply = conversation.reply(question, args.lang)
        else:
            reply = engine.reply(question, args.lang)
        if args.json:
            print(json.dumps(to_json(reply), ensure_ascii=False), file=out, flush=True)
        else:
            if len(questions) > 1:
                print(("\n" if number else "") + f"» {question}", file=out)
            print(render_plain(reply), file=out, flush=True)
    return EXIT_OK


def _database_url(settings: Settings, err: TextIO) -> str | None:
    """Return the URL of the bot's database, or None after saying there is none yet."""
    from bot.store.store import DATABASE_FILE, sqlite_url

    database = settings.data_dir / DATABASE_FILE
    if not database.is_file():
        print(
            f"rwa-bot: no database yet at {database}: the Telegram bot creates it when it "
            "first runs (rwa-bot run); set RWA_BOT_DATA_DIR to read another.",
            file=err,
        )
        return None
    return sqlite_url(settings.data_dir)


def _report(settings: Settings, limit: int, out: TextIO, err: TextIO) -> int:
    """Print what the bot could not answer, what was voted down, and what was used."""
    import asyncio

    from bot.cli import report as store_report

    url = _database_url(settings, err)
    if url is None:
        return EXIT_UNUSABLE
    try:
        found = asyncio.run(store_report.build_report(url, limit))
    except MigrationError as error:
        print(f"rwa-bot: {error}", file=err)
        return EXIT_UNUSABLE
    print(store_report.format_report(found), file=out)
    return EXIT_OK


def _queue(settings: Settings, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """List the tickets, show one, or export them all."""
    import asyncio

    from bot.cli import queue as queue_report

    url = _database_url(settings, err)
    if url is None:
        return EXIT_UNUSABLE
    try:
        if args.queue_command == "list":
            statuses = None if args.status is None else [args.status]
            tickets = asyncio.run(queue_report.load_tickets(url, statuses))
            if args.json:
                found = [ticket.to_json() for ticket in tickets]
                print(json.dumps(found, ensure_ascii=False, indent=2), file=out)
            else:
                print(queue_report.format_list(tickets), file=out)
        elif args.queue_command == "show":
            shown = asyncio.run(queue_report.load_ticket(url, args.ticket))
            if shown is None:
                print(f"rwa-bot: there is no ticket #{args.ticket}.", file=err)
                return EXIT_FAILED
            if args.json:
                found_one = queue_report.ticket_json(*shown)
                print(json.dumps(found_one, ensure_ascii=False, indent=2), file=out)
            else:
                print(queue_report.format_ticket(*shown), file=out)
        else:
            exported = asyncio.run(queue_report.export_tickets(url))
            print(json.dumps(exported, ensure_ascii=False, indent=2), file=out)
    except MigrationError as error:
        print(f"rwa-bot: {error}", file=err)
        return EXIT_UNUSABLE
    return EXIT_OK


def _run(settings: Settings, content: Content, *, webhook: bool) -> int:
    """Run the Telegram bot until it is stopped (imports telegram only here)."""
    import logging

    from bot.telegram.log_masking import mask_secrets_in_logs
    from bot.telegram.run import run_bot

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # httpx logs every request URL, and the Bot API's URLs hold the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Should anything still carry the token or the webhook's secret, the log shows it masked.
    secrets = (settings.token, settings.webhook.secret_token)
    mask_secrets_in_logs(*(secret.reveal() for secret in secrets if secret is not None))
    problem = run_bot(settings, content, webhook=webhook)
    if problem is not None:
        print(f"rwa-bot: {problem}", file=sys.stderr)
        return EXIT_UNUSABLE
    return EXIT_OK


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
        return _main(argv, stdin, out, err)
    except BrokenPipeError:
        # Whatever is still buffered for the closed pipe must not raise again at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _main(
    argv: Sequence[str] | None,
    stdin: TextIO | None,
    out: TextIO | None,
    err: TextIO | None,
) -> int:
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    err = err or sys.stderr
    for stream in (out, err):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(encoding="utf-8", errors="replace")
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as error:
        print(f"rwa-bot: {error}", file=err)
        return EXIT_UNUSABLE
    if args.content is not None:
        settings = replace(settings, content_dir=args.content)

    if args.command == "faq":
        return _faq_check(settings, out)
    if args.command == "report":
        return _report(settings, args.limit, out, err)
    if args.command == "queue":
        return _queue(settings, args, out, err)
    if args.command == "run" and settings.token is None:
        print(
            "rwa-bot: no Telegram token: set RWA_BOT_TOKEN (ask @BotFather for one), "
            "or talk to the bot in the terminal with 'rwa-bot chat'.",
            file=err,
        )
        return EXIT_UNUSABLE
    if args.command == "run" and args.webhook and not settings.webhook.url:
        print(
            "rwa-bot: --webhook needs the public URL: set RWA_BOT_WEBHOOK_URL "
            "(or webhook.url in the config file).",
            file=err,
        )
        return EXIT_UNUSABLE
    content = _load(settings, err)
    if content is None:
        return EXIT_UNUSABLE
    if args.command == "run":
        return _run(settings, content, webhook=args.webhook)
    engine = build_engine(content, semantic=settings.semantic_model, cache_dir=settings.cache_dir)
    if args.command == "ask":
        return _ask(engine, args, stdin, out)
    if args.command == "chat":

        def write(text: str) -> None:
            out.write(text)
            out.flush()

        try:
            desk = TerminalDesk(settings.data_dir, content, settings.lawyers.language)
        except (OSError, MigrationError) as error:
            print(f"rwa-bot: cannot open the database in {settings.data_dir}: {error}", file=err)
            return EXIT_UNUSABLE
        try:
            return run_chat(engine, stdin, write, interactive=stdin.isatty(), desk=desk)
        except KeyboardInterrupt:
            write("\nGoodbye.\n")
            return EXIT_OK
        finally:
            desk.close()
    return _eval(engine, settings, args, out, err)


def _eval(
    engine: Answerer, settings: Settings, args: argparse.Namespace, out: TextIO, err: TextIO
) -> int:
    """`rwa-bot eval FILE...`: a report per set; with --calibrate, first refit confidence."""
    try:
        if args.calibrate:
            reports = [evaluate(engine, path) for path in args.files]
            calibration = fit(calibration_samples(reports), [p.name for p in args.files])
            path = save_calibration(calibration, settings.content_dir)
            print(f"calibration written to {path}", file=out)
            engine = Answerer(replace(engine.content, calibration=calibration))
        reports = [evaluate(engine, path) for path in args.files]
    except EvalFileError as error:
        print(f"rwa-bot: {error}", file=err)
        return EXIT_UNUSABLE
    for path, report in zip(args.files, reports, strict=True):
        if len(args.files) > 1:
            print(f"== {path}", file=out)
        print(format_report(report, show_failures=not args.quiet), file=out)
    return EXIT_OK if all(report.passed for report in reports) else EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
