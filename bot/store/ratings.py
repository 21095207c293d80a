"""How people rated their consultations: asked once a claimed ticket ends (an outbox row of kind
"rating", with the 1 to 5 buttons), kept once per ticket, a comment added by replying to the
thanks; and the figures for `rwa-bot report`."""

from dataclasses import dataclass

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.consult.clock import utc_now
from bot.store.database import write_transaction
from bot.store.queue_rows import OnEngine
from bot.store.schema import outbox, ratings, tickets


@dataclass(frozen=True)
class RatingSummary:
    """The ratings so far: how many, their average, how many of each score, how many with a
    comment, and the latest comments (newest first)."""

    count: int
    average: float | None
    by_score: dict[int, int]
    comments: int
    latest: tuple[tuple[int, int, str], ...] = ()  # (ticket, score, comment)

    def __bool__(self) -> bool:
        return self.count > 0


class SqlRatings(OnEngine):
    """The ratings port (bot/consult/ports.py) over SQL."""

    async def rate(self, ticket_id: int, user_id: int, score: int) -> bool:
        """Keep the ticket's person's rating; False, writing nothing, when they rated it
        already or it is not their ticket."""
        async with write_transaction(self.engine) as connection:
            owner = await connection.execute(
                select(tickets.c.id).where(tickets.c.id == ticket_id, tickets.c.user_id == user_id)
            )
            if owner.scalar_one_or_none() is None:
                return False
            try:
                async with connection.begin_nested():
                    await connection.execute(
                        insert(ratings).values(
                            ticket_id=ticket_id, user_id=user_id, score=score, rated_at=utc_now()
                        )
                    )
            except IntegrityError:
                return False
        return True

    async def rating_message(self, ticket_id: int) -> int | None:
        """The message id of the question asking to rate ticket `ticket_id`, once sent."""
        query = select(outbox.c.message_id).where(
            outbox.c.kind == "rating", outbox.c.ticket_id == ticket_id
        )
        async with self.engine.connect() as connection:
            found: int | None = (await connection.execute(query.limit(1))).scalar_one_or_none()
        return found

    async def comment(self, chat_id: int, user_id: int, replied_to: int, text: str) -> bool:
        """Add `text` as the comment of the rating asked in message `replied_to` of the user's
        chat; False when that message asked for no rating of theirs, none was given yet, or it
        has a comment already."""
        asked = select(outbox.c.ticket_id).where(
            outbox.c.kind == "rating",
            outbox.c.chat_id == chat_id,
            outbox.c.message_id == replied_to,
        )
        async with write_transaction(self.engine) as connection:
            changed = await connection.execute(
                update(ratings)
                .where(
                    and_(
                        ratings.c.ticket_id.in_(asked.scalar_subquery()),
                        ratings.c.user_id == user_id,
                        ratings.c.comment.is_(None),
                    )
                )
                .values(comment=text)
            )
        return changed.rowcount > 0

    async def asked_rating(self, chat_id: int, message_id: int) -> bool:
        """Whether message `message_id` of the chat is a question asking for a rating."""
        query = select(func.count()).where(
            outbox.c.kind == "rating",
            outbox.c.chat_id == chat_id,
            outbox.c.message_id == message_id,
        )
        async with self.engine.connect() as connection:
            return bool((await connection.execute(query)).scalar_one())

    async def rating_summary(self, latest: int = 5) -> RatingSummary:
        """The figures `rwa-bot report` shows."""
        async with self.engine.connect() as connection:
            counted = await connection.execute(
                select(ratings.c.score, func.count()).group_by(ratings.c.score)
            )
            scores: dict[int, int] = {int(score): int(n) for score, n in counted}
            commented = await connection.execute(
                select(ratings.c.ticket_id, ratings.c.score, ratings.c.comment)
                .where(ratings.c.comment.is_not(None))
                .order_by(ratings.c.rated_at.desc())
            )
            comments = [(int(t), int(s), str(c)) for t, s, c in commented]
        count = sum(scores.values())
        average = sum(s * n for s, n in scores.items()) / count if count else None
        by_score = {score: int(scores.get(score, 0)) for score in range(1, 6)}
        return RatingSummary(count, average, by_score, len(comments), tuple(comments[:latest]))
