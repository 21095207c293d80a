"""`rwa-bot eval FILE...`: a report per evaluation set; with `--calibrate`, first refit the
confidence model on the sets and write it into the content folder."""

from dataclasses import replace

from bot.answers.answering import Answerer
from bot.answers.evaluation import EvalFileError, calibration_samples, evaluate, format_report
from bot.cli.session import EXIT_FAILED, EXIT_OK, EXIT_UNUSABLE, Session, load_engine
from bot.content.calibration import fit, save_calibration


def command(session: Session) -> int:
    """Print each set's report; exit 0 when every set passes its thresholds."""
    engine = load_engine(session)
    if engine is None:
        return EXIT_UNUSABLE
    files = session.args.files
    try:
        if session.args.calibrate:
            engine = _calibrated(engine, session)
        reports = [evaluate(engine, path) for path in files]
    except EvalFileError as error:
        session.fail(str(error))
        return EXIT_UNUSABLE
    for path, report in zip(files, reports, strict=True):
        if len(files) > 1:
            print(f"== {path}", file=session.out)
        print(format_report(report, show_failures=not session.args.quiet), file=session.out)
    return EXIT_OK if all(report.passed for report in reports) else EXIT_FAILED


def _calibrated(engine: Answerer, session: Session) -> Answerer:
    """Fit the confidence model on the sets, save it, and return the engine that uses it."""
    files = session.args.files
    reports = [evaluate(engine, path) for path in files]
    calibration = fit(calibration_samples(reports), [p.name for p in files])
    path = save_calibration(calibration, session.settings.content_dir)
    print(f"calibration written to {path}", file=session.out)
    return Answerer(replace(engine.content, calibration=calibration))
