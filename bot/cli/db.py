"""`rwa-bot db upgrade | status`: the database's schema, for deployments that migrate before
they roll out (several replicas on PostgreSQL). The other commands still migrate as they open
the database; `upgrade` does only that, and `status` changes nothing."""

import asyncio

from bot import bootstrap
from bot.cli.session import EXIT_FAILED, EXIT_OK, EXIT_UNUSABLE, Session
from bot.store.database import DatabaseUnavailable, database_versions, upgrade_database
from bot.store.schema_versions import MigrationError, known_versions, migration_name


def _named(versions: list[int]) -> str:
    return ", ".join(f"{version} ({migration_name(version)})" for version in versions) or "none"


def _upgrade(session: Session) -> int:
    """Apply the pending migrations; say which."""
    url = bootstrap.database_url(session.settings)
    applied = asyncio.run(upgrade_database(url))
    for version in applied:
        print(f"applied migration {version} ({migration_name(version)})", file=session.out)
    state = "up to date" if applied else "nothing to apply"
    shown = bootstrap.shown_database(session.settings)
    print(f"{shown}: schema version {known_versions()[-1]}, {state}", file=session.out)
    return EXIT_OK


def _status(session: Session) -> int:
    """Say the schema version and the pending migrations; exit 1 when some are pending."""
    settings = session.settings
    path = bootstrap.database_path(settings)
    if path is not None and not path.is_file():  # reading it must not create it
        done: list[int] = []
        pending = known_versions()
        print(f"database: {path} (none yet)", file=session.out)
    else:
        done, pending = asyncio.run(database_versions(bootstrap.database_url(settings)))
        print(f"database: {bootstrap.shown_database(settings)}", file=session.out)
    print(
        f"schema version: {max(done, default=0)} (latest {len(done) + len(pending)})",
        file=session.out,
    )
    print(f"pending migrations: {_named(pending)}", file=session.out)
    if pending:
        print("run 'rwa-bot db upgrade' to apply them", file=session.out)
        return EXIT_FAILED
    return EXIT_OK


def command(session: Session) -> int:
    """`rwa-bot db upgrade | status`."""
    action = {"upgrade": _upgrade, "status": _status}[session.args.db_command]
    try:
        return action(session)
    except (DatabaseUnavailable, MigrationError) as error:
        session.fail(str(error))
        return EXIT_UNUSABLE
