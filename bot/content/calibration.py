"""Confidence that means probability: a logistic model per kind of reply turns the numbers that
describe a decision (`FEATURES`) into the chance that the reply is right; fitted offline by
`rwa-bot eval --calibrate` and shipped with the content as `calibration.yaml`."""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CALIBRATION_FILE = "calibration.yaml"
FEATURES = (
    "score",  # the best entry's score after penalties (or the passage's, for a passage answer)
    "margin",  # how far it leads the runner-up
    "declined",  # the closest out-of-scope example's score
    "penalty",  # what unknown words, specifics and the like took off
    "semantic",  # the model's best likeness (cosine) to any entry's phrasing
    "semantic_declined",  # ...and to any out-of-scope example
    "specifics",  # 1 when the question asks for a name, number, date or procedure
    "follow_up",  # 1 when the reply was read with the turn before
    "agree",  # 1 when the model alone would pick the same entry as the blend
    "cites_best_passage",  # 1 when the entry cites the passage that best matches the question
    "chinese",  # 1 for a Chinese message
    "length",  # content words (and pairs of Chinese characters, halved) over 20, at most 1
)
# Kinds whose replies rest on fixed phrase lists: one probability each, as measured.
FIXED_KINDS = ("escalate", "smalltalk")


@dataclass(frozen=True)
class KindModel:
    """A logistic model: P(right) = 1 / (1 + exp(-(intercept + weights . features)))."""

    intercept: float
    weights: tuple[float, ...] = ()

    def probability(self, features: Sequence[float]) -> float:
        """The probability that a reply of this kind with these features is right."""
        z = self.intercept + sum(w * x for w, x in zip(self.weights, features, strict=False))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@dataclass(frozen=True)
class Calibration:
    """One model per kind of reply; a kind without one keeps the policy's own score."""

    models: dict[str, KindModel]
    fitted_on: tuple[str, ...] = ()

    def calibrates(self, kind: str) -> bool:
        """Whether replies of `kind` have a fitted model (else their score stands in)."""
        return kind in self.models

    def probability(self, kind: str, features: Sequence[float], fallback: float) -> float:
        """P(right) for a reply of `kind`; `fallback` (clipped to 0..1) when not calibrated."""
        model = self.models.get(kind)
        if model is None:
            return min(1.0, max(0.0, fallback))
        return model.probability(features)


UNCALIBRATED = Calibration({})


def load_calibration(directory: Path) -> Calibration:
    """Read `calibration.yaml` from the content folder; none there means uncalibrated."""
    path = directory / CALIBRATION_FILE
    if not path.is_file():
        return UNCALIBRATED
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("features") != list(FEATURES):
        return UNCALIBRATED  # written for other features: the policy's scores are used
    models = {
        str(kind): KindModel(float(m["intercept"]), tuple(float(w) for w in m.get("weights", ())))
        for kind, m in (data.get("kinds") or {}).items()
    }
    return Calibration(models, tuple(data.get("fitted_on") or ()))


def fit(
    samples: Iterable[tuple[str, Sequence[float], bool]], fitted_on: Sequence[str]
) -> Calibration:
    """Fit one model per kind from (kind, features, right) samples; the fixed kinds get their
    share right (smoothed), the others a regularised logistic regression."""
    by_kind: dict[str, list[tuple[Sequence[float], bool]]] = {}
    for kind, features, right in samples:
        by_kind.setdefault(kind, []).append((features, right))
    models: dict[str, KindModel] = {}
    for kind, rows in sorted(by_kind.items()):
        rights = [r for _, r in rows]
        share = (sum(rights) + 1) / (len(rights) + 2)  # Laplace: never exactly 0 or 1
        if kind in FIXED_KINDS or len(set(rights)) < 2 or len(rows) < 20:
            models[kind] = KindModel(round(math.log(share / (1 - share)), 6))
            continue
        models[kind] = _logistic([list(f) for f, _ in rows], rights)
    return Calibration(models, tuple(fitted_on))


def _logistic(features: list[list[float]], rights: list[bool]) -> KindModel:
    """A logistic regression on standardised features, its scaling folded into the weights
    (so that every feature is regularised alike, whatever its range)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(features)
    scale = [s if s > 0 else 1.0 for s in scaler.scale_]
    model = LogisticRegression(C=1.0, max_iter=5000).fit(scaler.transform(features), rights)
    weights = [float(w) / float(s) for w, s in zip(model.coef_[0], scale, strict=True)]
    intercept = float(model.intercept_[0]) - sum(
        w * float(m) for w, m in zip(weights, scaler.mean_, strict=True)
    )
    return KindModel(round(float(intercept), 6), tuple(round(float(w), 6) for w in weights))


def save_calibration(calibration: Calibration, directory: Path) -> Path:
    """Write `calibration.yaml` into the content folder; return its path."""
    path = directory / CALIBRATION_FILE
    kinds = {
        kind: {"intercept": m.intercept, "weights": list(m.weights)}
        for kind, m in calibration.models.items()
    }
    header = (
        "# Written by `rwa-bot eval --calibrate`: logistic models that turn the policy's\n"
        "# numbers into the probability that a reply is right. Do not edit by hand; refit\n"
        "# after changing the content or the policy.\n"
    )
    body = yaml.safe_dump(
        {"features": list(FEATURES), "fitted_on": list(calibration.fitted_on), "kinds": kinds},
        sort_keys=False,
        allow_unicode=True,
    )
    path.write_text(header + body, encoding="utf-8")
    return path


@dataclass(frozen=True)
class Reliability:
    """How well confidence matched being right, per bin of confidence."""

    bins: tuple[tuple[float, float, int, float, float], ...]  # low, high, count, mean conf, right
    expected_calibration_error: float


def reliability(pairs: Sequence[tuple[float, bool]], bins: int = 10) -> Reliability:
    """Bin (confidence, right) pairs by confidence; the ECE weighs each bin's gap by size."""
    table = []
    error = 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = [(c, r) for c, r in pairs if low <= c < high or (b == bins - 1 and c == 1.0)]
        if not inside:
            continue
        mean = sum(c for c, _ in inside) / len(inside)
        right = sum(1 for _, r in inside if r) / len(inside)
        error += abs(mean - right) * len(inside)
        table.append((low, high, len(inside), mean, right))
    return Reliability(tuple(table), error / len(pairs) if pairs else 0.0)
