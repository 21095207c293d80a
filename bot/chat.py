"""The terminal conversation (`rwa-bot chat`): the same engine as the Telegram bot, no token,
no network. Type a question; type the number of a suggestion to ask it; `quit` to leave."""

from collections.abc import Callable, Iterable

from bot.answering import AnswerEngine
from bot.reply import Reply, render_plain
from index.text import Language

QUIT_WORDS = frozenset({"quit", "exit", "/quit", "/exit", "q", "退出"})
PROMPT = "you> "


def _numbered(reply: Reply) -> str:
    """The plain rendering, with suggestions numbered so that a number asks them."""
    text = render_plain(reply)
    for number, suggestion in enumerate(reply.suggestions, start=1):
        text = text.replace(f"  - {suggestion.question}", f"  {number}. {suggestion.question}", 1)
    return text


def run_chat(
    engine: AnswerEngine,
    lines: Iterable[str],
    write: Callable[[str], None],
    interactive: bool = True,
) -> int:
    """Hold a conversation: read messages from `lines`, write replies with `write`.

    Returns the process exit status (0). Ends at end of input or on a quit word.
    """
    language: Language = "en"
    hello = engine.reply("hello", language)
    write(
        f"{hello.body}\n(Type a question, a number to pick a suggested question, "
        f"or 'quit' to leave.)\n"
    )
    suggestions: list[str] = []
    if interactive:
        write(PROMPT)
    for line in lines:
        message = line.rstrip("\r\n")
        if message.strip().lower() in QUIT_WORDS:
            break
        choice = message.strip()
        if choice.isdigit() and 1 <= int(choice) <= len(suggestions):
            message = suggestions[int(choice) - 1]
            write(f"» {message}\n")
        reply = engine.reply(message, language)
        if message.strip():
            language = reply.language
        suggestions = [s.question for s in reply.suggestions]
        write(f"\n{_numbered(reply)}\n\n")
        if interactive:
            write(PROMPT)
    write("\nGoodbye.\n")
    return 0
