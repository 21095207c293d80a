"""The engine on its evaluation sets: accuracy per group, and every citation verbatim."""

from pathlib import Path

import pytest

from bot.answers.answering import Answerer
from bot.answers.evaluation import Case, evaluate, format_report, judge, load_cases
from bot.answers.reply import Citation, Reply
from tests.conftest import EVAL_SETS, RAW_PAGE

GROUPS = {"english", "chinese", "typos", "out_of_scope", "consultation", "smalltalk"}
ARTICLE = RAW_PAGE.read_text(encoding="utf-8").split("İlgili Okumalar")[0]


def squash(text: str) -> str:
    return " ".join(text.split())


def test_there_are_evaluation_sets_of_every_kind() -> None:
    names = {path.name for path in EVAL_SETS}
    assert {"eval.yaml", "holdout.yaml"} <= names
    cases, _, _ = load_cases(Path(next(p for p in EVAL_SETS if p.name == "eval.yaml")))
    assert len(cases) >= 120
    assert {c.group for c in cases} == GROUPS


@pytest.mark.parametrize("path", EVAL_SETS, ids=lambda p: p.name)
def test_every_group_reaches_the_sets_thresholds(engine: Answerer, path: Path) -> None:
    report = evaluate(engine, path)
    assert report.passed, format_report(report)


@pytest.mark.parametrize("path", EVAL_SETS, ids=lambda p: p.name)
def test_every_citation_of_every_answer_is_verbatim_article_text(
    engine: Answerer, path: Path
) -> None:
    cases, _, _ = load_cases(path)
    article = squash(ARTICLE)
    for case in cases:
        reply = engine.reply(case.question)
        assert (reply.kind == "answer") == bool(reply.citations), case.question
        for citation in reply.citations:
            assert squash(citation.text) in article, (case.question, citation.passage_id)


def test_judging_needs_the_right_kind_and_every_phrase_cited() -> None:
    case = Case("q", "english", ("answer",), ("three great mountains",))
    cited = Citation("rwa-path", "s1.p1", "I.", '... akin to "three great   Mountains":')
    right = Reply("q", "answer", "en", "body", 0.9, "x", (cited,))
    assert judge(case, right).kind_ok and judge(case, right).cited_ok
    wrong_passage = Reply(
        "q", "answer", "en", "body", 0.9, "x", (Citation("rwa-path", "s2.p1", "II.", "other text"),)
    )
    assert judge(case, wrong_passage).cited_ok is False
    declined = Reply("q", "out_of_scope", "en", "body", 0.9)
    assert not judge(case, declined).kind_ok
