"""The terminal conversation (`rwa-bot chat`): the same engine as the Telegram bot, no token,
no network. Type a question; type the number of a suggestion to ask it; `quit` to leave.
Quoted passages are folded to their first line; `/quotes on` (or `--quotes`) shows them whole.
`/lawyer` (or asking for one) runs the same intake as on Telegram and files the ticket into the
same queue (the database in the data folder); `/cancel` leaves the intake."""

import asyncio
import getpass
import re
from collections.abc import Callable, Iterable

from bot import bootstrap
from bot.answers.answering import AnswerEngine
from bot.answers.followups import Conversation
from bot.answers.reply import Reply, Suggestion, render_plain
from bot.cli.session import EXIT_OK, EXIT_UNUSABLE, Session, load_content
from bot.config import Settings
from bot.consult.desk import Say, Turn
from bot.consult.intake import answers_confidently
from bot.consult.model import Person
from bot.content.loader import TRADITIONAL_LOCALES, Content, locale_for
from bot.store.database import DatabaseUnavailable
from bot.store.schema_versions import MigrationError
from index.script import Script, detect_script, to_traditional
from index.text import Language

# The terminal's user in the queue: Telegram user ids are positive, so 0 is never one of them.
TERMINAL_USER_ID = 0


class TerminalDesk:
    """The lawyer queue for the terminal: the desk's calls run on an event loop of their own."""

    def __init__(self, settings: Settings, content: Content, engine: AnswerEngine) -> None:
        self._runner = asyncio.Runner()
        try:
            self._store = self._runner.run(bootstrap.open_database(settings))
        except BaseException:
            self._runner.close()  # no database, no desk: the event loop goes with them
            raise
        self.desk = bootstrap.build_desk(
            self._store,
            content,
            settings,
            answerable=lambda text: answers_confidently(engine, text),
        )
        self.person = Person(TERMINAL_USER_ID, None, _login_name(), None)

    def request(self, language: Language) -> Turn:
        """/lawyer: the open ticket's status, the intake in progress, or a new intake."""
        return self._runner.run(self.desk.request(self.person, language))

    def message(self, text: str, locale: str) -> Turn:
        """A line typed while an intake or a ticket may be open."""
        return self._runner.run(self.desk.message(self.person, text, locale=locale))

    def cancel(self, language: Language) -> Turn:
        """/cancel: leave the intake."""
        return self._runner.run(self.desk.cancel(self.person, language))

    def end(self, language: Language, locale: str) -> Turn:
        """/end: close the ticket (withdraw the request, or end the conversation)."""
        return self._runner.run(self.desk.end(self.person, language, locale=locale))

    def record(self, reply: Reply) -> None:
        """Keep the question, as Telegram's do, so a ticket carries the recent questions."""
        self._runner.run(
            self._store.record_question(
                user_id=TERMINAL_USER_ID,
                chat_id=TERMINAL_USER_ID,
                language=reply.language,
                text=reply.question,
                kind=reply.kind,
                faq_id=reply.faq_id,
                confidence=reply.confidence,
                passage_ids=reply.passage_refs,
            )
        )

    def close(self) -> None:
        """Close the database and the event loop."""
        self._runner.run(self._store.close())
        self._runner.close()


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "terminal"


def _turn_text(says: Iterable[Say], locale: str) -> str:
    """The desk's messages, choices numbered so that typing the number picks one; in
    Traditional characters for a reader of them (`locale` "zh-hk" or "zh-tw")."""
    parts = []
    for say in says:
        lines = [say.text, *(f"  {n}. {c.label}" for n, c in enumerate(say.choices, start=1))]
        parts.append("\n".join(lines))
    text = "\n\n".join(parts)
    variant = TRADITIONAL_LOCALES.get(locale)
    return to_traditional(text, variant) if variant is not None else text


_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
QUIT_WORDS = frozenset({"quit", "exit", "/quit", "/exit", "q", "退出"})
PROMPT = "you> "


UNFOLD_HINT = {
    "en": "(/quotes on: show the quotes in full)",
    "zh": "（输入 /quotes on 显示完整引文）",
    "Hans": "（输入 /quotes on 显示完整引文）",
    "Hant": "（輸入 /quotes on 顯示完整引文）",
}
QUOTES_SWITCH = {"/quotes on": True, "/quotes off": False, "/quotes": True}


def _numbered(reply: Reply, quotes: bool) -> str:
    """The plain rendering (quotes folded unless `quotes`), with suggestions numbered so that a
    number asks them."""
    text = render_plain(reply, fold=not quotes, brief=True)
    if reply.citations and not quotes:
        text += f"\n\n{UNFOLD_HINT[reply.script or reply.language]}"
    for number, suggestion in enumerate(reply.suggestions, start=1):
        text = text.replace(f"  - {suggestion.question}", f"  {number}. {suggestion.question}", 1)
    return text


def _desk_turn(desk: TerminalDesk, message: str, language: Language, locale: str) -> Turn:
    """What the desk makes of a line: a command of its own, or a message to an intake."""
    command = message.strip().lower()
    if command == "/lawyer":
        return desk.request(language)
    if command == "/cancel":
        return desk.cancel(language)
    if command == "/end":
        return desk.end(language, locale)
    return desk.message(message, locale)


