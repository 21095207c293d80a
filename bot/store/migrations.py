"""The store's schema history: small numbered migrations, applied in order when the store opens.

Each migration is a function `mNNN_<what>(connection)` that creates tables or adds columns with
dialect-neutral SQLAlchemy Core, so SQLite and PostgreSQL get the same schema;
bot/store/schema_versions.py runs the ones a database lacks inside the caller's transaction
and records each number. Migrations only ever add: never drop or rewrite a table that holds
data.

To change the schema, append a new function to MIGRATIONS (never edit, reorder or remove one
that has shipped) and update the current table definitions (schema.py) to match.
Each migration describes its tables as they were at that step, so later changes never alter how an
old database is brought up to date.
"""

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.schema import CreateColumn

from bot.store.utc_datetime import UtcDateTime

Migration = Callable[[Connection], None]


def add_column(connection: Connection, table_name: str, column: Column[Any]) -> None:
    """Add `column` to an existing table (ALTER TABLE ... ADD COLUMN, which SQLite and
    PostgreSQL share). Give it `nullable=True` or a server default so existing rows stay valid.
    """
    preparer = connection.dialect.identifier_preparer
    definition = CreateColumn(column).compile(dialect=connection.dialect)
    connection.exec_driver_sql(f"ALTER TABLE {preparer.quote(table_name)} ADD COLUMN {definition}")


# -- the migrations, oldest first ----------------------------------------------------------------


