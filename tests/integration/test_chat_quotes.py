"""In `rwa-bot chat` the answer comes first and each quoted passage is folded to its first
line, unless the reader asks for the quotes in full (`/quotes on` or `--quotes`)."""

import io

from bot.cli.main import main

WHOLE_QUOTE_END = "already tightly shut iron door."


def chat(*options: str, stdin: str) -> str:
    out = io.StringIO()
    status = main(["chat", *options], stdin=io.StringIO(stdin), out=out, err=io.StringIO())
    assert status == 0
    return out.getvalue()


def test_quotes_are_folded_to_their_first_line_with_a_way_to_unfold_them() -> None:
    out = chat(stdin="What is RWA?\nquit\n")
    assert "  > As Web3 legal professionals" in out
    assert WHOLE_QUOTE_END not in out
    assert " …\n" in out
    assert "(/quotes on: show the quotes in full)" in out
    assert "Source: MarsBit, 2025-12-29\nGeneral information, not legal advice." in out


def test_quotes_on_shows_them_whole_from_then_on_and_off_folds_them_again() -> None:
    out = chat(stdin="/quotes on\nWhat is RWA?\n/quotes off\nWhat is RWA?\nquit\n")
    first, second = out.split("(Quotes folded to their first line.)")
    assert WHOLE_QUOTE_END in first
    assert WHOLE_QUOTE_END not in second


def test_the_quotes_option_shows_them_whole() -> None:
    out = chat("--quotes", stdin="What is RWA?\nquit\n")
    assert WHOLE_QUOTE_END in out
    assert "/quotes on" not in out


def test_a_chinese_reader_sees_the_rendering_above_the_original_both_folded() -> None:
    out = chat(stdin="什么是RWA？\nquit\n")
    label, original = out.index("中文译文，非原文："), out.index("英文原文：")
    assert label < original
    assert "  > " in out[label:original]
    assert WHOLE_QUOTE_END not in out
    assert "（输入 /quotes on 显示完整引文）" in out
