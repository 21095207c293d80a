"""Rendering replies for Telegram: well-formed HTML within the length limit, nothing lost when
split, the keyboard each kind of reply gets, its callback data within 64 bytes."""

import html
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest
import yaml
from telegram.constants import MessageLimit

from bot.answers.answering import Answerer
from bot.answers.reply import Citation, Kind, Reply, Suggestion
from bot.content.loader import Content
from bot.telegram.callbacks import AskCallback, parse_callback
from bot.telegram.render import (
    MAX_BUTTON_TEXT,
    ButtonLabels,
    OutgoingMessage,
    button_text,
    labels_for,
    render_reply,
)
from tests.conftest import EVAL_SETS

LABELS = ButtonLabels(
    lawyer="Talk to a lawyer",
    helpful="👍 Helpful",
    not_helpful="👎 Not helpful",
    claim="Take this ticket",
    close="Close",
    forget_yes="Yes, delete everything",
    forget_no="No, keep it",
    end="End the conversation",
)
SOURCE_LINE = "Source: “An article” by Someone, A & B Media, 2025-12-29."


def make_reply(
    kind: Kind = "answer",
    body: str = "Short answer.",
    citations: tuple[Citation, ...] = (),
    suggestions: tuple[Suggestion, ...] = (),
    source_lines: tuple[str, ...] = (),
    disclaimer: str = "",
    heading: str = "",
) -> Reply:
    return Reply(
        question="q",
        kind=kind,
        language="en",
        body=body,
        confidence=0.5,
        citations=citations,
        suggestions=suggestions,
        suggestions_heading=heading,
        source_lines=source_lines,
        disclaimer=disclaimer,
    )


def cite(section: str, text: str, passage_id: str = "s1.p1") -> Citation:
    return Citation("src", passage_id, section, text)


def rows(message: OutgoingMessage) -> list[list[tuple[str, str]]]:
    """The keyboard as (text, callback data) per row."""
    assert message.keyboard is not None
    return [
        [(button.text, str(button.callback_data)) for button in row]
        for row in message.keyboard.inline_keyboard
    ]


def callback_data(messages: list[OutgoingMessage]) -> list[str]:
    found = []
    for message in messages:
        if message.keyboard is not None:
            for row in message.keyboard.inline_keyboard:
                for button in row:
                    assert isinstance(button.callback_data, str)
                    found.append(button.callback_data)
    return found


def telegram_length(text: str) -> int:
    """Telegram counts UTF-16 code units, at least as many as Python's characters."""
    return len(text.encode("utf-16-le")) // 2


def squash(text: str) -> str:
    """Text without whitespace: splitting a message may drop the break it splits at."""
    return "".join(text.split())


