"""Analysis of one message: the entries, passage and out-of-scope examples it matches, on the
retriever's 0-to-1 scale, and the words of it no content file uses."""

from dataclasses import dataclass

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from bot.answers.thresholds import Thresholds
from bot.content.loader import Content
from index import Hit, Retriever, RetrieverDocument, SpellingRepair, normalize
from index.semantic import Embedder, SemanticIndex, UniversalSentenceEncoder
from index.synonyms import Thesaurus
from index.text import Language, cjk_bigrams, words
from index.tfidf import NgramCounts, count_ngrams

OUT_OF_SCOPE_KEY = "~out-of-scope"
# Entries with their scores after penalties, best first.
Scored = list[tuple[Hit, float]]
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | {
    "can",
    "could",
    "would",
    "should",
    "does",
    "did",
    "pls",
    "please",
    "tell",
    "know",
    "want",
    "like",
    "just",
    "really",
    "also",
    "still",
    "now",
    "ok",
}


def content_words(text: str) -> list[str]:
    """Return the English words of `text` that carry meaning (three letters or more, not stop
    words)."""
    return [w for w in words(text) if len(w) >= 3 and w.isalpha() and w not in STOP_WORDS]


def message_size(text: str) -> int:
    """How much `text` says: its content words and pairs of Chinese characters."""
    return len(content_words(text)) + len(cjk_bigrams(text)) // 2


@dataclass(frozen=True)
class Analysis:
    """What the policy found out about a message, for the reply and for diagnostics."""

    language: Language
    text: str  # normalised, typo-repaired, greeting stripped, synonyms folded
    faq: tuple[Hit, ...]
    out_of_scope: float
    passage: Hit | None
    unknown: tuple[str, ...]  # English words and Chinese character pairs no content file uses
    pairs: int = 0  # Chinese character pairs in the message
    english_words: int = 0  # English content words (not stop words) in the message
    declined_words: int = 0  # unknown words that out-of-scope examples use ("dubai", "sfc")
    specifics: bool = False  # asks for a name, number, date or procedure ("who chairs")
    places: frozenset[int] = frozenset()  # the places the question names (Intents.places)
    semantic: float = 0.0  # the model's best cosine with any entry's phrasing
    semantic_declined: float = 0.0  # ...and with any out-of-scope example
    semantic_best: str = ""  # the entry the model alone finds closest

    def penalty(self, thresholds: Thresholds) -> float:
        """How much the unknown words lower the message's scores: a little for each English
        one, and in proportion to their share of all the message's content words and pairs,
        so that a long question with a few unfamiliar names is not declined for them."""
        english = sum(1 for u in self.unknown if u.isascii())
        share = len(self.unknown) / max(self.english_words + self.pairs, len(self.unknown), 1)
        return (
            thresholds.unknown_penalty * english
            + thresholds.unknown_share_penalty * share
            + thresholds.declined_word_penalty * self.declined_words
            + (thresholds.specifics_penalty if self.specifics else 0.0)
        )


@dataclass(frozen=True)
class Vocabulary:
    """The words and Chinese character pairs the content uses, and those only the out-of-scope
    examples use: naming one of these ("Dubai", "SFC", "divorce") says more than an unfamiliar
    word ("genuinely")."""

    words: frozenset[str]
    bigrams: frozenset[str]
    declined: frozenset[str]


def _in_scope_texts(content: Content, thesaurus: Thesaurus) -> list[str]:
    """Every text of the content that is in scope, normalised: the spelling vocabulary."""
    entries = list(content.entries.values())
    return [
        *(normalize(q) for e in entries for qs in e.questions.values() for q in qs),
        *(normalize(a) for e in entries for a in e.answer.values()),
        *(normalize(p.text) for p in content.passages.values()),
        *(normalize(s.title) for s in content.sources.values()),
        *(normalize(f"{s.author} {s.publisher}") for s in content.sources.values()),
        *(normalize(p) for p in content.intents.all_phrases()),
        *(normalize(t) for t in thesaurus.terms()),
    ]


def _vocabulary(
    in_scope: list[str], folded: list[str], declined: list[str], thesaurus: Thesaurus
) -> Vocabulary:
    """The vocabulary of the in-scope texts as written and `folded`, and of `declined`."""
    known_words = frozenset(w for t in folded for w in words(t))
    known_words |= frozenset(w for t in in_scope for w in words(t))
    known_bigrams = frozenset(g for t in folded for g in cjk_bigrams(t))
    known_bigrams |= frozenset(g for t in in_scope for g in cjk_bigrams(t))
    declined_units = {
        u for q in declined for t in (q, thesaurus.fold(q)) for u in (*words(t), *cjk_bigrams(t))
    }
    only_declined = declined_units - known_words - known_bigrams - STOP_WORDS
    return Vocabulary(known_words, known_bigrams, frozenset(only_declined))


