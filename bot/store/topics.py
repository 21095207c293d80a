"""Each ticket's forum topic in the lawyers' group: recorded once made, found from a message in
it, and the topic of a person's earlier ticket, reopened for their new one."""

from sqlalchemy import select, update

from bot.store.queue_rows import OnEngine
from bot.store.schema import tickets


class SqlTopics(OnEngine):
    """The topics port (bot/consult/ports.py) over SQL."""

    async def set_topic(self, ticket_id: int, topic_id: int) -> None:
        """Record `topic_id` as ticket `ticket_id`'s topic."""
        async with self.engine.begin() as connection:
            await connection.execute(
                update(tickets).where(tickets.c.id == ticket_id).values(topic_id=topic_id)
            )

    async def ticket_for_topic(self, topic_id: int) -> int | None:
        """The newest ticket whose topic is `topic_id`; None if none is."""
        query = (
            select(tickets.c.id)
            .where(tickets.c.topic_id == topic_id)
            .order_by(tickets.c.id.desc())
            .limit(1)
        )
        async with self.engine.connect() as connection:
            found: int | None = (await connection.execute(query)).scalar_one_or_none()
        return found

    async def earlier_topic(self, ticket_id: int) -> int | None:
        """The topic of the newest earlier ticket of the same person; None if none had one."""
        person = select(tickets.c.user_id).where(tickets.c.id == ticket_id).scalar_subquery()
        query = (
            select(tickets.c.topic_id)
            .where(
                tickets.c.user_id == person,
                tickets.c.id < ticket_id,
                tickets.c.topic_id.is_not(None),
            )
            .order_by(tickets.c.id.desc())
            .limit(1)
        )
        async with self.engine.connect() as connection:
            found: int | None = (await connection.execute(query)).scalar_one_or_none()
        return found
