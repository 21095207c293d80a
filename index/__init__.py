"""Retrieval for rwa-bot: text normalisation, TF-IDF with fuzzy matching, and a semantic second
opinion; results are small frozen records on one score scale, 0 to 1. Knows nothing of the bot."""

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
