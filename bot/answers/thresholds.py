"""The answer policy's cut-offs, weights and penalties: every number the policy compares with."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Thresholds:
    """The policy's cut-offs, tuned on tests/eval/eval.yaml, eval-extra.yaml, holdout.yaml,
    tuning-2026-12.yaml and tuning-2026-12b.yaml (the holdout-2026-12*.yaml sets are never tuned
    on: they measure how the engine does on questions nobody has seen).

    Scores are the retriever's 0-to-1 blend; the penalties lower the best entry's score for
    words of the message that no content file uses ("divorce", "SEC"), before any comparison.
    """

    answer: float = 0.081  # the best entry, after penalties, must score this much to be answered
    margin: float = 0.0  # ...and lead the runner-up by this much, unless it is `confident`
    confident: float = 0.526  # a score this high is answered even when an entry is close behind
    clarify: float = 0.059  # below `answer` but this high: offer the closest entries to pick from
    clarify_spread: float = 0.04  # ...those within this of the best, when there are two or more
    passage: float = 0.381  # no entry fits, but one passage matches this well: quote it
    decline_margin: float = 0.152  # an out-of-scope example within this of the best declines
    unknown_penalty: float = 0.03  # per English word the content never uses
    unknown_share_penalty: float = 0.089  # times the share of unknown words and Chinese pairs
    declined_word_penalty: float = 0.041  # per unknown word that out-of-scope examples use
    chatter: float = 0.30  # besides small talk, a match below this is no question
    fuzzy_weight: float = 0.20  # rapidfuzz's share of an FAQ question's score
    profile_weight: float = 0.60  # share of the whole-entry match (questions and answer)
    semantic_weight: float = 0.4  # the model's share of every entry's and example's score
    semantic_floor: float = 0.3  # a cosine at or below this counts as no likeness at all
    lexical_floor: float = 0.06  # an entry must share this much wording to be answered
    specifics_penalty: float = 0.222  # for asking a name, number, date or procedure
    place_penalty: float = 0.144  # an entry that never names the place the question names
    related_bonus: float = 0.056  # in a follow-up, for the entries the last answer offered
    repeat_penalty: float = 0.113  # in a "why?" follow-up, for the entry that gave the last answer
    same_again_penalty: float = 0.03  # in any other follow-up, for that entry
    why_bonus: float = 0.3  # in a "why?" follow-up, for the entry the last answer names as `why`
    follow_up_decline: float = 0.2  # a short message this much closer to a declined example
    min_answer_probability: float = 0.4  # a calibrated answer less likely right is declined
