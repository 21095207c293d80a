"""Text made storable at the edge: what people send may hold what no database column takes.

Telegram's JSON can carry lone UTF-16 surrogates ("\\ud800"), which Python decodes into a str
that UTF-8 cannot encode (SQLite's driver then fails), and NUL characters, which PostgreSQL's
text columns refuse. Every update is passed through `storable_json` before it is read, so no
handler, store or log ever sees either.
"""

import re
from typing import Any

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")


def storable_text(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD and every NUL removed."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    return _SURROGATE.sub(REPLACEMENT, text)


def storable_json(value: Any) -> Any:
    """A JSON value (as json.loads gives it) with every string, keys included, storable."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable_json(key): storable_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable_json(item) for item in value]
    return value
