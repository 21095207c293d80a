"""`rwa-bot faq check`: every problem of the content folder, then a one-line verdict."""

import datetime as dt

from bot import bootstrap
from bot.cli.session import EXIT_FAILED, EXIT_OK, Session
from bot.telegram.message_keys import BOT_MESSAGE_KEYS


def command(session: Session) -> int:
    """Print each problem; exit 0 when the content can be served, 1 when it cannot."""
    out = session.out
    content, problems = bootstrap.read_bot_content(
        session.settings, BOT_MESSAGE_KEYS, dt.date.today()
    )
    for problem in problems:
        print(problem, file=out)
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    if content is not None:
        print(
            f"ok: {len(content.sources)} source(s), {len(content.passages)} passages, "
            f"{len(content.entries)} FAQ entries, {len(content.snippets)} snippet(s); "
            f"{warnings} warning(s).",
            file=out,
        )
        return EXIT_OK
    files = len({p.file for p in problems})
    print(f"{errors} error(s) and {warnings} warning(s) in {files} file(s).", file=out)
    return EXIT_FAILED
