"""The ``flair-modernbert`` console script: a thin layer over library functions.

Subcommands: ``train``, ``distill``, ``evaluate``, ``predict``, ``redact`` (one input, or a corpus with ``--output``),
``restore``, ``serve``, ``export``, ``augment``, ``ablate``, ``bench``, ``leaks``, ``synth``. Each calls a function a
user can also call from Python. Nothing heavy (torch, flair, transformers) is imported before a command runs, so
``--help`` and option errors are immediate.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, BinaryIO, Callable, Optional, Sequence, TextIO, Union

logger = logging.getLogger("flair_modernbert.cli")


def _setup_logging(verbose: bool) -> None:
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for handler in logging.getLogger().handlers:
        handler.setLevel(level)
    # Flair logs training details at INFO to its own console handler: they always reach training.log, the
    # console only with -v. Flair is imported lazily, so its handler is set when its first record comes.
    logging.getLogger("flair").addFilter(_FlairConsole(level))


class _FlairConsole(logging.Filter):
    """Sets the level of Flair's console handler when Flair logs its first record, then removes itself."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        from flair_modernbert.training.run import flair_console

        logging.getLogger("flair").removeFilter(self)
        flair_console(self.level)
        return True


def _out(text: str = "", stream: Optional[TextIO] = None) -> None:
    print(text, file=stream or sys.stdout, flush=True)  # noqa: T201 - CLI output


def _seeds(value: str) -> list[int]:
    try:
        return [int(s) for s in value.split(",") if s.strip()]
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"--seeds takes comma-separated integers, got {value!r}") from error


def _number(kind: type, low: float, high: Optional[float] = None, low_open: bool = False,
            what: str = "") -> Callable[[str], Any]:
    """An argparse type: a number of ``kind`` in [low, high] (``(low, high]`` with ``low_open``)."""
    bounds = f"> {low}" if low_open else f">= {low}" if high is None else f"from {low} to {high}"
    expected = f"a number {bounds}" + (f" ({what})" if what else "")

    def parse(value: str) -> Any:
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value!r}") from None
        if number < low or (low_open and number == low) or (high is not None and number > high):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return number

    return parse


_positive = _number(int, 1)


