"""The one span <-> tag converter: Flair's decoding of BIO, IOB1 and BIOES, and writing BIO/BIOES."""

import pytest
from flair.data import Sentence
from flair.datasets import ColumnCorpus
from hypothesis import given
from hypothesis import strategies as st

from flair_modernbert.tags import add_spans, sentence_tags, spans_from_tags, spans_of, tags_from_spans


def test_bio_iob1_and_bioes_decode_to_the_same_spans():
    bio = ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG", "I-ORG", "O", "B-MISC"]
    iob1 = ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG", "I-ORG", "O", "B-MISC"]
    bioes = ["B-PER", "E-PER", "S-PER", "O", "S-LOC", "B-ORG", "E-ORG", "O", "S-MISC"]
    expected = [(0, 2, "PER"), (2, 3, "PER"), (4, 5, "LOC"), (5, 7, "ORG"), (8, 9, "MISC")]
    assert spans_from_tags(bio) == spans_from_tags(iob1) == spans_from_tags(bioes) == expected
    tags = list(bio)
    spans_from_tags(tags)
    assert tags == bio  # Flair appends to the list it decodes: ours is left alone


def test_tags_are_written_in_bio_and_bioes():
    spans = [(0, 1, "PER"), (1, 2, "PER"), (3, 6, "LOC")]
    assert tags_from_spans(7, spans) == ["B-PER", "B-PER", "O", "B-LOC", "I-LOC", "I-LOC", "O"]
    assert tags_from_spans(7, spans, "BIOES") == ["S-PER", "S-PER", "O", "B-LOC", "I-LOC", "E-LOC", "O"]
    for bad, message in [([(2, 9, "X")], "outside"), ([(0, 2, "X"), (1, 3, "Y")], "overlaps"), ([(0, 1, "a b")], "cannot")]:
        with pytest.raises(ValueError, match=message):
            tags_from_spans(5, bad)
    with pytest.raises(ValueError, match="tag_format"):
        tags_from_spans(3, [], "IOB1")


@given(st.lists(st.tuples(st.integers(1, 4), st.sampled_from(["O", "PER", "LOC"])), max_size=12),
       st.sampled_from(["BIO", "BIOES"]))
def test_spans_survive_a_round_trip(pieces, tag_format):
    spans, position = [], 0
    for length, kind in pieces:
        if kind != "O":
            spans.append((position, position + length, kind))
        position += length
    assert spans_from_tags(tags_from_spans(position, spans, tag_format)) == spans


def test_sentence_spans_and_tags_agree_with_flairs_column_reader(tmp_path):
    (tmp_path / "train.txt").write_text(
        "John\tI-PER\nSmith\tI-PER\nMary\tB-PER\nin\tO\nNew\tI-LOC\nYork\tI-LOC\n", encoding="utf-8"
    )
    sentence = ColumnCorpus(tmp_path, {0: "text", 1: "ner"}, train_file="train.txt", autofind_splits=False,
                            sample_missing_splits=False).train[0]
    expected = spans_from_tags(["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-LOC"])
    assert spans_of(sentence, "ner") == expected == [(0, 2, "PER"), (2, 3, "PER"), (4, 6, "LOC")]
    assert sentence_tags(sentence, "ner") == ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "I-LOC"]
    copy = add_spans(Sentence([t.text for t in sentence]), expected, "ner")
    assert spans_of(copy, "ner") == expected


def test_overlapping_spans_keep_the_first_longest():
    sentence = Sentence("New York City hall".split())
    sentence[0:3].add_label("ner", "LOC")
    sentence[1:2].add_label("ner", "LOC")
    assert spans_of(sentence, "ner") == [(0, 3, "LOC")]
