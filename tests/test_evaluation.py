"""seqeval entity-level scores on hand-checked examples, the confusion matrix, case robustness."""

import pytest
from flair.data import Dictionary, Sentence
from flair.models import SequenceTagger

from flair_modernbert import ModernBertEmbeddings
from flair_modernbert.evaluation import (
    MISSED,
    SPURIOUS,
    entity_confusion,
    evaluate_sentences,
    evaluate_tagger,
    evaluate_tags,
    format_side_by_side,
    lowercase_copy,
)


def _sentence(words, gold=(), predicted=()):
    sentence = Sentence(words.split())
    for start, end, kind in gold:
        sentence[start:end].add_label("ner", kind)
    for start, end, kind in predicted:
        sentence[start:end].add_label("predicted", kind)
    return sentence


def _example():
    """4 gold entities (PER 2, LOC 2), 3 predictions.

    s1: gold PER[0:2] LOC[4:5]; predicted PER[0:2] (correct), LOC[4:5] (correct)
    s2: gold PER[0:1] LOC[3:5]; predicted PER[0:2] (boundary error: FP and FN), nothing for LOC (FN)
    s3: no gold; nothing predicted
    """
    return [
        _sentence("John Smith moved to Berlin", [(0, 2, "PER"), (4, 5, "LOC")], [(0, 2, "PER"), (4, 5, "LOC")]),
        _sentence("Mary met him in New York", [(0, 1, "PER"), (4, 6, "LOC")], [(0, 2, "PER")]),
        _sentence("nothing here", [], []),
    ]


def test_seqeval_scores_hand_checked():
    result = evaluate_sentences(_example(), "ner", "predicted")
    # micro: TP 2, predicted 3, gold 4 -> P 2/3, R 2/4, F1 2*(2/3*1/2)/(2/3+1/2) = 4/7
    assert result.micro["precision"] == pytest.approx(2 / 3)
    assert result.micro["recall"] == pytest.approx(0.5)
    assert result.micro["f1"] == pytest.approx(4 / 7)
    assert result.micro["support"] == 4
    # PER: TP 1 (John Smith), predicted 2, gold 2 -> P 1/2, R 1/2, F1 1/2
    assert result.per_class["PER"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    # LOC: TP 1 (Berlin), predicted 1, gold 2 -> P 1, R 1/2, F1 2/3
    assert result.per_class["LOC"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2})
    # macro: mean over types -> P 3/4, R 1/2, F1 (1/2 + 2/3) / 2 = 7/12
    assert result.macro["precision"] == pytest.approx(0.75)
    assert result.macro["recall"] == pytest.approx(0.5)
    assert result.macro["f1"] == pytest.approx(7 / 12)
    assert result.main_score == result.micro["f1"] and result.sentences == 3
    assert "PER" in result.report and "micro avg" in result.report


def test_adjacent_entities_merged_by_the_tagger_are_two_errors():
    # gold: two PER (Anna)(Bob); predicted one PER (Anna Bob): strict -> 0 TP, 1 FP, 2 FN
    sentence = _sentence("Anna Bob", [(0, 1, "PER"), (1, 2, "PER")], [(0, 2, "PER")])
    result = evaluate_sentences([sentence], "ner", "predicted")
    assert (result.micro["precision"], result.micro["recall"], result.micro["f1"]) == (0.0, 0.0, 0.0)


def test_confusion_matrix_counts_type_confusions_misses_and_spurious_entities():
    gold = [[(0, 2, "PER"), (4, 5, "LOC")], [(0, 1, "PER"), (3, 5, "LOC")], [(2, 3, "ORG")]]
    predicted = [[(0, 2, "PER"), (4, 5, "ORG")], [(0, 2, "PER")], [(2, 3, "ORG"), (5, 6, "LOC")]]
    matrix = entity_confusion(gold, predicted)
    assert matrix.labels == ["LOC", "ORG", "PER"]
    assert matrix.count("PER", "PER") == 1 and matrix.count("ORG", "ORG") == 1
    assert matrix.count("LOC", "ORG") == 1  # Berlin tagged as ORG
    assert matrix.count("PER", MISSED) == 1 and matrix.count("LOC", MISSED) == 1  # Mary (boundary), New York
    assert matrix.count(SPURIOUS, "PER") == 1 and matrix.count(SPURIOUS, "LOC") == 1  # Mary met, position 5
    assert sum(map(sum, matrix.matrix)) == 7
    assert matrix.to_dict()["columns"][-1] == MISSED and matrix.to_dict()["rows"][-1] == SPURIOUS


