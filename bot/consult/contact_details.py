"""Checking what a person types as their contact detail: an e-mail address or a phone number,
compared as typed (full-width forms folded, invisible characters removed)."""

import re
import unicodedata

EMAIL_MAX_CHARS = 254  # the longest address SMTP carries (RFC 5321)
PHONE_MIN_DIGITS, PHONE_MAX_DIGITS = 7, 15  # 15: the longest number E.164 allows

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_PHONE = re.compile(r"\+?[0-9 ().-]+")
_SPACES = re.compile(r"\s+")


def typed(text: str) -> str:
    """`text` as typed, for comparing: compatibility forms folded (full-width digits, ＠),
    invisible format characters (zero-width, direction marks) removed, spaces collapsed."""
    folded = unicodedata.normalize("NFKC", text)
    visible = "".join(c for c in folded if unicodedata.category(c) != "Cf")
    return _SPACES.sub(" ", visible).strip()


def valid_email(text: str) -> str | None:
    """Return the e-mail address in `text` (trimmed), or None if it is not one: exactly one @,
    no spaces, a domain with a dot and no empty part, at most 254 characters."""
    address = typed(text)
    if len(address) > EMAIL_MAX_CHARS or not _EMAIL.fullmatch(address):
        return None
    labels = address.split("@")[1].split(".")
    return address if len(labels) > 1 and all(labels) else None


def valid_phone(text: str) -> str | None:
    """Return the phone number in `text` normalised to an optional + and its digits
    ("+852 1234 5678" -> "+85212345678"), or None if it has other characters than +, digits,
    spaces, dashes, dots and parentheses, or fewer than 7 or more than 15 digits."""
    number = typed(text)
    if not _PHONE.fullmatch(number):
        return None
    digits = "".join(c for c in number if c.isdigit())
    if not PHONE_MIN_DIGITS <= len(digits) <= PHONE_MAX_DIGITS:
        return None
    return ("+" if number.startswith("+") else "") + digits
