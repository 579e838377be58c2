"""Whole documents as training and test sequences (``corpus.documents``): CoNLL -DOCSTART-, a Hugging Face
document column, synthetic documents, and a run that scores the test set per sentence and as documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from datasets import Dataset, DatasetDict, Features, Sequence, Value
from flair.data import Sentence
from transformers import AutoTokenizer

from flair_modernbert.config import load_recipe, recipe_from_dict
from flair_modernbert.data import document_sequences, documents_of, load_corpus, pack_documents
from flair_modernbert.data.documents import synthetic_documents
from flair_modernbert.tags import spans_of
from flair_modernbert.training import train_recipe

ROOT = Path(__file__).resolve().parents[1]

CONLL = """-DOCSTART- O

John B-PER
lives O
in O
Paris B-LOC
. O

He O
likes O
it O
. O

-DOCSTART- O

Anna B-PER
Lee I-PER
sings O
. O

In O
Berlin B-LOC
too O
. O
"""


def _words(sentence: Sentence) -> list[str]:
    return [t.text for t in sentence]


def test_conll_docstart_documents_become_packed_sequences(tmp_path, tiny_model_dir):
    (tmp_path / "train.txt").write_text(CONLL, encoding="utf-8")
    corpus = load_corpus(recipe_from_dict({"corpus": {
        "type": "column", "path": str(tmp_path), "train_file": "train.txt", "dev_file": "train.txt",
        "test_file": "train.txt", "document_separator": "-DOCSTART-", "column_delimiter": " "}}).corpus)
    documents = documents_of(list(corpus.train))
    assert [[_words(s) for s in d] for d in documents] == [
        [["John", "lives", "in", "Paris", "."], ["He", "likes", "it", "."]],
        [["Anna", "Lee", "sings", "."], ["In", "Berlin", "too", "."]],
    ]
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    sequences = pack_documents(documents, "ner", 1000, lambda words: len(words))
    assert [_words(s) for s in sequences] == [
        ["John", "lives", "in", "Paris", ".", "He", "likes", "it", "."],
        ["Anna", "Lee", "sings", ".", "In", "Berlin", "too", "."],
    ]
    assert [spans_of(s, "ner") for s in sequences] == [[(0, 1, "PER"), (3, 4, "LOC")],
                                                      [(0, 2, "PER"), (5, 6, "LOC")]]
    # the budget splits a document, and the parts of a document are linked, documents are not
    small = pack_documents(documents, "ner", 6, lambda words: len(words))
    assert [len(s) for s in small] == [5, 4, 4, 4]
    assert small[1].previous_sentence() is small[0] and small[2].previous_sentence() is None
    assert document_sequences(list(corpus.train), "ner", tokenizer)[0].get_spans("ner")[1].text == "Paris"


def test_a_huggingface_document_column_links_rows_of_one_document(tmp_path):
    features = Features({"tokens": Sequence(Value("string")), "ner_tags": Sequence(Value("string")),
                         "doc": Value("string")})
    rows = {"tokens": [["John", "runs"], ["He", "wins"], ["Anna", "sings"]],
            "ner_tags": [["B-PER", "O"], ["O", "O"], ["B-PER", "O"]], "doc": ["a", "a", "b"]}
    DatasetDict({"train": Dataset.from_dict(rows, features=features)}).save_to_disk(str(tmp_path / "hf"))
    corpus = load_corpus(recipe_from_dict({"corpus": {"type": "hf", "path": str(tmp_path / "hf"),
                                                      "document_column": "doc"}}).corpus)
    train = list(corpus.train)
    assert train[1].previous_sentence() is train[0] and train[2].previous_sentence() is None
    assert [[_words(s) for s in d] for d in documents_of(train)] == [[["John", "runs"], ["He", "wins"]],
                                                                     [["Anna", "sings"]]]


def _gold_conll(doc_id: str, sentences: list[list[tuple[str, str]]]) -> str:
    """A CoNLL-2012 ``*gold_conll`` file: one document part, ``(word, named-entity column)`` rows."""
    lines = [f"#begin document ({doc_id}); part 000"]
    for sentence in sentences:
        for index, (word, entity) in enumerate(sentence):
            lines.append(f"{doc_id} 0 {index} {word} NNP (TOP*) - - - Speaker#1 {entity} -")
        lines.append("")
    return "\n".join(lines + ["#end document", ""])


def test_ontonotes_sentences_are_linked_within_their_documents_only(tmp_path):
    # Flair writes one file per source (many documents) and links all of its sentences; the raw CoNLL-2012
    # files name each sentence's document
    documents = {
        "bc/cctv/00/cctv_0001": [[("John", "(PERSON)"), ("runs", "*")], [("He", "*"), ("wins", "*")]],
        "bc/cctv/00/cctv_0002": [[("Paris", "(GPE)")], [("is", "*")], [("big", "*")]],
        "bc/cnn/00/cnn_0001": [[("Anna", "(PERSON)"), ("sings", "*")]],
    }
    for split in ("train", "development", "test"):
        for doc_id, sentences in documents.items():
            file = tmp_path / "conll-2012/v4/data" / split / "data/english/annotations" / f"{doc_id}.gold_conll"
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(_gold_conll(doc_id, sentences), encoding="utf-8")
    corpus = load_corpus(recipe_from_dict({"corpus": {"type": "flair", "name": "ONTONOTES",
                                                      "kwargs": {"base_path": str(tmp_path)}}}).corpus)
    for split in (corpus.train, corpus.dev, corpus.test):
        sentences = list(split)
        assert [[_words(s) for s in d] for d in documents_of(sentences)] == [
            [["John", "runs"], ["He", "wins"]], [["Paris"], ["is"], ["big"]], [["Anna", "sings"]]]
        assert sentences[1].previous_sentence() is sentences[0] and sentences[2].previous_sentence() is None
        assert sentences[1].next_sentence() is None and sentences[2].next_sentence() is sentences[3]
    assert spans_of(list(corpus.train)[0], "ner") == [(0, 1, "PERSON")]


def test_synthetic_documents_are_seeded_shuffles():
    sentences = [Sentence([str(i)]) for i in range(10)]
    first = synthetic_documents(sentences, seed=1, size=3)
    assert [len(d) for d in first] == [3, 3, 3, 1]
    assert sorted(int(s[0].text) for d in first for s in d) == list(range(10))
    assert [[s[0].text for s in d] for d in first] == [[s[0].text for s in d] for d in synthetic_documents(sentences, 1, 3)]
    assert first != synthetic_documents(sentences, seed=2, size=3)


def test_a_run_on_documents_scores_the_test_set_per_sentence_and_as_documents(tmp_path):
    recipe = load_recipe(ROOT / "recipes" / "quickstart.yaml", [
        "corpus.sample=40", "training.max_epochs=1", "training.mini_batch_size=2",
        "corpus.documents={max_subtokens: 256, synthetic: true}",
    ])
    lines: list[str] = []
    run = train_recipe(recipe, output_dir=tmp_path, progress=False, announce=lines.append).runs[0]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["test_documents"]["sentences"] < results["test"]["sentences"] == 40  # fewer, longer sequences
    assert results["test_documents"]["micro"]["support"] == results["test"]["micro"]["support"]  # same entities
    assert results["documents_micro_f1"] == run.results.documents_micro_f1
    assert results["train_sentences"] < 40  # trained on packed sequences
    assert "Sentences vs whole documents" in (tmp_path / "report.txt").read_text()
    assert "documents F1" in (tmp_path / "README.md").read_text()
    assert any("as " in line and "whole documents" in line for line in lines)


def test_document_settings_are_checked(tmp_path):
    with pytest.raises(ValueError, match=r"corpus\.documents\.max_subtokens: must be >= 8"):
        recipe_from_dict({"corpus": {"type": "flair", "name": "CONLL_03", "documents": {"max_subtokens": 2}}})
    with pytest.raises(ValueError, match=r"corpus\.documents\.synthetc: unknown key; did you mean 'synthetic'"):
        recipe_from_dict({"corpus": {"type": "flair", "name": "CONLL_03", "documents": {"synthetc": True}}})
