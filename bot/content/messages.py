"""Reads faq/messages/<language>.yaml, the sentences the bot says, checking that each required
message is there in every language with the same placeholders; and derives the Traditional
Chinese renderings of the Chinese messages."""

import string
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.content.choice_synonyms import check_choice_synonyms
from bot.content.faq import LANGUAGES
from bot.content.problems import Problem
from bot.content.yaml_checks import load_yaml
from bot.content.yaml_lines import LocatedYaml
from index.script import Script, Variant, to_traditional

# Traditional Chinese renderings of the Chinese messages, by region, made when the content is
# read (OpenCC): "zh-hk" and "zh-tw" are keys of Content.messages beside "en" and "zh".
TRADITIONAL_LOCALES: dict[str, Variant] = {"zh-hk": "hk", "zh-tw": "tw"}


def locale_for(language: str, script: Script | None, variant: Variant) -> str:
    """The key of Content.messages for a reader: "en", "zh", or "zh-hk"/"zh-tw" for one who
    reads Traditional characters."""
    return f"zh-{variant}" if language == "zh" and script == "Hant" else language


def _traditional(value: Any, variant: Variant) -> Any:
    if isinstance(value, str):
        return to_traditional(value, variant)
    if isinstance(value, dict):
        return {key: _traditional(item, variant) for key, item in value.items()}
    if isinstance(value, list):
        return [_traditional(item, variant) for item in value]
    return value


def with_traditional(messages: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The messages with their Traditional renderings added (placeholders are ASCII: kept)."""
    if "zh" not in messages:
        return messages
    derived = {
        locale: _traditional(messages["zh"], variant)
        for locale, variant in TRADITIONAL_LOCALES.items()
    }
    return {**messages, **derived}


def read_messages(
    directory: Path, required: Sequence[str], problems: list[Problem]
) -> dict[str, dict[str, Any]]:
    """Return the messages under `directory`/messages by language; each `required` key (dotted,
    "smalltalk.thanks") must be a sentence in every language, with the same placeholders."""
    messages: dict[str, dict[str, Any]] = {}
    files: dict[str, tuple[Path, LocatedYaml]] = {}
    for lang in LANGUAGES:
        path = directory / "messages" / f"{lang}.yaml"
        if not path.is_file():
            problems.append(
                Problem(
                    path,
                    1,
                    f"the messages for '{lang}' are missing",
                    f"create messages/{lang}.yaml like messages/en.yaml",
                )
            )
            continue
        doc = load_yaml(path, problems)
        if doc is None:
            continue
        data = doc.data if isinstance(doc.data, dict) else {}
        for key in required:
            _check_message(doc, path, data, key, problems)
        messages[lang] = data
        files[lang] = (path, doc)
    check_choice_synonyms(files, problems)
    if "en" in messages and "zh" in messages:
        zh_path = directory / "messages" / "zh.yaml"
        _check_same_placeholders(messages["en"], messages["zh"], zh_path, required, problems)
    return messages


def _check_message(
    doc: LocatedYaml, path: Path, data: dict[str, Any], key: str, problems: list[Problem]
) -> None:
    """Problems with message `key` of one file: missing, empty or a broken placeholder."""
    value = _lookup(data, key)
    if not isinstance(value, str) or not value.strip():
        problems.append(
            Problem(
                path,
                doc.line(*key.split(".")),
                f"message '{key}' is missing or empty",
                f"add '{key}:' with the sentence in this language",
            )
        )
        return
    try:
        value.format_map(_AnyFields())
    except (ValueError, IndexError) as error:
        problems.append(
            Problem(
                path,
                doc.line(*key.split(".")),
                f"message '{key}' has a broken placeholder: {error}",
                "write placeholders as {name}; double a literal brace",
            )
        )


def _check_same_placeholders(
    en: dict[str, Any],
    zh: dict[str, Any],
    zh_path: Path,
    required: Sequence[str],
    problems: list[Problem],
) -> None:
    """Problems with the required messages whose placeholders differ between the languages."""
    for key in required:
        en_text, zh_text = _lookup(en, key), _lookup(zh, key)
        if (
            isinstance(en_text, str)
            and isinstance(zh_text, str)
            and _placeholders(en_text) != _placeholders(zh_text)
        ):
            problems.append(
                Problem(
                    zh_path,
                    1,
                    f"message '{key}' uses other placeholders than in en.yaml",
                    "use the same {names} in both languages",
                )
            )


def _lookup(messages: dict[str, Any], key: str) -> Any:
    """The value at dotted `key` ("smalltalk.thanks") in parsed messages, or None."""
    value: Any = messages
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


class _AnyFields(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return key


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}
