"""The current schema: every table as all the migrations together leave it (migrations.py).

Keep in step with migrations.py: a new migration changes the tables here to match. The store's
modules (store.py, update_inbox.py and the queue's) read and write through these definitions.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy import text as sql_text

from bot.store.utc_datetime import UtcDateTime

metadata = MetaData()

# -- questions, votes, languages and follow-ups (m001, m002, m003, m008) ----------------------

questions = Table(
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
    Column("passage_ids", Text, nullable=True),
)
votes = Table(
    "votes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("question_id", Integer, ForeignKey("questions.id"), nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("vote", String(4), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
user_languages = Table(
    "user_languages",
    metadata,
    Column("user_id", BigInteger, primary_key=True, autoincrement=False),
    Column("language", String(16), nullable=False),  # en, zh, zh-hans, zh-hant, zh-hk, zh-tw
    Column("updated_at", UtcDateTime, nullable=False),
)
conversation_contexts = Table(
    "conversation_contexts",
    metadata,
    Column("chat_id", BigInteger, primary_key=True, autoincrement=False),
    Column("question", Text, nullable=False),
    Column("faq_id", String(100), nullable=True),
    Column("language", String(2), nullable=False),
    Column("answered_at", UtcDateTime, nullable=False),
)

# -- the lawyer queue (m003, m005, m007, m009) ------------------------------------------------

intakes = Table(
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
    Column("held", Text, nullable=True),  # m010: a reply held while the person decides
)
tickets = Table(
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
    Column("card_chat_id", BigInteger, nullable=True),  # m005: the chat the card is in
    # m011: the reader's locale when the ticket was filed ("zh-hk": Traditional), for what the
    # bot later tells them (NULL: as `language` says).
    Column("locale", String(16), nullable=True),
    # m013: the ticket's forum topic in the lawyers' group (its message_thread_id); NULL: none
    # (the group is no forum, or the topic is not made yet).
    Column("topic_id", BigInteger, nullable=True),
    # m015: when the lawyers were told the ticket passed its first-response target, and when
    # the lead lawyer was named for it (NULL: not yet).
    Column("overdue_at", UtcDateTime, nullable=True),
    Column("lead_told_at", UtcDateTime, nullable=True),
)
outbox = Table(
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
    Column("attempts", Integer, nullable=False, server_default=sql_text("0")),
    Column("not_before", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("message_id", BigInteger, nullable=True),
    Column("error", Text, nullable=True),
    # A send that may have reached Telegram without the bot learning so (it died, or the answer
    # was lost): the highest message id known in the chat before it; NULL when none is in doubt.
    Column("floor", BigInteger, nullable=True),
    # Of a message sent in several pieces, how many are known to have arrived.
    Column("pieces_sent", Integer, nullable=False, server_default=sql_text("0")),
    # m005: the chat it went to (for the lawyers' group, whose id can change); NULL: unknown.
    Column("sent_chat_id", BigInteger, nullable=True),
    # m007: a relay in doubt went out merged with the rows after it up to this one.
    Column("merged_upto", Integer, nullable=True),
    # m007: the ids of every piece it went out as, space-separated (message_id: the first).
    Column("message_ids", Text, nullable=True),
    # m009: the worker sending the row (one per process), and when its claim lapses if that
    # worker dies first; both NULL while nobody holds it.
    Column("claimed_by", String(64), nullable=True),
    Column("lease_until", UtcDateTime, nullable=True),
    # m012: the forum topic (message_thread_id) it goes to in its chat; NULL: the main thread.
    Column("thread_id", BigInteger, nullable=True),
    # m016: a "file" row: the message it copies (chat, message id) and the file's name, size and
    # type as Telegram described it; blanked when the person is forgotten.
    Column("from_chat_id", BigInteger, nullable=True),
    Column("from_message_id", BigInteger, nullable=True),
    Column("file_name", Text, nullable=True),
    Column("file_size", BigInteger, nullable=True),
    Column("file_type", String(16), nullable=True),
)
# m014: how the person rated a consultation once it ended (one rating per ticket): the score,
# 1 to 5, and an optional comment; anonymised with the ticket (user id and comment removed).
ratings = Table(
    "ratings",
    metadata,
    Column("ticket_id", Integer, ForeignKey("tickets.id"), primary_key=True, autoincrement=False),
    Column("user_id", BigInteger, nullable=True),
    Column("score", Integer, nullable=False),
    Column("comment", Text, nullable=True),
    Column("rated_at", UtcDateTime, nullable=False),
)
# m007: a forgotten user to be told how many copies in the lawyers' group were deleted, and
# each copy to delete (chat_id NULL: the lawyers' group as configured).
forget_reports = Table(
    "forget_reports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chat_id", BigInteger, nullable=True),
    Column("language", String(2), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
deletions = Table(
    "deletions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("report_id", Integer, ForeignKey("forget_reports.id"), nullable=False),
    Column("chat_id", BigInteger, nullable=True),
    Column("message_id", BigInteger, nullable=False),
    Column("status", String(8), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=sql_text("0")),
    Column("not_before", UtcDateTime, nullable=False),
)

# -- the webhook's inbox and the dead letters (m005) -------------------------------------------

inbox = Table(
    "inbox",
    metadata,
    Column("update_id", BigInteger, primary_key=True, autoincrement=False),
    Column("user_id", BigInteger, nullable=True),
    Column("payload", Text, nullable=True),  # the raw update; NULL once handled
    Column("received_at", UtcDateTime, nullable=False),
    Column("handled_at", UtcDateTime, nullable=True),
)
dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("update_id", BigInteger, nullable=True),
    Column("user_id", BigInteger, nullable=True),
    Column("payload", Text, nullable=False),
    Column("reason", String(100), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)

# -- the repeating jobs (m009) ---------------------------------------------------------------------

# When each repeating job (the reminders, the retention purge) last ran on any replica.
job_runs = Table(
    "job_runs",
    metadata,
    Column("job", String(32), primary_key=True),
    Column("ran_at", UtcDateTime, nullable=False),
)
