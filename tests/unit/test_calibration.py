"""Confidence as probability: fitted per kind of reply, saved with the content, measured."""

from pathlib import Path

import pytest
import yaml

from bot.cli.main import main
from bot.content.calibration import (
    CALIBRATION_FILE,
    FEATURES,
    UNCALIBRATED,
    Calibration,
    KindModel,
    fit,
    load_calibration,
    reliability,
    save_calibration,
)
from bot.content.loader import load_content


def _samples() -> list[tuple[str, tuple[float, ...], bool]]:
    """Answers are right when their score is high; requests for a lawyer nearly always."""
    samples = []
    for i in range(100):
        score = i / 100
        features = (score, 0.1, 0.0, 0.0, 0.5, 0.3, 0.0, 0.0)
        samples.append(("answer", features, score > 0.3 + (i % 7) / 20))
    samples += [("escalate", (), True)] * 19 + [("escalate", (), False)]
    return samples


def test_a_fitted_answer_model_rises_with_the_score() -> None:
    calibration = fit(_samples(), ["a.yaml"])
    low = calibration.probability("answer", (0.1, 0.1, 0, 0, 0.5, 0.3, 0, 0), 0.0)
    high = calibration.probability("answer", (0.9, 0.1, 0, 0, 0.5, 0.3, 0, 0), 0.0)
    assert low < 0.3 < 0.7 < high


def test_a_fixed_kind_gets_its_smoothed_share_right() -> None:
    calibration = fit(_samples(), ["a.yaml"])
    assert calibration.probability("escalate", (), 1.0) == pytest.approx(20 / 22)


def test_an_uncalibrated_kind_keeps_the_policys_score_clipped() -> None:
    assert UNCALIBRATED.probability("answer", (), 1.7) == 1.0
    assert Calibration({"escalate": KindModel(0.0)}).probability("clarify", (), 0.25) == 0.25


def test_calibration_is_saved_with_the_content_and_read_back(tmp_path: Path) -> None:
    calibration = fit(_samples(), ["a.yaml", "b.yaml"])
    path = save_calibration(calibration, tmp_path)
    assert path == tmp_path / CALIBRATION_FILE
    assert load_calibration(tmp_path) == calibration


def test_a_calibration_for_other_features_is_ignored(tmp_path: Path) -> None:
    (tmp_path / CALIBRATION_FILE).write_text(
        yaml.safe_dump({"features": ["old"], "kinds": {"answer": {"intercept": 9}}})
    )
    assert load_calibration(tmp_path) == UNCALIBRATED
    assert FEATURES[0] == "score"


def test_the_reliability_table_and_expected_calibration_error() -> None:
    table = reliability([(0.95, True), (0.95, True), (0.15, False), (0.15, True)])
    assert [(low, count) for low, _, count, _, _ in table.bins] == [(0.1, 2), (0.9, 2)]
    # bin 0.1: confidence 0.15, right 0.5 (gap 0.35); bin 0.9: 0.95 against 1.0 (gap 0.05)
    assert table.expected_calibration_error == pytest.approx((0.35 * 2 + 0.05 * 2) / 4)


@pytest.mark.slow
def test_eval_calibrate_writes_the_model_and_reports_reliability(
    content_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (content_copy / CALIBRATION_FILE).unlink(missing_ok=True)
    eval_set = Path(__file__).parent.parent / "eval" / "eval-extra.yaml"
    main(["--content", str(content_copy), "eval", "--calibrate", "--quiet", str(eval_set)])
    out = capsys.readouterr().out
    assert f"calibration written to {content_copy / CALIBRATION_FILE}" in out
    assert "expected calibration error" in out
    fitted = load_content(content_copy).calibration
    assert fitted.fitted_on == ("eval-extra.yaml",)
    assert {"answer", "out_of_scope", "escalate", "smalltalk"} <= set(fitted.models)
