"""Train the quickstart recipe from Python, then redact names and places with the trained tagger.

    python examples/train_and_redact.py [OUTPUT_DIR]

Offline, about half a minute on 2 CPU cores; writes the run to OUTPUT_DIR (default ``runs/train-and-redact``,
replaced when it holds an earlier run of this example). The quickstart model is a tiny RANDOM-weight
ModernBERT (a smoke run), so expect few entities to be found; point the recipe at answerdotai/ModernBERT-base
for a real model.
"""

import logging
import sys
from pathlib import Path

from flair_modernbert.inference import Document, load_tagger, redact, tag_documents
from flair_modernbert.training import flair_console, train_recipe

RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "quickstart.yaml"


def main(output_dir: str) -> None:
    flair_console(logging.WARNING)  # Flair's per-epoch log still goes to OUTPUT_DIR/training.log
    summary = train_recipe(RECIPE, overrides=["training.max_epochs=3"], output_dir=output_dir, progress=False,
                           overwrite=True)
    run = summary.runs[0]
    print(f"test micro F1 {run.metric('micro_f1'):.3f}, lower-cased test {run.metric('lowercased_micro_f1'):.3f}")

    tagger = load_tagger(run.output_dir)  # final-model.pt: loads with SequenceTagger.load as well
    documents = [Document("Call me tomorrow , Steve Jobs lives in Palo Alto ."), Document("nothing to hide here")]
    for document in tag_documents(tagger, documents):
        text, span_map = redact(document)
        print(text, "<-", [(s["text"], s["placeholder"]) for s in span_map])
    print(f"model, reports and training.log in {run.output_dir}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/train-and-redact")
