"""Lower-cased copies of gold documents, offsets unchanged (the case-robustness half of the leak report).

``str.lower`` may change a text's length (``"İ".lower()`` is two code points), which would move every gold offset
after it; such a character keeps its case instead, so each character is lower-cased only where that keeps it one
code point long. Every other letter is lower-cased as ``str.lower`` does.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Sequence

logger = logging.getLogger(__name__)

__all__ = ["lowercase_text", "lowercased_documents"]


def lowercase_text(text: str) -> str:
    """``text`` lower-cased character by character, a character whose lower case is longer left as it is."""
    return "".join(low if len(low := char.lower()) == 1 else char for char in text)


def lowercased_documents(documents: Sequence[Any]) -> list[Any]:
    """Copies of gold documents (dataclasses with a ``text`` field) with the text lower-cased by
    :func:`lowercase_text`; spans and other fields unchanged."""
    kept = sum(1 for document in documents for char in document.text if len(char.lower()) != 1)
    if kept:
        logger.info("lower-casing: %d characters keep their case (their lower case is longer, e.g. 'İ')", kept)
    return [dataclasses.replace(document, text=lowercase_text(document.text)) for document in documents]
