"""Typed results of training runs: what ``results.json`` holds, and the mean ± std over seeds."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from flair_modernbert.evaluation import EvaluationResult

__all__ = ["RunResults", "RunResult", "TrainingSummary", "mean_std"]


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value, NaN for none)."""
    if not values:
        return float("nan"), float("nan")
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def _split(data: Optional[dict[str, Any]]) -> Optional[EvaluationResult]:
    return EvaluationResult.from_dict(data) if data else None


@dataclass
class RunResults:
    """What one run measured and how it was set up (the content of its ``results.json``).

    Attributes:
        seed: the run's seed.
        recipe: the recipe file, if any.
        corpus: the corpus name.
        label_type: the span label type.
        model: the encoder.
        head: ``crf``, ``bilstm-crf`` or ``softmax``.
        loss: ``ce``, ``dice`` or ``ce+dice``.
        epochs: epochs trained.
        train_sentences: training sentences, augmented ones included.
        augmentation: the augmentation report (plain data), or ``None``.
        device: where the run trained.
        train_seconds: wall time until the end of training.
        tensorboard: the TensorBoard log folder.
        dev: seqeval scores of the final model on dev.
        test: ... on test.
        test_lowercased: ... on the lower-cased test set.
        test_documents: ... on the test set as whole-document sequences (with ``corpus.documents``).
    """

    seed: int
    corpus: str
    label_type: str
    model: str
    head: str
    loss: str
    epochs: int
    train_sentences: int
    recipe: Optional[str] = None
    augmentation: Optional[dict[str, Any]] = None
    device: str = "cpu"
    train_seconds: float = 0.0
    tensorboard: str = ""
    dev: Optional[EvaluationResult] = None
    test: Optional[EvaluationResult] = None
    test_lowercased: Optional[EvaluationResult] = None
    test_documents: Optional[EvaluationResult] = None

    @property
    def micro_f1(self) -> Optional[float]:
        """Test micro F1."""
        return self.test.micro["f1"] if self.test else None

    @property
    def macro_f1(self) -> Optional[float]:
        """Test macro F1."""
        return self.test.macro["f1"] if self.test else None

    @property
    def lowercased_micro_f1(self) -> Optional[float]:
        """Micro F1 on the lower-cased test set."""
        return self.test_lowercased.micro["f1"] if self.test_lowercased else None

    @property
    def documents_micro_f1(self) -> Optional[float]:
        """Micro F1 on the test set as whole documents."""
        return self.test_documents.micro["f1"] if self.test_documents else None

    @property
    def dev_micro_f1(self) -> Optional[float]:
        """Dev micro F1 of the final model."""
        return self.dev.micro["f1"] if self.dev else None

    def type_f1(self, kind: str) -> Optional[float]:
        """Test F1 of one entity type, ``None`` when the type is not in the test scores."""
        entry = self.test.per_class.get(kind) if self.test else None
        return entry["f1"] if entry else None

    def types(self) -> list[str]:
        """Entity types of the test scores."""
        return sorted(self.test.per_class) if self.test else []

    def to_json(self) -> dict[str, Any]:
        """Plain data, as written to ``results.json``."""
        return {
            "seed": self.seed,
            "seeds": [self.seed],
            "recipe": self.recipe,
            "corpus": self.corpus,
            "label_type": self.label_type,
            "model": self.model,
            "head": self.head,
            "loss": self.loss,
            "epochs": self.epochs,
            "train_sentences": self.train_sentences,
            "augmentation": self.augmentation,
            "device": self.device,
            "train_seconds": self.train_seconds,
            "tensorboard": self.tensorboard,
            "dev": self.dev.to_dict() if self.dev else None,
            "dev_micro_f1": self.dev_micro_f1,
            "test": self.test.to_dict() if self.test else None,
            "test_lowercased": self.test_lowercased.to_dict() if self.test_lowercased else None,
            "micro_f1": self.micro_f1,
            "lowercased_micro_f1": self.lowercased_micro_f1,
            "test_documents": self.test_documents.to_dict() if self.test_documents else None,
            "documents_micro_f1": self.documents_micro_f1,
            "per_class": self.test.to_dict()["per_class"] if self.test else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "RunResults":
        """Read what :meth:`to_json` wrote."""
        return cls(
            seed=data["seed"],
            recipe=data.get("recipe"),
            corpus=data.get("corpus", ""),
            label_type=data.get("label_type", "ner"),
            model=data.get("model", ""),
            head=data.get("head", ""),
            loss=data.get("loss", ""),
            epochs=data.get("epochs", 0),
            train_sentences=data.get("train_sentences", 0),
            augmentation=data.get("augmentation"),
            device=data.get("device", ""),
            train_seconds=data.get("train_seconds", 0.0),
            tensorboard=data.get("tensorboard", ""),
            dev=_split(data.get("dev")),
            test=_split(data.get("test")),
            test_lowercased=_split(data.get("test_lowercased")),
            test_documents=_split(data.get("test_documents")),
        )

    @classmethod
    def read(cls, path: Path) -> "RunResults":
        """Load a ``results.json``."""
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))

    def write(self, path: Path) -> Path:
        """Write ``results.json``."""
        Path(path).write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False), encoding="utf-8")
        return Path(path)


