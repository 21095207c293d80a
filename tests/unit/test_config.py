"""Configuration: a file, environment variables over it, and secrets only from safe places."""

from pathlib import Path

import pytest

from bot.config import ConfigError, Secret, load_settings

TOKEN = "123456:ABC-this-is-not-a-real-token"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_without_file_or_variables_the_defaults_apply() -> None:
    settings = load_settings(environ={})
    assert settings.token is None
    assert settings.api_base_url == "https://api.telegram.org/bot"
    assert settings.rate_limit_per_minute == 20
    assert settings.data_dir == Path("var")
    assert (settings.content_dir / "sources" / "rwa-path.md").is_file()


def test_the_token_comes_from_the_environment_and_never_prints() -> None:
    settings = load_settings(environ={"RWA_BOT_TOKEN": f"  {TOKEN}\n"})
    assert settings.token is not None
    assert settings.token.reveal() == TOKEN
    for shown in (repr(settings), str(settings), f"{settings.token}", repr(settings.token)):
        assert TOKEN not in shown
        assert "123456" not in shown


def test_a_token_in_the_config_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="RWA_BOT_TOKEN"):
        load_settings(write(tmp_path, f"token: {TOKEN}\n"), environ={})


def test_the_token_may_come_from_a_file_named_in_the_config(tmp_path: Path) -> None:
    (tmp_path / "token.txt").write_text(TOKEN + "\n", encoding="utf-8")
    settings = load_settings(write(tmp_path, "token_file: token.txt\n"), environ={})
    assert settings.token == Secret(TOKEN)
    with pytest.raises(ConfigError, match="cannot read 'token_file'"):
        load_settings(write(tmp_path, "token_file: missing.txt\n"), environ={})


def test_environment_variables_win_over_the_file(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        "api_base_url: http://file/bot\nadmin_ids: [1, 2]\n"
        "rate_limit_per_minute: 5\nwebhook:\n  port: 9000\n",
    )
    settings = load_settings(
        config,
        environ={
            "RWA_BOT_API_BASE_URL": "http://127.0.0.1:9001/bot",
            "RWA_BOT_ADMIN_IDS": "7, 8",
            "RWA_BOT_WEBHOOK_PORT": "9443",
            "RWA_BOT_WEBHOOK_SECRET": "s3cret",
        },
    )
    assert settings.api_base_url == "http://127.0.0.1:9001/bot"
    assert settings.admin_ids == frozenset({7, 8})
    assert settings.rate_limit_per_minute == 5
    assert settings.webhook.port == 9443
    assert settings.webhook.secret_token == Secret("s3cret")
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        ("admin_ids: [1, two]\n", {}, "whole numbers"),
        ("rate_limit_per_minute: 0\n", {}, "above 0"),
        ("webhook:\n  host: x\n", {}, "'webhook'"),
        ("", {"RWA_BOT_RATE_LIMIT": "fast"}, "RWA_BOT_RATE_LIMIT"),
        ("", {"RWA_BOT_ADMIN_IDS": "1,x"}, "whole numbers"),
    ],
)
def test_bad_values_are_clear_errors(
    tmp_path: Path, text: str, environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(write(tmp_path, text), environ=environ)


def test_the_lawyers_settings_come_from_the_file_and_the_environment_wins(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "lawyers:\n  chat_id: -1001\n  user_ids: [7, 8]\n  language: zh\n"
        "  remind_after_minutes: 15\n  retention_days: 90\n",
    )
    settings = load_settings(path, environ={"RWA_BOT_LAWYER_IDS": "9, 10"})
    assert settings.lawyers.chat_id == -1001
    assert settings.lawyers.user_ids == frozenset({9, 10})
    assert settings.lawyers.language == "zh"
    assert settings.lawyers.remind_after_minutes == 15
    assert settings.lawyers.retention_days == 90


def test_without_lawyers_settings_tickets_wait_for_a_group(tmp_path: Path) -> None:
    lawyers = load_settings(environ={}).lawyers
    assert lawyers.chat_id is None
    assert lawyers.user_ids == frozenset()
    assert lawyers.remind_after_minutes == 30


@pytest.mark.parametrize(
    ("environ", "complaint"),
    [
        ({"RWA_BOT_LAWYERS_CHAT_ID": "the-group"}, "RWA_BOT_LAWYERS_CHAT_ID"),
        ({"RWA_BOT_LAWYER_IDS": "7,x"}, "RWA_BOT_LAWYER_IDS"),
        ({"RWA_BOT_LAWYERS_LANGUAGE": "fr"}, "RWA_BOT_LAWYERS_LANGUAGE"),
        ({"RWA_BOT_REMIND_AFTER_MINUTES": "0"}, "RWA_BOT_REMIND_AFTER_MINUTES"),
        ({"RWA_BOT_RETENTION_DAYS": "-3"}, "RWA_BOT_RETENTION_DAYS"),
        ({"RWA_BOT_FLOOD_LIMIT": "-1"}, "RWA_BOT_FLOOD_LIMIT"),
        ({"RWA_BOT_OFFICE_HOURS": "weekdays"}, "RWA_BOT_OFFICE_HOURS"),
        ({"RWA_BOT_TIMEZONE": "Hong Kong"}, "RWA_BOT_TIMEZONE"),
        ({"RWA_BOT_HOLIDAYS": "Christmas"}, "RWA_BOT_HOLIDAYS"),
        ({"RWA_BOT_LEAD_LAWYER": "ada wong"}, "RWA_BOT_LEAD_LAWYER"),
        ({"RWA_BOT_ROUTING": "[{]"}, "RWA_BOT_ROUTING"),
        ({"RWA_BOT_ROUTING": '[{"when": {"asset": "gold"}, "mention": ["@ada_wong"]}]'}, "gold"),
    ],
)
def test_bad_lawyer_and_flood_settings_are_refused_by_name(
    environ: dict[str, str], complaint: str
) -> None:
    with pytest.raises(ConfigError, match=complaint):
        load_settings(environ=environ)


def test_the_overall_flood_limit_can_be_turned_off_for_an_emulator() -> None:
    assert load_settings(environ={}).flood_limit_per_second == 30
    assert load_settings(environ={"RWA_BOT_FLOOD_LIMIT": "0"}).flood_limit_per_second == 0


def test_unknown_lawyer_settings_in_the_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'lawyers' .* takes only"):
        load_settings(write(tmp_path, "lawyers:\n  group: 5\n"), environ={})


def test_the_per_group_flood_limit_defaults_to_telegrams_and_can_be_turned_off() -> None:
    assert load_settings(environ={}).group_flood_limit_per_minute == 20
    off = load_settings(environ={"RWA_BOT_GROUP_FLOOD_LIMIT": "0"})
    assert off.group_flood_limit_per_minute == 0


def test_the_sentence_model_cache_and_context_settings_are_read() -> None:
    settings = load_settings(
        environ={
            "RWA_BOT_SEMANTIC_MODEL": "off",
            "RWA_BOT_CACHE_DIR": "/tmp/rwa-cache",
            "RWA_BOT_CONTEXT_MINUTES": "3",
        }
    )
    assert settings.semantic_model is False
    assert str(settings.cache_dir) == "/tmp/rwa-cache"
    assert settings.context_minutes == 3


PG_URL = "postgresql+asyncpg://bot:s3cret-pw@db.internal:5432/rwa"


def test_the_database_is_the_sqlite_file_in_the_data_folder_unless_a_url_is_given() -> None:
    assert load_settings(environ={}).database_url is None


def test_the_database_url_comes_from_the_file_and_the_environment_wins(tmp_path: Path) -> None:
    path = write(tmp_path, "database_url: sqlite+aiosqlite:////srv/rwa/bot.sqlite3\n")
    assert (
        load_settings(path, environ={}).database_url == "sqlite+aiosqlite:////srv/rwa/bot.sqlite3"
    )
    settings = load_settings(path, environ={"RWA_BOT_DATABASE_URL": PG_URL})
    assert settings.database_url == PG_URL
    assert "s3cret-pw" not in repr(settings)


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://bot@db/rwa", "postgresql+asyncpg://bot@db/rwa"),
        ("postgres://bot@db/rwa", "postgresql+asyncpg://bot@db/rwa"),
        ("sqlite:///var/bot.sqlite3", "sqlite+aiosqlite:///var/bot.sqlite3"),
    ],
)
def test_a_database_url_without_a_driver_gets_the_one_the_store_uses(given: str, used: str) -> None:
    assert load_settings(environ={"RWA_BOT_DATABASE_URL": given}).database_url == used


