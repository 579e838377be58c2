"""Entity-level evaluation of Flair taggers with seqeval, case robustness, and an entity-type confusion matrix.

Scores are seqeval's, in strict mode with the IOB2 scheme: the gold and predicted *spans* of a sentence are
written as IOB2 tags (so the tagger's own BIOES/BIO format does not matter) and an entity counts as correct
only when its type and both boundaries match. Micro and macro averages and per-type precision, recall, F1 and
support come from ``seqeval.metrics.classification_report``.

Case robustness evaluates the same sentences with every token lower-cased ("john smith" instead of
"John Smith"), the failure that motivates this project; :func:`format_side_by_side` prints both.

The confusion matrix counts, per gold entity, which type the tagger predicted for exactly the same tokens
(see :func:`entity_confusion`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence, Union

from flair.data import Sentence

logger = logging.getLogger(__name__)

__all__ = [
    "MISSED",
    "SPURIOUS",
    "spans_of",
    "spans_to_iob2",
    "lowercase_copy",
    "ConfusionMatrix",
    "entity_confusion",
    "EvaluationResult",
    "evaluate_sentences",
    "evaluate_tagger",
    "format_side_by_side",
    "evaluation_summary",
]

MISSED = "(missed)"
SPURIOUS = "(spurious)"
PREDICTED = "predicted"

Spans = list[tuple[int, int, str]]


def spans_of(sentence: Sentence, label_type: str) -> Spans:
    """``(start, end_exclusive, type)`` token spans of a sentence's ``label_type`` labels, by position.

    Overlapping spans (not representable in IOB2) keep the first, longest one; the others are logged.
    """
    found = []
    for label in sentence.get_labels(label_type):
        tokens = getattr(label.data_point, "tokens", None)
        if not tokens or label.value == "O":
            continue
        found.append((tokens[0].idx - 1, tokens[-1].idx, label.value))
    found.sort(key=lambda span: (span[0], -(span[1] - span[0])))
    kept: Spans = []
    for span in found:
        if kept and span[0] < kept[-1][1]:
            logger.debug("overlapping span %s dropped in favour of %s", span, kept[-1])
            continue
        kept.append(span)
    return kept


def spans_to_iob2(sentence: Sentence, label_type: str) -> list[str]:
    """IOB2 tags (``B-X``, ``I-X``, ``O``) of a sentence's spans of ``label_type``, one per token."""
    return _iob2(len(sentence), spans_of(sentence, label_type))


def _iob2(length: int, spans: Spans) -> list[str]:
    tags = ["O"] * length
    for start, end, kind in spans:
        tags[start] = f"B-{kind}"
        for index in range(start + 1, end):
            tags[index] = f"I-{kind}"
    return tags


def lowercase_copy(sentences: Iterable[Sentence], label_type: str) -> list[Sentence]:
    """Copies of sentences with every token lower-cased, gold spans of ``label_type`` kept.

    Tokenization is unchanged (the copies are built from the original tokens), and the document context of
    the originals (previous/next sentence) is rebuilt between the copies, so a tagger using context sees the
    lower-cased neighbours. The originals are not touched.
    """
    originals = list(sentences)
    copies = []
    for original in originals:
        copy = Sentence([token.text.lower() for token in original])
        for mine, theirs in zip(copy, original):
            mine.whitespace_after = theirs.whitespace_after
        for start, end, kind in spans_of(original, label_type):
            copy[start:end].add_label(label_type, kind)
        copies.append(copy)
    index = {id(s): i for i, s in enumerate(originals)}
    for original, copy in zip(originals, copies):
        previous = original._previous_sentence
        following = original._next_sentence
        copy._previous_sentence = copies[index[id(previous)]] if previous is not None and id(previous) in index else None
        copy._next_sentence = copies[index[id(following)]] if following is not None and id(following) in index else None
        copy._has_context = original._has_context
        copy._position_in_dataset = original._position_in_dataset
    return copies


