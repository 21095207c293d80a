"""The article is carried verbatim, split into stable passages, without the page's noise."""

import datetime as dt
import re
from pathlib import Path

from bot.content.loader import Content
from bot.content.renderings import passage_hash
from bot.content.sources import parse_source
from tests.conftest import RAW_PAGE

ARTICLE_START = "Thirteen Ministries and Seven Associations Issue Document"
NOISE_START = "İlgili Okumalar"  # "Related reads": other articles, promotions, comments
NOISE_WORDS = (
    "Cerebras",
    "Hoffman",
    "Anthropic",
    "SpaceX",
    "HTX",
    "Nvidia",
    "Kling",
    "bear market",
    "Satın",
    "wafer",
)


def squash(text: str) -> str:
    return " ".join(text.split())


def raw_regions() -> tuple[str, str]:
    """The page split into the article (with summary and Q&A) and the unrelated rest."""
    page = RAW_PAGE.read_text(encoding="utf-8")
    start, noise = page.index(ARTICLE_START), page.index(NOISE_START)
    return page[start:noise], page[noise:]


def test_front_matter_names_the_article(content: Content) -> None:
    source = content.sources["rwa-path"]
    assert source.title.startswith(ARTICLE_START)
    assert source.title.endswith("Where is the Path for RWA?")
    assert (source.author, source.publisher) == ("Crypto Salad", "MarsBit")
    assert source.published == dt.date(2025, 12, 29)


def test_every_passage_is_verbatim_article_text(content: Content) -> None:
    article, _ = raw_regions()
    for passage in content.passages.values():
        assert squash(passage.text) in squash(article), passage.ref


def test_the_article_is_complete_from_title_to_consultation_offer(content: Content) -> None:
    article, _ = raw_regions()
    texts = [squash(p.text) for p in content.passages.values()]
    skipped = re.compile(
        r"^(marsbit.*tarihinde.*|Özet|Author: .*|İlgili Sorular|[IV]+\. .*|"
        + re.escape(ARTICLE_START)
        + ".*)$"
    )
    for line in filter(None, (squash(x) for x in article.splitlines())):
        line = re.sub(r"^[QA](?=[A-Z])", "", line)  # the page glues Q and A to each Q&A
        if not skipped.match(line):
            assert line in texts, f"missing from the clean copy: {line[:60]}"
    assert texts[-1].startswith("The specific regulatory action was a 'Risk Warning'")
    assert any(
        t.endswith("please feel free to contact us for in-depth consultation.") for t in texts
    )


def test_chinese_fragments_inside_sentences_are_kept(content: Content) -> None:
    assert "bypassing特许经营权 is like licking blood" in content.passages["rwa-path:s1.p2"].text
    assert (
        "full overseas方案,切忌 acting against the wind" in content.passages["rwa-path:s3.p6"].text
    )


def test_passage_ids_are_stable(content: Content) -> None:
    passages = content.passages
    assert passages["rwa-path:s1.p1"].text.startswith('The "Risk Warning" clearly states')
    assert passages["rwa-path:s2.p3"].text.startswith("As long as a project can achieve")
    assert passages["rwa-path:s4.p4"].text.startswith("The current silence")
    assert passages["rwa-path:summary.p1"].kind == "summary"
    assert passages["rwa-path:qa.a1"].kind == "qa"
    assert passages["rwa-path:s3.p4"].section_title.startswith("III. The Theoretical")


def test_nothing_from_the_page_noise_is_indexed(content: Content) -> None:
    _, noise = raw_regions()
    indexed = [p.text for p in content.passages.values()]
    indexed += [q for e in content.entries.values() for qs in e.questions.values() for q in qs]
    indexed += [a for e in content.entries.values() for a in e.answer.values()]
    for text in indexed:
        for word in NOISE_WORDS:
            assert word.lower() not in text.lower(), (word, text[:60])
    noise_sentences = [s for s in re.split(r"(?<=[.!?])\s+", squash(noise)) if len(s) > 40]
    for passage in content.passages.values():
        for sentence in noise_sentences:
            assert sentence not in squash(passage.text)


def test_a_broken_source_is_reported_by_line() -> None:
    text = (
        "---\nid: x\ntitle: T\nauthor: A\npublisher: P\npublished: 2025-01-01\n"
        "language: en\norigin: o\n---\n\n{#s1.p1} before any heading\n"
        "## Untitled\n## {#s1} One\n{#s1.p1} First.\n{#s1.p1} Again.\n{#s2.p1} Elsewhere.\n"
    )
    document, problems = parse_source(Path("x.md"), text)
    assert document is None
    found = {(p.line, p.message.split(" ")[0]) for p in problems}
    assert (11, "passage") in found  # before any section heading
    assert (12, "a") in found  # a heading without a section id
    assert any(p.line == 15 and "used twice" in p.message for p in problems)
    assert any(p.line == 16 and "not in section s1" in p.message for p in problems)


def test_a_second_source_document_is_loaded_beside_the_first(content_copy: Path) -> None:
    from bot.content.loader import load_content

    (content_copy / "sources" / "second.md").write_text(
        "---\nid: second\ntitle: Another article\nauthor: Someone\npublisher: Somewhere\n"
        "published: 2026-01-15\nlanguage: en\norigin: a test\n---\n\n## {#s1} One\n\n"
        "{#s1.p1} A sentence of the second article.\n",
        encoding="utf-8",
    )
    (content_copy / "sources" / "second.zh.md").write_text(
        "---\nid: second\nlanguage: zh-Hans\nlabel: 中文译文，非原文\n---\n\n## {#s1} 一\n\n"
        f"{{#s1.p1 ^{passage_hash('A sentence of the second article.')}}} 第二篇文章的一句话。\n",
        encoding="utf-8",
    )
    loaded = load_content(content_copy)
    assert set(loaded.sources) == {"rwa-path", "second"}
    assert loaded.passages["second:s1.p1"].text == "A sentence of the second article."
