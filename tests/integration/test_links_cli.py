"""`rwa-bot links`: every FAQ entry's deep link and the lawyer's, for the firm to publish."""

import io
import json
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.content.loader import Content


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), stdin=io.StringIO(""), out=out, err=err)
    return status, out.getvalue(), err.getvalue()


def test_links_lists_every_entry_with_its_questions_and_link_then_the_lawyers(
    content: Content,
) -> None:
    status, out, err = run("links", "--bot", "@rwa_law_bot")
    assert (status, err) == (0, "")
    blocks = out.strip().split("\n\n")
    assert blocks[0] == "Deep links into @rwa_law_bot (https://t.me/rwa_law_bot):"
    assert blocks[1:-1] == [
        f"{entry.id}\n"
        f"  en:   {entry.questions['en'][0]}\n"
        f"  zh:   {entry.questions['zh'][0]}\n"
        f"  link: https://t.me/rwa_law_bot?start={entry.id}"
        for entry in content.entries.values()
    ]
    assert blocks[-1].endswith("\n  link: https://t.me/rwa_law_bot?start=lawyer")


def test_links_json_holds_the_same_for_a_program(content: Content) -> None:
    status, out, _ = run("links", "--bot", "rwa_law_bot", "--json")
    assert status == 0
    found = json.loads(out)
    assert found["bot"] == "rwa_law_bot"
    assert found["lawyer"] == "https://t.me/rwa_law_bot?start=lawyer"
    assert [e["id"] for e in found["entries"]] == list(content.entries)
    first = found["entries"][0]
    assert set(first) == {"id", "question", "link"}
    assert set(first["question"]) == {"en", "zh"}
    assert first["link"] == f"https://t.me/rwa_law_bot?start={first['id']}"


def test_the_username_comes_from_the_config_or_the_environment_and_bot_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("bot_username: file_law_bot\n", encoding="utf-8")
    _, out, _ = run("--config", str(config), "links", "--json")
    assert json.loads(out)["bot"] == "file_law_bot"
    monkeypatch.setenv("RWA_BOT_USERNAME", "@env_law_bot")
    _, out, _ = run("--config", str(config), "links", "--json")
    assert json.loads(out)["bot"] == "env_law_bot"
    _, out, _ = run("--config", str(config), "links", "--json", "--bot", "flag_law_bot")
    assert json.loads(out)["bot"] == "flag_law_bot"


def test_without_a_username_links_says_how_to_give_one() -> None:
    status, out, err = run("links")
    assert (status, out) == (2, "")
    assert "--bot NAME" in err
    assert "bot_username" in err and "RWA_BOT_USERNAME" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_username_telegram_could_not_have_given_is_a_clear_error() -> None:
    status, out, err = run("links", "--bot", "https://t.me/rwa_law_bot")
    assert (status, out) == (2, "")
    assert err.strip() == "rwa-bot: '--bot' must be a bot's Telegram username, such as rwa_law_bot"


def test_links_refuses_content_with_errors(content_copy: Path) -> None:
    (content_copy / "entries" / "zz-broken.yaml").write_text("entries: nope\n", encoding="utf-8")
    status, out, err = run("--content", str(content_copy), "links", "--bot", "rwa_law_bot")
    assert (status, out) == (2, "")
    assert "rwa-bot faq check" in err
