"""Documents per second of ``redact MODEL INPUT... --output DIR``: one process, local worker processes, Ray actors.

Writes a corpus of synthetic PII documents (``flair_modernbert.synthetic.generate_records``: chat messages, e-mails,
tickets, forms, letters, log lines; no long documents) as JSON-lines shards, then runs the command once per
configuration, each as a fresh process (model loading, worker start and Ray start included in the wall time):

- ``1-process-1-thread``: the baseline (``--workers 1 --threads 1``);
- ``1-process-2-threads``: the same process given both cores (torch's intra-op threads);
- ``local-2-workers``: ``--workers 2 --threads 1`` (two processes, one thread each);
- ``ray-2-actors``: ``--engine ray --workers 2 --threads 1`` (a Ray instance started on this machine, one CPU per
  actor).

For each: wall seconds, documents per second end to end, documents per second while tagging (lines over the
slowest worker's summed shard seconds, from the manifest: start-up excluded), the speed-up over the baseline, the
peak resident memory of each worker process (Ray actors: the actor processes) and of the whole process tree, and
whether the output is byte-identical to the baseline's. A paper estimate for 10 million documents follows from the
measured per-document cost and overheads (assumptions printed with it).

    python benchmarks/corpus_redaction.py --model runs/pii-minilm --documents 20000 --output runs/corpus-redaction

Prints a Markdown table and writes ``results.json`` and ``table.md`` under ``--output``.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional

#: name: (options, workers)
CONFIGS: dict[str, tuple[list[str], int]] = {
    "1-process-1-thread": (["--workers", "1", "--threads", "1"], 1),
    "1-process-2-threads": (["--workers", "1", "--threads", "2"], 1),
    "local-2-workers": (["--workers", "2", "--threads", "1"], 2),
    "ray-2-actors": (["--engine", "ray", "--workers", "2", "--threads", "1"], 2),
}
BASELINE = "1-process-1-thread"


def write_corpus(folder: Path, documents: int, shards: int, seed: int) -> dict[str, Any]:
    """Synthetic documents as ``shards`` JSON-lines files ``{"id", "text"}``; returns their counts."""
    from flair_modernbert.synthetic import generate_records

    folder.mkdir(parents=True, exist_ok=True)
    handles = [(folder / f"part-{index:03d}.jsonl").open("w", encoding="utf-8") for index in range(shards)]
    words = 0
    for number, record in enumerate(generate_records(documents, seed=seed)):
        words += len(record["text"].split())
        handles[number % shards].write(json.dumps({"id": number, "text": record["text"]}, ensure_ascii=False) + "\n")
    for handle in handles:
        handle.close()
    return {"documents": documents, "shards": shards, "whitespace_words": words,
            "bytes": sum(path.stat().st_size for path in folder.iterdir())}


class MemorySampler:
    """Peak resident memory of a process and its descendants, sampled every ``every`` seconds."""

    def __init__(self, pid: int, every: float = 0.25) -> None:
        import psutil

        self.root = psutil.Process(pid)
        self.every = every
        self.peak_total = 0
        self.peaks: dict[int, tuple[str, int]] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        import psutil

        while not self.stop.is_set():
            try:
                processes = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                return
            total = 0
            for process in processes:
                try:
                    rss = process.memory_info().rss
                    name = " ".join(process.cmdline())[:300]
                except psutil.Error:
                    continue
                total += rss
                if rss > self.peaks.get(process.pid, ("", 0))[1]:
                    self.peaks[process.pid] = (name, rss)
            self.peak_total = max(self.peak_total, total)
            self.stop.wait(self.every)

    def finish(self) -> dict[str, Any]:
        self.stop.set()
        self.thread.join()
        # worker processes: multiprocessing's spawned interpreters, Ray Data's actors (Ray's own daemons are not)
        workers = [rss for name, rss in self.peaks.values() if "spawn_main" in name or "MapWorker" in name]
        return {"peak_tree_mib": round(self.peak_total / 2**20), "peak_driver_mib": round(
                    self.peaks.get(self.root.pid, ("", 0))[1] / 2**20),
                "peak_worker_mib": [round(rss / 2**20) for rss in sorted(workers, reverse=True)[:4]]}


def run_config(name: str, extra: list[str], workers: int, model: str, corpus: Path, out: Path,
               span_maps: bool) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(Path(str(out) + ".span-maps"), ignore_errors=True)
    command = [sys.executable, "-m", "flair_modernbert.cli", "redact", model, str(corpus), "--output", str(out),
               "--no-progress", *extra, *([] if span_maps else ["--no-map"])]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "TQDM_DISABLE": "1"}
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = MemorySampler(process.pid)
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    memory = sampler.finish()
    if process.returncode != 0:
        raise RuntimeError(f"{name}: exit code {process.returncode}\n{stderr[-3000:]}")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    lines = manifest["totals"]["lines"]
    shard_seconds = [entry["seconds"] for entry in manifest["shards"].values()]
    tagging = sum(shard_seconds) / workers
    return {"config": name, "command": " ".join(["flair-modernbert", "redact", "MODEL", "CORPUS", "--output", "DIR",
                                                 *extra, *([] if span_maps else ["--no-map"])]),
            "seconds": round(seconds, 1), "documents": lines, "docs_per_s": round(lines / seconds, 1),
            "tagging_docs_per_s": round(lines / tagging, 1) if tagging else None,
            "startup_s": round(seconds - tagging, 1), **memory}


def same_outputs(a: Path, b: Path) -> bool:
    """Every output shard (and span map) byte-identical; the manifests differ (times) and are skipped."""
    def files(root: Path) -> list[str]:
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name != "manifest.json")

    if files(a) != files(b):
        return False
    return all(filecmp.cmp(a / name, b / name, shallow=False) for name in files(a))


def estimate(rows: dict[str, dict[str, Any]]) -> list[str]:
    """A paper estimate for 10 million documents from the measured per-document cost and overheads."""
    base = rows[BASELINE]
    per_doc_core = 1 / base["tagging_docs_per_s"]  # seconds of one core per document
    startup = max(row["startup_s"] for row in rows.values())
    ray_row = rows.get("ray-2-actors")
    efficiency = (ray_row["tagging_docs_per_s"] / 2) / base["tagging_docs_per_s"] if ray_row else 1.0
    documents = 10_000_000
    cores = 16 * 16
    seconds = documents * per_doc_core / efficiency / cores
    took = f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"
    return [
        f"- measured: {per_doc_core * 1000:.1f} ms of one core per document (baseline, tagging only); Ray keeps "
        f"{efficiency:.0%} of that per core here; start-up up to {startup:.0f} s per run",
        f"- 10 million such documents on 16 CPU nodes × 16 cores, one actor per core (`--threads 1`): "
        f"10,000,000 × {per_doc_core * 1000:.1f} ms ÷ {efficiency:.2f} ÷ 256 ≈ **{took}** + start-up "
        "(assuming the nodes' cores are as fast as this machine's)",
        "- on 8 GPUs: not measured here (no GPU was lent); per-document cost on a GPU is dominated by the batch of "
        "sentences per forward — measure it with `flair-modernbert bench --predict` on the GPU and use "
        "10,000,000 × cost ÷ 8 with `--engine ray --gpus-per-actor 1`",
    ]


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a trained tagger (final-model.pt or its run folder)")
    parser.add_argument("--documents", type=int, default=20000, help="documents in the corpus (default 20000)")
    parser.add_argument("--shards", type=int, default=8, help="JSON-lines shards (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="the synthetic corpus's seed")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated configurations to run")
    parser.add_argument("--span-maps", action="store_true", help="write span maps too (default: --no-map)")
    parser.add_argument("--output", type=Path, default=Path("runs/corpus-redaction"))
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.configs.split(",") if name.strip()]
    unknown = [name for name in names if name not in CONFIGS]
    if unknown:
        parser.error(f"unknown configuration(s) {unknown}; choose from {list(CONFIGS)}")
    corpus = args.output / "corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    info = write_corpus(corpus, args.documents, args.shards, args.seed)
    print(f"corpus: {info['documents']} documents in {info['shards']} shards, {info['bytes'] / 2**20:.1f} MiB, "
          f"{info['whitespace_words'] / info['documents']:.0f} words per document", flush=True)
    rows: dict[str, dict[str, Any]] = {}
    for name in names:
        out = args.output / f"out-{name}"
        rows[name] = run_config(name, *CONFIGS[name], str(args.model), corpus, out, args.span_maps)
        rows[name]["out"] = out
        print(f"{name}: {rows[name]['seconds']} s, {rows[name]['docs_per_s']} docs/s", flush=True)
    base = rows.get(BASELINE)
    table = ["| configuration | wall s | docs/s | × 1 thread | docs/s tagging | start-up s | peak RSS per worker MiB "
             "| peak RSS all processes MiB | output = baseline |", "|---|---|---|---|---|---|---|---|---|"]
    for name, row in rows.items():
        speedup = f"{row['docs_per_s'] / base['docs_per_s']:.2f}×" if base else "-"
        workers = row["peak_worker_mib"] or [row["peak_driver_mib"]]
        same = "yes" if base is None or name == BASELINE or same_outputs(base["out"], row["out"]) else "**no**"
        row["same_as_baseline"] = same == "yes"
        table.append(f"| {name} | {row['seconds']} | {row['docs_per_s']} | {speedup} | {row['tagging_docs_per_s']} "
                     f"| {row['startup_s']} | {', '.join(map(str, workers))} | {row['peak_tree_mib']} | {same} |")
    lines = table + ([""] + estimate(rows) if base and "tagging_docs_per_s" in base else [])
    text = "\n".join(lines)
    print(text)
    (args.output / "table.md").write_text(text + "\n", encoding="utf-8")
    for row in rows.values():
        row["out"] = str(Path(row["out"]).name)
    (args.output / "results.json").write_text(json.dumps({"corpus": info, "model": Path(args.model).name,
                                                          "cpu_count": os.cpu_count(), "rows": rows}, indent=1) + "\n",
                                              encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