class Analyser:
    """The content indexed for retrieval: FAQ questions, whole entries, out-of-scope examples
    and the article's passages, by wording and (with an embedder) by meaning."""

    def __init__(self, content: Content, thresholds: Thresholds, embedder: Embedder | None) -> None:
        """Index `content`; `embedder` defaults to the multilingual USE."""
        self.content = content
        self.thresholds = thresholds
        self._thesaurus = Thesaurus(content.synonyms, content.ignored_words)
        in_scope = _in_scope_texts(content, self._thesaurus)
        declined = [normalize(q) for qs in content.out_of_scope.values() for q in qs]
        self._spelling = SpellingRepair([*in_scope, *declined])
        folded = [self._thesaurus.fold(self._spelling.repair(t)) for t in in_scope]
        self._vocabulary = _vocabulary(in_scope, folded, declined, self._thesaurus)
        questions, profiles, examples = self._documents()
        self._by_question = Retriever([*questions, *examples], fuzzy_weight=thresholds.fuzzy_weight)
        self._by_profile = Retriever([*profiles, *examples])
        # The places each entry's questions and answers name (from their prepared profiles).
        self._places: dict[str, frozenset[int]] = {}
        for profile in profiles:
            named = content.intents.places_in(profile.text)
            self._places[profile.key] = self._places.get(profile.key, frozenset()) | named
        self._semantic = SemanticIndex(
            embedder or UniversalSentenceEncoder(), [*questions, *examples]
        )
        body = [p for p in content.passages.values() if p.kind == "body"]
        self._passages = Retriever([RetrieverDocument(p.ref, self.prepare(p.text)) for p in body])

    def _documents(
        self,
    ) -> tuple[list[RetrieverDocument], list[RetrieverDocument], list[RetrieverDocument]]:
        """The prepared FAQ questions, the entries' profiles (questions and answer, per
        language) and the out-of-scope examples."""
        content, prepare = self.content, self.prepare
        entries = list(content.entries.values())
        questions = [
            RetrieverDocument(e.id, prepare(q))
            for e in entries
            for qs in e.questions.values()
            for q in qs
        ]
        profiles = [
            RetrieverDocument(e.id, prepare(" ".join([*e.questions[lang], e.answer[lang]])))
            for e in entries
            for lang in e.questions
        ]
        examples = [
            RetrieverDocument(OUT_OF_SCOPE_KEY, prepare(q))
            for qs in content.out_of_scope.values()
            for q in qs
        ]
        return questions, profiles, examples

    def repair(self, text: str) -> str:
        """Return normalised `text` with its typos repaired."""
        return self._spelling.repair(text)

    def fold(self, text: str) -> str:
        """Return `text` with synonyms folded to their canonical term and ignored words
        dropped."""
        return self._thesaurus.fold(text)

    def prepare(self, text: str) -> str:
        """Return `text` as it is indexed and matched: normalised, typo-repaired, folded."""
        return self._thesaurus.fold(self._spelling.repair(normalize(text)))

    def places_of(self, entry_id: str) -> frozenset[int]:
        """The places (positions in Intents.places) the entry's questions and answers name."""
        return self._places.get(entry_id, frozenset())

    def unknown_words(self, text: str, content_words: list[str]) -> tuple[str, ...]:
        """Return the `content_words` of `text` (normalised) and its Chinese character pairs
        that no content file ever uses."""
        unknown = [w for w in content_words if w not in self._vocabulary.words]
        grams = cjk_bigrams(text)
        unknown += [g for g in grams if len(g) == 2 and g not in self._vocabulary.bigrams]
        return tuple(unknown)

    def _blend(self, text: str, counts: NgramCounts) -> tuple[dict[str, float], dict[str, float]]:
        """Every entry's score (and the out-of-scope examples', under OUT_OF_SCOPE_KEY) and
        the model's cosine of each with `text`.

        A score blends the wording match (TF-IDF and rapidfuzz) with the model's likeness of
        meaning; an entry that shares too little wording cannot win on meaning alone (its
        score is capped below the answer threshold)."""
        t = self.thresholds
        weight = t.profile_weight
        lexical: dict[str, float] = {}
        for retriever, share in ((self._by_question, 1.0 - weight), (self._by_profile, weight)):
            for hit in retriever.search(text, k=12, counts=counts):
                lexical[hit.key] = lexical.get(hit.key, 0.0) + share * hit.score
        meaning = self._semantic.scores(self._semantic.embed(text))
        blended: dict[str, float] = {}
        for key, cosine in meaning.items():
            likeness = max(0.0, (cosine - t.semantic_floor) / (1.0 - t.semantic_floor))
            words_score = lexical.get(key, 0.0)
            score = (1.0 - t.semantic_weight) * words_score + t.semantic_weight * likeness
            if words_score < t.lexical_floor and key != OUT_OF_SCOPE_KEY:
                score = min(score, t.clarify - 0.001)
            blended[key] = score
        return blended, meaning

    def analyse(self, text: str, language: Language) -> Analysis:
        """Retrieve for a question already prepared (normalised, repaired, folded)."""
        counts = count_ngrams(text)  # analysed once for the three indexes
        blended, meaning = self._blend(text, counts)
        declined = blended.pop(OUT_OF_SCOPE_KEY, 0.0)
        ranked = sorted(blended.items(), key=lambda kv: kv[1], reverse=True)
        faq = tuple(Hit(key, round(score, 6), "") for key, score in ranked if score > 0.0)
        passages = self._passages.search(text, k=1, counts=counts)
        pairs = sum(1 for gram in cjk_bigrams(text) if len(gram) == 2)
        english = content_words(text)
        unknown = self.unknown_words(text, english)
        entries = {k: c for k, c in meaning.items() if k != OUT_OF_SCOPE_KEY}
        return Analysis(
            language,
            text,
            faq,  # every entry with a score: a follow-up may lift one far down
            declined,
            passages[0] if passages else None,
            unknown,
            pairs,
            len(english),
            sum(1 for u in unknown if u in self._vocabulary.declined),
            self.content.intents.asks_for_specifics(text),
            self.content.intents.places_in(text),
            max(entries.values(), default=0.0),
            meaning.get(OUT_OF_SCOPE_KEY, 0.0),
            max(entries, key=meaning.__getitem__, default=""),
        )
