"""Shared fixtures: tiny random ModernBERT models built locally (no hub), the shipped WNUT-17 sample."""

from __future__ import annotations

import os
import random
import shutil
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
def load_benchmark():
    """Loads ``benchmarks/NAME.py`` as a module, with its folder on ``sys.path`` while it loads (the scripts import
    their siblings, as ``python benchmarks/NAME.py`` lets them)."""
    import importlib.util
    import sys

    folder = Path(__file__).resolve().parent.parent / "benchmarks"

    def load(name: str):
        sys.path.insert(0, str(folder))
        try:
            spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        finally:
            sys.path.remove(str(folder))
        return module

    return load


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


NAMES = [["John", "Smith"], ["Mary", "Jones"], ["Anna"], ["Peter", "Brown"], ["Lisa", "Miller"]]
PLACES = [["Paris"], ["Berlin"], ["New", "York"], ["London"]]
TEMPLATES = ["My name is {P} .", "I live in {L} .", "{P} lives in {L} .", "Please call {P} today .",
             "We met {P} in {L} ."]
#: words pasted text brings along (emoji with selectors, CJK, RTL, accents), never part of a name
NOISE_WORDS = ["❤️", "👍🏽", "北京", "東京タワー", "שלום", "مرحبا", "é", "\u0301", "!"]


def write_names_corpus(folder: Path) -> Path:
    """A small, learnable corpus: a few names and places in a few templates (BIO, tab-separated); a third of
    the sentences carry a noise word (emoji, CJK, RTL) somewhere, so the tagger learns to look past them."""
    rng = random.Random(0)
    folder.mkdir(parents=True, exist_ok=True)
    for split, count in (("train", 80), ("dev", 20), ("test", 20)):
        lines = []
        for _ in range(count):
            sentence: list[str] = []
            for word in rng.choice(TEMPLATES).split():
                if word in ("{P}", "{L}"):
                    kind, words = ("PER", rng.choice(NAMES)) if word == "{P}" else ("LOC", rng.choice(PLACES))
                    sentence.append("\n".join(f"{w}\t{'B' if i == 0 else 'I'}-{kind}" for i, w in enumerate(words)))
                else:
                    sentence.append(f"{word}\tO")
            if rng.random() < 0.35:
                sentence.insert(rng.randrange(len(sentence) + 1), f"{rng.choice(NOISE_WORDS)}\tO")
            lines += sentence + [""]
        (folder / f"{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def names_model(tmp_path_factory):
    """The quickstart recipe trained on the names corpus until it knows it (15 epochs, ~10 s idle).

    Returns the run folder and the corpus folder.
    """
    from flair_modernbert.cli import main

    base = tmp_path_factory.mktemp("names")
    corpus = write_names_corpus(base / "corpus")
    out = base / "model"
    code = main([
        "train", str(Path(__file__).resolve().parent.parent / "recipes" / "quickstart.yaml"),
        "--set", f"corpus.path={corpus}", "--set", "corpus.train_file=train.txt",
        "--set", "corpus.dev_file=dev.txt", "--set", "corpus.test_file=test.txt",
        "--set", "training.max_epochs=15", "--output", str(out), "--no-progress",
    ])
    assert code == 0
    return out, corpus


@pytest.fixture(scope="module")
def one_torch_thread():
    """The tiny models' matrices are too small for two threads to pay off; on a busy machine each of thousands of
    small parallel regions waits for a second core, so modules that run many of them use one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def bpe_modernbert_dir(tmp_path_factory) -> Path:
    """A tiny random ModernBERT whose byte-level BPE tokenizer has real merges (2,048 tokens, trained on the
    shipped WNUT-17 sample), so words split into several subtokens as with ModernBERT's own tokenizer."""
    from flair_modernbert.encoder.random_models import build_random_modernbert

    return build_random_modernbert(tmp_path_factory.mktemp("bpe-modernbert"), "tiny", seed=0, vocab_size=2048)


@pytest.fixture(scope="session")
def make_random_tagger():
    """A factory of untrained taggers that predict many different tags: random head weights and CRF transitions
    (``<START>``/``<STOP>`` kept impossible, as Flair initialises them) over six entity types in BIOES, with a
    ModernBertEmbeddings encoder or (``stock=True``) Flair's TransformerWordEmbeddings."""
    from flair.data import Dictionary
    from flair.models import SequenceTagger

    from flair_modernbert.encoder.embeddings import ModernBertEmbeddings

    def make(model_dir, head: str = "crf", seed: int = 3, scale: float = 0.3, stock: bool = False, **embedding_options):
        """``stock=True``: Flair's own TransformerWordEmbeddings (e.g. over ``tiny_bert_dir``) instead."""
        from flair.embeddings import TransformerWordEmbeddings

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            encoder = TransformerWordEmbeddings if stock else ModernBertEmbeddings
            embeddings = encoder(str(model_dir), **embedding_options)
            types = Dictionary(add_unk=False)
            types.span_labels = True
            for kind in ("person", "location", "group", "product", "corporation", "creative-work"):
                types.add_item(kind)
            tagger = SequenceTagger(embeddings=embeddings, tag_dictionary=types, tag_type="ner", tag_format="BIOES",
                                    use_crf=head in ("crf", "bilstm-crf"), use_rnn=head == "bilstm-crf",
                                    reproject_embeddings=head == "bilstm-crf", hidden_size=16)
            with torch.no_grad():
                tagger.linear.weight.normal_(0, scale)
                tagger.linear.bias.normal_(0, scale)
                if tagger.use_crf:
                    tagger.crf.transitions.normal_(0, 1.0)
                    tagger.crf.transitions[:, tagger.label_dictionary.get_idx_for_item("<STOP>")] = -10000.0
                    tagger.crf.transitions[tagger.label_dictionary.get_idx_for_item("<START>"), :] = -10000.0
        return tagger.eval()

    return make


# ------------------------------------------------------------------------------------------------ JavaScript
def require_js(condition: bool, reason: str) -> None:
    """Skip a JavaScript test whose prerequisite (Node, npm packages, Chromium) is missing; with
    FLAIR_MODERNBERT_REQUIRE_JS=1 (set by .ci/run) a missing prerequisite fails the test instead."""
    if condition:
        return
    if os.environ.get("FLAIR_MODERNBERT_REQUIRE_JS") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def node() -> str:
    """Node, with the exported JavaScript module's dependencies installed (npm ci in flair_modernbert/export/js)."""
    from flair_modernbert.export.folder import JS_DIR

    found = shutil.which("node")
    require_js(found is not None, "node is not installed")
    require_js((JS_DIR / "node_modules" / "@huggingface" / "transformers").is_dir(),
               f"the JavaScript module's dependencies are not installed (npm ci in {JS_DIR})")
    return found
