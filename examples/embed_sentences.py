"""Embed sentences with ModernBertEmbeddings and compare with stock Flair (offline, a few seconds).

    python examples/embed_sentences.py [MODEL]

MODEL defaults to ``random:tiny`` (a random-weight ModernBERT built locally); pass
``answerdotai/ModernBERT-base`` or a local directory for a real one.
"""

import sys

import torch
from flair.data import Sentence
from flair.embeddings import TransformerWordEmbeddings

from flair_modernbert import ModernBertEmbeddings
from flair_modernbert.encoder.random_models import resolve_model_name
from flair_modernbert.encoder.tokenization import ensure_prefix_space

if __name__ == "__main__":
    model = resolve_model_name(sys.argv[1] if len(sys.argv) > 1 else "random:tiny")  # random:* -> local dir
    unpadded = ModernBertEmbeddings(model, layers="-1", subtoken_pooling="first")
    # the same weights, run padded by stock Flair, with the same word tokenization (prefix space on every word)
    padded = TransformerWordEmbeddings(model, layers="-1", subtoken_pooling="first")
    ensure_prefix_space(padded.tokenizer)
    texts = ["john smith moved to Berlin .", "A much longer sentence , so that this batch mixes lengths and padding ."]
    ours, theirs = [Sentence(t) for t in texts], [Sentence(t) for t in texts]
    unpadded.embed(ours)
    padded.embed(theirs)
    diff = max(
        (a.embedding - b.embedding).abs().max().item() for s, t in zip(ours, theirs) for a, b in zip(s, t)
    )
    print(f"{sum(len(s) for s in ours)} words, embedding size {unpadded.embedding_length}, "
          f"max |unpadded - padded| = {diff:.2e}")
    assert torch.isfinite(ours[0][0].embedding).all()
