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
