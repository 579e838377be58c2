"""``use_context="document"``: each document of a batch is encoded once, with the per-sentence path's numbers."""

from __future__ import annotations

import random

import pytest
import torch
from flair.data import Sentence
from hypothesis import given
from hypothesis import strategies as st

from flair_modernbert import ModernBertEmbeddings
from flair_modernbert.encoder import unpadded
from flair_modernbert.encoder.documents import document_of, plan_windows

WORDS = "John Smith moved to Berlin in May , and Anna met him at the station near Alexanderplatz .".split()


def _document(count: int, seed: int = 0) -> list[Sentence]:
    rng = random.Random(seed)
    sentences = [Sentence([rng.choice(WORDS) for _ in range(rng.randint(3, 12))]) for _ in range(count)]
    Sentence.set_context_for_sentences(sentences)
    return sentences


def _copy(sentences: list[Sentence]) -> list[Sentence]:
    copies = [Sentence([t.text for t in s]) for s in sentences]
    Sentence.set_context_for_sentences(copies)
    for copy, original in zip(copies, sentences):
        copy.is_document_boundary = original.is_document_boundary
    return copies


@pytest.fixture
def count_passes(monkeypatch):
    """Counts the encoder passes (one per call of the packed encoder) and the sequences in them."""
    calls: list[int] = []
    original = unpadded.encode_packed

    def counting(model, packed, *args, **kwargs):
        calls.append(packed.num_sequences)
        return original(model, packed, *args, **kwargs)

    monkeypatch.setattr("flair_modernbert.encoder.embeddings.encode_packed", counting)
    return calls


def test_document_mode_gives_the_per_sentence_numbers_in_one_pass(tiny_model_dir, count_passes):
    ours = ModernBertEmbeddings(str(tiny_model_dir), use_context="document", use_context_separator=False)
    ours.eval()
    document = _document(12)
    batch = document[2:9]
    with torch.no_grad():
        ours.embed(batch)
    assert count_passes == [1]  # the whole document, once, for the 7 sentences
    # the per-sentence path: Flair's own expansion of every sentence with the whole document as context
    reference = _copy(document)
    count_passes.clear()
    with torch.no_grad():
        super(ModernBertEmbeddings, ours)._add_embeddings_internal(reference[2:9])
    assert count_passes == [7]
    for sentence, expected in zip(batch, reference[2:9]):
        for token, other in zip(sentence, expected):
            assert torch.allclose(token.get_embedding(), other.get_embedding(), atol=1e-5)


def test_documents_stop_at_boundaries_and_every_document_is_encoded_once(tiny_model_dir, count_passes):
    ours = ModernBertEmbeddings(str(tiny_model_dir), use_context="document", use_context_separator=False)
    ours.eval()
    sentences = _document(10, seed=1)
    sentences[5].is_document_boundary = True  # e.g. -DOCSTART-
    assert [len(document_of(s)) for s in (sentences[0], sentences[4], sentences[6])] == [5, 5, 4]
    with torch.no_grad():
        ours.embed(sentences[2:9])
    # three sequences: sentences 0-4, the boundary sentence with what follows it, sentences 6-9
    assert count_passes == [3]
    assert all(t.get_embedding().abs().sum() > 0 for s in sentences[2:9] for t in s)


def test_a_71_sentence_document_costs_one_pass_with_flerts_separators_too(tiny_model_dir, count_passes):
    ours = ModernBertEmbeddings(str(tiny_model_dir), use_context="document")
    ours.eval()
    document = _document(71, seed=2)
    with torch.no_grad():
        ours.embed(document)
    assert count_passes == [1]


def test_context_dropout_drops_a_documents_context_as_a_whole(tiny_model_dir, count_passes):
    ours = ModernBertEmbeddings(str(tiny_model_dir), use_context="document", context_dropout=1.0, fine_tune=True)
    ours.train()
    document = _document(6, seed=3)
    ours.embed(document)
    assert count_passes == [6]  # every sentence on its own


def test_a_document_longer_than_the_window_is_cut_into_overlapping_windows(tmp_path, count_passes):
    from flair_modernbert.encoder.random_models import build_random_modernbert

    short = build_random_modernbert(tmp_path / "short", size="tiny", model_max_length=96)
    ours = ModernBertEmbeddings(str(short), use_context="document")
    ours.eval()
    document = _document(40, seed=4)
    with torch.no_grad():
        ours.embed(document)
    assert len(count_passes) == 1 and 2 <= count_passes[0] < 40  # one batch of windows, not a pass per sentence
    assert all(t.get_embedding().abs().sum() > 0 for s in document for t in s)


@given(lengths=st.lists(st.integers(1, 60), min_size=1, max_size=40), budget=st.integers(20, 200), data=st.data())
def test_window_plans_serve_every_sentence_once_within_the_budget(lengths, budget, data):
    wanted = sorted(data.draw(st.sets(st.integers(0, len(lengths) - 1), min_size=1)))
    windows, alone = plan_windows(lengths, wanted, budget)
    served = [i for w in windows for i in w.served]
    assert sorted(served + alone) == wanted and len(set(served)) == len(served)
    assert alone == [i for i in wanted if lengths[i] > budget]
    for window in windows:
        assert sum(lengths[window.start : window.end]) <= budget
        assert all(window.start <= i < window.end for i in window.served)
    if sum(lengths) <= budget:
        assert windows == [type(windows[0])(0, len(lengths), tuple(wanted))]