class TelegramHtml(HTMLParser):
    """Checks one message against what Telegram's HTML mode accepts from this renderer: only
    b, i and blockquote, without attributes but a blockquote's `expandable`, properly nested and
    closed, and every <, > and & of the text written as an entity."""

    ALLOWED = frozenset({"b", "i", "blockquote"})
    ATTRIBUTES: ClassVar[dict[str, list[tuple[str, None]]]] = {"blockquote": [("expandable", None)]}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []
        self.raw: list[str] = []  # the text nodes as written
        self.text: list[str] = []  # the text nodes as displayed
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.ALLOWED or attrs not in ([], self.ATTRIBUTES.get(tag)):
            self.problems.append(f"tag <{tag}> {attrs}")
        if tag in self.open:
            self.problems.append(f"<{tag}> inside <{tag}>")
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.open}")
        else:
            self.open.pop()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.problems.append(f"self-closing <{tag}/>")

    def handle_data(self, data: str) -> None:
        if any(c in data for c in "<>&"):
            self.problems.append(f"raw markup character in {data[:40]!r}")
        self.raw.append(data)
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in ("lt", "gt", "amp"):
            self.problems.append(f"entity &{name};")
        self.raw.append(f"&{name};")
        self.text.append(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self.problems.append(f"character reference &#{name};")

    def handle_comment(self, data: str) -> None:
        self.problems.append("comment")

    def handle_decl(self, decl: str) -> None:
        self.problems.append("declaration")

    def handle_pi(self, data: str) -> None:
        self.problems.append("processing instruction")

    def unknown_decl(self, data: str) -> None:
        self.problems.append("unknown declaration")


def displayed_text(markup: str) -> str:
    """Check `markup` and return the text Telegram displays for it."""
    parser = TelegramHtml()
    parser.feed(markup)
    parser.close()
    assert not parser.problems, (parser.problems, markup[:200])
    assert not parser.open, f"unclosed {parser.open}"
    raw, text = "".join(parser.raw), "".join(parser.text)
    assert html.unescape(raw) == text
    assert html.escape(text, quote=False) == raw
    return text


def assert_sendable(messages: list[OutgoingMessage]) -> None:
    """Every message fits Telegram's limit, is well-formed, and its plain text is its html's
    text; only the last carries a keyboard."""
    assert messages
    for message in messages:
        for text in (message.html, message.plain):
            assert 0 < telegram_length(text) <= MessageLimit.MAX_TEXT_LENGTH
            assert text.strip()
        assert displayed_text(message.html) == message.plain
    assert all(m.keyboard is None for m in messages[:-1])


def assert_nothing_lost(reply: Reply, messages: list[OutgoingMessage]) -> None:
    """The messages together hold every piece of the reply's text, in order (a section title
    stands once over consecutive passages of that section; the source lines and disclaimer in
    brief when the reply has them; a Chinese rendering before its original)."""
    shown = squash("".join(m.plain for m in messages))
    for citation in reply.citations:
        section = citation.translated_section or citation.section
        assert squash(section) in shown, section[:80]
    position = 0
    quoted = [text for c in reply.citations for text in (c.translation or "", c.text)]
    brief = bool(reply.source_brief or reply.disclaimer_brief)
    frame = (
        [*reply.source_brief, reply.disclaimer_brief]
        if brief
        else [*reply.source_lines, reply.disclaimer]
    )
    texts = [reply.body, *quoted, *frame]
    for piece in (squash(text) for text in texts):
        found = shown.find(piece, position)
        assert found >= 0, piece[:80]
        position = found + len(piece)


# -- the text -----------------------------------------------------------------------------------


def test_an_answer_quotes_passages_under_bold_section_titles_with_the_source_in_italics() -> None:
    reply = make_reply(
        body="Tokens & <assets> are fine.",
        citations=(
            cite("One & Two", "First <passage>.", "s1.p1"),
            cite("One & Two", "Second passage.", "s1.p2"),
            cite("Three", "Third passage.", "s3.p1"),
        ),
        suggestions=(Suggestion("next-step", "What next?"),),
        source_lines=(SOURCE_LINE,),
        disclaimer="Not legal advice.",
        heading="Related questions:",
    )
    [message] = render_reply(reply, LABELS, None)
    assert message.html == (
        "Tokens &amp; &lt;assets&gt; are fine.\n\n"
        "<b>One &amp; Two</b>\n<blockquote expandable>First &lt;passage&gt;.</blockquote>\n\n"
        "<blockquote expandable>Second passage.</blockquote>\n\n"
        "<b>Three</b>\n<blockquote expandable>Third passage.</blockquote>\n\n"
        "<i>Source: “An article” by Someone, A &amp; B Media, 2025-12-29.</i>\n\n"
        "Not legal advice.\n\n"
        "Related questions:"
    )
    assert message.plain == (
        "Tokens & <assets> are fine.\n\n"
        "One & Two\nFirst <passage>.\n\n"
        "Second passage.\n\n"
        "Three\nThird passage.\n\n"
        f"{SOURCE_LINE}\n\n"
        "Not legal advice.\n\n"
        "Related questions:"
    )


def test_a_section_title_is_repeated_only_when_another_section_came_between() -> None:
    reply = make_reply(
        citations=(cite("A", "one"), cite("A", "two"), cite("B", "three"), cite("A", "four"))
    )
    [message] = render_reply(reply, LABELS, None)
    assert message.html.count("<b>A</b>") == 2
    assert message.html.count("<b>B</b>") == 1
    assert message.html.count("<blockquote expandable>") == 4


def test_several_source_lines_stand_in_one_paragraph_each_in_italics() -> None:
    reply = make_reply(source_lines=("Source one.", "Source two."))
    [message] = render_reply(reply, LABELS, None)
    assert message.html == "Short answer.\n\n<i>Source one.</i>\n<i>Source two.</i>"


def test_the_brief_source_line_and_disclaimer_close_the_answer_in_one_paragraph() -> None:
    reply = replace(
        make_reply(source_lines=(SOURCE_LINE,), disclaimer="A long disclaimer."),
        source_brief=("MarsBit, 2025-12-29",),
        disclaimer_brief="Not legal advice.",
    )
    [message] = render_reply(reply, LABELS, None)
    assert message.html == "Short answer.\n\n<i>MarsBit, 2025-12-29</i>\nNot legal advice."


def test_a_chinese_reader_gets_the_labelled_rendering_folded_above_the_folded_original() -> None:
    citation = replace(
        cite("I. Why", "The <original> words."),
        translation="中文的译文。",
        translated_section="一、为什么",
        translation_label="中文译文，非原文",
    )
    reply = replace(make_reply(citations=(citation,)), original_label="英文原文：")
    [message] = render_reply(reply, LABELS, None)
    assert message.html == (
        "Short answer.\n\n"
        "<b>一、为什么</b>\n<i>中文译文，非原文：</i>\n"
        "<blockquote expandable>中文的译文。</blockquote>\n\n"
        "<i>英文原文：</i>\n<blockquote expandable>The &lt;original&gt; words.</blockquote>"
    )


def test_a_clarify_reply_shows_only_its_question_and_puts_the_choices_on_buttons() -> None:
    reply = make_reply(
        kind="clarify",
        body="Did you mean:",
        suggestions=(Suggestion("a", "Question A?"), Suggestion("b", "Question B?")),
    )
    [message] = render_reply(reply, LABELS, 3)
    assert message.html == message.plain == "Did you mean:"


# -- the keyboard -------------------------------------------------------------------------------

SUGGESTIONS = (Suggestion("first-entry", "First?"), Suggestion("second-entry", "Second?"))


def test_an_answer_offers_its_related_questions_then_votes_then_a_lawyer() -> None:
    [message] = render_reply(make_reply(suggestions=SUGGESTIONS), LABELS, 42)
    assert rows(message) == [
        [("First?", "ask:first-entry")],
        [("Second?", "ask:second-entry")],
        [("👍 Helpful", "vote:up:42"), ("👎 Not helpful", "vote:down:42")],
        [("Talk to a lawyer", "lawyer")],
    ]


def test_an_answer_with_no_stored_question_has_no_votes() -> None:
    [message] = render_reply(make_reply(suggestions=SUGGESTIONS), LABELS, None)
    assert rows(message) == [
        [("First?", "ask:first-entry")],
        [("Second?", "ask:second-entry")],
        [("Talk to a lawyer", "lawyer")],
    ]


def test_an_answer_without_suggestions_still_has_votes_and_a_lawyer() -> None:
    [message] = render_reply(make_reply(), LABELS, 1)
    assert rows(message) == [
        [("👍 Helpful", "vote:up:1"), ("👎 Not helpful", "vote:down:1")],
        [("Talk to a lawyer", "lawyer")],
    ]


def test_clarify_offers_the_choices_and_a_lawyer_but_no_votes() -> None:
    [message] = render_reply(make_reply("clarify", suggestions=SUGGESTIONS), LABELS, 42)
    assert rows(message) == [
        [("First?", "ask:first-entry")],
        [("Second?", "ask:second-entry")],
        [("Talk to a lawyer", "lawyer")],
    ]


def test_out_of_scope_offers_a_lawyer() -> None:
    [message] = render_reply(make_reply("out_of_scope"), LABELS, 42)
    assert rows(message) == [[("Talk to a lawyer", "lawyer")]]


def test_escalate_has_no_keyboard() -> None:
    [message] = render_reply(make_reply("escalate", suggestions=SUGGESTIONS), LABELS, 42)
    assert message.keyboard is None


def test_smalltalk_offers_its_suggestions_only() -> None:
    [bare] = render_reply(make_reply("smalltalk"), LABELS, 42)
    assert bare.keyboard is None
    [offered] = render_reply(make_reply("smalltalk", suggestions=SUGGESTIONS), LABELS, 42)
    assert offered.keyboard is not None
    data = [b.callback_data for row in offered.keyboard.inline_keyboard for b in row]
    assert data == [f"ask:{s.faq_id}" for s in SUGGESTIONS]


def test_the_keyboard_sits_under_the_last_message_only() -> None:
    passages = tuple(cite("S", f"Passage {i}. " + "words " * 150, f"s1.p{i}") for i in range(20))
    messages = render_reply(make_reply(citations=passages, suggestions=SUGGESTIONS), LABELS, 1)
    assert len(messages) > 1
    assert [m.keyboard is not None for m in messages] == [False] * (len(messages) - 1) + [True]


def test_long_suggestions_are_cut_to_sixty_characters_with_an_ellipsis() -> None:
    long_en = "Can I tokenize " + "a very large commercial property portfolio " * 3 + "today?"
    long_zh = "在中国大陆" * 20
    reply = make_reply(suggestions=(Suggestion("en", long_en), Suggestion("zh", long_zh)))
    [message] = render_reply(reply, LABELS, None)
    texts = [text for row in rows(message)[:2] for text, _ in row]
    for text in texts:
        assert len(text) <= MAX_BUTTON_TEXT
        assert text.endswith("…")
    assert texts[0].startswith("Can I tokenize a very large")
    assert not texts[0].removesuffix("…").endswith(" ")
    assert button_text("  Short\n question?  ") == "Short question?"


def test_a_suggestion_whose_callback_would_exceed_64_bytes_is_left_out() -> None:
    fits = "x" * 60  # "ask:" + 60 = 64 bytes
    too_long = "y" * 61
    reply = make_reply(
        "clarify",
        suggestions=(Suggestion(fits, "Fits?"), Suggestion(too_long, "Too long?")),
    )
    [message] = render_reply(reply, LABELS, None)
    assert rows(message) == [[("Fits?", f"ask:{fits}")], [("Talk to a lawyer", "lawyer")]]


def test_a_suggestion_that_would_not_read_back_is_left_out() -> None:
    reply = make_reply(
        "clarify",
        suggestions=(
            Suggestion("has:colon", "A?"),
            Suggestion("Upper", "B?"),
            Suggestion("c", " "),
        ),
    )
    [message] = render_reply(reply, LABELS, None)
    assert rows(message) == [[("Talk to a lawyer", "lawyer")]]


def test_a_negative_question_id_gets_no_votes() -> None:
    [message] = render_reply(make_reply(), LABELS, -1)
    assert rows(message) == [[("Talk to a lawyer", "lawyer")]]


def test_every_shipped_faq_entry_fits_in_a_button(content: Content) -> None:
    for entry_id in content.entries:
        callback = AskCallback(entry_id)
        assert len(callback.data.encode("utf-8")) <= 64, entry_id
        assert parse_callback(callback.data) == callback


def eval_questions() -> list[str]:
    questions = []
    for path in EVAL_SETS:
        cases = yaml.safe_load(Path(path).read_text(encoding="utf-8"))["cases"]
        questions += [str(case.get("q") or case["turns"][-1]) for case in cases]
    return questions


def test_every_button_the_engine_causes_reads_back_within_64_bytes(
    engine: Answerer, content: Content
) -> None:
    questions = eval_questions()
    assert len(questions) > 150
    biggest_id = 2**31 - 1  # the largest id the questions table's 32-bit key holds
    for question in questions:
        reply = engine.reply(question)
        labels = labels_for(content.messages[reply.language], reply.language)
        messages = render_reply(reply, labels, biggest_id)
        assert_sendable(messages)
        assert_nothing_lost(reply, messages)
        data = callback_data(messages)
        for item in data:
            assert len(item.encode("utf-8")) <= 64, (question, item)
            assert parse_callback(item) is not None, (question, item)
        if reply.kind == "answer":
            assert f"vote:up:{biggest_id}" in data, question
        asks = [d for d in data if d.startswith("ask:")]
        assert asks == [f"ask:{s.faq_id}" for s in reply.suggestions], question  # none skipped


# -- splitting ----------------------------------------------------------------------------------


def test_a_long_reply_is_split_between_passages_never_inside_one() -> None:
    passages = tuple(
        cite("Section", f"Passage {i}: " + " ".join(["tokenized assets"] * 30), f"s1.p{i}")
        for i in range(25)
    )
    reply = make_reply(citations=passages, source_lines=(SOURCE_LINE,), disclaimer="Careful.")
    messages = render_reply(reply, LABELS, None)
    assert len(messages) > 1
    assert_sendable(messages)
    for passage in passages:
        assert sum(passage.text in m.plain for m in messages) == 1, passage.passage_id
    assert all(m.html.endswith("</blockquote>") for m in messages[:-1])


def test_a_paragraph_longer_than_a_message_is_split_at_line_breaks() -> None:
    lines = [f"Line {i:03} " + "x" * 60 for i in range(200)]
    reply = make_reply(body="\n".join(lines))
    messages = render_reply(reply, LABELS, None)
    assert len(messages) > 1
    assert_sendable(messages)
    assert [line for m in messages for line in m.plain.split("\n")] == lines


def test_a_paragraph_without_line_breaks_is_split_between_words() -> None:
    words = [f"word{i}" for i in range(2000)]
    messages = render_reply(make_reply(body=" ".join(words)), LABELS, None)
    assert len(messages) > 1
    assert_sendable(messages)
    assert [w for m in messages for w in m.plain.split(" ")] == words


def test_text_without_spaces_is_split_anywhere_and_nothing_is_lost() -> None:
    body = "&<>" * 4000  # 12,000 characters, 52,000 once escaped
    messages = render_reply(make_reply(body=body), LABELS, None)
    assert_sendable(messages)
    assert "".join(m.plain for m in messages) == body


def test_a_passage_split_in_pieces_is_quoted_in_every_piece_and_keeps_its_title() -> None:
    text = "Quoted words " * 1000
    reply = make_reply(body="Intro.", citations=(cite("Long section", text),))
    messages = render_reply(reply, LABELS, None)
    assert_sendable(messages)
    quoted = [m for m in messages if "<blockquote expandable>" in m.html]
    assert len(quoted) >= 3
    assert quoted[0].html.startswith("<b>Long section</b>\n<blockquote expandable>Quoted words")
    assert all(m.html.startswith("<blockquote expandable>") for m in quoted[1:])
    assert all(m.html.endswith("</blockquote>") for m in quoted)
    assert squash("".join(m.plain for m in quoted)) == squash("Long section" + text)


def test_characters_beyond_the_basic_plane_count_twice() -> None:
    body = "𝕀" * 5000  # 5,000 characters but 10,000 UTF-16 units, as Telegram counts
    messages = render_reply(make_reply(body=body), LABELS, None)
    assert len(messages) == 3
    assert_sendable(messages)


def test_an_empty_reply_gives_no_message() -> None:
    assert render_reply(make_reply("escalate", body=" \n\n "), LABELS, None) == []


# -- hostile text -------------------------------------------------------------------------------

HOSTILE = {
    "tags": "<b>bold</b> <i>it</i> </blockquote><blockquote> <a href='x'>link</a> <pre>x",
    "script": "<script>alert('x')</script><img src=x onerror=alert(1)>",
    "ampersands": "A & B &amp; &lt; &#60; &#x3C; &nbsp; & ; &",
    "markdown": "*_[]()~`>#+-=|{}.! **bold** _it_ [link](http://example.com) `code`",
    "zero-width and right-to-left": "RWA\u200b\u200d\ufeff is\u202e legal\u2066 in China?",
    "10,000 characters": "RWA & <tokens> " * 667,
    "10,000 characters, no spaces": "&" * 10_000,
    "10,000 characters, many lines": "<line> &\n" * 1250,
    "blank lines": "one\n\n\n\ntwo\n \n\nthree",
    "astral": "𝕀𝕤 ℝ𝕎𝔸 𝕝𝕖𝕘𝕒𝕝? 🤔" * 700,
}


def hostile_reply(kind: Kind, text: str, *, chinese: bool = False) -> Reply:
    if chinese:
        reply = hostile_reply(kind, text)
        return replace(
            reply,
            citations=tuple(
                replace(
                    c,
                    translation=f"译文 {text}",
                    translated_section=f"章节 {text}",
                    translation_label=f"标签 {text}",
                )
                for c in reply.citations
            ),
            source_brief=(f"Brief {text}",),
            disclaimer_brief=f"Short disclaimer {text}",
            original_label=f"原文 {text}",
        )
    return make_reply(
        kind,
        body=f"Body {text}",
        citations=(
            cite(f"Section {text}", f"Passage {text}", "s1.p1"),
            cite(f"Section {text}", f"Second {text}", "s1.p2"),
            cite(f"Other {text}", f"Third {text}", "s2.p1"),
        ),
        suggestions=(Suggestion("some-entry", f"Suggested {text}"),),
        source_lines=(f"Source {text}", SOURCE_LINE),
        disclaimer=f"Disclaimer {text}",
        heading=f"Related {text}",
    )


@pytest.mark.parametrize("chinese", [False, True], ids=["english", "chinese"])
@pytest.mark.parametrize("kind", ["answer", "clarify", "out_of_scope", "escalate", "smalltalk"])
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_text_renders_well_formed_within_the_limit_and_complete(
    name: str, kind: Kind, chinese: bool
) -> None:
    reply = hostile_reply(kind, HOSTILE[name], chinese=chinese)
    messages = render_reply(reply, LABELS, 7)
    assert_sendable(messages)
    assert_nothing_lost(reply, messages)
    for item in callback_data(messages):
        assert len(item.encode("utf-8")) <= 64
    for message in messages:
        if message.keyboard is not None:
            for row in message.keyboard.inline_keyboard:
                assert all(0 < len(button.text) <= MAX_BUTTON_TEXT for button in row)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_the_engine_replies_to_hostile_messages_are_sendable(
    engine: Answerer, content: Content, name: str
) -> None:
    questions = ("What are the three obstacles?", "三大法律障碍是什么？", "三大法律障礙是什麼？")
    for message in (HOSTILE[name], *(f"{HOSTILE[name]} {q}" for q in questions)):
        reply = engine.reply(message)
        labels = labels_for(content.messages[reply.language], reply.language)
        messages = render_reply(reply, labels, 1)
        assert_sendable(messages)
        assert_nothing_lost(reply, messages)


# -- button labels ------------------------------------------------------------------------------


def test_button_labels_come_from_the_messages_of_each_language(content: Content) -> None:
    assert labels_for(content.messages["en"], "en") == LABELS
    assert labels_for(content.messages["zh"], "zh") == ButtonLabels(
        lawyer="联系律师",
        helpful="👍 有帮助",
        not_helpful="👎 没帮助",
        claim="接手此工单",
        close="结束",
        forget_yes="是，全部删除",
        forget_no="不，保留",
        end="结束对话",
    )


@pytest.mark.parametrize(
    "messages",
    [{}, {"buttons": "no"}, {"buttons": {"lawyer": "L", "helpful": "H"}}],
)
def test_missing_button_labels_name_the_file_and_key(messages: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"messages/zh\.yaml .*'buttons\.\w+'"):
        labels_for(messages, "zh")
