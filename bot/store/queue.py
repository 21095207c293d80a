"""The lawyer queue: intakes, tickets, the relay, the outbox and privacy in one object over the
store's engine (`Queue(store.engine)`), the SQL implementation of bot/consult/ports.py.

Dialect-neutral SQLAlchemy Core, so SQLite and PostgreSQL both serve. Nothing here imports
`telegram`, and nothing here logs what people wrote or who they are.
"""

from bot.store.deletions import SqlDeletions
from bot.store.intakes import SqlIntakes
from bot.store.outbox import SqlOutbox
from bot.store.privacy import SqlPrivacy
from bot.store.ratings import SqlRatings
from bot.store.relay import SqlRelay
from bot.store.tickets import SqlTickets
from bot.store.topics import SqlTopics


class Queue(
    SqlIntakes, SqlTickets, SqlRelay, SqlOutbox, SqlPrivacy, SqlDeletions, SqlTopics, SqlRatings
):
    """Every part of the queue over one engine: `Queue(store.engine)`."""