def test_confusion_matrix_png(tmp_path):
    matrix = evaluate_sentences(_example(), "ner", "predicted").confusion
    path = matrix.save(tmp_path / "confusion.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    labels = [t.get_text() for t in matrix.figure().axes[0].get_xticklabels()]
    assert labels == ["LOC", "PER", MISSED]


def test_lowercase_copy_changes_only_the_text():
    first, second = _sentence("John Smith moved", [(0, 2, "PER")]), _sentence("He met Anna", [(2, 3, "PER")])
    Sentence.set_context_for_sentences([first, second])
    copies = lowercase_copy([first, second], "ner")
    assert [t.text for t in copies[0]] == ["john", "smith", "moved"]
    assert [(s.text, s.get_label("ner").value) for s in copies[0].get_spans("ner")] == [("john smith", "PER")]
    assert copies[1].previous_sentence() is copies[0] and copies[0].next_sentence() is copies[1]
    assert first[0].text == "John" and first.get_spans("ner")[0].text == "John Smith"  # originals untouched


def test_no_sentences_is_an_error_and_no_entities_is_zero():
    with pytest.raises(ValueError, match="no sentences to evaluate"):
        evaluate_sentences([], "ner", "predicted")
    result = evaluate_sentences([_sentence("a b c")], "ner", "predicted")
    assert result.micro == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def test_side_by_side_table_shows_the_lowercased_drop():
    original = evaluate_sentences(_example(), "ner", "predicted")
    worse = evaluate_sentences([_example()[0]], "ner", "ner")  # perfect: F1 1.0 everywhere
    text = format_side_by_side(original, worse)
    assert "original" in text and "lower-cased" in text
    micro = next(line for line in text.splitlines() if line.startswith("micro avg"))
    assert f"{4 / 7:.4f}" in micro and f"{1 - 4 / 7:+.4f}" in micro
    assert any(line.startswith("LOC") for line in text.splitlines())


@pytest.fixture(scope="module")
def tiny_tagger(tiny_model_dir):
    dictionary = Dictionary(add_unk=False)
    for kind in ("PER", "LOC"):
        dictionary.add_item(kind)
    dictionary.span_labels = True
    embeddings = ModernBertEmbeddings(str(tiny_model_dir), fine_tune=False)
    return SequenceTagger(embeddings=embeddings, tag_dictionary=dictionary, tag_type="ner", use_rnn=False,
                          use_crf=False, hidden_size=8)


def test_evaluate_tagger_scores_its_predictions_and_cleans_up(tiny_tagger):
    tiny_tagger.linear.bias.data[tiny_tagger.label_dictionary.get_idx_for_item("S-PER")] = 5.0  # every token PER
    sentences = [_sentence("John moved to Berlin", [(0, 1, "PER"), (3, 4, "LOC")]), _sentence("Anna", [(0, 1, "PER")])]
    result = evaluate_tagger(tiny_tagger, sentences, mini_batch_size=2, progress=False)
    # predicted: 5 one-token PER spans; correct: John, Anna -> P 2/5, R 2/3
    assert result.micro["precision"] == pytest.approx(2 / 5) and result.micro["recall"] == pytest.approx(2 / 3)
    assert result.confusion.count("LOC", "PER") == 1  # Berlin
    assert all(not s.get_labels("predicted") for s in sentences)
    lower = evaluate_tagger(tiny_tagger, sentences, lowercase=True, progress=False)
    assert lower.micro == result.micro  # the bias decides, whatever the case
    assert sentences[0][0].text == "John"


def test_tags_predicted_elsewhere_score_as_the_same_spans_would():
    """evaluate_tags (tags from an exported model, BIOES or BIO) = evaluate_sentences on the same spans."""
    sentences = _example()
    tags = [["B-PER", "E-PER", "O", "O", "S-LOC"], ["B-PER", "I-PER", "O", "O", "O", "O"], ["O", "O"]]
    result = evaluate_tags(sentences, "ner", tags)
    reference = evaluate_sentences(sentences, "ner", "predicted")
    assert result.micro == pytest.approx(reference.micro) and result.micro["f1"] == pytest.approx(4 / 7)
    assert result.per_class == reference.per_class and result.confusion.to_dict() == reference.confusion.to_dict()
    bio = [["B-PER", "I-PER", "O", "O", "B-LOC"], ["B-PER", "I-PER", "O", "O", "O", "O"], ["O", "O"]]
    assert evaluate_tags(sentences, "ner", bio).micro == pytest.approx(reference.micro)
    with pytest.raises(ValueError, match="sentence 2 has 6 tokens but 5 tags"):
        evaluate_tags(sentences, "ner", [tags[0], tags[1][:5], tags[2]])
    with pytest.raises(ValueError, match="2 tag sequences for 3 sentences"):
        evaluate_tags(sentences, "ner", tags[:2])
