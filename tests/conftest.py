"""Shared fixtures: tiny random ModernBERT models built locally (no hub), the shipped WNUT-17 sample."""

from __future__ import annotations

import os
from pathlib import Path

import flair
import pytest
import torch

from flair_modernbert.encoder.random_models import build_random_modernbert, sample_corpus_dir


@pytest.fixture(scope="session", autouse=True)
def _offline_cpu(tmp_path_factory):
    """Every test runs offline on CPU, with 'random:*' models cached in a temporary folder."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["FLAIR_MODERNBERT_CACHE"] = str(tmp_path_factory.mktemp("model-cache"))
    flair.device = torch.device("cpu")
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    yield


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A random-weight ModernBERT (hidden 64, 4 layers, local window 16) with a byte-level BPE tokenizer."""
    return build_random_modernbert(tmp_path_factory.mktemp("tiny-modernbert"), size="tiny", seed=0)


@pytest.fixture(scope="session")
def wnut_sample_dir() -> Path:
    """The WNUT-17 sample shipped in the package (CC-BY 4.0): train.conll, dev.conll, test.conll."""
    return sample_corpus_dir()


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> Path:
    """A random-weight BERT (not ModernBERT) with a WordPiece tokenizer: the stock-Flair fallback path."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    words = "the a of to in and is was on for john smith berlin paris moved lives new york said".split()
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, *"abcdefghijklmnopqrstuvwxyz",
             *("##" + c for c in "abcdefghijklmnopqrstuvwxyz"), ".", ",", "'"]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True).save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=37, max_position_embeddings=128)
    BertModel(config).save_pretrained(folder)
    return folder
