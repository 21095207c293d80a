"""Masks secrets (the bot's token) in every log record: the second line of defence.

The first is that no exception or message the bot makes holds its token (bot/telegram/http.py
cuts the Bot API's URL out of aiohttp's errors). Whatever still carries it (a library's message,
a traceback's text, an argument) is masked here before any handler writes it: the message with
its arguments, the formatted traceback (every exception of its chain) and the stack.
"""

import logging
from collections.abc import Iterable
from urllib.parse import quote

MASK = "<secret>"
# A secret shorter than this is not masked on its own: it would mask ordinary words too.
SHORTEST_SECRET = 8


def secret_forms(secrets: Iterable[str]) -> tuple[str, ...]:
    """Every form in which a secret may show, longest first: as it is, URL-encoded, and for a
    bot token ("id:secret") the part after the colon."""
    forms: set[str] = set()
    for secret in secrets:
        parts = [secret, secret.partition(":")[2]]
        for part in parts:
            if len(part) >= SHORTEST_SECRET:
                forms.update({part, quote(part, safe="")})
    return tuple(sorted(forms, key=len, reverse=True))


class SecretMask(logging.Filter):
    """A handler filter that replaces the secrets in a record with MASK; it drops nothing."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.forms = secret_forms(secrets)
        self._formatter = logging.Formatter()

    def mask(self, text: str) -> str:
        """`text` with every form of every secret replaced by MASK."""
        for form in self.forms:
            text = text.replace(form, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place: message and arguments, traceback, stack; keep it."""
        if not self.forms:
            return True
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the message: logged as they are
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = self.mask(message), None
        if record.exc_info and record.exc_info[0] is not None:
            # Formatted now, masked, and kept as the text formatters print instead.
            record.exc_text = self._formatter.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


def mask_secrets_in_logs(*secrets: str | None, logger: logging.Logger | None = None) -> None:
    """Install a SecretMask for `secrets` on every handler of `logger` (default: the root
    logger), where logging is configured; records of every logger reach those handlers."""
    mask = SecretMask(secret for secret in secrets if secret)
    for handler in (logger or logging.getLogger()).handlers:
        for earlier in [found for found in handler.filters if isinstance(found, SecretMask)]:
            handler.removeFilter(earlier)
        handler.addFilter(mask)
