"""Typed configuration: a YAML file, then environment variables over it.

Secrets (the Telegram token, the webhook's secret token) come only from the environment or from
a file named in the configuration, never from the configuration file itself, and never print:
`Secret` hides its value from `repr`, `str` and logs.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ENV_CONFIG = "RWA_BOT_CONFIG"
ENV_CONTENT_DIR = "RWA_BOT_CONTENT_DIR"
ENV_DATA_DIR = "RWA_BOT_DATA_DIR"
ENV_TOKEN = "RWA_BOT_TOKEN"
ENV_API_BASE_URL = "RWA_BOT_API_BASE_URL"
ENV_ADMIN_IDS = "RWA_BOT_ADMIN_IDS"
ENV_RATE_LIMIT = "RWA_BOT_RATE_LIMIT"
ENV_WEBHOOK_URL = "RWA_BOT_WEBHOOK_URL"
ENV_WEBHOOK_LISTEN = "RWA_BOT_WEBHOOK_LISTEN"
ENV_WEBHOOK_PORT = "RWA_BOT_WEBHOOK_PORT"
ENV_WEBHOOK_SECRET = "RWA_BOT_WEBHOOK_SECRET"
ENV_FLOOD_LIMIT = "RWA_BOT_FLOOD_LIMIT"
ENV_LAWYERS_CHAT_ID = "RWA_BOT_LAWYERS_CHAT_ID"
ENV_LAWYER_IDS = "RWA_BOT_LAWYER_IDS"
ENV_LAWYERS_LANGUAGE = "RWA_BOT_LAWYERS_LANGUAGE"
ENV_REMIND_AFTER = "RWA_BOT_REMIND_AFTER_MINUTES"
ENV_RETENTION_DAYS = "RWA_BOT_RETENTION_DAYS"
ENV_CHECK_CHAT_ID = "RWA_BOT_CHECK_CHAT_ID"
ENV_GROUP_FLOOD_LIMIT = "RWA_BOT_GROUP_FLOOD_LIMIT"
ENV_SEMANTIC_MODEL = "RWA_BOT_SEMANTIC_MODEL"
ENV_CACHE_DIR = "RWA_BOT_CACHE_DIR"
ENV_CONTEXT_MINUTES = "RWA_BOT_CONTEXT_MINUTES"
ENV_RELAYS_PER_MINUTE = "RWA_BOT_RELAYS_PER_MINUTE"

TELEGRAM_API_BASE_URL = "https://api.telegram.org/bot"
_FILE_KEYS = {
    "content_dir",
    "data_dir",
    "token_file",
    "api_base_url",
    "admin_ids",
    "rate_limit_per_minute",
    "flood_limit_per_second",
    "group_flood_limit_per_minute",
    "webhook",
    "lawyers",
    "semantic_model",
    "cache_dir",
    "context_minutes",
}
_LAWYERS_KEYS = {
    "chat_id",
    "user_ids",
    "language",
    "remind_after_minutes",
    "retention_days",
    "check_chat_id",
    "relays_per_minute",
}
_WEBHOOK_KEYS = {"url", "listen", "port", "secret_token_file"}


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


def shipped_content_dir() -> Path:
    """Return the faq/ folder shipped with the program, wherever it was installed from."""
    packaged = Path(__file__).resolve().parent / "_content"  # inside an installed wheel
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "faq"  # a source checkout or editable install


@dataclass(frozen=True)
class WebhookSettings:
    """Where `rwa-bot run --webhook` listens and the public URL Telegram calls."""

    url: str | None = None
    listen: str = "127.0.0.1"
    port: int = 8443
    secret_token: Secret | None = None


@dataclass(frozen=True)
class LawyerSettings:
    """The firm's side of consultations: its Telegram group, who may act there, and timing."""

    chat_id: int | None = None  # the lawyers' group; None: tickets wait until one is set
    user_ids: frozenset[int] = frozenset()  # who may claim, reply and close
    language: str = "en"  # of ticket cards and lawyer commands
    remind_after_minutes: float = 30.0  # an unclaimed ticket is announced again after this
    retention_days: int = 365  # personal data older than this is removed
    # A chat only the bot and the firm are in, where the bot checks whether a message whose
    # sending was cut short arrived; None: such a message is sent again, perhaps twice.
    check_chat_id: int | None = None
    # At most this many messages a minute carry one user's relays to the lawyers' group; what
    # they write beyond that goes out merged into the next one.
    relays_per_minute: int = 5


