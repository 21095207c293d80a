"""`rwa-bot faq check` finds content mistakes and names the file and line of each."""

import io
from pathlib import Path

import pytest

from bot.cli.main import main

GOOD_ENTRY = """\
source: rwa-path
entries:
  - id: test-entry
    questions:
      en:
        - What does the test entry say?
        - Is this the test entry?
      zh:
        - 测试条目说了什么？
        - 这是测试条目吗？
    answer:
      en: The article says what the test entry says.
      zh: 文章说了测试条目的内容。
    cites: [s1.p1]
    related: [three-obstacles]
    reviewed_at: 2026-11-25
    law_as_of: 2025-12-29
    review_due: 2099-01-01
"""


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), stdin=io.StringIO(""), out=out, err=err)
    return status, out.getvalue(), err.getvalue()


def check(content_dir: Path, entry_text: str) -> tuple[int, str]:
    path = content_dir / "entries" / "zz-test.yaml"
    path.write_text(entry_text, encoding="utf-8")
    status, out, _ = run("--content", str(content_dir), "faq", "check")
    return status, out


def test_the_shipped_content_passes() -> None:
    status, out, _ = run("faq", "check")
    assert status == 0
    assert "ok:" in out
    assert "error" not in out


def test_a_valid_new_entry_passes(content_copy: Path) -> None:
    status, out = check(content_copy, GOOD_ENTRY)
    assert status == 0, out


@pytest.mark.parametrize(
    ("mistake", "broken", "line", "words"),
    [
        (
            "YAML syntax",
            GOOD_ENTRY.replace("    cites: [s1.p1]", "    cites: [s1.p1"),
            15,
            "YAML syntax",
        ),
        (
            "a field missing",
            GOOD_ENTRY.replace("      zh: 文章说了测试条目的内容。\n", ""),
            11,
            "no answer in 'zh'",
        ),
        (
            "a language missing",
            GOOD_ENTRY.replace(
                "      zh:\n        - 测试条目说了什么？\n        - 这是测试条目吗？\n", ""
            ),
            4,
            "needs at least 2 questions in 'zh'",
        ),
        (
            "a citation of no passage",
            GOOD_ENTRY.replace("[s1.p1]", "[s1.p1, s9.p9]"),
            14,
            "cites rwa-path:s9.p9, which does not exist",
        ),
        (
            "a duplicate id",
            GOOD_ENTRY.replace("id: test-entry", "id: three-obstacles"),
            3,
            "entry id 'three-obstacles' is also used",
        ),
        (
            "a duplicate question",
            GOOD_ENTRY.replace("Is this the test entry?", "what does the TEST entry say"),
            7,
            "already stands in entry 'test-entry'",
        ),
        (
            "an overlong answer",
            GOOD_ENTRY.replace("The article says what the test entry says.", "Too long. " * 70),
            12,
            "more than 600",
        ),
        (
            "a related entry that does not exist",
            GOOD_ENTRY.replace("[three-obstacles]", "[no-such-entry]"),
            15,
            "relates to 'no-such-entry'",
        ),
        (
            "a reason that is no other entry",
            GOOD_ENTRY.replace("    reviewed_at:", "    why: test-entry\n    reviewed_at:"),
            16,
            "explained by 'test-entry', which is not another entry",
        ),
        (
            "an unknown field",
            GOOD_ENTRY.replace("    cites:", "    citations: []\n    cites:"),
            14,
            "unknown field 'citations'",
        ),
        (
            "an id too long for a deep link or a button",
            GOOD_ENTRY.replace("id: test-entry", "id: " + "x" * 61),
            3,
            "longer than 60 characters",
        ),
        (
            "an id that is a deep link of its own",
            GOOD_ENTRY.replace("id: test-entry", "id: lawyer"),
            3,
            "'lawyer' is reserved",
        ),
        (
            "an id ending in a line break",
            GOOD_ENTRY.replace("id: test-entry", 'id: "test-entry\\n"'),
            3,
            "has an invalid id",
        ),
        (
            "a date that is not a date",
            GOOD_ENTRY.replace("reviewed_at: 2026-11-25", "reviewed_at: last week"),
            16,
            "'reviewed_at' is not a date",
        ),
    ],
)
def test_each_mistake_is_reported_with_file_line_and_fix(
    content_copy: Path, mistake: str, broken: str, line: int, words: str
) -> None:
    status, out = check(content_copy, broken)
    assert status == 1, mistake
    location = f"{content_copy / 'entries' / 'zz-test.yaml'}:{line}: error:"
    matching = [x for x in out.splitlines() if x.startswith(location)]
    assert matching, f"{mistake}: expected a line starting {location!r} in:\n{out}"
    assert words in matching[0]
    assert "(fix: " in matching[0]


def test_a_review_date_in_the_past_is_a_warning_not_an_error(content_copy: Path) -> None:
    status, out = check(content_copy, GOOD_ENTRY.replace("2099-01-01", "2020-01-01"))
    assert status == 0
    assert f"{content_copy / 'entries' / 'zz-test.yaml'}:18: warning:" in out
    assert "due for review" in out


