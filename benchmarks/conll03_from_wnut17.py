"""Write WNUT-17 in CoNLL-03's layout, to try the PII recipes where CoNLL-03 itself cannot be downloaded.

The PII recipes (``recipes/pii-*.yaml``) read a CoNLL-03-style folder: ``eng.train``, ``eng.testa``,
``eng.testb``, four columns ``text pos chunk ner``, IOB1 tags with CoNLL-03's types (``PER``, ``LOC``, ``ORG``,
``MISC``). CoNLL-03 is licensed and not reachable here; WNUT-17 (CC-BY 4.0, ``../shared/data/wnut17``) is. This
script writes WNUT-17 in that layout so the recipe runs unchanged: ``person`` -> ``PER``, ``location`` -> ``LOC``,
``corporation`` and ``group`` -> ``ORG``, ``product`` and ``creative-work`` -> ``MISC``; the POS and chunk columns are
placeholders (``-X-``), as the recipe never reads them. Splits: ``eng.train`` = WNUT train + the first
``--dev-to-train`` dev sentences, ``eng.testa`` = the rest of dev, ``eng.testb`` = the annotated test set.

    python benchmarks/conll03_from_wnut17.py ../shared/data/wnut17 runs/conll03-wnut17
    flair-modernbert train recipes/pii-minilm.yaml --set corpus.path=runs/conll03-wnut17 --set embeddings.model=$MODEL
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flair.datasets import ColumnDataset

from flair_modernbert.tags import spans_of

TYPES = {"person": "PER", "location": "LOC", "corporation": "ORG", "group": "ORG", "product": "MISC",
         "creative-work": "MISC"}
FILES = {"train": "wnut17train.conll", "dev": "emerging.dev.conll", "test": "emerging.test.annotated"}


def iob1(length: int, spans: list[tuple[int, int, str]]) -> list[str]:
    """IOB1 tags (CoNLL-03's): ``I-`` inside every entity, ``B-`` only where an entity directly follows one of
    its own type."""
    tags = ["O"] * length
    previous_end, previous_type = -1, None
    for start, end, kind in spans:
        for index in range(start, end):
            tags[index] = f"I-{kind}"
        if start == previous_end and kind == previous_type:
            tags[start] = f"B-{kind}"
        previous_end, previous_type = end, kind
    return tags


def read(path: Path) -> list[tuple[list[str], list[tuple[int, int, str]]]]:
    """Words and CoNLL-03-typed token spans of each sentence of a WNUT-17 column file."""
    dataset = ColumnDataset(path, {0: "text", 1: "ner"}, column_delimiter="\t", in_memory=True)
    result = []
    for index in range(len(dataset)):
        sentence = dataset[index]
        spans = [(start, end, TYPES[kind]) for start, end, kind in spans_of(sentence, "ner")]
        result.append(([token.text for token in sentence], spans))
    return result


def write(path: Path, sentences: list[tuple[list[str], list[tuple[int, int, str]]]]) -> None:
    """One CoNLL-03 column file: a ``-DOCSTART-`` line, then ``word -X- -X- tag`` lines, blank between sentences."""
    lines = ["-DOCSTART- -X- -X- O", ""]
    for words, spans in sentences:
        lines += [f"{word} -X- -X- {tag}" for word, tag in zip(words, iob1(len(words), spans))] + [""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wnut17", type=Path, help="the WNUT-17 folder (../shared/data/wnut17)")
    parser.add_argument("output", type=Path, help="the folder to write eng.train, eng.testa, eng.testb to")
    parser.add_argument("--dev-to-train", type=int, default=600, help="dev sentences moved to eng.train")
    args = parser.parse_args(argv)
    for name in FILES.values():
        if not (args.wnut17 / name).is_file():
            parser.error(f"{args.wnut17 / name}: not found (the WNUT-17 folder holds {', '.join(FILES.values())})")
    splits = {split: read(args.wnut17 / name) for split, name in FILES.items()}
    moved = splits["dev"][: args.dev_to_train]
    args.output.mkdir(parents=True, exist_ok=True)
    write(args.output / "eng.train", splits["train"] + moved)
    write(args.output / "eng.testa", splits["dev"][args.dev_to_train :])
    write(args.output / "eng.testb", splits["test"])
    counts = {"eng.train": len(splits["train"]) + len(moved), "eng.testa": len(splits["dev"]) - len(moved),
              "eng.testb": len(splits["test"])}
    sys.stdout.write(", ".join(f"{name}: {n} sentences" for name, n in counts.items()) + f" -> {args.output}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