# ------------------------------------------------------------------------------------------------ confusion
@dataclass
class ConfusionMatrix:
    """Counts of gold entity type (rows) x predicted type (columns) for entities with the same boundaries.

    Attributes:
        labels: the entity types, sorted.
        matrix: ``len(labels) + 1`` rows (the last is ``(spurious)``: predictions without a gold entity of the
            same boundaries) x ``len(labels) + 1`` columns (the last is ``(missed)``: gold entities without a
            prediction of the same boundaries).
    """

    labels: list[str]
    matrix: list[list[int]]

    @property
    def rows(self) -> list[str]:
        return [*self.labels, SPURIOUS]

    @property
    def columns(self) -> list[str]:
        return [*self.labels, MISSED]

    def count(self, gold: str, predicted: str) -> int:
        """Cell by name: ``count("PER", "LOC")``, ``count("PER", MISSED)``, ``count(SPURIOUS, "LOC")``."""
        return self.matrix[self.rows.index(gold)][self.columns.index(predicted)]

    def to_dict(self) -> dict[str, Any]:
        return {"labels": list(self.labels), "rows": self.rows, "columns": self.columns,
                "matrix": [list(row) for row in self.matrix]}

    def figure(self, title: str = "Entity-type confusion (test)") -> Any:
        """An annotated heat map (a matplotlib ``Figure``, no pyplot state involved)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        size = max(4.0, 0.6 * len(self.columns) + 2.5)
        figure = Figure(figsize=(size, size * 0.85))
        FigureCanvasAgg(figure)
        axes = figure.add_subplot(1, 1, 1)
        axes.imshow(self.matrix, cmap="Blues")
        axes.set_xticks(range(len(self.columns)))
        axes.set_xticklabels(self.columns, rotation=45, ha="right")
        axes.set_yticks(range(len(self.rows)))
        axes.set_yticklabels(self.rows)
        axes.set_xlabel("predicted")
        axes.set_ylabel("gold")
        axes.set_title(title)
        peak = max((max(row) for row in self.matrix), default=0) or 1
        for r, row in enumerate(self.matrix):
            for c, value in enumerate(row):
                if value:
                    axes.text(c, r, str(value), ha="center", va="center",
                              color="white" if value > peak / 2 else "black", fontsize=8)
        figure.tight_layout()
        return figure

    def save(self, path: Union[str, Path]) -> Path:
        """Write the figure as PNG."""
        path = Path(path)
        self.figure().savefig(path, dpi=100)
        return path


def entity_confusion(gold: Sequence[Spans], predicted: Sequence[Spans]) -> ConfusionMatrix:
    """Entity-type confusion matrix of sentences given as span lists (see :class:`ConfusionMatrix`).

    Matching is by exact boundaries only: a predicted span with the same start and end as a gold span counts
    in ``[gold type][predicted type]`` (the diagonal when the types agree); an unmatched gold span counts as
    ``(missed)`` and an unmatched prediction as ``(spurious)``. A boundary error therefore shows up as one
    missed and one spurious entity, as in seqeval's strict scores.
    """
    labels = sorted({kind for spans in (*gold, *predicted) for _, _, kind in spans})
    position = {label: i for i, label in enumerate(labels)}
    size = len(labels) + 1
    matrix = [[0] * size for _ in range(size)]
    for gold_spans, predicted_spans in zip(gold, predicted):
        by_boundary = {(s, e): kind for s, e, kind in predicted_spans}
        matched = set()
        for start, end, kind in gold_spans:
            guess = by_boundary.get((start, end))
            if guess is None:
                matrix[position[kind]][size - 1] += 1
            else:
                matrix[position[kind]][position[guess]] += 1
                matched.add((start, end))
        for start, end, kind in predicted_spans:
            if (start, end) not in matched:
                matrix[size - 1][position[kind]] += 1
    return ConfusionMatrix(labels, matrix)


# ------------------------------------------------------------------------------------------------ scores
@dataclass
class EvaluationResult:
    """seqeval scores of a set of sentences.

    Attributes:
        micro, macro: ``precision``, ``recall``, ``f1``, ``support`` (gold entities).
        per_class: entity type -> the same four numbers.
        confusion: the entity-type confusion matrix.
        report: seqeval's classification report (text, 4 digits).
        sentences: how many sentences were evaluated.
    """

    micro: dict[str, float]
    macro: dict[str, float]
    per_class: dict[str, dict[str, float]]
    confusion: ConfusionMatrix
    report: str
    sentences: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def main_score(self) -> float:
        """Micro F1."""
        return self.micro["f1"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "micro": dict(self.micro),
            "macro": dict(self.macro),
            "per_class": {name: dict(values) for name, values in self.per_class.items()},
            "confusion": self.confusion.to_dict(),
            "sentences": self.sentences,
        }


def _zero_scores() -> dict[str, float]:
    return {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def _scores(entry: dict[str, Any]) -> dict[str, float]:
    return {"precision": float(entry["precision"]), "recall": float(entry["recall"]),
            "f1": float(entry["f1-score"]), "support": int(entry["support"])}


def evaluate_sentences(
    sentences: Sequence[Sentence], gold_label_type: str, predicted_label_type: str
) -> EvaluationResult:
    """seqeval (strict, IOB2) scores of the predicted spans against the gold spans of each sentence.

    Raises:
        ValueError: no sentences.
    """
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    if len(sentences) == 0:
        raise ValueError("evaluate_sentences: no sentences to evaluate")
    gold_spans = [spans_of(s, gold_label_type) for s in sentences]
    predicted_spans = [spans_of(s, predicted_label_type) for s in sentences]
    gold = [_iob2(len(s), spans) for s, spans in zip(sentences, gold_spans)]
    predicted = [_iob2(len(s), spans) for s, spans in zip(sentences, predicted_spans)]
    confusion = entity_confusion(gold_spans, predicted_spans)
    if not any(any(t != "O" for t in tags) for tags in gold + predicted):
        return EvaluationResult(_zero_scores(), _zero_scores(), {}, confusion, "no entities in gold or predictions",
                                len(sentences))
    options = dict(mode="strict", scheme=IOB2, zero_division=0)
    table = classification_report(gold, predicted, output_dict=True, **options)
    report = classification_report(gold, predicted, digits=4, **options)
    per_class = {name: _scores(entry) for name, entry in table.items() if not name.endswith(" avg")}
    # seqeval lists only gold types; a type that was only predicted still costs precision in the micro avg
    for name in confusion.labels:
        per_class.setdefault(name, _zero_scores())
    return EvaluationResult(_scores(table["micro avg"]), _scores(table["macro avg"]), dict(sorted(per_class.items())),
                            confusion, report, len(sentences))


def evaluate_tagger(
    tagger: Any,
    sentences: Sequence[Sentence],
    gold_label_type: Optional[str] = None,
    mini_batch_size: int = 16,
    lowercase: bool = False,
    progress: bool = True,
) -> EvaluationResult:
    """Predict and score with :func:`evaluate_sentences`.

    Args:
        tagger: a Flair ``SequenceTagger``.
        sentences: gold-labelled sentences; they are left as they were (predictions are removed again).
        gold_label_type: the gold label type; the tagger's own by default.
        mini_batch_size: prediction batch size.
        lowercase: evaluate lower-cased copies instead (case robustness).
        progress: show a progress bar.
    """
    gold_label_type = gold_label_type or tagger.label_type
    sentences = list(sentences)
    if not sentences:
        raise ValueError("evaluate_tagger: no sentences to evaluate")
    targets = lowercase_copy(sentences, gold_label_type) if lowercase else sentences
    try:
        tagger.predict(targets, mini_batch_size=mini_batch_size, label_name=PREDICTED, verbose=progress,
                       embedding_storage_mode="none")
        return evaluate_sentences(targets, gold_label_type, PREDICTED)
    finally:
        if not lowercase:
            for sentence in sentences:
                sentence.remove_labels(PREDICTED)


def format_side_by_side(original: EvaluationResult, lowercased: Optional[EvaluationResult] = None) -> str:
    """A text table of P/R/F1/support per row (micro, macro, each type), with the lower-cased F1 and ΔF1."""
    header = f"{'':<20} {'P':>7} {'R':>7} {'F1':>7} {'support':>8}"
    if lowercased is not None:
        header += f" | {'P':>7} {'R':>7} {'F1':>7} {'ΔF1':>8}"
    lines = []
    if lowercased is not None:
        lines.append(f"{'':<20} {'original':^31} | {'lower-cased':^32}")
    lines.append(header)
    names = sorted(set(original.per_class) | set(lowercased.per_class if lowercased else {}))
    rows = [("micro avg", original.micro, lowercased.micro if lowercased else None),
            ("macro avg", original.macro, lowercased.macro if lowercased else None)]
    rows += [(name, original.per_class.get(name), (lowercased.per_class.get(name) if lowercased else None))
             for name in names]
    empty = _zero_scores()
    for name, first, second in rows:
        first = first or empty
        line = (f"{name:<20} {first['precision']:>7.4f} {first['recall']:>7.4f} {first['f1']:>7.4f} "
                f"{int(first['support']):>8d}")
        if lowercased is not None:
            second = second or empty
            line += (f" | {second['precision']:>7.4f} {second['recall']:>7.4f} {second['f1']:>7.4f} "
                     f"{second['f1'] - first['f1']:>+8.4f}")
        lines.append(line)
    return "\n".join(lines)


def evaluation_summary(
    result: EvaluationResult, lowercased: Optional[EvaluationResult] = None, split: str = "test"
) -> dict[str, Any]:
    """Plain data of an evaluation and its lower-cased twin (what ``results.json`` holds).

    Keys: ``<split>``, ``<split>_lowercased`` (:meth:`EvaluationResult.to_dict`), ``micro_f1`` and
    ``lowercased_micro_f1``.
    """
    return {
        split: result.to_dict(),
        f"{split}_lowercased": lowercased.to_dict() if lowercased else None,
        "micro_f1": result.micro["f1"],
        "lowercased_micro_f1": lowercased.micro["f1"] if lowercased else None,
    }