def test_a_broken_message_file_is_reported(content_copy: Path) -> None:
    path = content_copy / "messages" / "zh.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("clarify:", "clarfy:"), encoding="utf-8"
    )
    status, out, _ = run("--content", str(content_copy), "faq", "check")
    assert status == 1
    assert "message 'clarify' is missing" in out


def test_other_commands_refuse_invalid_content_with_the_same_messages(
    content_copy: Path,
) -> None:
    broken = GOOD_ENTRY.replace("[s1.p1]", "[s9.p9]")
    _, check_out = check(content_copy, broken)
    status, out, err = run("--content", str(content_copy), "ask", "What is RWA?")
    assert status == 2
    assert out == ""
    problem = next(x for x in check_out.splitlines() if "s9.p9" in x)
    assert problem in err
    assert "rwa-bot faq check" in err


def test_a_missing_content_folder_is_a_clear_error(tmp_path: Path) -> None:
    status, _, err = run("--content", str(tmp_path / "nowhere"), "ask", "hi")
    assert status == 2
    assert "the content folder does not exist" in err


def test_a_missing_nested_message_is_reported_with_its_dotted_key(content_copy: Path) -> None:
    path = content_copy / "messages" / "en.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('      hong_kong: "Hong Kong"\n', ""), encoding="utf-8")
    status, out, _ = run("--content", str(content_copy), "faq", "check")
    assert status == 1
    assert "message 'intake.choices.jurisdiction.hong_kong' is missing" in out


def test_a_nested_message_with_other_placeholders_than_in_english_is_reported(
    content_copy: Path,
) -> None:
    path = content_copy / "messages" / "zh.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("工单 #{ticket}。律所", "工单 #{number}。律所"), encoding="utf-8")
    status, out, _ = run("--content", str(content_copy), "faq", "check")
    assert status == 1
    assert "message 'ticket.received' uses other placeholders than in en.yaml" in out


@pytest.mark.parametrize(
    ("section", "key"),
    [("forget", "copies_deleted"), ("forget", "copies_kept"), ("lawyer", "close_not_yours")],
)
def test_every_message_the_desk_sends_is_required(
    content_copy: Path, section: str, key: str
) -> None:
    path = content_copy / "messages" / "en.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(x for x in lines if not x.startswith(f"  {key}:")), encoding="utf-8")
    status, out, _ = run("--content", str(content_copy), "faq", "check")
    assert status == 1
    assert f"message '{section}.{key}' is missing" in out


@pytest.mark.parametrize(
    ("file", "old", "new", "words"),
    [
        ("en", "      both: [both, ", "      both: [hk, both, ", "'hk' also names 'hong_kong'"),
        ("en", "      later: [next year, ", '      later: ["3", next year, ', "'3' is no word"),
        (
            "en",
            "      real_estate: [property, ",
            "      castles: [keep]\n      real_estate: [property, ",
            "'intake.synonyms.asset.castles' names no choice of intake.choices",
        ),
        (
            "zh",
            "      real_estate: [房产, ",
            "      real_estate: [金融, 房产, ",
            "'金融' also names",
        ),
    ],
)
def test_a_choice_synonym_naming_another_choice_a_number_or_no_choice_is_reported_at_its_line(
    content_copy: Path, file: str, old: str, new: str, words: str
) -> None:
    path = content_copy / "messages" / f"{file}.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")
    changed = new.splitlines()[0]
    lines = text.replace(old, new).splitlines()
    line = 1 + next(n for n, x in enumerate(lines) if x.startswith(changed))
    status, out, _ = run("--content", str(content_copy), "faq", "check")
    assert status == 1
    reported = [x for x in out.splitlines() if words in x]
    assert reported, out
    assert reported[0].startswith(f"{path}:{line}: error:")


SNIPPETS = """\
source: rwa-path
snippets:
  - name: welcome
    en: Hello.
    zh: 您好。
  - name: Bad Name
    en: Hello.
    zh: 您好。
  - name: no-chinese
    en: Hello.
  - name: unknown-cite
    en: Hello.
    zh: 您好。
    cites: [s9.p9]
  - name: welcome
    en: Again.
    zh: 又一次。
"""


def test_snippets_are_checked_each_mistake_at_its_line(content_copy: Path) -> None:
    (content_copy / "snippets.yaml").write_text(SNIPPETS, encoding="utf-8")
    status, out, _ = run("--content", str(content_copy), "faq", "check")

    assert status != 0
    assert "snippets.yaml:6: error: snippet name 'Bad Name' is not a usable name" in out
    assert "snippets.yaml:9: error: snippet 'no-chinese' has no usable 'zh' text" in out
    assert "snippets.yaml:11: error: snippet 'unknown-cite' cites unknown passages" in out
    assert "snippets.yaml:15: error: snippet 'welcome' twice" in out


def test_the_shipped_snippets_are_counted() -> None:
    _, out, _ = run("faq", "check")
    assert "4 snippet(s)" in out
