"""ModernBertEmbeddings: same numbers as stock Flair's padded path, without padding."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
import torch
from flair.data import Dictionary, Sentence
from flair.embeddings import TransformerWordEmbeddings
from flair.models import SequenceTagger
from transformers import BertConfig

from flair_modernbert import ModernBertEmbeddings
from flair_modernbert.encoder.random_models import build_random_modernbert
from flair_modernbert.encoder.tokenization import ensure_prefix_space

TOLERANCE = 1e-4

WEIRD_TEXTS = [  # Flair's tests/embedding_test_utils.py list, plus odd unicode
    "Hybrid mesons , qq ̄ states with an admixture",
    "typical proportionalities of ~ 1nmV - 1 [ 3,4 ] .",
    "🤟 🤟  🤟 hüllo",
    "🤟hallo 🤟 🤟 🤟 🤟",
    "🤟",
    "e\u0301 ﬁ Ⅻ ß İstanbul 東京 مرحبا 👩‍👩‍👧",
]
ODD_TOKENS = [["hello", " ", "hm", " "], ["\u200b", "x", "\ufeff", "\u200d", "\u00a0"], ["\t", "a"]]


def _pair(model_dir, **kwargs):
    """ModernBertEmbeddings and stock Flair embeddings on the same weights and tokenization."""
    ours = ModernBertEmbeddings(str(model_dir), **kwargs)
    reference = TransformerWordEmbeddings(str(model_dir), **kwargs)
    ensure_prefix_space(reference.tokenizer)
    reference.model.load_state_dict(ours.model.state_dict())
    return ours, reference


def _sentence_of_subtokens(tokenizer, n):
    """A sentence whose encoding (with [CLS] and [SEP]) is exactly n subtokens long."""
    word = next(w for w in ("the", "a", "to", "in") if len(tokenizer.tokenize(" " + w)) == 1)
    return Sentence([word] * (n - 2))


def _mixed_batch(tokenizer, wnut_sample_dir):
    texts = []
    for line in (wnut_sample_dir / "train.conll").read_text(encoding="utf-8").split("\n\n")[:6]:
        texts.append(Sentence([row.split("\t")[0] for row in line.splitlines()]))
    lengths = [3, 4, 17, 100, 257, 512]
    return texts + [_sentence_of_subtokens(tokenizer, n) for n in lengths]


def _max_diff(a_sentences, b_sentences):
    diffs = [
        float((a.get_embedding() - b.get_embedding()).abs().max())
        for x, y in zip(a_sentences, b_sentences)
        for a, b in zip(x, y)
    ]
    return max(diffs)


@pytest.mark.parametrize("pooling", ["first", "last", "first_last", "mean"])
@pytest.mark.parametrize(("layers", "layer_mean"), [("-1", True), ("all", True), ("all", False), ("0,-2", False)])
def test_equals_stock_flair(tiny_model_dir, wnut_sample_dir, pooling, layers, layer_mean):
    ours, reference = _pair(tiny_model_dir, subtoken_pooling=pooling, layers=layers, layer_mean=layer_mean)
    assert ours.embedding_length == reference.embedding_length
    batch = _mixed_batch(ours.tokenizer, wnut_sample_dir)
    # far longer than the local window (16), and up to 512 subtokens in one batch
    assert max(len(s) for s in batch) > 10 * ours.model.config.local_attention
    copy = [Sentence([t.text for t in s]) for s in batch]
    ours.embed(batch)
    reference.embed(copy)
    assert _max_diff(batch, copy) <= TOLERANCE


def test_strided_long_sentences_equal_stock_flair(tiny_model_dir, wnut_sample_dir):
    kwargs = dict(transformers_tokenizer_kwargs={"model_max_length": 64}, subtoken_pooling="mean")
    ours, reference = _pair(tiny_model_dir, **kwargs)
    assert ours.stride == reference.stride == 32
    batch = [_sentence_of_subtokens(ours.tokenizer, 230), Sentence("short one"), _sentence_of_subtokens(ours.tokenizer, 65)]
    batch += _mixed_batch(ours.tokenizer, wnut_sample_dir)[:3]
    copy = [Sentence([t.text for t in s]) for s in batch]
    ours.embed(batch)
    reference.embed(copy)
    assert _max_diff(batch, copy) <= TOLERANCE
    assert all(float(t.get_embedding().abs().sum()) > 0 for s in batch for t in s)


def test_context_equals_stock_flair(tiny_model_dir, wnut_sample_dir):
    ours, reference = _pair(tiny_model_dir, use_context=True)
    batch = _mixed_batch(ours.tokenizer, wnut_sample_dir)[:6]
    copy = [Sentence([t.text for t in s]) for s in batch]
    ours.embed(batch)
    reference.embed(copy)
    assert _max_diff(batch, copy) <= TOLERANCE


def test_fine_tune_gradients_equal_stock_flair(tiny_model_dir, wnut_sample_dir):
    ours, reference = _pair(tiny_model_dir, fine_tune=True, subtoken_pooling="first_last", layers="-1,-3")
    batch = _mixed_batch(ours.tokenizer, wnut_sample_dir)[:5] + [_sentence_of_subtokens(ours.tokenizer, 120)]
    copy = [Sentence([t.text for t in s]) for s in batch]
    torch.manual_seed(0)
    weights = [torch.randn(len(s), ours.embedding_length) for s in batch]
    for embeddings, sentences in ((ours, batch), (reference, copy)):
        embeddings.train()
        embeddings.embed(sentences)
        loss = sum((torch.stack([t.get_embedding() for t in s]) * w).sum() for s, w in zip(sentences, weights))
        loss.backward()
    ours_grads = dict(ours.model.named_parameters())
    compared = 0
    for name, param in reference.model.named_parameters():
        if param.grad is None:
            assert ours_grads[name].grad is None or float(ours_grads[name].grad.abs().max()) == 0.0
            continue
        # gradients sum over hundreds of subtokens: compare relative to their scale
        scale = max(1.0, float(param.grad.abs().max()))
        assert float((ours_grads[name].grad - param.grad).abs().max()) <= TOLERANCE * scale, name
        compared += 1
    assert compared > 10


def test_words_beyond_the_window_raise_without_striding(tiny_model_dir):
    embeddings = ModernBertEmbeddings(
        str(tiny_model_dir), allow_long_sentences=False, transformers_tokenizer_kwargs={"model_max_length": 64}
    )
    sentence = _sentence_of_subtokens(embeddings.tokenizer, 100)
    with pytest.raises(ValueError, match=r"needs 100 subtokens, more than the model's maximum of 64.*allow_long_sentences=True"):
        embeddings.embed(sentence)
    fits = _sentence_of_subtokens(embeddings.tokenizer, 64)
    embeddings.embed(fits)
    assert all(float(t.get_embedding().abs().sum()) > 0 for t in fits)


@pytest.mark.parametrize("text", WEIRD_TEXTS)
def test_weird_texts_embed_every_token(tiny_model_dir, text):
    embeddings = ModernBertEmbeddings(str(tiny_model_dir))
    sentence = Sentence(text)
    embeddings.embed(sentence)
    for token in sentence:
        vector = token.get_embedding()
        assert vector.shape == (embeddings.embedding_length,)
        assert torch.isfinite(vector).all() and float(vector.abs().sum()) > 0, repr(token.text)


@pytest.mark.parametrize("tokens", ODD_TOKENS, ids=["whitespace", "zero-width", "tab"])
def test_odd_tokens_are_not_dropped(tiny_model_dir, tokens):
    embeddings = ModernBertEmbeddings(str(tiny_model_dir))
    sentence = Sentence(tokens)
    assert len(sentence) == len(tokens)
    embeddings.embed(sentence)
    for token in sentence:
        assert float(token.get_embedding().abs().sum()) > 0, repr(token.text)


def test_empty_sentence_embeds_nothing_and_breaks_nothing(tiny_model_dir):
    embeddings = ModernBertEmbeddings(str(tiny_model_dir))
    empty, full = Sentence(""), Sentence("John lives in Berlin")
    embeddings.embed([empty, full])
    assert len(empty) == 0
    assert all(t.get_embedding().shape == (embeddings.embedding_length,) for t in full)


def test_ten_thousand_token_sentence(tiny_model_dir, wnut_sample_dir):
    words = [row.split("\t")[0] for row in (wnut_sample_dir / "train.conll").read_text(encoding="utf-8").splitlines() if row]
    sentence = Sentence((words * 10)[:10_000])
    embeddings = ModernBertEmbeddings(str(tiny_model_dir))
    embeddings.embed(sentence)
    assert len(sentence) == 10_000
    assert all(float(t.get_embedding().abs().sum()) > 0 for t in sentence)
    strict = ModernBertEmbeddings(str(tiny_model_dir), allow_long_sentences=False)
    with pytest.raises(ValueError, match="allow_long_sentences=True"):
        strict.embed(Sentence((words * 10)[:10_000]))


def _document(wnut_sample_dir, n=30):
    chunks = (wnut_sample_dir / "train.conll").read_text(encoding="utf-8").split("\n\n")[:n]
    return [[row.split("\t")[0] for row in chunk.splitlines()] for chunk in chunks]


def _embed_last(embeddings, document):
    sentences = [Sentence(words) for words in document]
    embeddings.embed(sentences)
    return torch.stack([t.get_embedding() for t in sentences[-1]])


def test_document_context_reaches_the_whole_document(tiny_model_dir, wnut_sample_dir):
    document = _document(wnut_sample_dir)
    changed = [list(words) for words in document]
    changed[0] = ["Completely", "different", "opening", "words"] * 3
    assert sum(len(w) for w in document[1:-1]) > 64  # the first sentence is beyond Flair's default context
    whole = ModernBertEmbeddings(str(tiny_model_dir), use_context="document")
    assert whole.context_length == whole.tokenizer.model_max_length
    assert not torch.equal(_embed_last(whole, document), _embed_last(whole, changed))
    near = ModernBertEmbeddings(str(tiny_model_dir), use_context=True)
    near.model.load_state_dict(whole.model.state_dict())
    assert torch.equal(_embed_last(near, document), _embed_last(near, changed))


def test_document_context_is_trimmed_to_the_window(tiny_model_dir, wnut_sample_dir):
    embeddings = ModernBertEmbeddings(
        str(tiny_model_dir), use_context="document", transformers_tokenizer_kwargs={"model_max_length": 96}
    )
    sentences = [Sentence(words) for words in _document(wnut_sample_dir)]
    tensors = embeddings.prepare_tensors(sentences)
    assert tensors["input_ids"].shape[1] <= 96
    # one window per sentence: context was trimmed, not strided
    assert tensors["overflow_to_sample_mapping"].tolist() == list(range(len(sentences)))
    assert (tensors["word_ids"].max(dim=1).values + 1).tolist() == [len(s) for s in sentences]
    embeddings.embed(sentences)
    assert all(float(t.get_embedding().abs().sum()) > 0 for s in sentences for t in s)


def test_keeps_batch_order(tiny_model_dir):
    embeddings = ModernBertEmbeddings(str(tiny_model_dir))
    first = [Sentence("First sentence"), Sentence("This is second sentence")]
    second = [Sentence("This is second sentence"), Sentence("First sentence")]
    embeddings.embed(first)
    embeddings.embed(second)
    for a, b in ((first[0], second[1]), (first[1], second[0])):
        for x, y in zip(a, b):
            assert torch.equal(x.get_embedding(), y.get_embedding())


def test_building_a_random_model_is_seeded_and_leaves_the_callers_random_state(tmp_path):
    """The first run of a random:<size> recipe builds the model mid-run: it must not reset the run's RNG."""
    from safetensors.torch import load_file

    torch.manual_seed(7)
    expected = torch.rand(4)
    torch.manual_seed(7)
    first = build_random_modernbert(tmp_path / "a", size="tiny", seed=1)
    assert torch.equal(torch.rand(4), expected)
    second = build_random_modernbert(tmp_path / "b", size="tiny", seed=1)
    a, b = load_file(first / "model.safetensors"), load_file(second / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_tagger_saves_and_loads_in_a_fresh_process(tmp_path):
    model_dir = build_random_modernbert(tmp_path / "model", size="tiny", seed=3)
    embeddings = ModernBertEmbeddings(str(model_dir), subtoken_pooling="first_last", final_norm=True)
    labels = Dictionary(add_unk=False)
    for tag in ("O", "S-PER", "B-PER", "E-PER", "I-PER", "S-LOC"):
        labels.add_item(tag)
    tagger = SequenceTagger(embeddings, labels, "ner", use_rnn=False, use_crf=True, reproject_embeddings=False)
    texts = ["John Smith lives in Berlin", "🤟 hüllo zürich", "a"]
    sentences = [Sentence(t) for t in texts]
    tagger.predict(sentences)
    expected = [[(t.text, t.get_label("ner").value) for t in s] for s in sentences]
    tagger.save(tmp_path / "final-model.pt")
    shutil.rmtree(model_dir)  # config and tokenizer must travel inside the saved model
    script = textwrap.dedent(
        f"""
        import json, sys
        import flair_modernbert
        assert "torch" not in sys.modules  # the import is cheap; Flair finds the class when it loads the model
        from flair.data import Sentence
        from flair.models import SequenceTagger
        tagger = SequenceTagger.load({str(tmp_path / "final-model.pt")!r})
        emb = tagger.embeddings
        assert type(emb).__name__ == "ModernBertEmbeddings", type(emb)
        assert emb.final_norm is True and emb.subtoken_pooling == "first_last"
        sentences = [Sentence(t) for t in {texts!r}]
        tagger.predict(sentences)
        json.dump([[(t.text, t.get_label("ner").value) for t in s] for s in sentences], sys.stdout)
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert [[tuple(p) for p in s] for s in json.loads(result.stdout.strip().splitlines()[-1])] == expected


def test_refuses_a_model_that_is_not_modernbert(tmp_path):
    BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"is a 'bert' model\. Use flair\.embeddings\.TransformerWordEmbeddings"):
        ModernBertEmbeddings(str(tmp_path))


def test_missing_model_says_what_to_pass(tmp_path):
    with pytest.raises(OSError, match="random:tiny"):
        ModernBertEmbeddings(str(tmp_path / "no-such-model"))


def test_bad_arguments_are_named(tiny_model_dir):
    with pytest.raises(ValueError, match="attention_backend='fast' is unknown"):
        ModernBertEmbeddings(str(tiny_model_dir), attention_backend="fast")
    with pytest.raises(ValueError, match="TransformerDocumentEmbeddings"):
        ModernBertEmbeddings(str(tiny_model_dir), is_document_embedding=True)
    with pytest.raises(ValueError, match="use_context='doc'"):
        ModernBertEmbeddings(str(tiny_model_dir), use_context="doc")
    embeddings = ModernBertEmbeddings(str(tiny_model_dir), attention_backend="flash_attn")
    with pytest.raises(ValueError, match="needs a CUDA device"):
        embeddings.embed(Sentence("hello"))


def test_loads_in_eval_mode_and_round_trips_state(tiny_model_dir):
    from flair.embeddings.base import load_embeddings

    embeddings = ModernBertEmbeddings(str(tiny_model_dir), use_context="document", attention_backend="sdpa")
    old = Sentence("I love Berlin")
    embeddings.embed(old)
    loaded = load_embeddings(embeddings.save_embeddings(use_state_dict=True))
    assert not loaded.training
    assert (loaded.attention_backend, loaded.document_context) == ("sdpa", True)
    new = Sentence("I love Berlin")
    loaded.embed(new)
    assert all(torch.equal(a.get_embedding(), b.get_embedding()) for a, b in zip(old, new))
