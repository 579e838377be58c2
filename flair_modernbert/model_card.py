"""The model card (``README.md``) written next to every trained model."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping, Optional

import yaml

from flair_modernbert.local_models import RANDOM_PREFIX
from flair_modernbert.recipes import Recipe

logger = logging.getLogger(__name__)

__all__ = ["render_model_card", "write_model_card"]


def _scores_table(test: Mapping[str, Any], lowercased: Optional[Mapping[str, Any]]) -> str:
    head = "| | precision | recall | F1 | support |"
    if lowercased:
        head += " lower-cased F1 |"
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    rows = [("micro avg", test["micro"], (lowercased or {}).get("micro")),
            ("macro avg", test["macro"], (lowercased or {}).get("macro"))]
    rows += [(name, values, (lowercased or {}).get("per_class", {}).get(name))
             for name, values in sorted(test["per_class"].items())]
    for name, values, lower in rows:
        line = (f"| {name} | {values['precision']:.4f} | {values['recall']:.4f} | {values['f1']:.4f} "
                f"| {int(values['support'])} |")
        if lowercased:
            line += f" {lower['f1']:.4f} |" if lower else " – |"
        lines.append(line)
    return "\n".join(lines)


def render_model_card(recipe: Recipe, results: Mapping[str, Any]) -> str:
    """Markdown model card: what the model is, how it was trained, its scores and how to load it.

    Args:
        recipe: the resolved recipe of the run.
        results: the run's ``results.json`` content.
    """
    from flair_modernbert import __version__

    smoke = recipe.embeddings.model.startswith(RANDOM_PREFIX) or "/random-" in recipe.embeddings.model
    test = results.get("test")
    lowercased = results.get("test_lowercased")
    epochs = results.get("epochs", recipe.training.max_epochs)
    parts = [
        f"# {recipe.tagger.head.upper()} NER tagger on `{recipe.embeddings.model}`",
        "",
    ]
    if smoke:
        parts += [
            "> **Smoke run.** The encoder has random weights (built locally): the scores below only show that the "
            "pipeline runs end to end and say nothing about the method.",
            "",
        ]
    parts += [
        f"Trained with flair-modernbert {__version__} on `{results.get('corpus', '?')}` "
        f"(label type `{recipe.corpus.label_type}`), seed {results.get('seed')}, "
        f"{epochs} epoch{'' if epochs == 1 else 's'}, "
        f"{results.get('train_sentences', '?')} training sentences"
        + (f" (with {results['augmentation']['added']} augmented)" if results.get("augmentation") else "")
        + ".",
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
    if test:
        parts += [_scores_table(test, lowercased), ""]
        if lowercased:
            parts += ["*lower-cased F1*: the same test set with every token lower-cased (case robustness).", ""]
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


def write_model_card(path: Path, recipe: Recipe, results: Mapping[str, Any]) -> Path:
    """Write :func:`render_model_card` to ``path``."""
    path = Path(path)
    path.write_text(render_model_card(recipe, results), encoding="utf-8")
    logger.info("model card written to %s", path)
    return path