@dataclass(frozen=True)
class Settings:
    """Everything the program can be configured with (see config.example.yaml)."""

    content_dir: Path = field(default_factory=shipped_content_dir)
    data_dir: Path = Path("var")
    token: Secret | None = None
    api_base_url: str = TELEGRAM_API_BASE_URL
    admin_ids: frozenset[int] = frozenset()
    rate_limit_per_minute: int = 20
    flood_limit_per_second: float = 30.0  # all messages the bot sends; 0: no overall limit
    group_flood_limit_per_minute: float = 20.0  # messages to one group; 0: no limit per group
    webhook: WebhookSettings = field(default_factory=WebhookSettings)
    lawyers: LawyerSettings = field(default_factory=LawyerSettings)
    # The multilingual sentence model as the engine's second opinion; off saves about 130 MB
    # and a second at start-up, at the cost of accuracy on paraphrases.
    semantic_model: bool = True
    # Where the model's vectors of the FAQ's phrasings are kept between starts.
    cache_dir: Path = field(default_factory=lambda: default_cache_dir())
    # How long an answer stays the thing a short follow-up ("and Singapore?") refers to.
    context_minutes: float = 10.0


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/rwa-bot, else ~/.cache/rwa-bot."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rwa-bot"


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


def _lawyer_values(source: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    """The lawyer settings found in `source`, whose keys are `names[setting]`."""
    readers: dict[str, Any] = {
        "chat_id": _chat_id,
        "user_ids": _ids,
        "language": _language,
        "remind_after_minutes": _number,
        "retention_days": _positive,
        "check_chat_id": _chat_id,
        "relays_per_minute": _positive,
    }
    found = {}
    for setting, reader in readers.items():
        value = source.get(names[setting])
        if value is not None and value != "":
            found[setting] = reader(value, names[setting])
    return found


def _secret_file(path: Path, key: str) -> Secret:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ConfigError(f"cannot read '{key}' {path}: {error.strerror}") from None
    if not value:
        raise ConfigError(f"'{key}' {path} is empty")
    return Secret(value)


def _read_file(config_path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    except OSError as error:
        raise ConfigError(f"cannot read the config file {config_path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "it cannot be parsed"
        raise ConfigError(
            f"the config file {config_path} is not valid YAML{where}: {problem}"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"the config file {config_path} must be a mapping of settings")
    if "token" in data:
        raise ConfigError(
            f"{config_path} holds a 'token': the token comes only from "
            f"{ENV_TOKEN} or a file named by 'token_file'; remove it"
        )
    unknown = sorted(set(data) - _FILE_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown setting(s) in {config_path}: {', '.join(unknown)} "
            f"(known: {', '.join(sorted(_FILE_KEYS))})"
        )
    return data


def load_settings(
    config_path: Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Return the settings from `config_path` (or $RWA_BOT_CONFIG), then the environment.

    Relative paths in the file are relative to the file's folder; in the environment, to the
    working directory. Without any file or variable, the shipped content is used.
    """
    env = os.environ if environ is None else environ
    if config_path is None and env.get(ENV_CONFIG):
        config_path = Path(env[ENV_CONFIG])
    values: dict[str, Any] = {}
    hook: dict[str, Any] = {}
    lawyers: dict[str, Any] = {}
    if config_path is not None:
        data = _read_file(config_path)
        base = config_path.resolve().parent
        for key in ("content_dir", "data_dir", "cache_dir"):
            if data.get(key) is not None:
                values[key] = _path(data[key], key, base)
        if data.get("semantic_model") is not None:
            values["semantic_model"] = _switch(data["semantic_model"], "semantic_model")
        if data.get("context_minutes") is not None:
            values["context_minutes"] = _number(data["context_minutes"], "context_minutes")
        if data.get("token_file") is not None:
            values["token"] = _secret_file(
                _path(data["token_file"], "token_file", base), "token_file"
            )
        if data.get("api_base_url") is not None:
            values["api_base_url"] = str(data["api_base_url"])
        if data.get("admin_ids") is not None:
            values["admin_ids"] = _ids(data["admin_ids"], "admin_ids")
        if data.get("rate_limit_per_minute") is not None:
            values["rate_limit_per_minute"] = _positive(
                data["rate_limit_per_minute"], "rate_limit_per_minute"
            )
        if data.get("group_flood_limit_per_minute") is not None:
            values["group_flood_limit_per_minute"] = _number(
                data["group_flood_limit_per_minute"],
                "group_flood_limit_per_minute",
                zero_allowed=True,
            )
        if data.get("flood_limit_per_second") is not None:
            values["flood_limit_per_second"] = _number(
                data["flood_limit_per_second"], "flood_limit_per_second", zero_allowed=True
            )
        lawyers_file = data.get("lawyers") or {}
        if not isinstance(lawyers_file, dict) or set(lawyers_file) - _LAWYERS_KEYS:
            raise ConfigError(
                f"'lawyers' in {config_path} takes only: {', '.join(sorted(_LAWYERS_KEYS))}"
            )
        lawyers.update(
            _lawyer_values(
                {f"lawyers.{key}": value for key, value in lawyers_file.items()},
                {key: f"lawyers.{key}" for key in _LAWYERS_KEYS},
            )
        )
        webhook = data.get("webhook") or {}
        if not isinstance(webhook, dict) or set(webhook) - _WEBHOOK_KEYS:
            raise ConfigError(
                f"'webhook' in {config_path} takes only: {', '.join(sorted(_WEBHOOK_KEYS))}"
            )
        if webhook.get("url") is not None:
            hook["url"] = str(webhook["url"])
        if webhook.get("listen") is not None:
            hook["listen"] = str(webhook["listen"])
        if webhook.get("port") is not None:
            hook["port"] = _positive(webhook["port"], "webhook.port")
        if webhook.get("secret_token_file") is not None:
            hook["secret_token"] = _secret_file(
                _path(webhook["secret_token_file"], "webhook.secret_token_file", base),
                "webhook.secret_token_file",
            )
    cwd = Path.cwd()
    if env.get(ENV_CONTENT_DIR):
        values["content_dir"] = _path(env[ENV_CONTENT_DIR], ENV_CONTENT_DIR, cwd)
    if env.get(ENV_DATA_DIR):
        values["data_dir"] = _path(env[ENV_DATA_DIR], ENV_DATA_DIR, cwd)
    if env.get(ENV_CACHE_DIR):
        values["cache_dir"] = _path(env[ENV_CACHE_DIR], ENV_CACHE_DIR, cwd)
    if env.get(ENV_SEMANTIC_MODEL):
        values["semantic_model"] = _switch(env[ENV_SEMANTIC_MODEL], ENV_SEMANTIC_MODEL)
    if env.get(ENV_CONTEXT_MINUTES):
        values["context_minutes"] = _number(env[ENV_CONTEXT_MINUTES], ENV_CONTEXT_MINUTES)
    if env.get(ENV_TOKEN, "").strip():
        values["token"] = Secret(env[ENV_TOKEN].strip())
    if env.get(ENV_API_BASE_URL):
        values["api_base_url"] = env[ENV_API_BASE_URL]
    if env.get(ENV_ADMIN_IDS):
        values["admin_ids"] = _ids(env[ENV_ADMIN_IDS], ENV_ADMIN_IDS)
    if env.get(ENV_RATE_LIMIT):
        values["rate_limit_per_minute"] = _positive(env[ENV_RATE_LIMIT], ENV_RATE_LIMIT)
    if env.get(ENV_WEBHOOK_URL):
        hook["url"] = env[ENV_WEBHOOK_URL]
    if env.get(ENV_WEBHOOK_LISTEN):
        hook["listen"] = env[ENV_WEBHOOK_LISTEN]
    if env.get(ENV_WEBHOOK_PORT):
        hook["port"] = _positive(env[ENV_WEBHOOK_PORT], ENV_WEBHOOK_PORT)
    if env.get(ENV_WEBHOOK_SECRET, "").strip():
        hook["secret_token"] = Secret(env[ENV_WEBHOOK_SECRET].strip())
    if env.get(ENV_FLOOD_LIMIT):
        values["flood_limit_per_second"] = _number(
            env[ENV_FLOOD_LIMIT], ENV_FLOOD_LIMIT, zero_allowed=True
        )
    if env.get(ENV_GROUP_FLOOD_LIMIT):
        values["group_flood_limit_per_minute"] = _number(
            env[ENV_GROUP_FLOOD_LIMIT], ENV_GROUP_FLOOD_LIMIT, zero_allowed=True
        )
    lawyers.update(
        _lawyer_values(
            env,
            {
                "chat_id": ENV_LAWYERS_CHAT_ID,
                "user_ids": ENV_LAWYER_IDS,
                "language": ENV_LAWYERS_LANGUAGE,
                "remind_after_minutes": ENV_REMIND_AFTER,
                "retention_days": ENV_RETENTION_DAYS,
                "check_chat_id": ENV_CHECK_CHAT_ID,
                "relays_per_minute": ENV_RELAYS_PER_MINUTE,
            },
        )
    )
    return Settings(**values, webhook=WebhookSettings(**hook), lawyers=LawyerSettings(**lawyers))
