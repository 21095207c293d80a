"""What every command is given (its arguments, the settings, the three streams) and the
loading they share: the content, the answer engine, the database's URL."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from bot import bootstrap
from bot.config import Settings

if TYPE_CHECKING:
    from bot.answers.answering import Answerer
    from bot.content.loader import Content

EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE, EXIT_INTERRUPTED = 0, 1, 2, 130


@dataclass(frozen=True)
class Session:
    """One run of `rwa-bot`: the parsed arguments, the settings and where to read and write."""

    args: argparse.Namespace
    settings: Settings
    stdin: TextIO
    out: TextIO
    err: TextIO

    def fail(self, message: str) -> None:
        """Tell the user, on standard error, why the command cannot go on."""
        print(f"rwa-bot: {message}", file=self.err)


def load_content(session: Session) -> Content | None:
    """The bot's content, or None after printing its errors."""
    from bot.telegram.message_keys import BOT_MESSAGE_KEYS

    settings = session.settings
    content, problems = bootstrap.read_bot_content(settings, BOT_MESSAGE_KEYS)
    if content is None:
        for problem in problems:
            if problem.severity == "error":
                print(problem, file=session.err)
        session.fail(
            f"the content in {settings.content_dir} has errors; "
            "run 'rwa-bot faq check' for the full list."
        )
    return content


def load_engine(session: Session) -> Answerer | None:
    """The answer engine over the bot's content, or None after printing why there is none."""
    content = load_content(session)
    return None if content is None else bootstrap.build_answerer(session.settings, content)


def existing_database(session: Session) -> str | None:
    """The URL of the bot's database, or None after saying there is none yet (a SQLite file
    that does not exist; a server database is there to be opened)."""
    database = bootstrap.database_path(session.settings)
    if database is not None and not database.is_file():
        session.fail(
            f"no database yet at {database}: the Telegram bot creates it when it "
            "first runs (rwa-bot run); set RWA_BOT_DATA_DIR to read another."
        )
        return None
    return bootstrap.database_url(session.settings)
