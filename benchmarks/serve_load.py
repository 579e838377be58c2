"""Load benchmark of ``flair-modernbert serve``: async HTTP clients against a real uvicorn server on 127.0.0.1.

A random-weight tagger (CRF head on ``random:<size>``, WNUT-17 tags) is saved to a temporary folder and served by
``flair-modernbert serve`` in a child process. The requests are WNUT-17 test tweets (one text per request, read with
:func:`flair_modernbert.data.columns.read_words`), with a share of malformed ones mixed in (broken JSON, invalid
UTF-8, wrong types, empty and oversized texts, unknown types and fields), each of which must be answered with its
4xx. Per concurrency level it reports requests/s, sentences/s, latency percentiles of the well-formed requests,
errors (a wrong status or answer) and lost responses (no answer at all), the server's batching and its RSS; and,
in the same run, the in-process encoder's own sentences/s on the same sentences in batches of ``--max-batch``.

Full run (ModernBERT-base size, several minutes per level on a CPU; run it on an otherwise idle machine)::

    python benchmarks/serve_load.py --size base --requests 5000 --concurrency 1,8,32,128

Smoke run (tiny model, well under a minute)::

    python benchmarks/serve_load.py --size tiny --requests 300
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "wnut17" / "emerging.test.annotated"


# ------------------------------------------------------------------------------------------------ requests
@dataclass
class Planned:
    """One request: what is sent and what must come back."""

    endpoint: str
    body: bytes
    status: int
    text: Optional[str] = None  # a well-formed request's text
    sentences: int = 0
    kind: str = "ok"


def malformed_requests(max_text_chars: int) -> list[Planned]:
    """One request of each kind of bad input, with the status the service must answer."""
    return [
        Planned("/predict", b'{"text": "We met', 400, kind="broken JSON"),
        Planned("/predict", b'{"text": "We met \xff\xfe there"}', 400, kind="invalid UTF-8"),
        Planned("/predict", b'{"text": 42}', 422, kind="wrong type"),
        Planned("/predict", b'{"texts": ["ok", {"txt": 1}]}', 422, kind="wrong item"),
        Planned("/predict", b'{"text": ""}', 422, kind="empty text"),
        Planned("/predict", b'{"text": "We met", "types": "martian"}', 422, kind="unknown type"),
        Planned("/predict", b'{"text": "We met", "tpyes": "all"}', 422, kind="unknown field"),
        Planned("/predict", json.dumps({"text": "x" * (max_text_chars + 1)}).encode(), 413, kind="oversized text"),
        Planned("/redact", b'{"text": "We met", "placeholder": "[{kind}]"}', 422, kind="bad placeholder"),
    ]


def plan(texts: list[str], count: int, malformed: float, max_text_chars: int, seed: int) -> list[Planned]:
    """``count`` requests: WNUT-17 tweets in order (cycled), a ``malformed`` share of bad ones at random places."""
    from flair_modernbert.segmentation import sentences

    rng = random.Random(seed)
    bad = malformed_requests(max_text_chars)
    planned, position = [], 0
    for index in range(count):
        if rng.random() < malformed:
            planned.append(bad[index % len(bad)])
            continue
        text = texts[position % len(texts)]
        position += 1
        planned.append(Planned("/predict", json.dumps({"text": text}, ensure_ascii=False).encode(), 200, text,
                               max(1, len(sentences(text)))))
    return planned


def check(request: Planned, status: int, content: bytes) -> Optional[str]:
    """Why an answer is wrong, or None."""
    if status != request.status:
        return f"{request.kind}: status {status}, expected {request.status}"
    try:
        answer = json.loads(content)
    except ValueError:
        return f"{request.kind}: the answer is not JSON"
    if request.status != 200:
        return None if isinstance(answer.get("error"), str) and "field" in answer else f"{request.kind}: no error field"
    if answer.get("text") != request.text:
        return "the answer is for another text"
    if any(request.text[s["start"] : s["end"]] != s["text"] for s in answer.get("spans", [])):
        return "a span's offsets do not match its text"
    return None


# ------------------------------------------------------------------------------------------------ measuring
@dataclass
class Level:
    """The results of one concurrency level."""

    concurrency: int
    requests: int
    malformed: int
    seconds: float
    sentences: int
    latencies_ms: list[float] = field(repr=False)
    errors: int
    lost: int
    error_examples: list[str]
    rss_mib: float
    batches: int
    batch_sentences: int

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds

    @property
    def sentences_per_s(self) -> float:
        return self.sentences / self.seconds

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


async def run_level(url: str, planned: list[Planned], concurrency: int, timeout: float) -> tuple[float, list, list]:
    """Send every planned request with ``concurrency`` clients at a time; returns seconds, answers and failures."""
    import httpx

    answers: list[Any] = [None] * len(planned)
    lost: list[str] = []
    cursor = iter(range(len(planned)))
    # one client (one keep-alive connection) per simulated user: a single pool of many connections costs the
    # client more CPU per request than the server spends, on a machine they share
    clients = [httpx.AsyncClient(base_url=url, timeout=timeout, limits=httpx.Limits(max_connections=1))
               for _ in range(concurrency)]

    async def worker(client: Any) -> None:
        for index in cursor:
            request = planned[index]
            started = time.perf_counter()
            try:
                response = await client.post(request.endpoint, content=request.body,
                                             headers={"content-type": "application/json"})
            except httpx.HTTPError as error:
                lost.append(f"{request.kind}: {type(error).__name__}")
                continue
            answers[index] = (response.status_code, response.content, 1000 * (time.perf_counter() - started))

    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for client in clients))
        seconds = time.perf_counter() - started
    finally:
        for client in clients:
            await client.aclose()
    return seconds, answers, lost


def rss_mib(pid: int) -> float:
    """Resident memory of a process (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def build_tagger(size: str, model: Optional[str], folder: Path) -> tuple[Path, Any]:
    """A CRF tagger on a random-weight (or given) ModernBERT with WNUT-17's tags, saved to ``folder``."""
    from flair.models import SequenceTagger

    from flair_modernbert.config import ColumnCorpus
    from flair_modernbert.data import load_corpus
    from flair_modernbert.encoder.embeddings import ModernBertEmbeddings
    from flair_modernbert.encoder.random_models import resolve_model_name, sample_corpus_dir

    logging.getLogger("flair").setLevel(logging.WARNING)  # corpus statistics: not part of the report
    embeddings = ModernBertEmbeddings(resolve_model_name(model or f"random:{size}"), fine_tune=True)
    corpus = load_corpus(ColumnCorpus(type="column", path=str(sample_corpus_dir()), column_delimiter="\t"))
    tagger = SequenceTagger(embeddings=embeddings, tag_dictionary=corpus.make_label_dictionary("ner", add_unk=False),
                            tag_type="ner", use_crf=True, use_rnn=False, reproject_embeddings=False)
    path = folder / "final-model.pt"
    tagger.save(path)
    return path, tagger.eval()


def encoder_sentences_per_s(tagger: Any, texts: list[str], batch_size: int, limit: int) -> tuple[float, int]:
    """The embeddings' own sentences/s on the sentences of ``texts`` (as the service segments them), in batches."""
    import torch
    from flair.data import Sentence

    from flair_modernbert.segmentation import sentences

    words = [[w.text for w in sentence] for text in texts for sentence in sentences(text)][:limit]
    embeddings = tagger.embeddings
    with torch.no_grad():
        embeddings.embed([Sentence(w) for w in words[:batch_size]])  # warm-up
        started = time.perf_counter()
        for first in range(0, len(words), batch_size):
            embeddings.embed([Sentence(w) for w in words[first : first + batch_size]])
        seconds = time.perf_counter() - started
    return len(words) / seconds, len(words)


def start_server(model: Path, args: argparse.Namespace, folder: Path) -> tuple[subprocess.Popen, str]:
    """``flair-modernbert serve`` in a child process on a free port; its output goes to files (a pipe nobody reads
    would block it once full)."""
    command = [sys.executable, "-m", "flair_modernbert.cli", "serve", str(model), "--host", "127.0.0.1", "--port", "0",
               "--max-batch", str(args.max_batch), "--max-wait-ms", str(args.max_wait_ms),
               "--max-text-chars", str(args.max_text_chars)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    out = folder / "server.out"
    with out.open("w") as stdout, (folder / "server.log").open("w") as stderr:
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=env)
    deadline = time.monotonic() + 300
    while True:
        lines = [line for line in out.read_text().splitlines() if line.startswith("serving ")]
        if lines:
            return process, lines[0].split(" on ", 1)[1].split()[0]
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the server did not start: " + (folder / "server.log").read_text()[-2000:])
        time.sleep(0.1)


async def wait_ready(url: str, timeout: float = 300) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        while True:
            try:
                if (await client.get("/ready")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not get ready")
            await asyncio.sleep(0.2)


async def health(url: str) -> dict[str, int]:
    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        return (await client.get("/health")).json()["batches"]


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from flair_modernbert.data.columns import read_words

    if args.threads:
        torch.set_num_threads(args.threads)
    texts = [" ".join(words) for words in read_words(args.data)]
    with tempfile.TemporaryDirectory(prefix="flair-modernbert-serve-load-") as folder:
        model, tagger = build_tagger(args.size, args.model, Path(folder))
        encoder, measured = encoder_sentences_per_s(tagger, texts, args.max_batch, args.encoder_sentences)
        log_path = Path(folder) / "server.log"
        process, url = start_server(model, args, Path(folder))
        try:
            asyncio.run(wait_ready(url))
            # warm-up: a few batches, so that the start RSS is that of a working server
            warm = plan(texts, 4 * args.max_batch, 0.0, args.max_text_chars, args.seed + 1)
            asyncio.run(run_level(url, warm, min(32, args.max_batch), args.timeout))
            rss_start = rss_mib(process.pid)
            levels = []
            for number, concurrency in enumerate(args.concurrency):
                planned = plan(texts, args.requests, args.malformed, args.max_text_chars, args.seed + 100 * number)
                before = asyncio.run(health(url))
                seconds, answers, lost = asyncio.run(run_level(url, planned, concurrency, args.timeout))
                after = asyncio.run(health(url))
                problems = [problem for request, answer in zip(planned, answers) if answer is not None
                            for problem in [check(request, answer[0], answer[1])] if problem]
                ok = [(request, answer) for request, answer in zip(planned, answers)
                      if answer is not None and request.status == 200 and answer[0] == 200]
                levels.append(Level(
                    concurrency=concurrency, requests=len(planned),
                    malformed=sum(request.status != 200 for request in planned), seconds=seconds,
                    sentences=sum(request.sentences for request, _ in ok),
                    latencies_ms=[answer[2] for _, answer in ok], errors=len(problems), lost=len(lost),
                    error_examples=(problems + lost)[:5], rss_mib=rss_mib(process.pid),
                    batches=after["batches"] - before["batches"],
                    batch_sentences=after["sentences"] - before["sentences"]))
            process.send_signal(signal.SIGTERM)
            code = process.wait(60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        server_log = log_path.read_text()
        # again, now that the server is gone: how much the machine's other load moved the reference
        encoder_after, _ = encoder_sentences_per_s(tagger, texts, args.max_batch, args.encoder_sentences)
    return {"encoder": (encoder + encoder_after) / 2, "encoder_runs": [encoder, encoder_after],
            "encoder_sentences": measured, "levels": levels, "rss_start": rss_start,
            "exit_code": code, "server_log_tail": server_log[-2000:], "threads": torch.get_num_threads()}


def render(result: dict[str, Any], args: argparse.Namespace, command: str) -> str:
    from tabulate import tabulate

    encoder = result["encoder"]
    rows = []
    for level in result["levels"]:
        rows.append([level.concurrency, level.requests, level.malformed, f"{level.requests_per_s:.1f}",
                     f"{level.sentences_per_s:.1f}", f"{level.sentences_per_s / encoder:.2f}x",
                     f"{level.percentile(50):.0f}", f"{level.percentile(95):.0f}", f"{level.percentile(99):.0f}",
                     level.errors, level.lost, f"{level.batch_sentences / max(1, level.batches):.1f}",
                     f"{level.rss_mib:.0f}"])
    table = tabulate(rows, headers=["concurrency", "requests", "malformed", "requests/s", "sentences/s",
                                    "vs encoder", "p50 ms", "p95 ms", "p99 ms", "errors", "lost",
                                    "sentences/forward", "server RSS MiB"],
                     tablefmt="github", disable_numparse=True)
    levels = result["levels"]
    busy = [level for level in levels if level.concurrency >= 8]
    total = sum(level.requests for level in levels)
    rss_end = levels[-1].rss_mib if levels else float("nan")
    goals = [
        "- concurrency >= 8 reaches >= 0.8x the encoder's sentences/s: "
        + (("yes" if all(level.sentences_per_s >= 0.8 * encoder for level in busy) else "NO") if busy else "not run")
        + " (" + ", ".join(f"{level.sentences_per_s / encoder:.2f}x at {level.concurrency}" for level in busy) + ")",
        f"- errors and lost responses over {total} requests ({sum(l.malformed for l in levels)} malformed): "
        f"{sum(l.errors for l in levels)} errors, {sum(l.lost for l in levels)} lost",
        f"- server RSS: {result['rss_start']:.0f} MiB after warm-up, {rss_end:.0f} MiB at the end "
        f"({rss_end - result['rss_start']:+.0f} MiB)",
        f"- the server stopped on SIGTERM with exit code {result['exit_code']}",
    ]
    examples = [example for level in levels for example in level.error_examples]
    return "\n".join([
        f"Command: `{command}`", "",
        f"Model: {args.model or 'random:' + args.size} (random-weight CRF tagger, WNUT-17 tags); requests: WNUT-17 "
        f"test tweets, one per request, {100 * args.malformed:.0f} % malformed mixed in; server: --max-batch "
        f"{args.max_batch} --max-wait-ms {args.max_wait_ms:g}; {result['threads']} torch threads, {os.cpu_count()} "
        "CPUs; client and server on this machine.", "",
        f"In-process encoder (ModernBertEmbeddings.embed, batches of {args.max_batch}, the same sentences): "
        f"{encoder:.1f} sentences/s over {result['encoder_sentences']} sentences (mean of a run before the server "
        f"started and one after it stopped: " + " and ".join(f"{run:.1f}" for run in result["encoder_runs"]) + ").",
        "",
        table, "", "Latency: well-formed requests only. Goals:", *goals,
        *(["", "First errors:", *[f"- {example}" for example in examples[:10]]] if examples else []),
    ])


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--size", default="base", choices=["tiny", "small", "base", "large"],
                        help="shape of the random-weight ModernBERT")
    parser.add_argument("--model", default=None, help="a ModernBERT folder instead of random weights")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="column file whose sentences are the texts")
    parser.add_argument("--requests", type=int, default=5000, help="requests per concurrency level")
    parser.add_argument("--concurrency", type=lambda v: [int(c) for c in v.split(",")], default=[1, 8, 32, 128],
                        help="comma-separated numbers of simultaneous clients")
    parser.add_argument("--malformed", type=float, default=0.05, help="share of malformed requests")
    parser.add_argument("--max-batch", type=int, default=32, help="the server's --max-batch")
    parser.add_argument("--max-wait-ms", type=float, default=10.0, help="the server's --max-wait-ms")
    parser.add_argument("--max-text-chars", type=int, default=2000, help="the server's --max-text-chars")
    parser.add_argument("--encoder-sentences", type=int, default=1024, help="sentences the encoder is timed on")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds a client waits for an answer")
    parser.add_argument("--threads", type=int, default=None, help="torch threads of the encoder measurement")
    parser.add_argument("--seed", type=int, default=0, help="where the malformed requests go")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers as JSON here")
    return parser.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if not args.data.is_file():
        raise SystemExit(f"error: {args.data} does not exist (--data)")
    result = run(args)
    command = "python benchmarks/serve_load.py " + " ".join(sys.argv[1:] if argv is None else argv)
    print(render(result, args, command))  # noqa: T201 - a script's report
    if args.json:
        data = {**result, "levels": [{**asdict(level), "requests_per_s": level.requests_per_s,
                                      "sentences_per_s": level.sentences_per_s,
                                      "p50_ms": level.percentile(50), "p95_ms": level.percentile(95),
                                      "p99_ms": level.percentile(99)} for level in result["levels"]]}
        for level in data["levels"]:
            level.pop("latencies_ms")
        args.json.write_text(json.dumps(data, indent=2), encoding="utf-8")
    levels = result["levels"]
    return 1 if any(level.errors or level.lost for level in levels) or result["exit_code"] != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
