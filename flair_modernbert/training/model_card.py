"""The model card (``README.md``) written next to every trained model."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import yaml

from flair_modernbert.config import Recipe
from flair_modernbert.encoder.random_models import is_random_model
from flair_modernbert.evaluation import EvaluationResult
from flair_modernbert.training.results import RunResults

logger = logging.getLogger(__name__)

__all__ = ["render_model_card", "write_model_card"]


def scores_table(test: EvaluationResult, others: dict[str, Optional[EvaluationResult]]) -> str:
    """Markdown table: micro, macro and each type with P/R/F1/support, and the F1 of other evaluations of the
    same test set (``{"lower-cased F1": result, "documents F1": result}``; ``None`` ones are left out)."""
    from tabulate import tabulate

    others = {title: result for title, result in others.items() if result is not None}

    def f1(result: EvaluationResult, name: str) -> str:
        values = {"micro avg": result.micro, "macro avg": result.macro}.get(name) or result.per_class.get(name)
        return f"{values['f1']:.4f}" if values else "–"

    rows = [("micro avg", test.micro), ("macro avg", test.macro), *sorted(test.per_class.items())]
    table = [[name, f"{v['precision']:.4f}", f"{v['recall']:.4f}", f"{v['f1']:.4f}", str(int(v["support"])),
              *(f1(result, name) for result in others.values())] for name, v in rows]
    headers = ["", "precision", "recall", "F1", "support", *others]
    return tabulate(table, headers=headers, tablefmt="github", disable_numparse=True)


def render_model_card(recipe: Recipe, results: RunResults) -> str:
    """Markdown model card: what the model is, how it was trained, its scores and how to load it.

    Args:
        recipe: the resolved recipe of the run.
        results: what the run measured.
    """
    from flair_modernbert import __version__

    epochs = results.epochs
    augmented = f" (with {results.augmentation['added']} augmented)" if results.augmentation else ""
    parts = [f"# {recipe.tagger.head.upper()} NER tagger on `{recipe.embeddings.model}`", ""]
    if is_random_model(recipe.embeddings.model):
        parts += [
            "> **Smoke run.** The encoder has random weights (built locally): the scores below only show that the "
            "pipeline runs end to end and say nothing about the method.",
            "",
        ]
    parts += [
        f"Trained with flair-modernbert {__version__} on `{results.corpus}` (label type "
        f"`{recipe.corpus.label_type}`), seed {results.seed}, {epochs} epoch{'' if epochs == 1 else 's'}, "
        f"{results.train_sentences} training sentences{augmented}.",
        "",
        "## Use",
        "",
        "```python",
        "import flair_modernbert  # registers ModernBertEmbeddings",
        "from flair.data import Sentence",
        "from flair.models import SequenceTagger",
        "",
        'tagger = SequenceTagger.load("final-model.pt")',
        'sentence = Sentence("john smith moved to Berlin")',
        "tagger.predict(sentence)",
        "print(sentence.get_spans())",
        "```",
        "",
        "or `flair-modernbert predict final-model.pt texts.txt` / `flair-modernbert redact final-model.pt texts.txt`.",
        "",
        "## Test results (seqeval, entity level, strict IOB2)",
        "",
    ]
    if results.test:
        others = {"lower-cased F1": results.test_lowercased, "documents F1": results.test_documents}
        parts += [scores_table(results.test, others), ""]
        if results.test_lowercased:
            parts += ["*lower-cased F1*: the same test set with every token lower-cased (case robustness).", ""]
        if results.test_documents:
            parts += ["*documents F1*: the same test set tagged as whole-document sequences (`corpus.documents`).", ""]
    else:
        parts += ["The corpus has no test split.", ""]
    parts += [
        "## Recipe",
        "",
        "```yaml",
        yaml.safe_dump(recipe.to_dict(), sort_keys=False, allow_unicode=True).rstrip(),
        "```",
        "",
        "Files: `final-model.pt` (Flair), `results.json`, `report.txt`, `confusion.png`, `recipe.yaml`, "
        "`training.log`, `tensorboard/` (`tensorboard --logdir .`).",
        "",
    ]
    return "\n".join(parts)


def write_model_card(path: Path, recipe: Recipe, results: RunResults) -> Path:
    """Write :func:`render_model_card` to ``path``."""
    path = Path(path)
    path.write_text(render_model_card(recipe, results), encoding="utf-8")
    logger.info("model card written to %s", path)
    return path