def _student_layers(value: str) -> Union[int, list[int]]:
    """An argparse type: ``distill --layers``, a count ``K >= 1`` or the teacher layers to keep (``0,1``)."""
    from flair_modernbert.distillation.layers import parse_layers

    try:
        return parse_layers(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _recall_bias(value: str) -> float:
    """An argparse type: ``--recall-bias``, any finite number."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {value}")
    return number


_RECALL_BIAS_HELP = ("recall knob: lower the O tag's score by B before decoding (CRF Viterbi or softmax), so higher "
                     "values hide more words (more recall, some over-redaction), negative ones fewer; 0 is the model's "
                     "own decoding (default: the model's, from its run folder's recipe.yaml, else 0; docs/recall.md)")


def _open_input(path: str) -> tuple[BinaryIO, str, Optional[int]]:
    """The input as bytes (lines split at ``\\n`` only, as for stdin), its name and its size when a file."""
    if path == "-":
        return sys.stdin.buffer, "<stdin>", None
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"input file {file} does not exist")
    return file.open("rb"), str(file), file.stat().st_size


# ------------------------------------------------------------------------------------------------ commands
def cmd_train(args: argparse.Namespace) -> int:
    from flair_modernbert.config import load_recipe

    recipe = load_recipe(args.recipe, args.set or [])  # a typo fails here, before torch is imported
    from flair_modernbert.training import train_recipe

    train_recipe(
        recipe,
        output_dir=args.output,
        seeds=args.seeds,
        resume=args.resume,
        overwrite=args.overwrite,
        announce=lambda line: _out(line),
        progress=not args.no_progress,
    )
    return 0


def cmd_distill(args: argparse.Namespace) -> int:
    from flair_modernbert.config import load_recipe

    recipe = load_recipe(args.recipe, args.set or [])  # a typo fails here, before torch is imported
    from flair_modernbert.distillation import distill

    result = distill(args.teacher, recipe, args.layers, args.output, alpha=args.alpha, temperature=args.temperature,
                     target=args.target, seed=args.seed, progress=not args.no_progress, announce=lambda line: _out(line),
                     overwrite=args.overwrite, trust=args.trust_model)
    if result.results is not None and result.results.micro_f1 is not None:
        _out(f"student test micro F1 {result.results.micro_f1:.4f}: {result.output_dir}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from flair_modernbert.evaluation import evaluate_model

    summary = evaluate_model(args.model, args.corpus, overrides=args.set or [], split=args.split,
                             output=args.output, mini_batch_size=args.batch_size, progress=not args.no_progress,
                             trust=args.trust_model)
    _out(summary)
    return 0


def _tag(args: argparse.Namespace, write: Callable[[Any], None], default_types: str = "model",
         ready: Optional[Callable[[Any, Any], None]] = None) -> None:
    """Load the model, stream the input through it and hand each tagged document to ``write``.

    ``ready(tagger, types)`` runs once the model is loaded and ``--types`` resolved, before any line is tagged.
    """
    from tqdm import tqdm

    from flair_modernbert.inference import load_tagger, paced, read_lines, resolve_types, stream_documents

    stream, source, size = _open_input(args.input)
    with stream:
        tagger = load_tagger(args.model, trust=args.trust_model)
        names = [t for t in args.types.split(",") if t.strip()] if args.types else None
        types = resolve_types(tagger, names, default=default_types)
        if ready is not None:
            ready(tagger, types)
        show = size is not None and not args.no_progress
        with tqdm(total=size, unit="B", unit_scale=True, desc="tagging", disable=not show, file=sys.stderr) as bar:

            def numbered() -> Any:
                for number, line in read_lines(stream, source):
                    yield number, line
                    if show:  # bytes read so far; tqdm redraws at most a few times a second
                        bar.update(stream.tell() - bar.n)

            # a pipe may pause (a person typing, a program waiting for the answer): tag what has arrived then
            lines = numbered() if size is not None else paced(numbered())
            for document in stream_documents(tagger, lines, source, args.format, types, args.batch_size,
                                             unit=args.unit, recall_bias=args.recall_bias,
                                             text_field=getattr(args, "text_field", "text")):
                write(document)


def cmd_predict(args: argparse.Namespace) -> int:
    _tag(args, lambda document: _out(json.dumps(document.to_json(), ensure_ascii=False)))
    return 0


def _redact_corpus(args: argparse.Namespace) -> int:
    from flair_modernbert.bulk import RedactOptions, redact_corpus

    if args.span_map is not None:
        raise ValueError("--span-map FILE is for one input; with --output each shard gets its span map under "
                         "--span-maps DIR (or none with --no-map)")
    if "-" in args.input:
        raise ValueError("--output reads files, folders and patterns, not stdin ('-')")
    options = RedactOptions(
        model=str(args.model),
        types=tuple(t.strip() for t in args.types.split(",") if t.strip()) if args.types else None,
        recall_bias=args.recall_bias, placeholder=args.placeholder, join_partial=not args.no_join_partial,
        unit=args.unit, batch_size=args.batch_size, fmt=args.format, text_field=args.text_field,
        span_maps=not args.no_map, on_error=args.on_error, trust=args.trust_model,
    )
    try:
        run = redact_corpus(args.input, args.output, options, span_map_dir=args.span_maps, engine=args.engine,
                            workers=args.workers, threads=args.threads, address=args.address,
                            gpus_per_actor=args.gpus_per_actor, overwrite=args.overwrite,
                            progress=not args.no_progress, announce=lambda line: _out(line, sys.stderr))
    except ImportError as error:  # --engine ray without Ray: the install hint
        raise ValueError(str(error)) from None
    except RuntimeError as error:  # the Ray pipeline stopped; the manifest keeps what finished
        _out(f"error: {error}", sys.stderr)
        return 1
    for relative, error in run.failed:
        _out(f"failed: {error}", sys.stderr)
    return 1 if run.failed else 0


def cmd_redact(args: argparse.Namespace) -> int:
    if args.output is not None:
        return _redact_corpus(args)
    corpus_only = [flag for flag, value in (("--workers", args.workers != 1), ("--threads", args.threads),
                                            ("--engine", args.engine != "local"), ("--address", args.address),
                                            ("--gpus-per-actor", args.gpus_per_actor), ("--no-map", args.no_map),
                                            ("--span-maps", args.span_maps), ("--on-error", args.on_error != "fail"),
                                            ("--overwrite", args.overwrite)) if value]
    if corpus_only:
        raise ValueError(f"{', '.join(corpus_only)} go(es) with --output DIR (redacting many files)")
    if len(args.input) > 1:
        raise ValueError(f"{len(args.input)} inputs given: several files, folders or globs need --output DIR "
                         "(one output file per input file); without it redact reads one file or stdin")
    args.input = args.input[0] if args.input else "-"
    from flair_modernbert.inference import StreamRedactor, check_placeholder

    placeholder = check_placeholder(args.placeholder) if args.placeholder is not None else None
    span_map = Path(args.span_map) if args.span_map else None
    if span_map is not None and span_map.exists() and not args.force:
        raise FileExistsError(f"--span-map {span_map} exists (it may be the only way to reverse earlier "
                              "redactions); choose another file or pass --force to replace it")
    redactor = StreamRedactor(placeholder, span_map=span_map is not None, join_partial=not args.no_join_partial)
    out = None
    if span_map is not None:
        from flair_modernbert.bulk.formats import AtomicFile

        # the map's folder is the user's (not a span-map folder): created with the usual mode, only the file is private
        span_map.parent.mkdir(parents=True, exist_ok=True)
        out = AtomicFile(span_map, private=True)

    def ready(tagger: Any, types: Any) -> None:
        if out is not None:
            out.write_json(redactor.header(tagger, types, args.recall_bias))

    def write(document: Any) -> None:
        line, records = redactor.redact(document)
        if out is not None:
            for record in records:
                out.write_json(record)
        _out(line)

    try:
        _tag(args, write, default_types="all", ready=ready)
    except BaseException:
        if out is not None:
            out.discard()
        raise
    if out is not None:
        out.commit()
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from flair_modernbert.inference import parse_line, read_lines
    from flair_modernbert.redaction.restore import SpanMap, restore

    span_map = SpanMap.read(args.map)
    stream, source, _ = _open_input(args.input)
    unknown_count = 0

    def report(number: Optional[int], unknown: list[str]) -> None:
        where = f"line {number}: " if number is not None else ""
        for found in unknown:
            _out(f"restore: {where}unknown placeholder {found}", stream=sys.stderr)

    with stream:
        if args.whole:
            raw = stream.read()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise ValueError(f"{source}: not valid UTF-8 ({error.reason} at byte {error.start})") from None
            restored = restore(text, span_map)
            report(None, restored.unknown)
            sys.stdout.write(restored.text)
            sys.stdout.flush()
            return 0
        for number, line in read_lines(stream, source):
            document = parse_line(line, number, source, args.format)
            restored = restore(document.text, span_map, line=number)
            report(number, restored.unknown)
            unknown_count += len(restored.unknown)
            _out(json.dumps({**document.extra, "text": restored.text}, ensure_ascii=False) if document.json
                 else restored.text)
    if unknown_count:
        logger.info("restore: %d unknown placeholders left as they were", unknown_count)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from flair_modernbert.serve import check_serve_dependencies

    check_serve_dependencies()  # before torch and the model are loaded
    from flair_modernbert.serve import serve

    serve(args.model, args.host, args.port, types=[t for t in args.types.split(",") if t.strip()] if args.types
          else None, max_batch=args.max_batch, max_wait_ms=args.max_wait_ms, max_text_chars=args.max_text_chars,
          max_texts=args.max_texts, unit=args.unit, recall_bias=args.recall_bias, trust=args.trust_model,
          graceful_timeout=args.graceful_timeout,
          announce=lambda line: _out(line))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from flair_modernbert.export import check_export_options

    check_export_options(args.quantize, args.opset, args.exporter, not args.no_check)  # before torch and the model are loaded
    if args.vocab is not None:
        from flair_modernbert.export import check_vocab_options

        check_vocab_options(args.vocab, args.vocab_set or (), args.vocab_min_agreement)
    elif args.vocab_set:
        raise ValueError("--vocab-set needs --vocab RECIPE")
    from flair_modernbert.export import export_tagger

    result = export_tagger(args.model, args.out, quantize=args.quantize, opset=args.opset, exporter=args.exporter,
                           overwrite=args.overwrite, trust=args.trust_model, check=not args.no_check,
                           link_node_modules=not args.no_node_modules, vocab=args.vocab,
                           vocab_overrides=args.vocab_set or (), vocab_min_agreement=args.vocab_min_agreement)
    _out(result.summary())
    if result.vocabulary is not None:
        _out(result.vocabulary_summary(), sys.stderr)
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
        progress=not args.no_progress,
    )
    _out(report.summary())
    return 0


def cmd_ablate(args: argparse.Namespace) -> int:
    from flair_modernbert.config import load_ablation

    if args.backend == "ray":
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            raise ValueError("--backend ray needs Ray: pip install 'flair-modernbert[cluster]'")
    definition = load_ablation(args.definition)  # every variant checked before torch is imported
    from flair_modernbert.experiments.ablation import run_ablation

    result = run_ablation(definition, output_dir=args.output, announce=lambda line: _out(line),
                          progress=not args.no_progress, backend=args.backend, address=args.address,
                          gpus_per_run=args.gpus_per_run, cpus_per_run=args.cpus_per_run)
    _out(result.markdown())
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from flair_modernbert.experiments.bench import run_bench_command

    run_bench_command(args, "flair-modernbert bench " + " ".join(sys.argv[2:]), _out)
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    from flair_modernbert.synthetic import generate_records, write_records

    locales = [locale.strip() for locale in args.locales.split(",") if locale.strip()]
    types = [name.strip() for name in args.types.split(",") if name.strip()] if args.types else None
    records = generate_records(args.n, seed=args.seed, locales=locales, lowercase=args.lowercase,
                               uppercase=args.uppercase, long_documents=args.long_documents, types=types,
                               long_max_words=args.long_max_words)
    result = write_records(records, args.out, force=args.force, total=args.n,
                           progress=not args.no_progress and args.n >= 2000)
    _out(result.summary())
    return 0


def _biases(value: str) -> list[float]:
    try:
        return [_recall_bias(s) for s in value.split(",") if s.strip()]
    except argparse.ArgumentTypeError as error:
        raise argparse.ArgumentTypeError(f"--sweep takes comma-separated recall biases: {error}") from None


def cmd_leaks(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from flair_modernbert.leaks.report import format_sweep, format_table, plot_sweep, write_json
    from flair_modernbert.leaks.run import leak_report

    if (args.model == "-") != (args.predictions is not None):
        raise ValueError("leaks: MODEL '-' goes with --predictions FILE (spans predicted elsewhere), and only with it")
    biases = args.sweep or [args.recall_bias]
    with tqdm(unit="doc", desc="tagging", disable=args.no_progress or args.predictions is not None,
              file=sys.stderr) as bar:
        run = leak_report(None if args.model == "-" else args.model, args.data, format=args.format, types=args.types,
                          biases=biases, predictions=args.predictions, lowercase=args.lowercase,
                          mini_batch_size=args.batch_size, unit=args.unit, trust=args.trust_model,
                          progress=lambda done, total: (setattr(bar, "total", total), bar.update(done)))
    # a sweep shows the whole table at the chosen bias (else the first) and one line per bias
    focus = run.chosen_recall_bias if run.chosen_recall_bias is not None else run.reports[0].recall_bias
    for report in run.reports:
        if len(biases) == 1 or report.recall_bias == focus:
            _out(format_table(report) + "\n")
    if len(run.reports) > 1:
        _out(format_sweep(run.reports))
    if len(biases) > 1:
        chosen = run.chosen_recall_bias
        _out("largest recall bias whose over-redaction stays <= 5 % (cased): "
             + ("none" if chosen is None else f"{chosen:g}"))
    if args.output is not None:
        write_json(args.output / "leaks.json", run.reports, **run.meta)
        plot_sweep(args.output / "leaks.png", run.reports, title=f"{Path(str(args.data)).name}: leaks")
        _out(f"wrote {args.output / 'leaks.json'} and {args.output / 'leaks.png'}")
    return 0


# -------------------------------------------------------------------------------------------------- parser
class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Shows the default next to an option's help when there is one worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "%(default)" not in text and action.option_strings:
            text += " (default: %(default)s)"
        return text


def _command(sub: Any, name: str, helptext: str, description: str = "") -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=helptext, description=description or helptext, formatter_class=_Formatter)
    parser.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``flair-modernbert``."""
    parser = argparse.ArgumentParser(
        prog="flair-modernbert",
        description="ModernBERT NER with Flair: train from recipes, evaluate, predict, redact, augment, ablate.",
        formatter_class=_Formatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show Flair's training log on the console and tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = _command(sub, "train", "train a tagger from a YAML recipe")
    p.add_argument("recipe", type=Path, help="recipe file, e.g. recipes/quickstart.yaml")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a recipe value by its dotted key (repeatable), e.g. training.max_epochs=2")
    p.add_argument("--output", type=Path, default=None, help="output folder (default: the recipe's output_dir)")
    p.add_argument("--seeds", type=_seeds, default=None,
                   help="comma-separated seeds (default: training.seeds); several give a mean ± std table")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_true", help="continue an interrupted run from its checkpoint.pt")
    group.add_argument("--overwrite", action="store_true",
                       help="clear a non-empty output folder first (without it, such a folder is refused)")
    p.set_defaults(func=cmd_train)

    p = _command(sub, "distill", "train a student with fewer layers against a trained tagger (its teacher)",
                 "Train a student tagger that keeps K of the teacher's transformer layers (ModernBERT: global layers "
                 "stay global; others: evenly spaced; or the layers --layers names), on the recipe's corpus (and synthetic PII) with its training "
                 "settings, with (1 - alpha) * gold loss + alpha * distillation loss (KL of the temperature-softened "
                 "emission scores, or of the CRF's per-token marginals). The output is an ordinary run folder.")
    p.add_argument("teacher", help="the teacher: final-model.pt or a training output folder")
    p.add_argument("recipe", type=Path, help="recipe whose corpus and training settings train the student "
                                             "(usually the teacher's: TEACHER/recipe.yaml)")
    p.add_argument("--layers", type=_student_layers, required=True, metavar="K|T,T,...",
                   help="the student's number of transformer layers, fewer than the teacher's; or the teacher's "
                        "layers to keep, counted from 0 (e.g. 0,1: the two lowest)")
    p.add_argument("--output", type=Path, required=True, help="the student's run folder")
    p.add_argument("--alpha", type=_number(float, 0, 1), default=0.5,
                   help="weight of the distillation loss (0: gold labels only, 1: the teacher only)")
    p.add_argument("--temperature", type=_number(float, 0, low_open=True), default=2.0,
                   help="softmax temperature of the distillation loss")
    p.add_argument("--target", default="emissions", metavar="emissions|marginals",
                   help="what the student learns from the teacher: its emission scores, or its CRF's per-token "
                        "marginals (a CRF head only)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a recipe value by its dotted key (repeatable), e.g. training.max_epochs=2")
    p.add_argument("--seed", type=int, default=None, help="the run's seed (default: the recipe's first seed)")
    p.add_argument("--overwrite", action="store_true",
                   help="clear a non-empty output folder first (without it, such a folder is refused)")
    _trust_option(p)
    p.set_defaults(func=cmd_distill)

    p = _command(sub, "evaluate", "seqeval report of a trained model on a corpus (+ lower-cased test)")
    p.add_argument("model", help="final-model.pt or a training output folder")
    p.add_argument("corpus", help="a recipe file (its corpus section) or a column folder with train/dev/test files")
    p.add_argument("--split", default="test", choices=["train", "dev", "test"], help="the split to score")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a value of the recipe's corpus")
    p.add_argument("--output", type=Path, default=None, help="also write results.json, report.txt and confusion.png here")
    p.add_argument("--batch-size", type=_positive, default=16, help="sentences per forward pass")
    _trust_option(p)
    p.set_defaults(func=cmd_evaluate)

    for name, helptext in (("predict", "tag text; prints spans with character offsets as JSON lines"),
                           ("redact", "replace names, places, e-mail addresses, phone numbers ... with placeholders "
                                      "such as [PERSON_1]")):
        p = _command(sub, name, helptext)
        p.add_argument("model", help="final-model.pt or a training output folder")
        if name == "redact":
            p.add_argument("input", nargs="*", default=["-"],
                           help="file with one document per line, plain text or JSON lines with a \"text\" field; - "
                                "for stdin; with --output: files, folders and glob patterns, Parquet too")
        else:
            p.add_argument("input", nargs="?", default="-",
                           help="file with one document per line, plain text or JSON lines with a \"text\" field; - "
                                "for stdin")
        p.add_argument("--format", choices=["auto", "text", "jsonl"], default="auto",
                       help="input lines: auto (JSON when a line starts with '{'), text or jsonl")
        p.add_argument("--unit", choices=["sentence", "document"], default="sentence",
                       help="tag each sentence, or each input line as one sequence (long lines in overlapping windows)")
        p.add_argument("--batch-size", type=_positive, default=32,
                       help="sentences per forward pass (sentences of many lines are batched together)")
        p.add_argument("--types", default=None,
                       help="comma-separated types: the model's (case-insensitive; PER/LOC/ORG also match person/"
                            "location/organization) and patterns: email, phone, url, ip, credit_card, iban, ssn; 'all' for "
                            "every one (default: " + ("all" if name == "redact" else "the model's types") + ")")
        p.add_argument("--recall-bias", type=_recall_bias, default=None, metavar="B", help=_RECALL_BIAS_HELP)
        _trust_option(p)
        if name == "redact":
            p.add_argument("--placeholder", default=None,
                           help="replacement text with {type} and {n}, the entity's number (default: [{type}_{n}])")
            p.add_argument("--span-map", default=None, metavar="FILE",
                           help="write what was replaced where (JSON lines) to FILE, for `restore`; numbers entities "
                                "across the whole input")
            p.add_argument("--no-join-partial", action="store_true",
                           help="a mention equal to the first or last word(s) of an earlier entity ('Doe' after "
                                "'Jane Doe') gets a placeholder of its own")
            p.add_argument("--force", action="store_true", help="replace an existing --span-map file")
            p.add_argument("--text-field", default="text", metavar="NAME",
                           help="the JSON field (Parquet column) holding the text; other fields pass through")
            corpus = p.add_argument_group(
                "whole corpora", "with --output DIR: every input file is a shard, redacted into DIR under the same "
                "relative path, atomically; DIR/manifest.json records each shard, so a rerun skips finished ones "
                "(docs/scaling.md)")
            corpus.add_argument("--output", type=Path, default=None, metavar="DIR",
                                help="redact many files into DIR (mirrors the input layout, one output per input)")
            corpus.add_argument("--workers", type=_positive, default=1,
                                help="processes (--engine local) or Ray actors, each holding one tagger (default 1)")
            corpus.add_argument("--threads", type=_positive, default=None,
                                help="torch threads per worker (Ray: CPUs per actor; default: cores / workers, "
                                     "Ray 1)")
            corpus.add_argument("--engine", choices=["local", "ray"], default="local",
                                help="local processes, or a Ray Data actor pool (extra [cluster])")
            corpus.add_argument("--address", default=None,
                                help="a running Ray cluster (auto, HOST:6379, ray://HOST:10001); default: start Ray "
                                     "on this machine")
            corpus.add_argument("--gpus-per-actor", type=_number(float, 0, 1), default=0,
                                help="GPUs per Ray actor (a fraction shares one)")
            corpus.add_argument("--no-map", action="store_true",
                                help="no span maps (one-way scrubbing, e.g. of training data)")
            corpus.add_argument("--span-maps", type=Path, default=None, metavar="DIR",
                                help="where the per-shard span maps go (default: OUTPUT.span-maps next to the "
                                     "output; owner-only permissions: they hold the original values)")
            corpus.add_argument("--on-error", choices=["fail", "keep"], default="fail",
                                help="a malformed line (not UTF-8, bad JSON, no text field) fails its shard (the "
                                     "others go on), or with 'keep' is written through UNREDACTED and reported")
            corpus.add_argument("--overwrite", action="store_true",
                                help="redo every shard, also when DIR holds a run with other options")
            p.set_defaults(func=cmd_redact)
        else:
            p.set_defaults(func=cmd_predict)

    p = _command(sub, "restore", "put the original text back into text holding placeholders (an LLM's answer)",
                 "Reads the span map of `redact --span-map` and restores placeholders the way LLMs return them (any "
                 "case, brackets changed or dropped, in Markdown, with 's); unknown placeholders stay and are "
                 "reported on stderr. Line by line, streaming; see docs/redaction.md.")
    p.add_argument("map", help="the span map written by `flair-modernbert redact --span-map`")
    p.add_argument("input", nargs="?", default="-", help="text holding placeholders; - for stdin")
    p.add_argument("--format", choices=["auto", "text", "jsonl"], default="auto",
                   help="input lines: auto (JSON when a line starts with '{': its \"text\" is restored), text or jsonl")
    p.add_argument("--whole", action="store_true",
                   help="restore the whole input as one text (a placeholder may be split over a line)")
    p.set_defaults(func=cmd_restore)

    p = _command(sub, "serve", "a local HTTP service: /predict, /redact, /restore with dynamic batching",
                 "Loads the model once and answers POST /predict, /redact and /restore (the JSON of predict's and "
                 "redact's lines; one or many texts per request), GET /health and /ready; API docs at /docs. "
                 "Sentences of concurrent requests are tagged together. Needs pip install 'flair-modernbert[serve]'; "
                 "see docs/serve.md.")
    p.add_argument("model", help="final-model.pt or a training output folder")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on; the default takes connections from this machine only")
    p.add_argument("--port", type=_number(int, 0, 65535), default=8000, help="TCP port (0: any free port)")
    p.add_argument("--types", default=None,
                   help="comma-separated types used when a request names none (default: the model's types for "
                        "/predict, all for /redact)")
    p.add_argument("--max-batch", type=_positive, default=32, help="sentences tagged together at most (one forward)")
    p.add_argument("--max-wait-ms", type=_number(float, 0), default=10.0,
                   help="how long a request waits for others to share its forward")
    p.add_argument("--max-text-chars", type=_positive, default=100_000,
                   help="characters of one text at most (a longer one is refused with 413 before any tagging)")
    p.add_argument("--max-texts", type=_positive, default=256, help="texts of one request at most")
    p.add_argument("--unit", choices=["sentence", "document"], default="sentence",
                   help="tag each sentence, or each text as one sequence")
    p.add_argument("--recall-bias", type=_recall_bias, default=None, metavar="B",
                   help=_RECALL_BIAS_HELP + "; for requests that set no \"recall_bias\" of their own")
    p.add_argument("--graceful-timeout", type=_number(float, 0), default=30.0,
                   help="seconds to finish requests in flight after SIGTERM or Ctrl-C")
    _trust_option(p)
    p.set_defaults(func=cmd_serve)

    p = _command(sub, "export", "export a tagger for the browser: ONNX + Transformers.js folder with a JavaScript decoder")
    p.add_argument("model", help="final-model.pt or a training output folder")
    p.add_argument("out", type=Path, help="folder to create (config.json, tokenizer.json, onnx/, crf.json, tagger.mjs, ...)")
    p.add_argument("--quantize", default=None, metavar="fp16,int8,q4",
                   help="also write smaller copies, one or several separated by commas: fp16 (onnx/model_fp16.onnx, "
                        "Transformers.js dtype 'fp16'), int8 (onnx/model_quantized.onnx, dtype 'q8'), q4 (4-bit "
                        "weights and embedding tables, onnx/model_q4.onnx, dtype 'q4')")
    p.add_argument("--opset", type=int, default=None, help="ONNX opset (default: 17, or 18 with --exporter dynamo)")
    p.add_argument("--exporter", choices=["torchscript", "dynamo"], default="torchscript",
                   help="torch's ONNX exporter: TorchScript-based (fast) or dynamo-based")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    p.add_argument("--no-check", action="store_true",
                   help="skip comparing the graph's emission scores with Flair's on a few sentences")
    p.add_argument("--no-node-modules", action="store_true",
                   help="do not link the installed JavaScript module's node_modules into the folder (then run npm ci there)")
    p.add_argument("--vocab", default=None, metavar="FILE|RECIPE",
                   help="trim the vocabulary to the tokens of this corpus plus what spells any text (bytes, characters, "
                        "continuations, special tokens): a recipe (its train split), a column file, span documents, "
                        "JSON lines with \"text\", or plain text (a document a line); KIND:FILE (recipe, column, spans, "
                        "jsonl, text) to say which. Refused when the trimmed export tags the corpus differently")
    p.add_argument("--vocab-set", action="append", metavar="KEY=VALUE",
                   help="override a value of the --vocab recipe (e.g. corpus.path=...); repeatable")
    p.add_argument("--vocab-min-agreement", type=float, default=0.995, metavar="SHARE",
                   help="least share of the --vocab corpus's words the trimmed export must tag as the tagger does "
                        "(default 0.995)")
    _trust_option(p)
    p.set_defaults(func=cmd_export)

    p = _command(sub, "augment", "write augmented column files for inspection")
    p.add_argument("in_dir", type=Path, help="folder with the column files (token TAB tag)")
    p.add_argument("out_dir", type=Path, help="folder to write: augmented train file, dev and test copied")
    p.add_argument("--config", required=True, type=Path,
                   help="YAML with the augmentation ops (a list, {ratio, seed, ops}, or a recipe)")
    p.add_argument("--train-file", default="train.conll", help="training file in IN_DIR")
    p.add_argument("--dev-file", default="dev.conll", help="dev file in IN_DIR (copied)")
    p.add_argument("--test-file", default="test.conll", help="test file in IN_DIR (copied)")
    p.add_argument("--tag-format", choices=["BIO", "BIOES"], default="BIO", help="tags of the written train file")
    p.add_argument("--seed", type=int, default=None, help="overrides the config's seed (default: the config's, else 0)")
    p.set_defaults(func=cmd_augment)

    p = _command(sub, "ablate", "train every variant x seed of an ablation and write the comparison table")
    p.add_argument("definition", type=Path, help="ablation file, e.g. augment/wnut17-smoke.yaml")
    p.add_argument("--output", type=Path, default=None,
                   help="output folder (default: the file's output_dir, else runs/ablation-<file name>)")
    p.add_argument("--backend", choices=["local", "ray"], default="local",
                   help="local: the runs one after the other in this process; ray: each run a Ray task "
                        "(pip install 'flair-modernbert[cluster]')")
    p.add_argument("--address", default=None, metavar="ADDR",
                   help="with --backend ray: a running Ray cluster (auto, HOST:6379 or ray://HOST:10001); "
                        "default: start a Ray instance on this machine for the ablation")
    p.add_argument("--gpus-per-run", type=_number(float, 0, 1, what="a run trains on one GPU; 0.5 lets two share one"), default=0, metavar="N",
                   help="with --backend ray: GPUs reserved per run, 0 to 1 (0.5: two runs share a GPU)")
    p.add_argument("--cpus-per-run", type=_number(float, 0, low_open=True), default=None, metavar="N",
                   help="with --backend ray: CPUs reserved per run, also its torch threads (default: 1)")
    p.set_defaults(func=cmd_ablate)

    p = _command(sub, "bench", "speed and memory: stock Flair (padded) vs ModernBertEmbeddings (unpadded)")
    p.add_argument("--data", type=Path, default=None,
                   help="column file (tokens in column 0); default: every sentence of the shipped WNUT-17 sample")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--model", default=None, help="ModernBERT directory or Hugging Face id (default: random weights)")
    group.add_argument("--size", default="base", choices=["tiny", "small", "base", "large"],
                       help="shape of the random-weight model")
    p.add_argument("--batch-size", type=_positive, default=32, help="sentences per batch")
    p.add_argument("--batches", type=_positive, default=6, help="timed batches per variant and mode")
    p.add_argument("--warmup", type=int, default=1, help="untimed batches first")
    p.add_argument("--mode", choices=["inference", "train", "both"], default="both",
                   help="inference (no grad), a training step (forward + backward), or both")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="autocast precision")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    p.add_argument("--pooling", default="first", choices=["first", "last", "first_last", "mean"], help="subtoken pooling")
    p.add_argument("--threads", type=_positive, default=None, help="torch CPU threads (default: torch's)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory pass")
    p.add_argument("--seed", type=int, default=0, help="batch shuffling seed")
    p.add_argument("--json", type=Path, default=None, help="also write the report as JSON here")
    p.add_argument("--long", default=None, metavar="N,N,...",
                   help="instead: one sequence per length (subtokens, e.g. 1024,2048,4096,8192), ModernBertEmbeddings "
                        "vs the HF model's padded sdpa forward, and the document-mode cost of a long document")
    p.add_argument("--predict", type=_positive, default=None, metavar="LINES",
                   help="instead: time `flair-modernbert predict` (whole process) on LINES one-sentence lines against "
                        "the embeddings' own sentences/s at --batch-size")
    p.add_argument("--document-sentences", type=int, default=71,
                   help="with --long: sentences of the document-mode measurement (0 skips it)")
    p.add_argument("--repeats", type=_positive, default=3,
                   help="with --long: timed runs per variant and length; with --predict: runs of predict and of redact "
                        "--types all; the median is reported")
    p.set_defaults(func=cmd_bench)

    p = _command(sub, "synth", "write synthetic personal data as span JSON lines (docs/synthetic.md)")
    p.add_argument("out", type=Path, help="JSON lines file to write ({\"text\", \"spans\"} per line)")
    p.add_argument("--n", type=_number(int, 0), default=20000, help="records to write")
    p.add_argument("--seed", type=int, default=0, help="the same seed and options write the same file")
    p.add_argument("--locales", default="en_US", help="comma-separated Faker locales, e.g. en_US,de_DE")
    p.add_argument("--lowercase", type=_number(float, 0, 1), default=0.1, help="share of records with lower-cased names")
    p.add_argument("--uppercase", type=_number(float, 0, 1), default=0.05, help="share of records with upper-cased names")
    p.add_argument("--long-documents", type=_number(float, 0, 1), default=0.0,
                   help="share of records that are long documents made of many records")
    p.add_argument("--long-max-words", type=_number(int, 200), default=5000, help="the most words of a long document")
    p.add_argument("--types", default=None, help="comma-separated types to label (default: all); the text is the same")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    p.set_defaults(func=cmd_synth)

    from flair_modernbert.config.schema import SPAN_FILE_FORMATS  # light: pydantic, no torch

    p = _command(sub, "leaks", "how much personal data a tagger's redaction leaves visible, on span-annotated text",
                 "Tags the gold texts (model + pattern types, as `redact --types all`) and reports per gold type and "
                 "overall: entity leak rate (an entity leaks when any of its letters or digits stays visible, "
                 "whatever type hid the rest), character recall, over-redaction, char-level F2 and typed P/R/F1; "
                 "see docs/leaks.md.")
    p.add_argument("model", help="final-model.pt or a training output folder; - with --predictions")
    p.add_argument("data", help="gold documents: span JSON lines ({\"text\", \"spans\"}), doccano, Label Studio or "
                                "presidio-evaluator JSON")
    p.add_argument("--format", default="auto", choices=SPAN_FILE_FORMATS,
                   help="format of DATA: jsonl, doccano, label_studio, presidio, or auto (recognised from the file)")
    p.add_argument("--types", default=None,
                   help="comma-separated types the tagger redacts, as for redact (default: all)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--recall-bias", type=_recall_bias, default=None, metavar="B", help=_RECALL_BIAS_HELP)
    group.add_argument("--sweep", type=_biases, default=None, metavar="B,B,...",
                       help="score at each recall bias, e.g. 0,0.5,1,2,4 (a list that starts with a minus sign: "
                            "--sweep=-1,0,2); the table shows the largest bias whose over-redaction stays <= 5 %%")
    p.add_argument("--predictions", default=None, metavar="FILE",
                   help="score spans predicted elsewhere instead (JSON lines of predict or node predict.mjs, run on "
                        "DATA's texts in order); MODEL is then -")
    p.add_argument("--lowercase", action="store_true", help="also score a lower-cased copy of DATA")
    p.add_argument("--output", type=Path, default=None, help="write leaks.json and leaks.png here")
    p.add_argument("--batch-size", type=_positive, default=32, help="sentences per forward pass")
    p.add_argument("--unit", choices=["sentence", "document"], default="sentence",
                   help="tag each sentence, or each document as one sequence")
    _trust_option(p)
    p.set_defaults(func=cmd_leaks)
    return parser


def _trust_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trust-model", action="store_true",
                        help="load a model file this library did not write; DANGEROUS: a model file can run any "
                             "code when loaded this way, use it only for files you trust")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``flair-modernbert`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    quiet = getattr(args, "no_progress", False) and "TQDM_DISABLE" not in os.environ
    if quiet:
        # Flair's own bars (corpus statistics, label dictionaries) take no switch; tqdm reads this variable when
        # it is first imported, which the console script has not done yet (and child processes inherit it)
        os.environ["TQDM_DISABLE"] = "1"
    try:
        return args.func(args)
    except BrokenPipeError:  # `... | head`: the reader left, which is no error of ours
        sys.stdout = None  # type: ignore[assignment] - nothing more can be written there
        return 0
    except (ValueError, OSError) as error:  # FileNotFoundError and FileExistsError are OSErrors
        if args.verbose:
            raise
        _out(f"error: {error}", stream=sys.stderr)
        return 2
    finally:
        if quiet:
            os.environ.pop("TQDM_DISABLE", None)


if __name__ == "__main__":
    sys.exit(main())
