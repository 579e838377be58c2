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

from flair_modernbert.tags import Span, add_spans, spans_from_tags, spans_of, tags_from_spans

logger = logging.getLogger(__name__)

__all__ = [
    "MISSED",
    "SPURIOUS",
    "lowercase_copy",
    "ConfusionMatrix",
    "entity_confusion",
    "EvaluationResult",
    "evaluate_sentences",
    "evaluate_tagger",
    "evaluate_tags",
    "evaluate_spans",
    "load_split",
    "format_side_by_side",
    "evaluate_model",
]

MISSED = "(missed)"
SPURIOUS = "(spurious)"
PREDICTED = "predicted"

Spans = list[Span]


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
        copies.append(add_spans(copy, spans_of(original, label_type), label_type))
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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ConfusionMatrix":
        """Read what :meth:`to_dict` wrote."""
        return cls(list(data["labels"]), [list(row) for row in data["matrix"]])

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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EvaluationResult":
        """Read what :meth:`to_dict` wrote (the report text is not kept there)."""
        confusion = ConfusionMatrix.from_dict(data["confusion"]) if data.get("confusion") else ConfusionMatrix([], [[0]])
        return cls(dict(data["micro"]), dict(data["macro"]), {k: dict(v) for k, v in data["per_class"].items()},
                   confusion, "", int(data.get("sentences", 0)))


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
    if len(sentences) == 0:
        raise ValueError("evaluate_sentences: no sentences to evaluate")
    return evaluate_spans([len(s) for s in sentences], [spans_of(s, gold_label_type) for s in sentences],
                          [spans_of(s, predicted_label_type) for s in sentences])


def evaluate_tags(sentences: Sequence[Sentence], gold_label_type: str,
                  predicted_tags: Sequence[Sequence[str]]) -> EvaluationResult:
    """seqeval scores of tags predicted elsewhere (BIO or BIOES, one per token; e.g. by an exported model) against
    the gold spans of ``sentences``.

    Raises:
        ValueError: no sentences, or a sentence and its tags differ in length.
    """
    if len(sentences) == 0:
        raise ValueError("evaluate_tags: no sentences to evaluate")
    if len(predicted_tags) != len(sentences):
        raise ValueError(f"evaluate_tags: {len(predicted_tags)} tag sequences for {len(sentences)} sentences")
    for index, (sentence, tags) in enumerate(zip(sentences, predicted_tags)):
        if len(tags) != len(sentence):
            raise ValueError(f"evaluate_tags: sentence {index + 1} has {len(sentence)} tokens but {len(tags)} tags")
    return evaluate_spans([len(s) for s in sentences], [spans_of(s, gold_label_type) for s in sentences],
                          [spans_from_tags(tags) for tags in predicted_tags])


def evaluate_spans(lengths: Sequence[int], gold_spans: Sequence[Sequence[Span]],
                   predicted_spans: Sequence[Sequence[Span]]) -> EvaluationResult:
    """seqeval (strict, IOB2) scores of predicted against gold token spans, sentence by sentence."""
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    gold = [tags_from_spans(n, spans) for n, spans in zip(lengths, gold_spans)]
    predicted = [tags_from_spans(n, spans) for n, spans in zip(lengths, predicted_spans)]
    confusion = entity_confusion(gold_spans, predicted_spans)
    if not any(any(t != "O" for t in tags) for tags in gold + predicted):
        return EvaluationResult(_zero_scores(), _zero_scores(), {}, confusion, "no entities in gold or predictions",
                                len(lengths))
    options = dict(mode="strict", scheme=IOB2, zero_division=0)
    table = classification_report(gold, predicted, output_dict=True, **options)
    report = classification_report(gold, predicted, digits=4, **options)
    per_class = {name: _scores(entry) for name, entry in table.items() if not name.endswith(" avg")}
    # seqeval lists only gold types; a type that was only predicted still costs precision in the micro avg
    for name in confusion.labels:
        per_class.setdefault(name, _zero_scores())
    return EvaluationResult(_scores(table["micro avg"]), _scores(table["macro avg"]), dict(sorted(per_class.items())),
                            confusion, report, len(lengths))


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


