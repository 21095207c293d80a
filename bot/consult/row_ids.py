"""The numbers people may type or send for the database's own rows: ticket and question ids.

Those keys are 32-bit INTEGER columns (PostgreSQL's SERIAL), so a number beyond their range
names no row. A number from user input (a command's argument, a button's callback data, which
any client can forge) is checked here before any query is made with it.
"""

MAX_ROW_ID = 2**31 - 1  # the largest key of a 32-bit INTEGER column
_MAX_DIGITS = len(str(MAX_ROW_ID))


def parse_row_id(text: str) -> int | None:
    """The row id `text` spells (ASCII digits only, from 1 to MAX_ROW_ID), or None."""
    if not text or not text.isascii() or not text.isdigit() or len(text) > _MAX_DIGITS:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ROW_ID else None


def is_row_id(number: int) -> bool:
    """Whether `number` can be the key of a row (1 to MAX_ROW_ID)."""
    return 0 < number <= MAX_ROW_ID
