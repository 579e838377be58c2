import json

import pytest
from flair.data import Sentence
from tokenizers import pre_tokenizers
from transformers import AutoTokenizer

from flair_modernbert import ModernBertEmbeddings
from flair_modernbert.encoder.tokenization import ensure_prefix_space, uses_byte_level, word_subtokens

NAMES = ["John", "john", "Smith", "smith", "O'Brien", "mcdonald", "Ángela", "li"]


@pytest.fixture
def raw_tokenizer(tiny_model_dir):
    """The tokenizer as saved: ByteLevel with add_prefix_space=False, like ModernBERT's own."""
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    state = json.loads(tokenizer.backend_tokenizer.to_str())
    assert state["pre_tokenizer"]["add_prefix_space"] is False
    return tokenizer


def test_without_prefix_space_words_lose_their_space_marker(raw_tokenizer):
    # the bug behind ModernBERT's weak NER numbers: pre-split words tokenize as if they began the text
    pieces = word_subtokens(raw_tokenizer, ["met", "John", "Smith"])
    assert all(not p[0].startswith("Ġ") for p in pieces)
    assert pieces[1] != raw_tokenizer.tokenize(" John")


def test_ensure_prefix_space_gives_running_text_subtokens(raw_tokenizer):
    assert ensure_prefix_space(raw_tokenizer) is True
    assert ensure_prefix_space(raw_tokenizer) is False  # idempotent
    for name in NAMES:
        expected = raw_tokenizer.tokenize(" " + name)
        alone = word_subtokens(raw_tokenizer, [name])[0]
        first = word_subtokens(raw_tokenizer, [name, "lives", "here"])[0]
        middle = word_subtokens(raw_tokenizer, ["met", name, "today"])[1]
        assert alone == first == middle == expected, name
        assert expected[0].startswith("Ġ")
        # capitalisation is kept: the subtokens spell the word itself
        assert raw_tokenizer.convert_tokens_to_string(expected) == " " + name


def test_lower_cased_and_capitalised_names_differ_only_by_case(raw_tokenizer):
    ensure_prefix_space(raw_tokenizer)
    upper = word_subtokens(raw_tokenizer, ["John", "Smith"])
    lower = word_subtokens(raw_tokenizer, ["john", "smith"])
    assert ["".join(p) for p in upper] == ["ĠJohn", "ĠSmith"]
    assert ["".join(p) for p in lower] == ["Ġjohn", "Ġsmith"]


def test_sequence_pre_tokenizer_is_handled(raw_tokenizer):
    raw_tokenizer.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    assert uses_byte_level(raw_tokenizer)
    assert ensure_prefix_space(raw_tokenizer) is True
    assert word_subtokens(raw_tokenizer, ["a", "John"])[1] == raw_tokenizer.tokenize(" John")


def test_embeddings_tokenizer_uses_the_rule_and_keeps_it_after_saving(tiny_model_dir):
    from flair.embeddings.base import load_embeddings

    embeddings = ModernBertEmbeddings(str(tiny_model_dir))
    for tokenizer in (embeddings.tokenizer, load_embeddings(embeddings.save_embeddings()).tokenizer):
        words = ["john", "smith", "met", "John", "Smith"]
        for word, pieces in zip(words, word_subtokens(tokenizer, words)):
            assert pieces == tokenizer.tokenize(" " + word)


def test_flair_tokens_get_the_documented_subtokens(tiny_model_dir):
    embeddings = ModernBertEmbeddings(str(tiny_model_dir))
    sentence = Sentence("john smith visited New York")
    tensors = embeddings.prepare_tensors([sentence])
    ids = tensors["input_ids"][0].tolist()
    word_ids = tensors["word_ids"][0].tolist()
    tokenizer = embeddings.tokenizer
    for index, token in enumerate(sentence):
        got = [tokenizer.convert_ids_to_tokens(i) for i, w in zip(ids, word_ids) if w == index]
        assert got == tokenizer.tokenize(" " + token.text)


def test_the_random_models_tokenizer_learned_merges_from_the_shipped_sample(tiny_model_dir):
    """A BPE trained on no text spells every word byte by byte; the sample gives common words one subtoken."""
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    ensure_prefix_space(tokenizer)
    assert len(tokenizer) > 1000
    assert word_subtokens(tokenizer, ["the", "and"]) == [["Ġthe"], ["Ġand"]]