def _picked(choice: str, suggestions: list[Suggestion]) -> Suggestion | None:
    """The suggestion a typed number picks, if it picks one."""
    if choice.isdigit() and len(choice) <= 3 and 1 <= int(choice) <= len(suggestions):
        return suggestions[int(choice) - 1]
    return None


def _language_of(
    message: str, language: Language, script: Script | None
) -> tuple[Language, Script | None]:
    """The language and script a line is written in when it tells (Chinese characters, or two
    words or more and no address); else those of the conversation so far ("1", "a@b.com")."""
    if _CJK.search(message):
        return "zh", detect_script(message) or script
    if len(_LATIN_WORD.findall(message)) >= 2 and "@" not in message:
        return "en", None
    return language, script


def run_chat(
    engine: AnswerEngine,
    lines: Iterable[str],
    write: Callable[[str], None],
    interactive: bool = True,
    desk: TerminalDesk | None = None,
    quotes: bool = False,
) -> int:
    """Hold a conversation: read messages from `lines`, write replies with `write`.

    Returns the process exit status (0). Ends at end of input or on a quit word.
    """
    language: Language = "en"
    script: Script | None = None
    hello = engine.reply("hello", language)
    write(
        f"{hello.body}\n(Type a question, a number to pick a suggested question, "
        f"or 'quit' to leave.)\n"
    )
    suggestions: list[Suggestion] = []
    conversation = Conversation(engine)  # follow-ups ("and Hong Kong?") use the last answer
    for line in lines if not interactive else _prompted(lines, write):
        message = line.rstrip("\r\n")
        if message.strip().lower() in QUIT_WORDS:
            break
        choice = message.strip()
        if " ".join(choice.lower().split()) in QUOTES_SWITCH:
            quotes = QUOTES_SWITCH[" ".join(choice.lower().split())]
            write(f"\n(Quotes {'in full' if quotes else 'folded to their first line'}.)\n\n")
            continue
        picked = _picked(choice, suggestions)
        if picked is not None:
            message = picked.question
            write(f"» {message}\n")
        told_language, told_script = _language_of(message, language, script)
        locale = locale_for(told_language, told_script, "hk")
        turn = _desk_turn(desk, message, told_language, locale) if desk is not None else None
        if desk is not None and turn is not None and turn.handled:
            suggestions = []
            language, script = told_language, told_script
            _show_turn(desk, conversation, turn, (language, locale, quotes), write)
            continue
        if picked is not None:  # the entry offered, as a suggestion's button does
            reply = engine.entry_reply(picked.faq_id, language, script=script)
            conversation.took(reply)
        else:
            reply = conversation.reply(message, language)
        if message.strip():
            language, script = reply.language, reply.script
        if desk is not None and message.strip():
            desk.record(reply)
        if desk is not None and reply.kind == "escalate":
            suggestions = []
            locale = locale_for(language, script, "hk")
            write(f"\n{_turn_text(desk.request(language).messages, locale)}\n\n")
            continue
        suggestions = list(reply.suggestions)
        write(f"\n{_numbered(reply, quotes)}\n\n")
    write("\nGoodbye.\n")
    return 0


def _show_turn(
    desk: TerminalDesk,
    conversation: Conversation,
    turn: Turn,
    reader: tuple[Language, str, bool],
    write: Callable[[str], None],
) -> None:
    """Write what the desk answered; a question it hands back (asked in the middle of the
    intake) is answered by the engine, then what follows it is written. `reader`: the
    language, locale and whether quotes are shown in full."""
    language, locale, quotes = reader
    shown = _turn_text(turn.messages, locale)
    if not shown and turn.question is None:  # a message relayed to the lawyers
        shown = desk.desk.content.message(locale, "relay.forwarded")
    if shown:
        write(f"\n{shown}\n\n")
    if turn.question is not None:
        reply = conversation.reply(turn.question, language)
        desk.record(reply)
        write(f"\n{render_plain(reply, fold=not quotes, brief=True)}\n\n")
    if turn.then:
        write(f"\n{_turn_text(turn.then, locale)}\n\n")


def _prompted(lines: Iterable[str], write: Callable[[str], None]) -> Iterable[str]:
    """The lines, with the prompt written before each is read."""
    iterator = iter(lines)
    while True:
        write(PROMPT)
        line = next(iterator, None)
        if line is None:
            return
        yield line


def command(session: Session) -> int:
    """`rwa-bot chat`: the conversation on standard input and output, with the desk."""
    content = load_content(session)
    if content is None:
        return EXIT_UNUSABLE
    engine = bootstrap.build_answerer(session.settings, content)
    out = session.out

    def write(text: str) -> None:
        out.write(text)
        out.flush()

    try:
        desk = TerminalDesk(session.settings, content, engine)
    except DatabaseUnavailable as error:
        session.fail(str(error))
        return EXIT_UNUSABLE
    except (OSError, MigrationError) as error:
        settings = session.settings
        where = settings.data_dir if settings.database_url is None else None
        shown = f"in {where}" if where else bootstrap.shown_database(settings)
        session.fail(f"cannot open the database {shown}: {error}")
        return EXIT_UNUSABLE
    try:
        return run_chat(
            engine,
            session.stdin,
            write,
            interactive=session.stdin.isatty(),
            desk=desk,
            quotes=bool(getattr(session.args, "quotes", False)),
        )
    except KeyboardInterrupt:
        write("\nGoodbye.\n")
        return EXIT_OK
    finally:
        desk.close()