def format_side_by_side(
    original: EvaluationResult, lowercased: Optional[EvaluationResult] = None, other: str = "lower-cased"
) -> str:
    """A text table of P/R/F1/support per row (micro, macro, each type), beside a second evaluation of the same
    sentences (``other``: lower-cased by default, or as whole documents) and ΔF1."""
    from tabulate import tabulate

    names = sorted(set(original.per_class) | set(lowercased.per_class if lowercased else {}))
    rows = [("micro avg", original.micro, lowercased.micro if lowercased else None),
            ("macro avg", original.macro, lowercased.macro if lowercased else None)]
    rows += [(name, original.per_class.get(name), lowercased.per_class.get(name) if lowercased else None)
             for name in names]
    headers = ["", "original P" if lowercased is not None else "P", "R", "F1", "support"]
    if lowercased is not None:
        headers += [f"{other} P", "R", "F1", "ΔF1"]
    table = []
    for name, first, second in rows:
        first = first or _zero_scores()
        row = [name, f"{first['precision']:.4f}", f"{first['recall']:.4f}", f"{first['f1']:.4f}", int(first["support"])]
        if lowercased is not None:
            second = second or _zero_scores()
            row += [f"{second['precision']:.4f}", f"{second['recall']:.4f}", f"{second['f1']:.4f}",
                    f"{second['f1'] - first['f1']:+.4f}"]
        table.append(row)
    return tabulate(table, headers=headers, tablefmt="simple", disable_numparse=True)


def load_split(corpus: Union[str, Path], overrides: Sequence[str] = (), split: str = "test") -> tuple[Any, str, list[Sentence]]:
    """The gold sentences of one split of a corpus.

    Args:
        corpus: a recipe file (its corpus section, plus the documents of its ``synthetic:`` section) or a folder of
            column files (``text ner``, BIO).
        overrides: ``--set`` strings for the corpus (``corpus.tag_scheme=IOB1``).
        split: ``train``, ``dev`` or ``test``.

    Returns:
        The corpus config (its ``label_type`` names the gold labels), the corpus name and the split's sentences.

    Raises:
        FileNotFoundError: ``corpus`` does not exist.
        ValueError: the corpus has no such split.
    """
    from flair_modernbert.config import load_recipe, recipe_from_dict
    from flair_modernbert.data import load_corpus

    path = Path(corpus)
    if path.is_file():
        recipe = load_recipe(path, overrides)
    elif path.is_dir():
        recipe = recipe_from_dict({"corpus": {"type": "column", "path": str(path.resolve())}}, overrides,
                                  source=str(path))
    else:
        raise FileNotFoundError(
            f"corpus {path} does not exist: pass a recipe file (its corpus section is used) or a folder of column files"
        )
    cfg = recipe.corpus
    data = load_corpus(recipe)  # a recipe's synthetic: documents are part of its splits
    sentences = getattr(data, split, None)
    if sentences is None or len(sentences) == 0:
        raise ValueError(f"{corpus}: the corpus has no {split} split")
    return cfg, data.name, list(sentences)


def evaluate_model(
    model: Union[str, Path, Any],
    corpus: Union[str, Path],
    overrides: Sequence[str] = (),
    split: str = "test",
    output: Optional[Union[str, Path]] = None,
    mini_batch_size: int = 16,
    progress: bool = True,
    trust: bool = False,
) -> str:
    """seqeval report of a trained model on a split of a corpus, original and lower-cased side by side.

    Args:
        model: ``final-model.pt``, a training output folder, or a loaded tagger.
        corpus: a recipe file (its corpus section, plus the documents of its ``synthetic:`` section) or a folder of
            column files (``text ner``, BIO).
        overrides: ``--set`` strings for the corpus (``corpus.tag_scheme=IOB1``).
        split: ``train``, ``dev`` or ``test``.
        output: when given, writes ``results.json``, ``report.txt`` and ``confusion.png`` there.
        mini_batch_size: prediction batch size.
        progress: show progress bars.
        trust: load a model file this library did not write (runs code the file may contain).

    Returns:
        The report text (what the ``evaluate`` command prints).
    """
    import json

    from flair_modernbert.tagging.loading import load_tagger

    tagger = load_tagger(model, trust=trust) if isinstance(model, (str, Path)) else model
    cfg, name, sentences = load_split(corpus, overrides, split)
    original = evaluate_tagger(tagger, sentences, cfg.label_type, mini_batch_size, progress=progress)
    lower = evaluate_tagger(tagger, sentences, cfg.label_type, mini_batch_size, lowercase=True, progress=progress)
    text = "\n".join([
        f"{split} split of {name}: {len(sentences)} sentences, seqeval entity level (strict IOB2)",
        "",
        format_side_by_side(original, lower),
        "",
        "Classification report (original case)",
        "",
        original.report,
    ])
    if output is not None:
        out = Path(output)
        out.mkdir(parents=True, exist_ok=True)
        results = {"corpus": name, "split": split, split: original.to_dict(),
                   f"{split}_lowercased": lower.to_dict(), "micro_f1": original.micro["f1"],
                   "lowercased_micro_f1": lower.micro["f1"]}
        (out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
        (out / "report.txt").write_text(text + "\n", encoding="utf-8")
        original.confusion.save(out / "confusion.png")
    return text
