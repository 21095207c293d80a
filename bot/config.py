"""Typed configuration: a YAML file, then environment variables over it. Secrets come only from
the environment or from a file the configuration names, and never print (`Secret`)."""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.config_values import BOT_USERNAME as BOT_USERNAME
from bot.config_values import DATABASE_SCHEMES as DATABASE_SCHEMES
from bot.config_values import ConfigError as ConfigError
from bot.config_values import (
    Reader,
    _chat_id,
    _database_url,
    _ids,
    _language,
    _number,
    _number_or_zero,
    _path,
    _plain,
    _positive,
    _secret_in_file,
    _secret_text,
    _switch,
    _text,
    holidays,
    lead_lawyer,
    office_hours,
    routing,
    time_zone,
)
from bot.config_values import Secret as Secret
from bot.config_values import bot_username as bot_username
from bot.consult.office_hours import OfficeHours
from bot.consult.routing import Route

ENV_CONFIG = "RWA_BOT_CONFIG"
ENV_TOKEN = "RWA_BOT_TOKEN"
TELEGRAM_API_BASE_URL = "https://api.telegram.org/bot"
ENV_BOT_USERNAME = "RWA_BOT_USERNAME"


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
    # When the lawyers answer ("" or "always": at any time), in `timezone`, except `holidays`:
    # a request outside them is told when the lawyers are back.
    office_hours: str = "mon-fri 09:00-18:00"
    timezone: str = "Asia/Hong_Kong"
    holidays: tuple[str, ...] = ()
    # An open ticket nobody took within this many office hours is named to the lawyers (0: no
    # target); at twice that, the lead lawyer ("@username"; "" for none) is mentioned.
    first_response_hours: float = 2.0
    lead_lawyer: str = ""
    # Which lawyers a new ticket's card mentions, by its answers (bot/consult/routing.py).
    routing: tuple[Route, ...] = ()

    @property
    def office(self) -> OfficeHours | None:
        """The office hours, or None when the firm answers at any time."""
        if self.office_hours.strip().lower() in ("", "always"):
            return None
        return OfficeHours.parse(self.office_hours, self.timezone, self.holidays)


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
    # The database: None for the SQLite file in data_dir; a postgresql+asyncpg:// URL for
    # several replicas. Left out of the repr: it may hold a password.
    database_url: str | None = field(default=None, repr=False)
    bot_username: str | None = None  # for `rwa-bot links` (the running bot asks Telegram)


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/rwa-bot, else ~/.cache/rwa-bot."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rwa-bot"


@dataclass(frozen=True)
class _Setting:
    """One setting: where it goes, its key in the config file, its environment variable."""

    section: str  # "" for Settings itself, "webhook" or "lawyers" for theirs
    name: str  # the field it sets
    key: str  # in the file, dotted in a section: "lawyers.chat_id"
    variable: str
    read: Reader
    read_variable: Reader | None = None  # when the environment gives it otherwise (secrets)
    empty_unsets: bool = False  # an empty value in the file sets nothing


