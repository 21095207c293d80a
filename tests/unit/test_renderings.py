"""Chinese renderings of the source: every passage has one, labelled as a translation and never
cited as the source; a rendering whose original changed since is flagged and not shown."""

import re
from pathlib import Path

import pytest

from bot.answers.answering import Answerer
from bot.answers.reply import render_plain, to_json
from bot.content.loader import Content, read_content
from bot.content.renderings import passage_hash

CJK = re.compile(r"[\u4e00-\u9fff]")


def rendering_file(content_dir: Path) -> Path:
    return content_dir / "sources" / "rwa-path.zh.md"


def replace_line(path: Path, starts: str, new: str | None) -> int:
    """Replace (or, with None, drop) the line starting with `starts`; return its number."""
    lines = path.read_text(encoding="utf-8").split("\n")
    number = next(i for i, line in enumerate(lines) if line.startswith(starts))
    if new is None:
        del lines[number]
    else:
        lines[number] = new
    path.write_text("\n".join(lines), encoding="utf-8")
    return number + 1


def test_every_shipped_passage_has_a_current_chinese_rendering(content: Content) -> None:
    rendering = content.renderings["rwa-path"]
    assert rendering.label == "中文译文，非原文"
    for ref, passage in content.passages.items():
        found = content.rendered(ref)
        assert found is not None, ref
        _, rendered = found
        assert CJK.search(rendered.text), ref
        assert rendered.text != passage.text
        assert CJK.search(rendered.section), ref


def test_a_source_without_a_rendering_is_an_error_naming_the_source(content_copy: Path) -> None:
    rendering_file(content_copy).unlink()
    content, problems = read_content(content_copy)
    assert content is None
    [problem] = [p for p in problems if p.severity == "error"]
    assert problem.file.name == "rwa-path.md"
    assert "no Chinese rendering" in problem.message
    assert "rwa-path.zh.md" in problem.fix


def test_a_passage_without_a_rendering_is_an_error_in_the_rendering_file(
    content_copy: Path,
) -> None:
    replace_line(rendering_file(content_copy), "{#s2.p1 ", None)
    content, problems = read_content(content_copy)
    assert content is None
    [problem] = [p for p in problems if p.severity == "error"]
    assert problem.file.name == "rwa-path.zh.md"
    assert "s2.p1 has no Chinese rendering" in problem.message
    assert "{#s2.p1 ^" in problem.fix  # the line to write, with the hash of the original


def test_an_original_changed_since_its_rendering_is_flagged_and_the_rendering_not_shown(
    content_copy: Path,
) -> None:
    source = content_copy / "sources" / "rwa-path.md"
    text = source.read_text(encoding="utf-8")
    source.write_text(text.replace("{#s4.p4} The current silence", "{#s4.p4} The silence"), "utf-8")
    content, problems = read_content(content_copy)
    assert content is not None  # a warning: the bot still serves, with the original alone
    [problem] = [p for p in problems if "changed since" in p.message]
    assert problem.severity == "warning"
    assert problem.file.name == "rwa-path.zh.md"
    lines = rendering_file(content_copy).read_text(encoding="utf-8").split("\n")
    assert lines[problem.line - 1].startswith("{#s4.p4 ^")
    now = passage_hash(content.passages["rwa-path:s4.p4"].text)
    assert f"^{now}" in problem.fix
    assert content.rendered("rwa-path:s4.p4") is None
    assert content.rendered("rwa-path:s4.p3") is not None


def test_a_rendering_of_a_passage_the_source_lacks_is_a_warning(content_copy: Path) -> None:
    path = rendering_file(content_copy)
    with path.open("a", encoding="utf-8") as file:
        file.write("\n{#s4.p9 ^00000000} 多出来的一段。\n")
    content, problems = read_content(content_copy)
    assert content is not None
    assert any("no passage s4.p9" in p.message and p.severity == "warning" for p in problems)


@pytest.mark.parametrize(
    ("line", "words"),
    [("{#s1.p1} 没有哈希。", "changed since"), ("junk line", "neither a heading")],
)
def test_malformed_rendering_lines_are_reported_by_line(
    content_copy: Path, line: str, words: str
) -> None:
    number = replace_line(rendering_file(content_copy), "{#s1.p1 ", line)
    _, problems = read_content(content_copy)
    assert any(p.line == number and words in p.message for p in problems), problems


def test_a_chinese_answer_carries_the_rendering_above_the_verbatim_original(
    engine: Answerer, content: Content
) -> None:
    reply = engine.reply("三大法律障碍是什么？")
    assert reply.kind == "answer" and reply.citations
    data = to_json(reply)
    for cited, citation in zip(data["citations"], reply.citations, strict=True):
        passage = content.passages[f"{citation.source}:{citation.passage_id}"]
        assert cited["text"] == passage.text  # the original, verbatim
        assert cited["translation"] == content.rendered(passage.ref)[1].text  # type: ignore[index]
    text = data["text"]
    first = reply.citations[0]
    assert "中文译文，非原文" in text
    assert text.index(first.translation or "") < text.index(first.text)


def test_a_traditional_reader_gets_the_rendering_in_traditional_characters(
    engine: Answerer,
) -> None:
    reply = engine.reply("三大法律障礙是什麼？")
    assert reply.script == "Hant" and reply.citations
    citation = reply.citations[0]
    assert citation.translation_label == "中文譯文，非原文"
    assert "礙" in "".join(c.translation or "" for c in reply.citations)
    assert "障碍" not in "".join(c.translation or "" for c in reply.citations)


def test_an_english_answer_has_no_rendering(engine: Answerer) -> None:
    reply = engine.reply("What are the three legal obstacles?")
    assert reply.citations
    assert all(c.translation is None for c in reply.citations)
    assert all(c["translation"] is None for c in to_json(reply)["citations"])
    assert "中文" not in render_plain(reply)