@dataclass
class RunResult:
    """A finished run: its folder and its results.

    Attributes:
        output_dir: the run's folder.
        seed: its seed.
        results: what it measured; ``None`` in a distributed process other than rank 0.
    """

    output_dir: Path
    seed: int
    results: Optional[RunResults]

    @property
    def model_path(self) -> Path:
        """``final-model.pt`` of the run."""
        return self.output_dir / "final-model.pt"

    def metric(self, name: str) -> Optional[float]:
        """``micro_f1``, ``macro_f1``, ``lowercased_micro_f1`` or ``f1:<TYPE>`` (test); ``None`` when absent."""
        if self.results is None:
            return None
        if name.startswith("f1:"):
            return self.results.type_f1(name[3:])
        return getattr(self.results, name)


@dataclass
class TrainingSummary:
    """All runs of a recipe (one per seed)."""

    output_dir: Path
    runs: list[RunResult] = field(default_factory=list)

    def aggregate(self) -> dict[str, dict[str, float]]:
        """``{metric: {"mean", "std", "n"}}`` for test micro/macro F1, lower-cased F1 and F1 per type."""
        names = ["micro_f1", "macro_f1", "lowercased_micro_f1", "documents_micro_f1"]
        types = sorted({t for run in self.runs if run.results for t in run.results.types()})
        names += [f"f1:{t}" for t in types]
        table = {}
        for name in names:
            values = [v for v in (run.metric(name) for run in self.runs) if v is not None]
            if values:
                mean, std = mean_std(values)
                table[name] = {"mean": mean, "std": std, "n": len(values)}
        return table

    def table(self) -> str:
        """A Markdown table: one row per seed and, for several seeds, a mean ± std row."""
        from tabulate import tabulate

        columns = ("micro_f1", "macro_f1", "lowercased_micro_f1")

        def cell(value: Optional[float]) -> str:
            return "–" if value is None else f"{value:.4f}"

        rows = [[run.seed, *(cell(run.metric(name)) for name in columns)] for run in self.runs]
        if len(self.runs) > 1:
            agg = self.aggregate()
            rows.append(["mean ± std", *(
                f"{agg[name]['mean']:.4f} ± {agg[name]['std']:.4f}" if name in agg else "–" for name in columns
            )])
        headers = ["seed", "test micro F1", "test macro F1", "lower-cased micro F1"]
        return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)

    def to_dict(self) -> dict[str, Any]:
        """What the top folder's ``results.json`` holds."""
        return {
            "seeds": [run.seed for run in self.runs],
            "runs": {str(run.seed): str(run.output_dir) for run in self.runs},
            "aggregate": self.aggregate(),
        }