_SETTINGS = (
    _Setting("", "content_dir", "content_dir", "RWA_BOT_CONTENT_DIR", _path),
    _Setting("", "data_dir", "data_dir", "RWA_BOT_DATA_DIR", _path),
    _Setting("", "cache_dir", "cache_dir", "RWA_BOT_CACHE_DIR", _path),
    _Setting("", "semantic_model", "semantic_model", "RWA_BOT_SEMANTIC_MODEL", _plain(_switch)),
    _Setting("", "context_minutes", "context_minutes", "RWA_BOT_CONTEXT_MINUTES", _plain(_number)),
    _Setting("", "database_url", "database_url", "RWA_BOT_DATABASE_URL", _plain(_database_url)),
    # The token comes from the environment or a file the config names, never the config itself.
    _Setting("", "token", "token_file", ENV_TOKEN, _secret_in_file, _secret_text),
    _Setting("", "api_base_url", "api_base_url", "RWA_BOT_API_BASE_URL", _text),
    _Setting("", "bot_username", "bot_username", ENV_BOT_USERNAME, _plain(bot_username)),
    _Setting("", "admin_ids", "admin_ids", "RWA_BOT_ADMIN_IDS", _plain(_ids)),
    _Setting(
        "",
        "rate_limit_per_minute",
        "rate_limit_per_minute",
        "RWA_BOT_RATE_LIMIT",
        _plain(_positive),
    ),
    _Setting(
        "",
        "group_flood_limit_per_minute",
        "group_flood_limit_per_minute",
        "RWA_BOT_GROUP_FLOOD_LIMIT",
        _plain(_number_or_zero),
    ),
    _Setting(
        "",
        "flood_limit_per_second",
        "flood_limit_per_second",
        "RWA_BOT_FLOOD_LIMIT",
        _plain(_number_or_zero),
    ),
    *(
        _Setting("lawyers", name, f"lawyers.{name}", variable, _plain(read), empty_unsets=True)
        for name, variable, read in (
            ("chat_id", "RWA_BOT_LAWYERS_CHAT_ID", _chat_id),
            ("user_ids", "RWA_BOT_LAWYER_IDS", _ids),
            ("language", "RWA_BOT_LAWYERS_LANGUAGE", _language),
            ("remind_after_minutes", "RWA_BOT_REMIND_AFTER_MINUTES", _number),
            ("retention_days", "RWA_BOT_RETENTION_DAYS", _positive),
            ("check_chat_id", "RWA_BOT_CHECK_CHAT_ID", _chat_id),
            ("relays_per_minute", "RWA_BOT_RELAYS_PER_MINUTE", _positive),
            ("office_hours", "RWA_BOT_OFFICE_HOURS", office_hours),
            ("timezone", "RWA_BOT_TIMEZONE", time_zone),
            ("holidays", "RWA_BOT_HOLIDAYS", holidays),
            ("first_response_hours", "RWA_BOT_FIRST_RESPONSE_HOURS", _number_or_zero),
            ("lead_lawyer", "RWA_BOT_LEAD_LAWYER", lead_lawyer),
            ("routing", "RWA_BOT_ROUTING", routing),
        )
    ),
    _Setting("webhook", "url", "webhook.url", "RWA_BOT_WEBHOOK_URL", _text),
    _Setting("webhook", "listen", "webhook.listen", "RWA_BOT_WEBHOOK_LISTEN", _text),
    _Setting("webhook", "port", "webhook.port", "RWA_BOT_WEBHOOK_PORT", _plain(_positive)),
    _Setting(
        "webhook",
        "secret_token",
        "webhook.secret_token_file",
        "RWA_BOT_WEBHOOK_SECRET",
        _secret_in_file,
        _secret_text,
    ),
)
_SECTIONS = ("lawyers", "webhook")
_FILE_KEYS = {s.key for s in _SETTINGS if not s.section} | set(_SECTIONS)


def _section_keys(section: str) -> set[str]:
    return {s.key.removeprefix(f"{section}.") for s in _SETTINGS if s.section == section}


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


def _file_value(data: dict[str, Any], setting: _Setting, config_path: Path) -> Any:
    """The value of `setting` in the file's `data` (None if not given); a section that holds
    anything but its own settings is refused."""
    if not setting.section:
        return data.get(setting.key)
    given = data.get(setting.section) or {}
    known = _section_keys(setting.section)
    if not isinstance(given, dict) or set(given) - known:
        raise ConfigError(
            f"'{setting.section}' in {config_path} takes only: {', '.join(sorted(known))}"
        )
    return given.get(setting.key.removeprefix(f"{setting.section}."))


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
    found: dict[str, dict[str, Any]] = {"": {}, **{section: {} for section in _SECTIONS}}
    if config_path is not None:
        data = _read_file(config_path)
        base = config_path.resolve().parent
        for setting in _SETTINGS:
            value = _file_value(data, setting, config_path)
            if value is None or (setting.empty_unsets and value == ""):
                continue
            found[setting.section][setting.name] = setting.read(value, setting.key, base)
    cwd = Path.cwd()
    for setting in _SETTINGS:
        if not env.get(setting.variable):
            continue
        read = setting.read_variable or setting.read
        value = read(env[setting.variable], setting.variable, cwd)
        if value is not None:
            found[setting.section][setting.name] = value
    return Settings(
        **found[""],
        webhook=WebhookSettings(**found["webhook"]),
        lawyers=LawyerSettings(**found["lawyers"]),
    )
