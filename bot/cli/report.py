"""The maintainer's report (`rwa-bot report`): what people asked that the bot could not answer,
which answers they voted down, and which FAQ entries answer most, as plain terminal text.
"""

import asyncio

from bot.cli.session import EXIT_OK, EXIT_UNUSABLE, Session, existing_database
from bot.store.database import DatabaseUnavailable
from bot.store.ratings import RatingSummary
from bot.store.report import Report
from bot.store.schema_versions import MigrationError
from bot.store.store import open_store

NONE_YET = "  none yet"
MAX_SHOWN = 120  # characters of one question shown; a terminal line, not the whole message


def printable(text: str) -> str:
    """Return `text` on one line, without control characters, shortened to MAX_SHOWN.

    Questions are whatever people typed: newlines would break the layout, and escape sequences
    must not reach the maintainer's terminal.
    """
    line = "".join(ch if ch.isprintable() else "\ufffd" for ch in " ".join(text.split()))
    return line if len(line) <= MAX_SHOWN else line[: MAX_SHOWN - 1] + "…"


def _section(heading: str, rows: list[str]) -> str:
    return "\n".join([heading, "-" * len(heading), *(rows or [NONE_YET])])


def format_report(report: Report) -> str:
    """Return `report` as the text `rwa-bot report` prints: the totals, then three sections,
    each most frequent first and saying "none yet" when empty."""
    total = sum(report.totals.values())
    kind_width = max((len(kind) for kind in report.totals), default=0)
    totals = [f"Questions recorded: {total}"] + [
        f"  {kind:<{kind_width}}  {count:>{len(str(total))}}"
        for kind, count in report.totals.items()
    ]

    count_width = len(str(max((row[-1] for row in report.unanswered), default=0)))
    unanswered = [f"  {n:>{count_width}}  {printable(text)}" for text, n in report.unanswered]

    count_width = len(str(max((row[-1] for row in report.voted_down), default=0)))
    entries = [faq_id or "(no FAQ entry)" for _, faq_id, _ in report.voted_down]
    entry_width = max((len(entry) for entry in entries), default=0)
    voted_down = [
        f"  {n:>{count_width}} 👎  {printable(entry):<{entry_width}}  {printable(text)}"
        for (text, _, n), entry in zip(report.voted_down, entries, strict=True)
    ]

    count_width = len(str(max((row[-1] for row in report.usage), default=0)))
    usage = [f"  {n:>{count_width}}  {printable(faq_id)}" for faq_id, n in report.usage]

    if report.dead_letters:
        totals.append(f"Updates set aside unread (dead letters): {report.dead_letters}")
    return "\n\n".join(
        [
            "\n".join(totals),
            _section("Most frequent unanswered questions", unanswered),
            _section("Answers voted down", voted_down),
            _section("FAQ entries used", usage),
            *(
                [_section("Ratings of consultations", _ratings(report.ratings))]
                if report.ratings
                else []
            ),
        ]
    )


def _ratings(summary: RatingSummary | None) -> list[str]:
    """The ratings: how many, their average, each score's count, the latest comments."""
    if summary is None or not summary.count:
        return []
    average = f"{summary.average:.1f}" if summary.average is not None else "-"
    scores = "  ".join(f"{score}★ {n}" for score, n in summary.by_score.items())
    lines = [f"  ratings: {summary.count}, average {average}", f"  {scores}"]
    if summary.comments:
        lines.append(f"  comments: {summary.comments}; the latest:")
        lines += [f"  #{t} {s}★  {printable(c)}" for t, s, c in summary.latest]
    return lines


async def build_report(url: str, limit: int) -> Report:
    """Open the store at `url` (bringing its schema up to date), return its report with at most
    `limit` rows per section, and close it."""
    store = await open_store(url)
    async with store:
        return await store.report(limit)


def command(session: Session) -> int:
    """Print what the bot could not answer, what was voted down, and what was used."""
    url = existing_database(session)
    if url is None:
        return EXIT_UNUSABLE
    try:
        found = asyncio.run(build_report(url, session.args.limit))
    except (DatabaseUnavailable, MigrationError) as error:
        session.fail(str(error))
        return EXIT_UNUSABLE
    print(format_report(found), file=session.out)
    return EXIT_OK
