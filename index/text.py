"""Text normalisation shared by indexing and querying, so both sides of every comparison meet on
equal terms; and language detection."""

import html
import re
import unicodedata
from typing import Literal

from index.script import to_simplified

Language = Literal["en", "zh"]

# Longer messages are cut before analysis: nobody's question is longer, and it bounds the work.
MAX_ANALYSED_CHARS = 2000

_TAG = re.compile(r"<[^<>]{0,200}>")
_MARKDOWN = re.compile(r"[*_`~#>|\[\]\\]+")
_URL = re.compile(r"https?://\S+|www\.\S+")
_SPACES = re.compile(r"\s+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_LETTER = re.compile(r"[A-Za-z]")
_WORD = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def _is_invisible(char: str) -> bool:
    # Cc: control, Cf: format (zero-width, bidi marks), Co/Cs/Cn: private, surrogate, unassigned.
    return unicodedata.category(char) in {"Cc", "Cf", "Co", "Cs", "Cn"} and char not in "\n\t"


def normalize(text: str) -> str:
    """Return `text` reduced to what matters for matching: lower case, one space between words.

    Unescapes HTML entities, drops tags, URLs, Markdown marks, invisible characters and
    full-width forms (NFKC), folds Traditional Chinese to Simplified (the content's script), and
    cuts the text to MAX_ANALYSED_CHARS characters.
    """
    text = text[: MAX_ANALYSED_CHARS * 4]
    text = html.unescape(text)
    text = unicodedata.normalize("NFKC", text)
    text = "".join(" " if _is_invisible(c) else c for c in text)
    text = _URL.sub(" ", text)
    text = _TAG.sub(" ", text)
    text = _MARKDOWN.sub(" ", text)
    text = text.replace("’", "'").replace("‘", "'")
    text = _SPACES.sub(" ", text).strip().lower()
    return to_simplified(text[:MAX_ANALYSED_CHARS])


def words(normalized: str) -> list[str]:
    """Return the Latin-script words and numbers of an already normalised text."""
    return _WORD.findall(normalized)


def cjk_runs(normalized: str) -> list[str]:
    """Return the runs of consecutive Chinese characters in a text."""
    return _CJK_RUN.findall(normalized)


def cjk_bigrams(normalized: str) -> list[str]:
    """Return the overlapping two-character pieces of every Chinese run (a run of one: itself)."""
    grams: list[str] = []
    for run in cjk_runs(normalized):
        if len(run) == 1:
            grams.append(run)
        grams.extend(run[i : i + 2] for i in range(len(run) - 1))
    return grams


def detect_language(text: str, default: Language = "en") -> Language:
    """Return "zh" when Chinese characters dominate `text`, "en" when Latin letters do.

    A text with neither (emoji, digits, nothing) gets `default`.
    """
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN_LETTER.findall(text))
    if cjk == 0 and latin == 0:
        return default
    # A Chinese character carries about as much as a short word: two letters per character.
    return "zh" if cjk * 2 >= latin else "en"
