"""The retrieval pipeline on tiny corpora: exact ids, one score scale, typo tolerance."""

import random

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from index import Hit, Retriever, RetrieverDocument, SpellingRepair, detect_language, normalize
from index.synonyms import Thesaurus
from index.tfidf import NGRAM_RANGE, TermMajorTfidf

CORPUS = [
    RetrieverDocument("cats", "the cat sat on the mat"),
    RetrieverDocument("coins", "stablecoins have no legal status in mainland china"),
    RetrieverDocument("hk", "香港 牌照 离岸"),
]


def test_the_best_document_comes_first_with_its_key() -> None:
    retriever = Retriever(CORPUS)
    hits = retriever.search("are stablecoins legal in china", k=2)
    assert [h.key for h in hits] == ["coins", "cats"]
    assert hits[0] == Hit("coins", hits[0].score, CORPUS[1].text)
    assert hits[0].score > 0.5 > 0.1 > hits[1].score


def test_chinese_queries_match_chinese_documents() -> None:
    hits = Retriever(CORPUS).search("香港牌照", k=3)
    assert hits[0].key == "hk"


def test_scores_are_cosines_between_zero_and_one() -> None:
    retriever = Retriever(CORPUS, fuzzy_weight=0.3)
    for query in ["the cat sat on the mat", "zzz", "", "香港"]:
        scores = retriever.scores(query)
        assert scores.shape == (3,)
        assert np.all(scores >= 0.0)
        assert np.all(scores <= 1.0 + 1e-9)
    assert retriever.scores("the cat sat on the mat")[0] == pytest.approx(1.0)


def test_a_query_with_nothing_in_common_finds_nothing() -> None:
    assert Retriever(CORPUS).search("xyzzy qwv", k=3) == []


def test_documents_sharing_a_key_give_one_hit_each_key() -> None:
    retriever = Retriever([*CORPUS, RetrieverDocument("cats", "a cat on a mat")])
    keys = [h.key for h in retriever.search("cat mat", k=5)]
    assert keys.count("cats") == 1


def test_term_major_scores_equal_scikit_learns_own_transform() -> None:
    texts = [d.text for d in CORPUS] + ["legal status of the mat", "中国大陆 稳定币"]
    index = TermMajorTfidf(texts)
    vectorizer = TfidfVectorizer(
        analyzer="char_wb", ngram_range=NGRAM_RANGE, lowercase=False, sublinear_tf=True
    ).fit(texts)
    for query in ["legal mat", "稳定币 中国", "cat cat cat", "nothing like it"]:
        expected = (vectorizer.transform(texts) @ vectorizer.transform([query]).T).toarray()
        np.testing.assert_allclose(index.scores(query), expected.ravel(), atol=1e-5)


def test_top_returns_the_k_best_in_order() -> None:
    index = TermMajorTfidf(["alpha beta", "alpha", "gamma", "alpha beta gamma"])
    top = index.top("alpha beta", 2)
    assert [i for i, _ in top] == [0, 3]
    assert top[0][1] >= top[1][1]


def test_on_a_large_corpus_the_two_phase_top_finds_the_exact_best() -> None:
    rng = random.Random(3)
    vocabulary = [
        "asset",
        "token",
        "china",
        "hong",
        "kong",
        "licence",
        "offshore",
        "bank",
        "fund",
        "risk",
        "warning",
        "stablecoin",
        "prison",
        "factory",
        "mine",
        "rights",
    ]
    documents = [" ".join(rng.choices(vocabulary, k=12)) for _ in range(400)]
    exact = TermMajorTfidf(documents)
    budgeted = TermMajorTfidf(documents, exact_budget=300)
    for query in ["stablecoin prison", "factory mine rights offshore", "hong kong licence"]:
        got, expected = budgeted.top(query, 5), exact.top(query, 5)
        assert [i for i, _ in got] == [i for i, _ in expected]
        assert [s for _, s in got] == pytest.approx([s for _, s in expected], abs=1e-5)


def test_an_index_needs_a_document() -> None:
    with pytest.raises(ValueError, match="at least one document"):
        TermMajorTfidf([])


@pytest.mark.parametrize(
    ("typed", "repaired"),
    [
        ("obstacels", "obstacles"),  # two letters swapped
        ("chnia", "china"),
        ("fundrasing", "fundraising"),  # a letter missing
        ("lawer", "lawyer"),
        ("whatis", "what is"),  # a space missing
        ("divorce", "divorce"),  # unknown and far from everything: kept
        ("rwa", "rwa"),  # short words are never changed
    ],
)
def test_spelling_repair(typed: str, repaired: str) -> None:
    repair = SpellingRepair(
        ["what is rwa", "obstacles in china", "illegal fundraising", "talk to a lawyer"]
    )
    assert repair.repair(typed) == repaired


def test_the_thesaurus_folds_variants_on_whole_words_only() -> None:
    thesaurus = Thesaurus([["prison", "jail", "locked up"], ["stablecoin", "usdt"]], ignored=["吗"])
    assert thesaurus.fold("will i be locked up or go to jail") == "will i be prison or go to prison"
    assert thesaurus.fold("jailbreak") == "jailbreak"
    assert thesaurus.fold("用usdt结算吗") == "用stablecoin结算 "


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("  What IS <b>RWA</b>?  ", "what is rwa ?"),
        ("**bold** _and_ `code`", "bold and code"),
        ("a\u200bb\u202ec", "a b c"),  # zero-width and right-to-left marks
        ("Ｆｕｌｌ　ｗｉｄｔｈ", "full width"),
        ("AT&amp;T &lt;script&gt;", "at&t"),
    ],
)
def test_normalize(text: str, normalized: str) -> None:
    assert normalize(text) == normalized


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Can I do RWA in Hong Kong?", "en"),
        ("在香港能做RWA吗？", "zh"),
        ("What does 特许经营权 mean?", "en"),
        ("香港VASP牌照", "zh"),
        ("👍", "en"),
    ],
)
def test_language_detection(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_language_detection_falls_back_to_the_hint() -> None:
    assert detect_language("???", default="zh") == "zh"


def test_among_many_documents_a_typo_ridden_question_still_finds_its_own() -> None:
    rng = random.Random(5)
    filler = ["bank", "token", "licence", "fund", "asset", "rights", "china", "offshore"]
    documents = [RetrieverDocument(f"d{i}", " ".join(rng.choices(filler, k=6))) for i in range(300)]
    documents.append(RetrieverDocument("target", "can stablecoins anchor asset returns in china"))
    hits = Retriever(documents, fuzzy_weight=0.2).search(
        "can stablecoisn anchr aset retrns in chna"
    )
    assert hits[0].key == "target"
