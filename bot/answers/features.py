"""The numbers that describe one decision, for calibration to read (in the order of
bot.content.calibration.FEATURES)."""

from bot.answers.analysis import Analysis, Scored
from bot.answers.reply import Reply
from bot.answers.thresholds import Thresholds
from bot.content.faq import FaqEntry


def features(
    found: Analysis,
    scores: Scored,
    reply: Reply,
    *,
    follow_up: bool,
    thresholds: Thresholds,
    entries: dict[str, FaqEntry],
) -> tuple[float, ...]:
    """Return the features of `reply`, decided from `found` and the entries' `scores`."""
    score = scores[0][1] if scores else 0.0
    second = scores[1][1] if len(scores) > 1 else 0.0
    if reply.kind == "answer" and reply.faq_id is None and found.passage is not None:
        score = found.passage.score - found.penalty(thresholds)
    best = entries.get(scores[0][0].key) if scores else None
    return (
        round(score, 6),
        round(score - second, 6),
        round(found.out_of_scope, 6),
        round(found.penalty(thresholds), 6),
        round(found.semantic, 6),
        round(found.semantic_declined, 6),
        1.0 if found.specifics else 0.0,
        1.0 if follow_up else 0.0,
        1.0 if scores and scores[0][0].key == found.semantic_best else 0.0,
        1.0 if _cites_best_passage(best, found) else 0.0,
        1.0 if found.language == "zh" else 0.0,
        min(1.0, (found.english_words + found.pairs / 2) / 20),
    )


def _cites_best_passage(entry: FaqEntry | None, found: Analysis) -> bool:
    """Whether the passage that best matches the question is one the entry cites."""
    return entry is not None and found.passage is not None and found.passage.key in entry.cites
