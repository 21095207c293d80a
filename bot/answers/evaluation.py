"""Runs a YAML evaluation set through the engine: accuracy per group, a confusion table of
kinds, and the citation hit rate, checked against the thresholds the file states."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.answers.answering import AnswerEngine
from bot.answers.followups import Conversation
from bot.answers.reply import KINDS, Reply
from bot.content.calibration import reliability


@dataclass(frozen=True)
class Case:
    """One evaluation question and what a right reply looks like."""

    question: str
    group: str
    expect: tuple[str, ...]
    cite_contains: tuple[str, ...] = ()
    earlier: tuple[str, ...] = ()  # the turns before the question, in a multi-turn case


@dataclass
class Outcome:
    """How the engine did on one case."""

    case: Case
    reply: Reply
    kind_ok: bool
    cited_ok: bool | None  # None when the case names no phrases or the kind was wrong


@dataclass
class EvalReport:
    """Everything `rwa-bot eval` prints, and whether the set's thresholds hold."""

    outcomes: list[Outcome]
    group_threshold: float
    citation_threshold: float
    by_group: dict[str, tuple[int, int]] = field(default_factory=dict)  # group: (right, all)

    @property
    def citation_hits(self) -> tuple[int, int]:
        """(cases whose citations contain every phrase, cases checked)."""
        checked = [o for o in self.outcomes if o.cited_ok is not None]
        return sum(1 for o in checked if o.cited_ok), len(checked)

    def group_accuracy(self, group: str) -> float:
        right, total = self.by_group[group]
        return right / total if total else 1.0

    @property
    def passed(self) -> bool:
        """Whether every group and the citation hit rate reach the thresholds."""
        hits, checked = self.citation_hits
        rate = hits / checked if checked else 1.0
        return rate >= self.citation_threshold and all(
            self.group_accuracy(g) >= self.group_threshold for g in self.by_group
        )


class EvalFileError(Exception):
    """An evaluation file that cannot be used; the message says why."""


def load_cases(path: Path) -> tuple[list[Case], float, float]:
    """Return the cases and the (group accuracy, citation hit rate) thresholds of a set.

    File format (tests/eval/eval.yaml): `thresholds: {group_accuracy, citation_hit_rate}` and
    `cases: [{q, group, expect (a kind or a list of kinds), cite_contains (optional phrases)}]`;
    a multi-turn case gives `turns: [first, ..., last]` instead of `q`, and only its last turn
    is judged, read as a conversation (bot/answers/followups.py)."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise EvalFileError(f"{path}: cannot read the evaluation set: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise EvalFileError(f"{path}: expected 'thresholds:' and a list under 'cases:'")
    thresholds = data.get("thresholds") or {}
    cases = []
    for number, raw in enumerate(data["cases"], start=1):
        expect = raw.get("expect") if isinstance(raw, dict) else None
        expected = tuple(expect) if isinstance(expect, list) else (expect,)
        turns = raw.get("turns") if isinstance(raw, dict) else None
        if isinstance(raw, dict) and isinstance(turns, list) and turns:
            raw = {**raw, "q": turns[-1]}
        if (
            not isinstance(raw, dict)
            or not isinstance(raw.get("q"), str)
            or not all(k in KINDS for k in expected)
            or (turns is not None and not all(isinstance(t, str) for t in turns or [None]))
        ):
            raise EvalFileError(
                f"{path}: case {number} needs 'q' (or 'turns') and 'expect' "
                f"(one of {', '.join(KINDS)})"
            )
        cases.append(
            Case(
                raw["q"],
                str(raw.get("group", "all")),
                expected,
                tuple(raw.get("cite_contains") or ()),
                tuple(turns[:-1]) if turns else (),
            )
        )
    return (
        cases,
        float(thresholds.get("group_accuracy", 0.95)),
        float(thresholds.get("citation_hit_rate", 0.95)),
    )


def _squash(text: str) -> str:
    return " ".join(text.lower().split())


def judge(case: Case, reply: Reply) -> Outcome:
    """Compare one reply with what the case expects."""
    kind_ok = reply.kind in case.expect
    cited_ok: bool | None = None
    if case.cite_contains and reply.kind == "answer":
        cited = _squash(" ".join(c.text for c in reply.citations))
        cited_ok = all(_squash(phrase) in cited for phrase in case.cite_contains)
    elif case.cite_contains and "answer" in case.expect:
        cited_ok = False
    return Outcome(case, reply, kind_ok, cited_ok)


def _last_reply(engine: AnswerEngine, case: Case) -> Reply:
    """The reply to the case's question, after its earlier turns in one conversation."""
    if not case.earlier:
        return engine.reply(case.question)
    conversation = Conversation(engine)
    for turn in case.earlier:
        conversation.reply(turn)
    return conversation.reply(case.question)


