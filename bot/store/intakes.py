"""Intakes in progress, one per user, kept after every step so that a restart loses none; and
the user's recent questions, which a new ticket carries for the lawyer."""

import json

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.consult.model import SavedIntake, ShownQuestion
from bot.store.database import write_transaction
from bot.store.queue_rows import OnEngine
from bot.store.schema import intakes, questions


class SqlIntakes(OnEngine):
    """The intakes port (bot/consult/ports.py) over SQL."""

    async def load_intake(self, user_id: int) -> SavedIntake | None:
        """Return the intake `user_id` has in progress, or None."""
        query = select(intakes).where(intakes.c.user_id == user_id)
        async with self.engine.connect() as connection:
            row = (await connection.execute(query)).first()
        if row is None:
            return None
        return SavedIntake(
            user_id=row.user_id,
            chat_id=row.chat_id,
            language=row.language,
            step=row.step,
            answers=json.loads(row.answers),
            name=row.name,
            username=row.username,
            last_update_id=row.last_update_id,
            started_at=row.started_at,
            updated_at=row.updated_at,
            held=row.held,
        )

    async def save_intake(self, intake: SavedIntake) -> None:
        """Keep `intake` as the user's intake in progress, replacing the one kept before."""
        values = {
            "chat_id": intake.chat_id,
            "language": intake.language,
            "step": intake.step,
            "answers": json.dumps(intake.answers, ensure_ascii=False),
            "name": intake.name,
            "username": intake.username,
            "last_update_id": intake.last_update_id,
            "started_at": intake.started_at,
            "updated_at": intake.updated_at,
            "held": intake.held,
        }
        for attempt in (1, 2):
            try:
                async with write_transaction(self.engine) as connection:
                    replaced = await connection.execute(
                        update(intakes).where(intakes.c.user_id == intake.user_id).values(values)
                    )
                    if replaced.rowcount == 0:
                        await connection.execute(
                            insert(intakes).values(user_id=intake.user_id, **values)
                        )
                return
            except IntegrityError:
                # PostgreSQL: another insert of the same user won the race; now we update it.
                if attempt == 2:
                    raise

    async def drop_intake(self, user_id: int) -> None:
        """Forget the intake `user_id` has in progress, if any."""
        async with self.engine.begin() as connection:
            await connection.execute(delete(intakes).where(intakes.c.user_id == user_id))

    async def recent_questions(self, user_id: int, limit: int = 5) -> tuple[ShownQuestion, ...]:
        """Return the last `limit` questions `user_id` asked the bot, of every kind, the
        newest last."""
        query = (
            select(questions)
            .where(questions.c.user_id == user_id)
            .order_by(questions.c.id.desc())
            .limit(limit)
        )
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return tuple(
            ShownQuestion(
                asked_at=row.created_at,
                text=row.text,
                kind=row.kind,
                faq_id=row.faq_id,
                passage_ids=tuple((row.passage_ids or "").split()),
            )
            for row in reversed(rows)
        )
