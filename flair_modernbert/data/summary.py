"""Per-split counts of a corpus (sentences, tokens, entity spans per type), for logs and reports."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from flair.data import Corpus, Sentence
from torch.utils.data import Dataset

__all__ = ["SplitSummary", "CorpusSummary", "summarize_corpus"]

SPLITS = ("train", "dev", "test")  # the order of Flair's Corpus


@dataclass
class SplitSummary:
    """Counts of one split: sentences, tokens and entity spans per type."""

    sentences: int = 0
    tokens: int = 0
    entities: dict[str, int] = field(default_factory=dict)

    @property
    def total_entities(self) -> int:
        """All spans of the split."""
        return sum(self.entities.values())


@dataclass
class CorpusSummary:
    """Per-split counts of a corpus, for logs and reports (:func:`summarize_corpus`)."""

    name: str
    label_type: str
    splits: dict[str, SplitSummary]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON reports."""
        return {
            "name": self.name,
            "label_type": self.label_type,
            "splits": {
                split: {"sentences": s.sentences, "tokens": s.tokens, "entities": dict(s.entities)}
                for split, s in self.splits.items()
            },
        }

    def types(self) -> list[str]:
        """Entity types, most frequent first (over all splits)."""
        total: Counter = Counter()
        for s in self.splits.values():
            total.update(s.entities)
        return [kind for kind, _ in sorted(total.items(), key=lambda item: (-item[1], item[0]))]

    def format(self) -> str:
        """A small table: rows = sentences, tokens, entities and each type; columns = splits."""
        from tabulate import tabulate

        splits = list(self.splits)
        rows = [["sentences", *(self.splits[s].sentences for s in splits)],
                ["tokens", *(self.splits[s].tokens for s in splits)],
                [f"{self.label_type} spans", *(self.splits[s].total_entities for s in splits)]]
        rows += [[f"  {kind}", *(self.splits[s].entities.get(kind, 0) for s in splits)] for kind in self.types()]
        return f"corpus {self.name}\n" + tabulate(rows, headers=["", *splits], tablefmt="plain")

    __str__ = format


def summarize_corpus(corpus: Corpus, label_type: str = "ner") -> CorpusSummary:
    """Count sentences, tokens and ``label_type`` spans per type in each split of ``corpus``.

    Splits the corpus lacks are left out.
    """
    splits: dict[str, SplitSummary] = {}
    for split in SPLITS:
        dataset = getattr(corpus, split)
        if dataset is None:
            continue
        summary = SplitSummary()
        counts: Counter = Counter()
        for sentence in _iterate(dataset):
            summary.sentences += 1
            summary.tokens += len(sentence)
            counts.update(label.value for label in sentence.get_labels(label_type))
        summary.entities = dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
        splits[split] = summary
    return CorpusSummary(str(getattr(corpus, "name", "corpus")), label_type, splits)


def _iterate(dataset: Dataset) -> Iterable[Sentence]:
    for index in range(len(dataset)):
        yield dataset[index]
