"""Parity with stock Flair: a ``flair-modernbert`` training run is the same computation as a plain Flair script.

The reference is what a Flair user writes: ``flair.set_seed``, ``ColumnCorpus``, ``TransformerWordEmbeddings``,
``SequenceTagger``, ``ModelTrainer.fine_tune``. The library's run (``train_run``: recipe -> corpus -> build ->
``fine_tune`` with the TensorBoard, progress and scheduler plugins, dev scored with seqeval after every epoch)
must give the same loss at every training step and the same final weights, for the same seed:

- a non-ModernBERT encoder (the stock-encoder path of ``tagging.build``): equal to the last bit;
- a ModernBERT encoder: ``ModernBertEmbeddings`` (unpadded) against stock ``TransformerWordEmbeddings`` (padded)
  on the same random weights and the same tokenization: equal up to float rounding, step by step.

The reference trainer gets no dev split: Flair's own per-epoch dev evaluation draws from torch's random
generator (the DataLoader's base seed), so later epochs would shuffle differently. The library's run does
score dev after every epoch, so these tests also prove that its evaluation leaves training untouched.
"""

from __future__ import annotations

from pathlib import Path

import flair
import pytest
import torch
from flair.data import Corpus
from flair.datasets import ColumnCorpus
from flair.embeddings import TransformerWordEmbeddings
from flair.models import SequenceTagger
from flair.trainers import ModelTrainer
from flair.trainers.plugins.base import TrainerPlugin

from flair_modernbert.config import recipe_from_dict
from flair_modernbert.encoder.tokenization import ensure_prefix_space
from flair_modernbert.training.run import train_run

SEED = 7
EPOCHS = 2
BATCH = 8
LR = 1e-3  # high enough that every weight moves visibly in a few steps: a divergence cannot hide
SENTENCES = {"train": 40, "dev": 12, "test": 12}
FILES = {split: f"{split}.conll" for split in SENTENCES}


class BatchLosses(TrainerPlugin):
    """Records the loss of every training batch as Flair reports it."""

    def __init__(self) -> None:
        super().__init__()
        self.losses: list[float] = []

    @TrainerPlugin.hook
    def metric_recorded(self, record) -> None:
        if record.is_scalar and tuple(record.name) == ("train", "batch_loss"):
            self.losses.append(float(record.value))


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models are many small ops: one thread is faster than two on a busy CI machine (same result both sides)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, wnut_sample_dir) -> Path:
    """The first short sentences of each split of the shipped WNUT-17 sample.

    Short: at most 100 characters of words, so that the tiny BERT's character-level word pieces stay within its
    128 positions.
    """
    folder = tmp_path_factory.mktemp("parity-data")
    for split, count in SENTENCES.items():
        blocks = (wnut_sample_dir / FILES[split]).read_text(encoding="utf-8").strip().split("\n\n")
        short = [b for b in blocks if sum(len(line.split("\t")[0]) for line in b.splitlines()) <= 100]
        (folder / FILES[split]).write_text("\n\n".join(short[:count]) + "\n", encoding="utf-8")
    return folder


def _recipe(model: Path, data_dir: Path):
    return recipe_from_dict({
        "corpus": {"type": "column", "path": str(data_dir), **{f"{s}_file": f for s, f in FILES.items()},
                   "columns": {0: "text", 1: "ner"}, "column_delimiter": "\t", "tag_scheme": "BIO"},
        "embeddings": {"model": str(model), "layers": "-1", "layer_mean": True, "subtoken_pooling": "first",
                       "use_context": False, "fine_tune": True},
        "tagger": {"head": "crf", "loss": "ce", "tag_format": "BIOES", "hidden_size": 256, "dropout": 0.0,
                   "word_dropout": 0.05, "locked_dropout": 0.5},
        "training": {"learning_rate": LR, "mini_batch_size": BATCH, "max_epochs": EPOCHS, "scheduler": "linear",
                     "warmup_fraction": 0.1, "weight_decay": 0.01, "gradient_clipping": 5.0, "device": "cpu",
                     "seeds": [SEED]},
    })