@pytest.mark.parametrize(
    "url", ["mysql://bot:s3cret-pw@db/rwa", "s3cret-pw", "postgresql+psycopg2://b:s3cret-pw@d/r"]
)
def test_a_database_url_of_another_kind_is_a_clear_error_that_hides_it(url: str) -> None:
    with pytest.raises(ConfigError, match="RWA_BOT_DATABASE_URL' must be a database URL") as error:
        load_settings(environ={"RWA_BOT_DATABASE_URL": url})
    assert "s3cret-pw" not in str(error.value)


def test_the_bot_username_comes_from_the_file_or_the_environment_without_its_at(
    tmp_path: Path,
) -> None:
    assert load_settings(environ={}).bot_username is None
    path = write(tmp_path, "bot_username: '@rwa_law_bot'\n")
    assert load_settings(path, environ={}).bot_username == "rwa_law_bot"
    settings = load_settings(path, environ={"RWA_BOT_USERNAME": "other_law_bot"})
    assert settings.bot_username == "other_law_bot"


@pytest.mark.parametrize("name", ["rwa", "rwa-law-bot", "t.me/rwa_law_bot", "1rwa_bot", "x" * 33])
def test_a_bot_username_telegram_could_not_have_given_is_refused_by_name(name: str) -> None:
    with pytest.raises(ConfigError, match="RWA_BOT_USERNAME' must be a bot's Telegram username"):
        load_settings(environ={"RWA_BOT_USERNAME": name})


def test_office_hours_the_lead_and_routing_come_from_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "lawyers:\n  office_hours: sun-thu 08:30-17:00\n  timezone: Asia/Dubai\n"
        "  holidays: ['2026-12-25']\n  first_response_hours: 1.5\n  lead_lawyer: ada_wong\n"
        "  routing:\n    - when: {jurisdiction: hong_kong}\n      mention: ['@ben_chan']\n",
    )
    lawyers = load_settings(path, environ={}).lawyers
    office = lawyers.office
    assert office is not None and office.describe() == "sun-thu 08:30-17:00, Asia/Dubai"
    assert lawyers.first_response_hours == 1.5
    assert lawyers.lead_lawyer == "@ada_wong"
    [route] = lawyers.routing
    assert (route.when, route.mention) == ((("jurisdiction", "hong_kong"),), ("@ben_chan",))


def test_office_hours_default_to_hong_kong_weekdays_and_always_turns_them_off() -> None:
    office = load_settings(environ={}).lawyers.office
    assert office is not None and office.describe() == "mon-fri 09:00-18:00, Asia/Hong_Kong"
    assert load_settings(environ={"RWA_BOT_OFFICE_HOURS": "always"}).lawyers.office is None
