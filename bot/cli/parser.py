"""The arguments of `rwa-bot` and its commands (argparse only: `--help` imports nothing else)."""

import argparse
from pathlib import Path
from typing import TypeAlias


def build_parser() -> argparse.ArgumentParser:
    """The parser of the whole command line, one sub-command per job."""
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
    _add_ask(commands)
    chat = commands.add_parser("chat", help="talk with the bot in the terminal (no token needed)")
    chat.add_argument(
        "--quotes",
        action="store_true",
        help="show the quoted passages in full (by default each is folded to its first line; "
        "'/quotes on' and '/quotes off' switch while chatting)",
    )
    report = commands.add_parser(
        "report", help="unanswered questions, answers voted down, FAQ entries used"
    )
    report.add_argument("--limit", type=int, default=20, help="rows per section (default 20)")
    _add_queue(commands)
    _add_privacy(commands)
    _add_db(commands)
    run = commands.add_parser("run", help="run the Telegram bot (needs RWA_BOT_TOKEN)")
    run.add_argument(
        "--webhook",
        action="store_true",
        help="serve a webhook (settings: webhook.url, listen, port, secret token)",
    )
    faq = commands.add_parser("faq", help="work with the FAQ content")
    faq_commands = faq.add_subparsers(dest="faq_command", metavar="ACTION", required=True)
    faq_commands.add_parser("check", help="check every file of the content folder")
    links = commands.add_parser(
        "links", help="the deep link of every FAQ entry and of the lawyer intake, to publish"
    )
    links.add_argument(
        "--bot",
        metavar="NAME",
        help="the bot's Telegram username (default: bot_username, $RWA_BOT_USERNAME)",
    )
    links.add_argument("--json", action="store_true", help="print one JSON object")
    _add_eval(commands)
    return parser


Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _add_ask(commands: Commands) -> None:
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


def _add_queue(commands: Commands) -> None:
    queue = commands.add_parser("queue", help="the tickets of people who asked for a lawyer")
    actions = queue.add_subparsers(dest="queue_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the tickets, oldest first")
    listing.add_argument("--json", action="store_true", help="print a JSON array of tickets")
    listing.add_argument(
        "--status", choices=["open", "claimed", "closed"], help="only tickets with this status"
    )
    show = actions.add_parser("show", help="one ticket: answers, recent questions, transcript")
    show.add_argument("ticket", type=int, metavar="N", help="the ticket's number")
    show.add_argument("--json", action="store_true", help="print it as a JSON object")
    export = actions.add_parser("export", help="every ticket with its transcript, as a JSON array")
    export.add_argument("--json", action="store_true", help="JSON (the only format)")


def _add_privacy(commands: Commands) -> None:
    privacy = commands.add_parser("privacy", help="what the bot keeps about one person")
    actions = privacy.add_subparsers(dest="privacy_command", metavar="ACTION", required=True)
    export = actions.add_parser(
        "export",
        help="everything kept about a user, as the JSON document /mydata sends them",
    )
    export.add_argument("user_id", type=int, metavar="USER_ID", help="their Telegram user id")
    export.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help="write it to FILE, readable by its owner only (default: standard output)",
    )


def _add_db(commands: Commands) -> None:
    database = commands.add_parser(
        "db",
        help="the database's schema, and moving its data (RWA_BOT_DATABASE_URL, default the "
        "SQLite file)",
    )
    actions = database.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    actions.add_parser("upgrade", help="apply the pending migrations and say which")
    actions.add_parser(
        "status", help="the schema version and pending migrations (exit 1 if any are pending)"
    )
    copy = actions.add_parser(
        "copy",
        help="copy the data into a new, empty database (SQLite to PostgreSQL), checked row for row",
    )
    copy.add_argument(
        "--to",
        required=True,
        metavar="URL",
        help="the empty database: postgresql://user:password@host:port/database (migrated first; "
        "the password may instead come from PGPASSWORD or ~/.pgpass)",
    )


def _add_eval(commands: Commands) -> None:
    evaluation = commands.add_parser("eval", help="run an evaluation set and report accuracy")
    evaluation.add_argument("files", type=Path, nargs="+", metavar="FILE", help="evaluation sets")
    evaluation.add_argument("--quiet", action="store_true", help="do not list the failures")
    evaluation.add_argument(
        "--calibrate",
        action="store_true",
        help="fit confidence to the sets (writes calibration.yaml into the content folder)",
    )
