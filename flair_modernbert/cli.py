"""The ``flair-modernbert`` console script: a thin layer over library functions.

Subcommands: ``train``, ``evaluate``, ``predict``, ``redact``, ``augment``, ``ablate``, ``bench``. Each one
calls a function a user can also call from Python; library modules are imported lazily so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Optional, Sequence, TextIO

logger = logging.getLogger("flair_modernbert.cli")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Flair logs every training detail at INFO on its own logger; keep it unless asked to be quiet
    logging.getLogger("flair").setLevel(logging.INFO if verbose else logging.WARNING)


def _out(text: str = "", stream: Optional[TextIO] = None) -> None:
    print(text, file=stream or sys.stdout, flush=True)  # noqa: T201 - CLI output


def _seeds(value: str) -> list[int]:
    try:
        return [int(s) for s in value.split(",") if s.strip()]
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"--seeds takes comma-separated integers, got {value!r}") from error


def _open_input(path: str) -> tuple[TextIO, str]:
    if path == "-":
        return sys.stdin, "<stdin>"
    file = Path(path)
    if not file.exists():
        raise FileNotFoundError(f"input file {file} does not exist")
    return file.open(encoding="utf-8"), str(file)


# ------------------------------------------------------------------------------------------------ commands
def cmd_train(args: argparse.Namespace) -> int:
    from flair_modernbert.training import train_recipe

    train_recipe(
        args.recipe,
        overrides=args.set or [],
        output_dir=args.output,
        seeds=args.seeds,
        resume=args.resume,
        announce=lambda line: _out(line),
    )
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from flair_modernbert.training import evaluate_model

    summary = evaluate_model(args.model, args.corpus, overrides=args.set or [], split=args.split, output=args.output)
    _out(summary)
    return 0


def _tag(args: argparse.Namespace):
    from flair_modernbert.inference import read_documents, tag_documents
    from flair_modernbert.training import load_tagger

    tagger = load_tagger(args.model)
    stream, source = _open_input(args.input)
    with stream:
        documents = list(read_documents(stream, source=source, fmt=args.format))
    types = [t.strip() for t in args.types.split(",")] if getattr(args, "types", None) else None
    return tag_documents(
        tagger, documents, types=types, mini_batch_size=args.batch_size, progress=not args.no_progress
    )


def cmd_predict(args: argparse.Namespace) -> int:
    for document in _tag(args):
        _out(json.dumps(document.to_json(), ensure_ascii=False))
    return 0


def cmd_redact(args: argparse.Namespace) -> int:
    from flair_modernbert.inference import redact

    span_map = Path(args.span_map).open("w", encoding="utf-8") if args.span_map else None
    try:
        for number, document in enumerate(_tag(args), start=1):
            text, mapping = redact(document, placeholder=args.placeholder)
            if document.extra or args.format == "jsonl":
                _out(json.dumps({**document.extra, "text": text}, ensure_ascii=False))
            else:
                _out(text)
            if span_map:
                span_map.write(json.dumps({"line": number, "spans": mapping}, ensure_ascii=False) + "\n")
    finally:
        if span_map:
            span_map.close()
    return 0


def cmd_augment(args: argparse.Namespace) -> int:
    from flair_modernbert.augmentation import augment_folder

    report = augment_folder(
        args.in_dir,
        args.out_dir,
        args.config,
        train_file=args.train_file,
        dev_file=args.dev_file,
        test_file=args.test_file,
        tag_format=args.tag_format,
        seed=args.seed,
    )
    _out(report.summary())
    return 0


def cmd_ablate(args: argparse.Namespace) -> int:
    from flair_modernbert.ablation import run_ablation

    result = run_ablation(args.definition, output_dir=args.output, announce=lambda line: _out(line))
    _out(result.markdown())
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from flair_modernbert.bench import run_from_args

    run_from_args(args, command="flair-modernbert bench " + " ".join(sys.argv[2:]))
    return 0


# -------------------------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``flair-modernbert``."""
    parser = argparse.ArgumentParser(
        prog="flair-modernbert",
        description="ModernBERT NER with Flair: train from recipes, evaluate, predict, redact, augment, ablate.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details (Flair's training log)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a tagger from a YAML recipe")
    p.add_argument("recipe", type=Path, help="recipe file, e.g. recipes/quickstart.yaml")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a recipe value (dotted key), repeatable")
    p.add_argument("--output", type=Path, default=None, help="output folder (default: the recipe's output_dir)")
    p.add_argument("--seeds", type=_seeds, default=None, help="comma-separated seeds; several give a mean ± std table")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from its checkpoint")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="seqeval report of a trained model on a corpus (+ lower-cased test)")
    p.add_argument("model", help="final-model.pt or a training output folder")
    p.add_argument("corpus", help="a recipe file (its corpus section) or a column folder with train/dev/test files")
    p.add_argument("--split", default="test", choices=["train", "dev", "test"])
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a recipe value")
    p.add_argument("--output", type=Path, default=None, help="write results.json, report.txt and confusion.png here")
    p.set_defaults(func=cmd_evaluate)

    for name, helptext in (("predict", "tag text; prints spans as JSON lines"), ("redact", "replace entity spans with [TYPE] placeholders")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("model", help="final-model.pt or a training output folder")
        p.add_argument("input", nargs="?", default="-", help="file with one document per line (text or JSON lines); - for stdin")
        p.add_argument("--format", choices=["auto", "text", "jsonl"], default="auto")
        p.add_argument("--batch-size", type=int, default=32)
        p.add_argument("--no-progress", action="store_true")
        if name == "redact":
            p.add_argument("--types", default=None, help="comma-separated entity types to redact (default: all)")
            p.add_argument("--placeholder", default="[{type}]", help="format with {type} and {index}")
            p.add_argument("--span-map", default=None, help="write the span map (JSON lines) to this file")
            p.set_defaults(func=cmd_redact)
        else:
            p.add_argument("--types", default=None, help="comma-separated entity types to keep (default: all)")
            p.set_defaults(func=cmd_predict)

    p = sub.add_parser("augment", help="write augmented column files for inspection")
    p.add_argument("in_dir", type=Path)
    p.add_argument("out_dir", type=Path)
    p.add_argument("--config", required=True, type=Path, help="YAML with the augmentation ops (list, or {ratio, seed, ops})")
    p.add_argument("--train-file", default="train.conll")
    p.add_argument("--dev-file", default="dev.conll")
    p.add_argument("--test-file", default="test.conll")
    p.add_argument("--tag-format", choices=["BIO", "BIOES"], default="BIO")
    p.add_argument("--seed", type=int, default=None, help="overrides the config's seed (default: the config's, else 0)")
    p.set_defaults(func=cmd_augment)

    p = sub.add_parser("ablate", help="train every variant x seed of an ablation and write the comparison table")
    p.add_argument("definition", type=Path, help="e.g. augment/wnut17-smoke.yaml")
    p.add_argument("--output", type=Path, default=None)
    p.set_defaults(func=cmd_ablate)

    from flair_modernbert.bench import add_arguments

    p = sub.add_parser("bench", help="speed: stock Flair (padded) vs ModernBertEmbeddings (unpadded)")
    add_arguments(p)
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``flair-modernbert`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, OSError) as error:
        if args.verbose:
            raise
        _out(f"error: {error}", stream=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
