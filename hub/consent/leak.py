"""The employer's copy must not carry the request's clinical text.

Contract: ``leaked(candidate, clinical_texts)`` returns the sentences and comma-separated clauses of
``clinical_texts`` (the request's reason and subject, the thread's messages and notes) found in ``candidate`` —
whole clauses of three words or more, or any run of six consecutive words —, compared without case, accents or
punctuation. Empty: nothing found.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from hub.crypto.lookup import normalise_text

MIN_SENTENCE_WORDS = 3
RUN_WORDS = 6


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"[.!?;:,\n\r]+", text or "") if s.strip()]


def leaked(candidate: str, clinical_texts: Iterable[str]) -> list[str]:
    haystack = f" {normalise_text(candidate)} "
    found: list[str] = []
    for text in clinical_texts:
        for sentence in _sentences(text):
            words = normalise_text(sentence).split()
            if len(words) < MIN_SENTENCE_WORDS:
                continue
            hit = f" {' '.join(words)} " in haystack or any(
                f" {' '.join(words[i:i + RUN_WORDS])} " in haystack for i in range(len(words) - RUN_WORDS + 1))
            if hit and sentence not in found:
                found.append(sentence)
    return found
