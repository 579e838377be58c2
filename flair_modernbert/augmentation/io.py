"""Writing sentences as CoNLL-style column files (token TAB tag), tags derived from span labels.

Reading is left to Flair (``flair.datasets.ColumnCorpus``); this module only writes. Tags are made from the
span labels, so a file always has well-formed BIO (``B-X I-X*``) or BIOES (``S-X`` | ``B-X I-X* E-X``) tags,
whatever the operations did to the token count.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable, Sequence, Union

from flair.data import Sentence

from flair_modernbert.tags import TAG_FORMATS, sentence_tags

logger = logging.getLogger(__name__)

__all__ = ["write_column_file"]


def write_column_file(
    sentences: Iterable[Sentence],
    path: Union[str, Path],
    label_type: str = "ner",
    tag_format: str = "BIO",
) -> int:
    """Write sentences as ``token<TAB>tag`` lines, one blank line after each sentence.

    Args:
        sentences: sentences with span labels of ``label_type``.
        path: the file to write (its folder is created).
        label_type: the span label type holding the entities.
        tag_format: ``"BIO"`` or ``"BIOES"``.

    Returns:
        The number of sentences written.

    Raises:
        ValueError: naming the sentence (1-based) and token when a token is empty or holds whitespace
            (it would shift the columns when read back), or when the spans cannot be written as tags.
    """
    if tag_format not in TAG_FORMATS:
        raise ValueError(f"tag_format: expected one of {', '.join(TAG_FORMATS)}, got {tag_format!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for count, sentence in enumerate(sentences, start=1):
            tokens: Sequence[str] = [token.text for token in sentence.tokens]
            for position, token in enumerate(tokens, start=1):
                if not token or any(c.isspace() for c in token):
                    raise ValueError(
                        f"{path}: sentence {count}, token {position}: {token!r} is empty or holds whitespace"
                    )
            try:
                tags = sentence_tags(sentence, label_type, tag_format)
            except ValueError as error:
                raise ValueError(f"{path}: sentence {count}: {error}") from error
            handle.write("".join(f"{token}\t{tag}\n" for token, tag in zip(tokens, tags)))
            handle.write("\n")
    logger.debug("wrote %d sentences to %s", count, path)
    return count
