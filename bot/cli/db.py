"""`rwa-bot db upgrade | status | copy`: the database's schema, for deployments that migrate
before they roll out (several replicas on PostgreSQL), and moving a deployment's data into a
new database. The other commands still migrate as they open the database; `upgrade` does only
that, `status` changes nothing, and `copy` writes only to the new database."""

import asyncio

from bot import bootstrap
from bot.cli.session import EXIT_FAILED, EXIT_OK, EXIT_UNUSABLE, Session, existing_database
from bot.config import DATABASE_SCHEMES
from bot.store.database import (
    DatabaseUnavailable,
    database_versions,
    shown_url,
    upgrade_database,
)
from bot.store.database_copy import CopyFailed, CopyRefused, TableCopy, copy_database
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


def _with_driver(url: str) -> str | None:
    """`url` with the driver the store uses named (postgresql:// -> postgresql+asyncpg://), or
    None if it is not a database URL the store can open."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    driver = DATABASE_SCHEMES.get(scheme)
    return None if driver is None else driver + url[len(scheme) :]


def _print_copies(session: Session, copies: list[TableCopy]) -> None:
    """The per-table summary: rows in the source and the target, the check, the next id."""
    print(f"{'table':<24}{'source':>8}{'target':>8}  {'check':<8}next id", file=session.out)
    for each in copies:
        check = "same" if each.matches else "DIFFERS"
        next_id = "" if each.next_id is None else str(each.next_id)
        line = f"{each.name:<24}{each.source_rows:>8}{each.target_rows:>8}  {check:<8}{next_id}"
        print(line.rstrip(), file=session.out)


def _copy(session: Session) -> int:
    """Copy the bot's database into the empty one `--to` names; check every row."""
    source = existing_database(session)
    target = _with_driver(session.args.to.strip())
    if target is None:
        session.fail(
            "--to must be a database URL: postgresql://user:password@host:port/database "
            "(or sqlite:///path/to/file.sqlite3)"
        )
    if source is None or target is None:
        return EXIT_UNUSABLE
    shown = bootstrap.shown_database(session.settings)
    print(f"copying {shown} into {shown_url(target)}", file=session.out)
    copies = asyncio.run(copy_database(source, target))
    _print_copies(session, copies)
    for each in copies:
        if not each.matches:
            session.fail(
                f"the copy differs from the source in table {each.name} ({each.source_rows} "
                f"row(s) in the source, {each.target_rows} in the target)"
            )
            return EXIT_FAILED
    rows = sum(each.source_rows for each in copies)
    print(f"copied {rows} row(s) in {len(copies)} tables; every row checked", file=session.out)
    return EXIT_OK


def command(session: Session) -> int:
    """`rwa-bot db upgrade | status | copy --to URL`."""
    action = {"upgrade": _upgrade, "status": _status, "copy": _copy}[session.args.db_command]
    try:
        return action(session)
    except (DatabaseUnavailable, MigrationError, CopyRefused) as error:
        session.fail(str(error))
        return EXIT_UNUSABLE
    except CopyFailed as error:
        session.fail(str(error))
        return EXIT_FAILED