def m001_questions_and_votes(connection: Connection) -> None:
    """The questions the bot was asked, with its decision, and the 👍/👎 votes on its replies."""
    metadata = MetaData()
    Table(
        "questions",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("created_at", UtcDateTime, nullable=False),
        Column("user_id", BigInteger, nullable=False),
        Column("chat_id", BigInteger, nullable=False),
        Column("language", String(2), nullable=False),
        Column("text", Text, nullable=False),
        Column("kind", String(16), nullable=False),
        Column("faq_id", String(100), nullable=True),
        Column("confidence", Float, nullable=False),
        Index("ix_questions_kind", "kind"),
        Index("ix_questions_faq_id", "faq_id"),
    )
    Table(
        "votes",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("question_id", Integer, ForeignKey("questions.id"), nullable=False),
        Column("user_id", BigInteger, nullable=False),
        Column("vote", String(4), nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        UniqueConstraint("question_id", "user_id", name="uq_votes_question_user"),
        CheckConstraint("vote IN ('up', 'down')", name="ck_votes_vote"),
    )
    metadata.create_all(connection, checkfirst=False)


def m002_user_languages(connection: Connection) -> None:
    """The language each user chose with /lang, remembered across restarts."""
    metadata = MetaData()
    Table(
        "user_languages",
        metadata,
        Column("user_id", BigInteger, primary_key=True, autoincrement=False),
        Column("language", String(2), nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
    )
    metadata.create_all(connection, checkfirst=False)


def m003_consultations(connection: Connection) -> None:
    """The lawyer queue: intakes in progress, tickets, and the outbox of messages to send; and
    the passages each answer showed, on its question."""
    add_column(connection, "questions", Column("passage_ids", Text, nullable=True))
    metadata = MetaData()
    _m003_intakes(metadata)
    _m003_tickets(metadata)
    _m003_outbox(metadata)
    metadata.create_all(connection, checkfirst=False)


def _m003_intakes(metadata: MetaData) -> None:
    """The intakes table as m003 created it."""
    Table(
        "intakes",
        metadata,
        Column("user_id", BigInteger, primary_key=True, autoincrement=False),
        Column("chat_id", BigInteger, nullable=True),
        Column("language", String(2), nullable=False),
        Column("step", String(20), nullable=False),
        Column("answers", Text, nullable=False),
        Column("name", Text, nullable=True),
        Column("username", Text, nullable=True),
        Column("last_update_id", BigInteger, nullable=True),
        Column("started_at", UtcDateTime, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
    )


def _m003_tickets(metadata: MetaData) -> None:
    """The tickets table as m003 created it, with one active ticket per user."""
    active = "status IN ('open', 'claimed')"
    Table(
        "tickets",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("status", String(10), nullable=False),
        Column("user_id", BigInteger, nullable=True),
        Column("chat_id", BigInteger, nullable=True),
        Column("name", Text, nullable=True),
        Column("username", Text, nullable=True),
        Column("language", String(2), nullable=False),
        Column("answers", Text, nullable=True),
        Column("context", Text, nullable=True),
        Column("created_at", UtcDateTime, nullable=False),
        Column("claimed_at", UtcDateTime, nullable=True),
        Column("closed_at", UtcDateTime, nullable=True),
        Column("closed_by", String(10), nullable=True),
        Column("lawyer_id", BigInteger, nullable=True),
        Column("lawyer_name", Text, nullable=True),
        Column("card_message_id", BigInteger, nullable=True),
        Column("announced_at", UtcDateTime, nullable=True),
        Column("anonymised_at", UtcDateTime, nullable=True),
        CheckConstraint("status IN ('open', 'claimed', 'closed')", name="ck_tickets_status"),
        # One active ticket per user, kept by the database even when two requests race.
        Index(
            "uq_tickets_active_user",
            "user_id",
            unique=True,
            sqlite_where=text(active),
            postgresql_where=text(active),
        ),
    )


def _m003_outbox(metadata: MetaData) -> None:
    """The outbox table as m003 created it."""
    Table(
        "outbox",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=True),
        Column("kind", String(12), nullable=False),
        Column("direction", String(12), nullable=True),
        Column("chat_id", BigInteger, nullable=True),
        Column("text", Text, nullable=True),
        Column("sender_id", BigInteger, nullable=True),
        Column("source_key", String(64), nullable=True),
        Column("status", String(8), nullable=False),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("not_before", UtcDateTime, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("sent_at", UtcDateTime, nullable=True),
        Column("message_id", BigInteger, nullable=True),
        Column("error", Text, nullable=True),
        # An inbound message relayed twice (Telegram redelivers updates) is stored once.
        UniqueConstraint("source_key", name="uq_outbox_source_key"),
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="ck_outbox_status"),
        Index("ix_outbox_status_not_before", "status", "not_before"),
    )


def m004_outbox_sends_in_doubt(connection: Connection) -> None:
    """What the outbox knows of a send whose outcome it never learned: `floor`, the highest
    message id known in the row's chat before that send (NULL: no send in doubt), and
    `pieces_sent`, how many pieces of a long message are known to have arrived."""
    add_column(connection, "outbox", Column("floor", BigInteger, nullable=True))
    add_column(
        connection,
        "outbox",
        Column("pieces_sent", Integer, nullable=False, server_default=text("0")),
    )


def m005_inbox_and_dead_letters(connection: Connection) -> None:
    """The webhook's inbox (each update Telegram posted, kept before it is acknowledged and
    until it is handled; unique by update id, so a delivery made again is recognised) and the
    dead letters (updates that could not be read, kept raw, set aside so they block nothing)."""
    metadata = MetaData()
    Table(
        "inbox",
        metadata,
        Column("update_id", BigInteger, primary_key=True, autoincrement=False),
        Column("user_id", BigInteger, nullable=True),
        Column("payload", Text, nullable=True),
        Column("received_at", UtcDateTime, nullable=False),
        Column("handled_at", UtcDateTime, nullable=True),
        Index("ix_inbox_handled_at", "handled_at"),
    )
    Table(
        "dead_letters",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("update_id", BigInteger, nullable=True),
        Column("user_id", BigInteger, nullable=True),
        Column("payload", Text, nullable=False),
        Column("reason", String(100), nullable=False),
        Column("received_at", UtcDateTime, nullable=False),
        UniqueConstraint("update_id", name="uq_dead_letters_update_id"),
        Index("ix_dead_letters_user_id", "user_id"),
    )
    metadata.create_all(connection, checkfirst=False)


def m006_chats_of_sent_messages(connection: Connection) -> None:
    """The chat each message to the lawyers' group went to, so that a reply there is matched by
    chat and message id (message ids are per chat, and the group's id changes when it becomes
    a supergroup): `card_chat_id` on tickets, `sent_chat_id` on the outbox. NULL on rows sent
    before (matched by message id alone, as before).

    The Telegram id columns (user, chat and message ids) are BIGINT since m001 and m003, so
    nothing needs widening; the tickets' and questions' own keys stay 32-bit, and numbers from
    user input are checked against that range before any query (bot/consult/row_ids.py)."""
    add_column(connection, "tickets", Column("card_chat_id", BigInteger, nullable=True))
    add_column(connection, "outbox", Column("sent_chat_id", BigInteger, nullable=True))


def m007_merged_relays_and_deletions(connection: Connection) -> None:
    """What it takes to merge a user's queued relays into one message and to delete the copies
    of a forgotten user's messages in the lawyers' group.

    On the outbox: `merged_upto`, the last row a relay in doubt was sent merged with (so that
    the message looked for is the one sent); `message_ids`, the Telegram ids of every piece a
    row went out as (space-separated; `message_id` keeps the first). `forget_reports`: a user
    who asked to be forgotten, to be told (in their chat and language) how many copies were
    deleted; `deletions`: each copy to delete, until the user is told."""
    add_column(connection, "outbox", Column("merged_upto", Integer, nullable=True))
    add_column(connection, "outbox", Column("message_ids", Text, nullable=True))
    metadata = MetaData()
    Table(
        "forget_reports",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("chat_id", BigInteger, nullable=True),
        Column("language", String(2), nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
    )
    Table(
        "deletions",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("report_id", Integer, ForeignKey("forget_reports.id"), nullable=False),
        Column("chat_id", BigInteger, nullable=True),
        Column("message_id", BigInteger, nullable=False),
        Column("status", String(8), nullable=False),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("not_before", UtcDateTime, nullable=False),
        CheckConstraint("status IN ('pending', 'deleted', 'kept')", name="ck_deletions_status"),
        Index("ix_deletions_status_not_before", "status", "not_before"),
        Index("ix_deletions_report_id", "report_id"),
    )
    metadata.create_all(connection, checkfirst=False)


def m008_language_tags_and_conversation_contexts(connection: Connection) -> None:
    """Room for a language tag with its script (/lang zh-hant, zh-tw) where a two-letter code
    was kept, and each chat's last answered question, which a short follow-up ("and Hong
    Kong?") is read with."""
    if connection.dialect.name != "sqlite":  # SQLite does not hold text to a declared length
        connection.execute(
            text("ALTER TABLE user_languages ALTER COLUMN language TYPE VARCHAR(16)")
        )
    metadata = MetaData()
    Table(
        "conversation_contexts",
        metadata,
        Column("chat_id", BigInteger, primary_key=True, autoincrement=False),
        Column("question", Text, nullable=False),
        Column("faq_id", String(100), nullable=True),
        Column("language", String(2), nullable=False),
        Column("answered_at", UtcDateTime, nullable=False),
    )
    metadata.create_all(connection, checkfirst=False)


def m009_outbox_leases_and_job_runs(connection: Connection) -> None:
    """What lets several replicas share one database. On the outbox, leases, so that each row
    is sent once: `claimed_by`, the worker (one per process) sending the row, and
    `lease_until`, when its claim lapses if that worker dies first (NULL: not claimed).
    `job_runs`: when each repeating job last ran on any replica, so that it runs once a period."""
    add_column(connection, "outbox", Column("claimed_by", String(64), nullable=True))
    add_column(connection, "outbox", Column("lease_until", UtcDateTime, nullable=True))
    metadata = MetaData()
    Table(
        "job_runs",
        metadata,
        Column("job", String(32), primary_key=True),
        Column("ran_at", UtcDateTime, nullable=False),
    )
    metadata.create_all(connection, checkfirst=False)


def m010_held_intake_replies(connection: Connection) -> None:
    """`held` on intakes: a reply that looked like a question rather than an answer, kept while
    the person says what to do with it (NULL: none)."""
    add_column(connection, "intakes", Column("held", Text, nullable=True))


def m011_ticket_locales(connection: Connection) -> None:
    """`locale` on tickets: the reader's locale ("zh-hk", "zh-tw": Traditional) when filed, so
    that what a lawyer's action makes the bot tell them later is in their script too."""
    add_column(connection, "tickets", Column("locale", String(16), nullable=True))


def m012_outbox_threads(connection: Connection) -> None:
    """`thread_id` on the outbox: the forum topic a message goes to in its chat (a group's
    answer sent through the outbox stays in the topic it was asked in); NULL: the main one."""
    add_column(connection, "outbox", Column("thread_id", BigInteger, nullable=True))


def m013_ticket_topics(connection: Connection) -> None:
    """`topic_id` on tickets: the ticket's forum topic in the lawyers' group, when the group is
    a forum (NULL: none yet, or no forum)."""
    add_column(connection, "tickets", Column("topic_id", BigInteger, nullable=True))


def m014_ratings(connection: Connection) -> None:
    """`ratings`: how the person rated a consultation once it ended, once per ticket (a score
    from 1 to 5 and an optional comment)."""
    metadata = MetaData()
    Table("tickets", metadata, Column("id", Integer, primary_key=True))
    Table(
        "ratings",
        metadata,
        Column(
            "ticket_id", Integer, ForeignKey("tickets.id"), primary_key=True, autoincrement=False
        ),
        Column("user_id", BigInteger, nullable=True),
        Column("score", Integer, nullable=False),
        Column("comment", Text, nullable=True),
        Column("rated_at", UtcDateTime, nullable=False),
    )
    metadata.tables["ratings"].create(connection)


def m015_first_response_chasing(connection: Connection) -> None:
    """When the lawyers were told a ticket passed its first-response target (`overdue_at`),
    and when the lead lawyer was named for it (`lead_told_at`); NULL: not yet."""
    add_column(connection, "tickets", Column("overdue_at", UtcDateTime, nullable=True))
    add_column(connection, "tickets", Column("lead_told_at", UtcDateTime, nullable=True))


def m016_file_relays(connection: Connection) -> None:
    """Documents and photos in a ticket's conversation, relayed by copying the message: on the
    outbox, the message a "file" row copies and the file's name, size and type."""
    for column in (
        Column("from_chat_id", BigInteger, nullable=True),
        Column("from_message_id", BigInteger, nullable=True),
        Column("file_name", Text, nullable=True),
        Column("file_size", BigInteger, nullable=True),
        Column("file_type", String(16), nullable=True),
    ):
        add_column(connection, "outbox", column)


MIGRATIONS: list[Migration] = [
    m001_questions_and_votes,
    m002_user_languages,
    m003_consultations,
    m004_outbox_sends_in_doubt,
    m005_inbox_and_dead_letters,
    m006_chats_of_sent_messages,
    m007_merged_relays_and_deletions,
    m008_language_tags_and_conversation_contexts,
    m009_outbox_leases_and_job_runs,
    m010_held_intake_replies,
    m011_ticket_locales,
    m012_outbox_threads,
    m013_ticket_topics,
    m014_ratings,
    m015_first_response_chasing,
    m016_file_relays,
]
