"""Simplified and Traditional Chinese: which one a message is written in, and conversion.

Matching folds every text to Simplified, the content's script (`to_simplified`); replies to
Traditional readers are converted back as Hong Kong or Taiwan writes (`to_traditional`)."""

from functools import cache, lru_cache
from typing import Literal

import opencc

Script = Literal["Hans", "Hant"]
# Which Traditional rendering a reader gets: Hong Kong's or Taiwan's words and characters.
Variant = Literal["hk", "tw"]
VARIANTS: tuple[Variant, ...] = ("hk", "tw")
_CONFIGS: dict[str, str] = {"t2s": "t2s", "s2t": "s2t", "hk": "s2hk", "tw": "s2twp"}


@cache
def _converter(name: str) -> opencc.OpenCC:
    return opencc.OpenCC(_CONFIGS[name])


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff" for c in text)


# Words Hong Kong and Taiwan write differently that OpenCC's t2s leaves as they are.
_REGIONAL_WORDS = (("甚么", "什么"), ("甚麼", "什么"))


def to_simplified(text: str) -> str:
    """Return `text` with Traditional characters folded to Simplified (others unchanged), and
    the few regional spellings t2s keeps (甚麼) as the mainland writes them."""
    if not _has_cjk(text):
        return text
    text = _converter("t2s").convert(text)
    for regional, mainland in _REGIONAL_WORDS:
        text = text.replace(regional, mainland)
    return text


@lru_cache(maxsize=4096)  # answers, renderings and fixed messages come again and again
def to_traditional(text: str, variant: Variant = "hk") -> str:
    """Return Simplified `text` in Traditional characters, as Hong Kong or Taiwan writes them
    (OpenCC's configurations, which also swap regional words: 软件 → 軟體 in Taiwan; the
    dictionaries are inside the wheel, nothing is fetched)."""
    return _converter(variant).convert(text) if _has_cjk(text) else text


def _changed(original: str, converted: str) -> int:
    if len(original) != len(converted):  # a phrase conversion changed the length: compare sets
        return len(set(original) - set(converted))
    return sum(1 for a, b in zip(original, converted, strict=True) if a != b)


def detect_script(text: str) -> Script | None:
    """Return "Hant" or "Hans" by the characters only one script uses; None when `text` has no
    such character (「香港RWA」 reads the same in both) or no Chinese at all."""
    if not _has_cjk(text):
        return None
    traditional = _changed(text, _converter("t2s").convert(text))  # characters only Hant uses
    simplified = _changed(text, _converter("s2t").convert(text))  # characters only Hans uses
    if traditional > simplified:
        return "Hant"
    if simplified > traditional:
        return "Hans"
    return None


def variant_of(language_code: str | None) -> tuple[Script | None, Variant]:
    """Read a language tag (Telegram's `language_code`, `/lang zh-hant`): its script, if it
    names one, and the Traditional variant to use (Taiwan for zh-tw, else Hong Kong)."""
    tag = (language_code or "").lower().replace("_", "-")
    if not tag.startswith("zh"):
        return None, "hk"
    variant: Variant = "tw" if "tw" in tag.split("-") else "hk"
    if any(part in tag.split("-") for part in ("hant", "hk", "tw", "mo")):
        return "Hant", variant
    if any(part in tag.split("-") for part in ("hans", "cn", "sg")):
        return "Hans", variant
    return None, variant
