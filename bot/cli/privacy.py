"""What the bot keeps about one person, for the firm to hand over on request
(`rwa-bot privacy export USER_ID [--output FILE]`): the document /mydata sends them.
"""

import asyncio
import os
from pathlib import Path

from bot.cli.session import EXIT_FAILED, EXIT_OK, EXIT_UNUSABLE, Session, existing_database
from bot.store.database import DatabaseUnavailable
from bot.store.export import PersonalData, personal_data
from bot.store.schema_versions import MigrationError
from bot.store.store import open_store


async def load_personal_data(url: str, user_id: int) -> PersonalData:
    """Return what the database at `url` keeps about `user_id` (`personal_data`)."""
    async with await open_store(url) as store:
        return await personal_data(store.engine, user_id)


def command(session: Session) -> int:
    """`rwa-bot privacy export USER_ID [--output FILE]`: print or write a person's data."""
    url = existing_database(session)
    if url is None:
        return EXIT_UNUSABLE
    user_id: int = session.args.user_id
    try:
        found = asyncio.run(load_personal_data(url, user_id))
    except (DatabaseUnavailable, MigrationError) as error:
        session.fail(str(error))
        return EXIT_UNUSABLE
    if found.empty:
        session.fail(f"the bot keeps nothing about user {user_id}: no export written.")
        return EXIT_FAILED
    output: Path | None = session.args.output
    if output is None:
        session.out.write(found.document())
        return EXIT_OK
    try:
        _write_private(output, found.document())
    except OSError as error:
        session.fail(f"could not write {output}: {error.strerror or error}.")
        return EXIT_UNUSABLE
    print(f"Wrote what the bot keeps about user {user_id} to {output}.", file=session.out)
    return EXIT_OK


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by its owner only (it holds a person's data)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
