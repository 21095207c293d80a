"""The readers of configuration values: each checks one value of the config file or of an
environment variable and returns it typed, or raises ConfigError saying what to fix. Secrets are
`Secret`s, which never print."""

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.consult.office_hours import OfficeHours, OfficeHoursError
from bot.consult.routing import Route, RoutingError, parse_routes

BOT_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{4,31}")  # Telegram's: 5 to 32 characters


class ConfigError(Exception):
    """A configuration that cannot be used; the message says what to fix."""


class Secret:
    """A secret value that never shows itself when printed or logged."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret itself, for the one place that needs it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _switch(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("on", "true", "yes", "1"):
        return True
    if text in ("off", "false", "no", "0"):
        return False
    raise ConfigError(f"'{key}' must be 'on' or 'off'")


def _path(value: Any, key: str, base: Path) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"'{key}' must be a path")
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _ids(value: Any, key: str) -> frozenset[int]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ConfigError(f"'{key}' must be a list of Telegram user ids")
    try:
        return frozenset(int(str(item).strip()) for item in items if str(item).strip())
    except ValueError:
        raise ConfigError(f"'{key}' must hold whole numbers (Telegram user ids)") from None


def _positive(value: Any, key: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number <= 0 or isinstance(value, bool):
        raise ConfigError(f"'{key}' must be a whole number above 0")
    return number


def _number(value: Any, key: str, *, zero_allowed: bool = False) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if isinstance(value, bool) or number < 0 or (number == 0 and not zero_allowed):
        raise ConfigError(
            f"'{key}' must be a number {'of 0 or more' if zero_allowed else 'above 0'}"
        )
    return number


def _chat_id(value: Any, key: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise ConfigError(f"'{key}' must be a Telegram chat id (a whole number)") from None


def _language(value: Any, key: str) -> str:
    if value not in ("en", "zh"):
        raise ConfigError(f"'{key}' must be 'en' or 'zh'")
    return str(value)


# The database URLs the store can open, by scheme; the plain schemes name the driver it uses.
DATABASE_SCHEMES = {
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "sqlite": "sqlite+aiosqlite",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def _database_url(value: Any, key: str) -> str:
    """A database URL with its driver named; the message of a bad one never repeats the URL,
    which may hold a password."""
    text = str(value).strip()
    scheme = urlsplit(text).scheme.lower() if "://" in text else ""
    if scheme not in DATABASE_SCHEMES:
        shown = f" (its scheme is {scheme!r})" if scheme else ""
        raise ConfigError(
            f"'{key}' must be a database URL{shown}: sqlite+aiosqlite:///path/to/file.sqlite3, "
            "or postgresql+asyncpg://user:password@host:port/database"
        )
    return DATABASE_SCHEMES[scheme] + text[len(scheme) :]


def bot_username(value: Any, key: str) -> str:
    """A bot's username, given with or without its "@", without it."""
    text = str(value).strip().removeprefix("@")
    if not BOT_USERNAME.fullmatch(text):
        raise ConfigError(f"'{key}' must be a bot's Telegram username, such as rwa_law_bot")
    return text


def _number_or_zero(value: Any, key: str) -> float:
    return _number(value, key, zero_allowed=True)


def _secret_file(path: Path, key: str) -> Secret:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ConfigError(f"cannot read '{key}' {path}: {error.strerror}") from None
    if not value:
        raise ConfigError(f"'{key}' {path} is empty")
    return Secret(value)


# Reads one setting's value: the value, the key or variable it came from (for the message of a
# ConfigError), the folder relative paths start from. None: the value sets nothing.
Reader = Callable[[Any, str, Path], Any]


def _plain(read: Callable[[Any, str], Any]) -> Reader:
    """A reader for a value that is no path."""
    return lambda value, key, base: read(value, key)


def _text(value: Any, key: str, base: Path) -> str:
    return str(value)


def _secret_in_file(value: Any, key: str, base: Path) -> Secret:
    return _secret_file(_path(value, key, base), key)


def _secret_text(value: Any, key: str, base: Path) -> Secret | None:
    """A secret given as text (in the environment only); blank sets nothing."""
    return Secret(value.strip()) if value.strip() else None


def office_hours(value: Any, key: str) -> str:
    """Office hours like "mon-fri 09:00-18:00", or "" / "always" for none."""
    text = str(value).strip()
    if text.lower() in ("", "always"):
        return text
    try:
        OfficeHours.parse(text, "UTC")
    except OfficeHoursError as error:
        raise ConfigError(f"{key}: {error}") from None
    return text


def time_zone(value: Any, key: str) -> str:
    """An IANA time zone name ("Asia/Hong_Kong")."""
    text = str(value).strip()
    try:
        OfficeHours.parse("mon 09:00-10:00", text)
    except OfficeHoursError as error:
        raise ConfigError(f"{key}: {error}") from None
    return text


def holidays(value: Any, key: str) -> tuple[str, ...]:
    """Dates the office is closed: a list, or text separated by commas ("2026-12-25,...")."""
    items = value if isinstance(value, list) else str(value).split(",")
    days = tuple(str(item).strip() for item in items if str(item).strip())
    try:
        OfficeHours.parse("mon 09:00-10:00", "UTC", days)
    except OfficeHoursError as error:
        raise ConfigError(f"{key}: {error}") from None
    return days


def lead_lawyer(value: Any, key: str) -> str:
    """The lead lawyer's Telegram @username (mentioned in the lawyers' group), or ""."""
    text = str(value).strip()
    if text and not BOT_USERNAME.fullmatch(text.removeprefix("@")):
        raise ConfigError(f"{key}: {text!r} is not a Telegram @username")
    return "@" + text.removeprefix("@") if text else ""


def routing(value: Any, key: str) -> tuple[Route, ...]:
    """Routing rules: a list of {when, mention} (in the environment, as JSON)."""
    raw = value
    if isinstance(value, str):
        try:
            raw = json.loads(value) if value.strip() else []
        except ValueError:
            raise ConfigError(f"{key}: not JSON (a list of {{when, mention}} rules)") from None
    try:
        return parse_routes(raw)
    except RoutingError as error:
        raise ConfigError(f"{key}: {error}") from None