def evaluate(engine: AnswerEngine, path: Path) -> EvalReport:
    """Run every case of the set at `path` through `engine`."""
    cases, group_threshold, citation_threshold = load_cases(path)
    outcomes = [judge(case, _last_reply(engine, case)) for case in cases]
    report = EvalReport(outcomes, group_threshold, citation_threshold)
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for outcome in outcomes:
        tally[outcome.case.group][0] += outcome.kind_ok and outcome.cited_ok is not False
        tally[outcome.case.group][1] += 1
    report.by_group = {g: (r, n) for g, (r, n) in tally.items()}
    return report


def _right(outcome: Outcome) -> bool:
    return outcome.kind_ok and outcome.cited_ok is not False


def calibration_samples(reports: list[EvalReport]) -> list[tuple[str, tuple[float, ...], bool]]:
    """(kind, features, right) of every reply in the reports, to fit calibration on."""
    return [
        (o.reply.kind, o.reply.features, _right(o)) for report in reports for o in report.outcomes
    ]


def format_reliability(report: EvalReport) -> list[str]:
    """The reliability table: per confidence bin, how many replies and how many were right."""
    pairs = [(o.reply.confidence, _right(o)) for o in report.outcomes]
    table = reliability(pairs)
    out = ["reliability (confidence bins: replies, mean confidence, share right):"]
    for low, high, count, mean, right in table.bins:
        out.append(f"  {low:.1f}-{high:.1f}  {count:>5}  {mean:6.1%}  {right:6.1%}")
    confident = [right for confidence, right in pairs if confidence >= 0.8]
    share = sum(confident) / len(confident) if confident else 1.0
    out.append(f"expected calibration error: {table.expected_calibration_error:.3f}")
    out.append(f"confidence >= 0.8: {sum(confident)}/{len(confident)} right ({share:.1%})")
    return out


def format_report(report: EvalReport, show_failures: bool = True) -> str:
    """Return the report as the text `rwa-bot eval` prints."""
    out = ["accuracy per group (kind right and, for answers, the expected passage cited):"]
    for group, (right, total) in sorted(report.by_group.items()):
        accuracy = report.group_accuracy(group)
        mark = "ok" if accuracy >= report.group_threshold else "BELOW"
        out.append(f"  {group:<14} {right:>4}/{total:<4} {accuracy:7.1%}  {mark}")
    out.append(f"  (threshold {report.group_threshold:.0%} in every group)")
    out.append("")
    out.append("confusion of kinds (rows: expected, columns: got):")
    counts = Counter(
        (o.case.expect[0] if len(o.case.expect) == 1 else "/".join(o.case.expect), o.reply.kind)
        for o in report.outcomes
    )
    rows = sorted({r for r, _ in counts})
    header = "".join(f"{k[:12]:>13}" for k in KINDS)
    out.append(f"  {'':<22}{header}")
    for row in rows:
        cells = "".join(f"{counts.get((row, k), 0):>13}" for k in KINDS)
        out.append(f"  {row[:22]:<22}{cells}")
    hits, checked = report.citation_hits
    rate = hits / checked if checked else 1.0
    mark = "ok" if rate >= report.citation_threshold else "BELOW"
    out.append("")
    out.append(
        f"citation hit rate: {hits}/{checked} = {rate:.1%}  {mark} "
        f"(threshold {report.citation_threshold:.0%})"
    )
    out.append("")
    out.extend(format_reliability(report))
    failures = [o for o in report.outcomes if not o.kind_ok or o.cited_ok is False]
    if show_failures and failures:
        out.append("")
        out.append(f"failures ({len(failures)}):")
        for o in failures:
            why = f"got {o.reply.kind}" + (f" ({o.reply.faq_id})" if o.reply.faq_id else "")
            if o.kind_ok:
                why += f", citations lack {list(o.case.cite_contains)}"
            why += f", confidence {o.reply.confidence:.2f}"
            asked = " → ".join([*o.case.earlier, o.case.question])
            out.append(f"  [{o.case.group}] {asked!r}: expected {'/'.join(o.case.expect)}, {why}")
    out.append("")
    out.append("PASS" if report.passed else "FAIL")
    return "\n".join(out)
