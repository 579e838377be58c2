"""Tokenization of pre-split words for ModernBERT's byte-level BPE tokenizer.

The rule (the prefix-space question behind ModernBERT's weak NER numbers, AnswerDotAI/ModernBERT#149):
NER corpora arrive as words, and transformers tokenizes them with ``is_split_into_words=True``, one word at a
time. ModernBERT's tokenizer is byte-level BPE without ``add_prefix_space``, so each word is then tokenized as
if it began the text: ``"John"`` becomes ``["John"]`` or ``["J", "ohn"]`` instead of the ``["ĠJohn"]`` the
model saw in pre-training for a word in running text. Every word of a sentence is affected, not just the
first.

:func:`ensure_prefix_space` switches the tokenizer's ``ByteLevel`` pre-tokenizer to ``add_prefix_space=True``.
Then **the subtokens of a word are exactly the subtokens the word gets in running text after a space**, i.e.
``tokenizer.tokenize(" " + word)``, whatever its position in the sentence (the first word included);
a word that already starts with whitespace gets no second space. Capitalisation is kept: ``"john"`` and
``"John"`` tokenize as the model's vocabulary has them (``"Ġjohn"``, ``"ĠJohn"``), never lower-cased.
"""

from __future__ import annotations

import json
import logging
from typing import Any

logger = logging.getLogger(__name__)


def _set_prefix_space(node: Any) -> bool:
    changed = False
    if isinstance(node, dict):
        if node.get("type") == "ByteLevel" and node.get("add_prefix_space") is not True:
            node["add_prefix_space"] = True
            changed = True
        for value in node.values():
            changed |= _set_prefix_space(value)
    elif isinstance(node, list):
        for value in node:
            changed |= _set_prefix_space(value)
    return changed


def _contains_byte_level(node: Any) -> bool:
    if isinstance(node, dict):
        return node.get("type") == "ByteLevel" or any(_contains_byte_level(v) for v in node.values())
    if isinstance(node, list):
        return any(_contains_byte_level(v) for v in node)
    return False


def uses_byte_level(tokenizer: Any) -> bool:
    """Whether a fast tokenizer has a ``ByteLevel`` pre-tokenizer (GPT-2/RoBERTa/ModernBERT style)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return False
    return _contains_byte_level(json.loads(backend.to_str()).get("pre_tokenizer"))


def ensure_prefix_space(tokenizer: Any) -> bool:
    """Make a byte-level BPE tokenizer put a space before every pre-split word.

    Handles a ``ByteLevel`` pre-tokenizer alone or inside a ``Sequence``. The setting is stored in the
    tokenizer's own files, so it survives ``save_pretrained`` and Flair's model saving.

    Args:
        tokenizer: a ``PreTrainedTokenizerFast``.

    Returns:
        True if the tokenizer was changed, False if it already added the prefix space.

    Raises:
        TypeError: for a slow (Python) tokenizer, which cannot report word ids reliably.
    """
    from tokenizers import Tokenizer

    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise TypeError(
            f"{type(tokenizer).__name__} is a slow tokenizer; ModernBertEmbeddings needs a fast tokenizer "
            "(tokenizer.json). Load the model directory that holds tokenizer.json."
        )
    state = json.loads(backend.to_str())
    changed = _set_prefix_space(state.get("pre_tokenizer"))
    if changed:
        encode_special = backend.encode_special_tokens
        tokenizer._tokenizer = Tokenizer.from_str(json.dumps(state))
        tokenizer._tokenizer.encode_special_tokens = encode_special
        logger.info("Tokenizer switched to add_prefix_space=True: pre-split words tokenize as in running text")
    tokenizer.add_prefix_space = True
    tokenizer.init_kwargs["add_prefix_space"] = True
    return changed


def word_subtokens(tokenizer: Any, words: list[str]) -> list[list[str]]:
    """The subtokens each pre-split word receives (special tokens left out).

    Args:
        tokenizer: a fast tokenizer.
        words: the words of one sentence.

    Returns:
        One list of subtoken strings per word, in order; an empty list for a word that yields none.
    """
    encoding = tokenizer(words, is_split_into_words=True, add_special_tokens=False)
    pieces: list[list[str]] = [[] for _ in words]
    for token, word_id in zip(encoding.tokens(), encoding.word_ids()):
        if word_id is not None:
            pieces[word_id].append(token)
    return pieces
