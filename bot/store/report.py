"""The maintainer's report: what the bot could not answer, what was voted down, which FAQ
entries answered, and how many updates were set aside (`rwa-bot report`)."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.answers.reply import KINDS, Kind
from bot.store.ratings import RatingSummary, SqlRatings
from bot.store.schema import dead_letters, questions, votes

UNANSWERED_KINDS: tuple[Kind, ...] = ("out_of_scope", "clarify")


@dataclass(frozen=True)
class Report:
    """What a maintainer reads to improve the FAQ; every list is most frequent first.

    `unanswered`: (question, times asked) for questions declined or answered with "did you
    mean", grouped ignoring case and spacing. `voted_down`: (question, faq_id or None, number
    of 👎). `usage`: (faq_id, number of answers from it). `totals`: questions per kind.
    """

    unanswered: tuple[tuple[str, int], ...]
    voted_down: tuple[tuple[str, str | None, int], ...]
    usage: tuple[tuple[str, int], ...]
    totals: dict[str, int]
    dead_letters: int = 0  # updates that could not be read, set aside (bot/store/update_inbox.py)
    ratings: RatingSummary | None = None  # how people rated their consultations


def _grouping_key(text: str) -> str:
    """The form under which questions count as the same: case and spacing ignored."""
    return " ".join(text.split()).casefold()


def _merge_by_text(
    rows: Iterable[tuple[str, Any, int, int]],
) -> list[tuple[str, Any, int]]:
    """Merge (text, extra, count, first id) rows whose texts differ only in case and spacing.

    Each group is shown in its most frequent spelling (the earliest asked on a tie); groups come
    most frequent first, then alphabetically.
    """
    totals: Counter[tuple[str, Any]] = Counter()
    spellings: dict[tuple[str, Any], tuple[int, int, str]] = {}
    for text, extra, count, first_id in rows:
        key = (_grouping_key(text), extra)
        totals[key] += count
        candidate = (-count, first_id, text)
        spellings[key] = min(spellings.get(key, candidate), candidate)
    merged = [(spellings[key][2], key[1], total) for key, total in totals.items()]
    merged.sort(key=lambda row: (-row[2], row[0]))
    return merged


async def read_report(engine: AsyncEngine, limit: int = 20) -> Report:
    """Return the maintainer's report from the database, at most `limit` rows per list."""
    if limit < 0:
        raise ValueError("limit must not be negative")
    async with engine.connect() as connection:
        unanswered = await connection.execute(
            select(questions.c.text, func.count(), func.min(questions.c.id))
            .where(questions.c.kind.in_(UNANSWERED_KINDS))
            .group_by(questions.c.text)
        )
        down = func.count(votes.c.id)
        voted_down = await connection.execute(
            select(questions.c.text, questions.c.faq_id, down, func.min(questions.c.id))
            .join(votes, votes.c.question_id == questions.c.id)
            .where(votes.c.vote == "down")
            .group_by(questions.c.text, questions.c.faq_id)
        )
        answers = func.count(questions.c.id)
        usage = await connection.execute(
            select(questions.c.faq_id, answers)
            .where(questions.c.kind == "answer", questions.c.faq_id.is_not(None))
            .group_by(questions.c.faq_id)
            .order_by(answers.desc(), questions.c.faq_id)
            .limit(limit)
        )
        per_kind = await connection.execute(
            select(questions.c.kind, func.count()).group_by(questions.c.kind)
        )
        unread = await connection.execute(select(func.count()).select_from(dead_letters))
        totals: dict[str, int] = dict.fromkeys(KINDS, 0)
        totals.update({kind: count for kind, count in per_kind})
        return Report(
            unanswered=tuple(
                (text, count)
                for text, _, count in _merge_by_text(
                    (text, None, count, first) for text, count, first in unanswered
                )[:limit]
            ),
            voted_down=tuple(_merge_by_text(voted_down)[:limit]),
            usage=tuple((faq_id, count) for faq_id, count in usage),
            totals=totals,
            dead_letters=int(unread.scalar_one()),
            ratings=(await SqlRatings(engine).rating_summary()) or None,
        )