def _ours(model: Path, data_dir: Path, out: Path) -> tuple[list[float], dict[str, torch.Tensor]]:
    losses = BatchLosses()
    result = train_run(_recipe(model, data_dir), out, SEED, progress=False, extra_plugins=[losses])
    assert result.results is not None and result.results.dev is not None  # dev was scored after each epoch
    tagger = SequenceTagger.load(out / "final-model.pt")
    return losses.losses, tagger.state_dict()


def _stock(model: Path, data_dir: Path, out: Path, modernbert: bool = False
           ) -> tuple[list[float], dict[str, torch.Tensor]]:
    """The plain Flair script: no flair_modernbert code on this path (except the tokenizer switch below)."""
    flair.set_seed(SEED)
    corpus = ColumnCorpus(data_dir, {0: "text", 1: "ner"}, column_delimiter="\t", autofind_splits=False,
                          in_memory=True, **{f"{s}_file": f for s, f in FILES.items()})
    dictionary = corpus.make_label_dictionary("ner", add_unk=False)
    flair.set_seed(SEED)
    embeddings = TransformerWordEmbeddings(str(model), layers="-1", subtoken_pooling="first", fine_tune=True)
    if modernbert:  # ModernBertEmbeddings tokenizes each word as in running text: give stock the same subtokens
        ensure_prefix_space(embeddings.tokenizer)
    tagger = SequenceTagger(embeddings=embeddings, tag_dictionary=dictionary, tag_type="ner", tag_format="BIOES",
                            hidden_size=256, use_crf=True, use_rnn=False, reproject_embeddings=False,
                            word_dropout=0.05, locked_dropout=0.5)
    losses = BatchLosses()
    ModelTrainer(tagger, Corpus(train=corpus.train, sample_missing_splits=False)).fine_tune(
        out, learning_rate=LR, mini_batch_size=BATCH, max_epochs=EPOCHS, plugins=[losses],
        create_file_logs=False, create_loss_file=False,
    )
    return losses.losses, tagger.state_dict()


def _steps() -> int:
    return EPOCHS * -(-SENTENCES["train"] // BATCH)


def test_a_run_on_a_stock_encoder_equals_plain_flair_fine_tune(tiny_bert_dir, data_dir, tmp_path):
    stock_losses, stock_weights = _stock(tiny_bert_dir, data_dir, tmp_path / "stock")
    our_losses, our_weights = _ours(tiny_bert_dir, data_dir, tmp_path / "ours")

    assert len(stock_losses) == len(our_losses) == _steps()
    assert our_losses == stock_losses  # bit for bit, every step
    assert our_weights.keys() == stock_weights.keys()
    for name, weight in stock_weights.items():
        assert torch.equal(our_weights[name], weight), name
    # the weights did move: equal final weights are not equal initial weights left alone
    assert stock_losses[-1] < stock_losses[0]


def test_a_modernbert_run_equals_plain_flair_on_the_same_weights(tiny_model_dir, data_dir, tmp_path):
    stock_losses, stock_weights = _stock(tiny_model_dir, data_dir, tmp_path / "stock", modernbert=True)
    our_losses, our_weights = _ours(tiny_model_dir, data_dir, tmp_path / "ours")

    assert len(stock_losses) == len(our_losses) == _steps()
    # unpadded vs padded attention: the same math, summed in another order (~1e-6 per forward pass)
    assert our_losses == pytest.approx(stock_losses, rel=1e-5)  # measured: 1e-7
    assert our_weights.keys() == stock_weights.keys()
    for name, weight in stock_weights.items():
        torch.testing.assert_close(our_weights[name], weight, rtol=1e-4, atol=1e-5, msg=name)
    assert stock_losses[-1] < stock_losses[0]
