"""`rwa-bot links`: the deep link of every FAQ entry, and the one into the consultation intake,
for the firm's website and articles: https://t.me/<bot>?start=<entry id> opens the bot on that
entry's answer (bot/telegram/deep_links.py)."""

import json
from typing import Any

from bot.cli.session import EXIT_OK, EXIT_UNUSABLE, Session, load_content
from bot.config import ENV_BOT_USERNAME, ConfigError, bot_username
from bot.content.faq import LANGUAGES
from bot.content.loader import Content
from bot.telegram.deep_links import LAWYER_PAYLOAD, deep_link

NO_USERNAME = (
    "the links need the bot's Telegram username (the @name @BotFather gave it): pass "
    f"--bot NAME, or set bot_username in the config file or {ENV_BOT_USERNAME}"
)


def links(content: Content, username: str) -> dict[str, Any]:
    """Return the links of bot `username`: its own, the intake's, and each entry's, with the
    entry's first question in each language (the order of the content)."""
    return {
        "bot": username,
        "bot_link": deep_link(username),
        "lawyer": deep_link(username, LAWYER_PAYLOAD),
        "entries": [
            {
                "id": entry.id,
                "question": {
                    lang: " ".join(entry.questions[lang][0].split()) for lang in LANGUAGES
                },
                "link": deep_link(username, entry.id),
            }
            for entry in content.entries.values()
        ],
    }


def format_links(found: dict[str, Any]) -> str:
    """Return the links as `rwa-bot links` prints them: one block per entry, then the intake."""
    blocks = [f"Deep links into @{found['bot']} ({found['bot_link']}):"]
    for entry in found["entries"]:
        questions = [f"  {lang}:   {text}" for lang, text in entry["question"].items()]
        blocks.append("\n".join([entry["id"], *questions, f"  link: {entry['link']}"]))
    intake = "lawyer (starts the consultation intake, as /lawyer does)"
    blocks.append(f"{intake}\n  link: {found['lawyer']}")
    return "\n\n".join(blocks)


def command(session: Session) -> int:
    """Print every entry's deep link and the intake's, as text or (--json) one JSON object."""
    given = session.args.bot or session.settings.bot_username
    if not given:
        session.fail(NO_USERNAME)
        return EXIT_UNUSABLE
    try:
        username = bot_username(given, "--bot" if session.args.bot else "bot_username")
    except ConfigError as error:
        session.fail(str(error))
        return EXIT_UNUSABLE
    content = load_content(session)
    if content is None:
        return EXIT_UNUSABLE
    found = links(content, username)
    if session.args.json:
        print(json.dumps(found, ensure_ascii=False, indent=2), file=session.out)
    else:
        print(format_links(found), file=session.out)
    return EXIT_OK
