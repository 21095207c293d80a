"""Retrieval for rwa-bot: text normalisation, a term-major TF-IDF index and fuzzy matching.

Plain Python over scikit-learn, SciPy and rapidfuzz; nothing here knows about Telegram or about
the bot's content files. Results are small frozen records on one score scale, 0 to 1.
"""

from index.hits import Hit
from index.retriever import Retriever, RetrieverDocument
from index.spelling import SpellingRepair
from index.text import detect_language, normalize

__all__ = [
    "Hit",
    "Retriever",
    "RetrieverDocument",
    "SpellingRepair",
    "detect_language",
    "normalize",
]
