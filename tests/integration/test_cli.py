"""The `rwa-bot` command: ask (text and the JSON contract), chat, eval, settings."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.answers.answering import Answerer
from bot.cli.main import main
from tests.conftest import REPO

KEYS = {
    "question",
    "kind",
    "language",
    "script",
    "text",
    "faq_id",
    "confidence",
    "citations",
    "suggestions",
    "context_used",
}


def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), stdin=io.StringIO(stdin), out=out, err=err)
    return status, out.getvalue(), err.getvalue()


def test_ask_prints_the_answer_with_its_quoted_passages_and_source() -> None:
    status, out, _ = run("ask", "Has", "any", "RWA", "project", "been", "approved", "in", "China?")
    assert status == 0
    assert '  > The "Risk Warning" clearly states' in out
    assert "Source: “Thirteen Ministries" in out
    assert "not legal advice" in out


def test_ask_json_follows_the_contract() -> None:
    status, out, _ = run("ask", "--json", "在国内做RWA会坐牢吗？")
    assert status == 0
    [line] = out.splitlines()
    reply = json.loads(line)
    assert set(reply) == KEYS
    assert reply["question"] == "在国内做RWA会坐牢吗？"
    assert reply["kind"] == "answer"
    assert reply["language"] == "zh"
    assert isinstance(reply["faq_id"], str)
    assert 0.0 <= reply["confidence"] <= 1.0
    assert reply["citations"]
    for citation in reply["citations"]:
        assert set(citation) == {"source", "passage_id", "section", "text", "translation"}
        assert citation["source"] == "rwa-path"
        assert citation["text"] in reply["text"]
    for suggestion in reply["suggestions"]:
        assert set(suggestion) == {"faq_id", "question"}


def test_ask_reads_one_question_per_line_and_answers_each_in_order() -> None:
    questions = ["hello", "What is RWA?", "", "How do I file for divorce?", "talk to a lawyer"]
    status, out, _ = run("ask", "--json", stdin="\n".join(questions) + "\n")
    assert status == 0
    replies = [json.loads(line) for line in out.splitlines()]
    assert [r["question"] for r in replies] == questions
    assert [r["kind"] for r in replies] == [
        "smalltalk",
        "answer",
        "smalltalk",
        "out_of_scope",
        "escalate",
    ]
    assert all(
        r["faq_id"] is None and r["citations"] == [] for r in replies if r["kind"] != "answer"
    )


def test_ask_in_text_mode_marks_each_question_of_a_batch() -> None:
    status, out, _ = run("ask", stdin="What is RWA?\nhi\n")
    assert status == 0
    assert out.startswith("» What is RWA?\n")
    assert "\n» hi\n" in out


def test_chat_holds_a_conversation_and_a_number_picks_a_suggestion() -> None:
    status, out, _ = run("chat", stdin="What are the three obstacles?\n1\n我想找律师\nquit\n")
    assert status == 0
    assert out.startswith("Hello!")
    assert "  1. " in out  # suggestions are numbered
    assert "» " in out  # the picked suggestion is echoed, then answered
    assert "律师" in out  # asking for a lawyer starts the intake, in Chinese
    assert out.rstrip().endswith("Goodbye.")


def test_chat_files_a_ticket_into_the_queue_after_the_same_intake_as_telegram() -> None:
    lines = [
        "What are the three obstacles?",
        "/lawyer",
        "We want to tokenize a warehouse in Shenzhen.",
        "2",  # Hong Kong
        "real estate",  # a choice by its label
        "1",
        "1",  # e-mail: the terminal has no Telegram chat to answer in
        "not-an-address",
        "me@example.com",
        "yes",
        "quit",
    ]
    status, out, _ = run("chat", stdin="\n".join(lines) + "\n")
    assert status == 0
    assert "Please type it like name@example.com" in out  # a clear re-ask
    assert "Saved: ticket #1" in out
    status, listed, _ = run("queue", "list", "--json")
    [ticket] = json.loads(listed)
    assert ticket["status"] == "open"
    assert ticket["answers"]["contact_detail"] == "me@example.com"
    assert ticket["context"][0]["text"] == "What are the three obstacles?"


def test_cancel_leaves_the_intake_in_the_terminal_and_files_nothing() -> None:
    status, out, _ = run("chat", stdin="/lawyer\n/cancel\nquit\n")
    assert status == 0
    assert "nothing was sent to a lawyer" in out
    _, listed, _ = run("queue", "list", "--json")
    assert json.loads(listed) == []


def test_chat_ends_cleanly_at_end_of_input() -> None:
    status, out, _ = run("chat", stdin="")
    assert status == 0
    assert out.rstrip().endswith("Goodbye.")


def test_eval_reports_groups_confusion_and_citations_and_sets_the_exit_status(
    tmp_path: Path,
) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        "thresholds: {group_accuracy: 0.95, citation_hit_rate: 0.9}\ncases:\n"
        "  - {q: 'What is RWA?', group: english, expect: answer,"
        " cite_contains: ['tokenize offline assets']}\n"
        "  - {q: 'hello', group: smalltalk, expect: smalltalk}\n",
        encoding="utf-8",
    )
    status, out, _ = run("eval", str(cases))
    assert status == 0, out
    assert "english" in out and "smalltalk" in out
    assert "confusion of kinds" in out
    assert "citation hit rate: 1/1" in out
    failing = tmp_path / "failing.yaml"
    failing.write_text(
        "cases:\n  - {q: 'hello', group: english, expect: answer}\n", encoding="utf-8"
    )
    status, out, _ = run("eval", str(failing))
    assert status == 1
    assert "BELOW" in out and "FAIL" in out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cases: [", "cannot read"),
        ("just: text", "expected 'thresholds:'"),
        ("cases:\n  - {q: hi, expect: maybe}\n", "case 1 needs"),
    ],
)
def test_eval_refuses_a_broken_file_clearly(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    status, out, err = run("eval", str(path))
    assert status == 2
    assert message in err
    assert "Traceback" not in err + out


def test_eval_of_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    status, _, err = run("eval", str(tmp_path / "none.yaml"))
    assert status == 2
    assert "cannot read the evaluation set" in err


def test_the_content_folder_can_come_from_the_environment(
    content_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (content_copy / "entries" / "obstacles.yaml").write_text("entries: [", encoding="utf-8")
    monkeypatch.setenv("RWA_BOT_CONTENT_DIR", str(content_copy))
    status, _, err = run("ask", "What is RWA?")
    assert status == 2
    assert "obstacles.yaml" in err


def test_a_config_file_sets_the_content_folder_relative_to_itself(
    content_copy: Path, tmp_path: Path
) -> None:
    (content_copy / "entries" / "obstacles.yaml").write_text("entries: [", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text("content_dir: faq\ndata_dir: var\n", encoding="utf-8")
    status, _, err = run("--config", str(config), "ask", "hi")
    assert status == 2
    assert str(content_copy / "entries" / "obstacles.yaml") in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("content_dir: [", "not valid YAML"),
        ("colour: blue", "unknown setting(s)"),
        ("- a list", "must be a mapping"),
    ],
)
def test_a_bad_config_file_is_a_one_line_error(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(text, encoding="utf-8")
    status, _, err = run("--config", str(config), "ask", "hi")
    assert status == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_the_example_config_is_valid_and_comments_every_key() -> None:
    example = REPO / "config.example.yaml"
    status, _, err = run("--config", str(example), "faq", "check")
    assert status == 0, err
    lines = example.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if line and not line.startswith((" ", "#")):
            assert lines[number - 1].startswith("#"), f"no comment above {line!r}"


def test_the_installed_command_runs_from_any_directory(tmp_path: Path) -> None:
    command = Path(sys.executable).parent / "rwa-bot"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RWA_BOT_")}
    result = subprocess.run(
        [str(command), "ask", "--json", "What is RWA?"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["kind"] == "answer"


def test_python_dash_m_bot_is_the_same_command(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "faq", "check"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok:") or "\nok:" in result.stdout


def test_a_reader_that_goes_away_ends_the_command_without_a_traceback(tmp_path: Path) -> None:
    command = Path(sys.executable).parent / "rwa-bot"
    with subprocess.Popen(
        [str(command), "ask", "--json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    ) as process:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(b"What is RWA?\n" * 2000)
        process.stdin.close()
        process.stdout.readline()
        process.stdout.close()  # the reader goes away, like `| head -1`
        assert process.stderr is not None
        error = process.stderr.read().decode()
        assert process.wait(timeout=60) in (0, 1)
    assert "Traceback" not in error


def test_run_without_a_token_explains_in_one_line_and_points_to_chat() -> None:
    status, out, err = run("run")
    assert status == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "RWA_BOT_TOKEN" in err and "rwa-bot chat" in err


def test_a_webhook_needs_its_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RWA_BOT_TOKEN", "123:fake")
    status, _, err = run("run", "--webhook")
    assert status == 2
    assert "RWA_BOT_WEBHOOK_URL" in err


def test_run_against_an_unreachable_bot_api_says_so_in_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a loopback port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = Path(sys.executable).parent / "rwa-bot"
    token = "424242:never-printed-token"
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("RWA_BOT_")},
        "RWA_BOT_TOKEN": token,
        "RWA_BOT_API_BASE_URL": f"http://127.0.0.1:{port}/bot",
        "RWA_BOT_DATA_DIR": str(tmp_path / "var"),
    }
    result = subprocess.run(
        [str(command), "run"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "cannot reach the Bot API" in result.stderr
    assert "Traceback" not in result.stderr
    assert token not in result.stderr + result.stdout
    assert "never-printed" not in result.stderr + result.stdout


def test_chat_says_in_one_line_when_its_database_cannot_be_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("RWA_BOT_DATA_DIR", str(blocker / "data"))
    status, out, err = run("chat", stdin="quit\n")
    assert status == 2
    assert err.startswith("rwa-bot: cannot open the database in ")
    assert "Traceback" not in err + out


def test_end_in_the_terminal_without_a_conversation_says_so() -> None:
    status, out, _ = run("chat", stdin="/end\nquit\n")
    assert status == 0
    assert "nothing to end" in out


def test_ask_conversation_reads_standard_input_as_one_conversation() -> None:
    status, out, _ = run(
        "ask", "--conversation", "--json", stdin="Can I do RWA in mainland China?\nand Hong Kong?\n"
    )
    assert status == 0
    first, second = (json.loads(line) for line in out.splitlines())
    assert (first["kind"], first["context_used"]) == ("answer", False)
    assert second["context_used"] is True


def test_ask_without_conversation_reads_each_line_alone() -> None:
    status, out, _ = run("ask", "--json", stdin="Can I do RWA in mainland China?\nand Hong Kong?\n")
    assert status == 0
    assert [json.loads(line)["context_used"] for line in out.splitlines()] == [False, False]


# The way to a lawyer from the terminal: no buttons, no chat to reply in, no lawyer at the other end

# An intake typed in the terminal: synonyms, a misspelling, numbers, an e-mail address.
FILED = [
    "/lawyer",
    "We want to tokenize a warehouse in Shenzhen.",
    "both",  # a synonym of "Both mainland China and Hong Kong"
    "recievables",  # "receivables", misspelt: financial assets
    "2",  # within three months
    "1",  # e-mail: the terminal has no Telegram chat to answer in
    "me@example.com",
    "yes",
]


def chat(*lines: str) -> str:
    status, out, _ = run("chat", stdin="\n".join([*lines, "quit"]) + "\n")
    assert status == 0
    return out


def only_ticket() -> dict[str, Any]:
    _, listed, _ = run("queue", "list", "--json")
    [ticket] = json.loads(listed)
    return dict(ticket)


def test_the_terminal_intake_numbers_its_choices_takes_synonyms_and_never_mentions_buttons() -> (
    None
):
    out = chat(*FILED[:3], "Mars", *FILED[3:])
    assert "  1. Mainland China\n  2. Hong Kong\n  3. Both mainland China and Hong Kong\n" in out
    assert "Please type the number of one of the choices above, or its name." in out
    assert "button" not in out
    answers = only_ticket()["answers"]
    assert (answers["jurisdiction"], answers["asset"]) == ("both", "financial")


def test_other_asks_what_the_asset_is_and_the_ticket_keeps_the_answer() -> None:
    chat(*FILED[:3], "Other", "Artworks by a Hong Kong painter", *FILED[4:])
    answers = only_ticket()["answers"]
    assert (answers["asset"], answers["asset_detail"]) == (
        "other",
        "Artworks by a Hong Kong painter",
    )


def test_filing_in_the_terminal_says_what_becomes_of_the_request_and_lawyer_gives_its_status() -> (
    None
):
    out = chat(*FILED, "/lawyer", "Is anyone there? When will the lawyer answer?")
    assert "Saved: ticket #1," in out
    assert "No lawyer is connected to this terminal" in out
    assert "The lawyer will write to you at the e-mail address you gave" in out
    assert "write to you here" not in out  # the terminal has no chat to reply in
    assert "reply here" not in out
    assert out.count("Your request is ticket #1, filed ") == 2  # /lawyer, and the question
    assert "I'm rwa-bot" not in out  # not the self-introduction


def test_a_status_question_in_traditional_chinese_gets_the_status_in_traditional() -> None:
    out = chat(*FILED, "有人嗎？律師什麼時候回覆？")
    assert "您的請求是工單 #1，提交於 " in out
    assert "這個終端沒有連接任何律師" in out


def test_end_after_filing_in_the_terminal_says_the_request_was_withdrawn_not_passed_on() -> None:
    out = chat(*FILED, "/end")
    assert "You withdrew your request, ticket #1: it is marked as closed by you" in out
    assert "Passed on" not in out
    ticket = only_ticket()
    assert (ticket["status"], ticket["closed_by"]) == ("closed", "user")


def test_a_question_in_the_middle_of_the_terminal_intake_is_answered_then_the_intake_goes_on(
    engine: Answerer,
) -> None:
    out = chat("/lawyer", "What is RWA?", "2", "We want to tokenize a warehouse in Shenzhen.")
    aside = (
        "That looks like a question for me rather than an answer to what I asked. What would "
        "you like to do?\n  1. It was my answer\n  2. Answer my question, then go on\n"
        "  3. Leave the request\n"
    )
    assert aside in out
    answered = out.index(engine.reply("What is RWA?", "en").body)
    back = out.index("Back to your request for a lawyer:\n\nWhat do you need help with?")
    assert answered < back < out.index("Where is your project based?")


def test_leaving_the_terminal_intake_at_a_question_files_nothing_and_says_so() -> None:
    out = chat("/lawyer", FILED[1], "Why is RWA banned in China?", "2", "/lawyer")
    assert "You left the request: nothing was sent to a lawyer" in out
    assert "We were in the middle of your request" not in out  # the intake starts afresh
    _, listed, _ = run("queue", "list", "--json")
    assert json.loads(listed) == []


def test_ask_for_a_lawyer_says_where_to_make_the_request_in_the_askers_language() -> None:
    status, out, _ = run("ask", "I want to talk to a lawyer")
    assert status == 0
    assert "on Telegram, send /lawyer to the bot" in out
    assert "run rwa-bot chat and type /lawyer" in out
    status, out, _ = run("ask", "--json", "我想找律師")
    reply = json.loads(out)
    assert set(reply) == KEYS
    assert reply["kind"] == "escalate"
    assert "在 Telegram 上向機器人發送 /lawyer" in reply["text"]  # Traditional, as asked
    assert "rwa-bot chat" in reply["text"]


def test_asking_for_a_lawyer_mid_terminal_intake_says_this_is_the_way_and_goes_on() -> None:
    out = chat("/lawyer", "Can I talk to a lawyer?", FILED[1])
    assert out.count("What do you need help with?") == 2  # asked, then asked again
    assert "You are already on your way to a lawyer" in out
    assert "Where is your project based?" in out


def test_a_number_picks_the_suggested_entry_itself_not_a_search_for_its_words(
    engine: Answerer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a suggestion's button on Telegram: the entry offered is the one answered."""
    offered = engine.reply("What are the three obstacles?", "en").suggestions[0]
    searched: list[str] = []
    real_reply = Answerer.reply

    def spied(self: Answerer, message: str, *args: Any, **kwargs: Any) -> Any:
        searched.append(message)
        return real_reply(self, message, *args, **kwargs)

    monkeypatch.setattr(Answerer, "reply", spied)
    out = chat("What are the three obstacles?", "1")
    assert f"» {offered.question}" in out
    assert engine.entry_reply(offered.faq_id, "en").body in out
    assert offered.question not in searched


def test_the_terminal_consent_names_what_it_shares_here_not_a_chat_name() -> None:
    out = chat(*FILED)
    assert "your user name on this computer and the last questions you asked me here" in out
    assert "chat name" not in out
