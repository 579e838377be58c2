"""Redacting whole corpora on Ray (``redact MODEL INPUT... --output DIR --engine ray``).

One Ray instance on this machine (two CPUs) serves the module. A Ray Data actor pool of two actors redacts the
corpus of tests/test_bulk.py plus a shard with a malformed line while one actor process is killed in the middle
of a shard: the run must still finish, with the outputs, span maps and manifest counts of the local engine byte
for byte, the malformed shard failed alone with its line named; a rerun after fixing it redoes only that shard.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Optional

import pytest

from flair_modernbert.bulk import default_map_dir
from flair_modernbert.experiments.ray_backend import ray_runtime_env
from test_bulk import (
    CORPUS,
    SHARDS,
    cmdline,
    kill,
    manifest,
    open_temporary_files,
    redact_corpus,
    temporary_files,
    tree,
    wait_for,
    write_corpus,
)

ray = pytest.importorskip("ray")

#: the process title of an actor of the pool (Ray Data's map worker running the engine's actor class)
ACTOR = ("RunShardRedactor", "MapWorker")
BAD = "exports/bad.jsonl"
BAD_LINES = b'{"body": "Anna Smith"}\n{"body": "Omar Brown", "id": 2\n{"body": "Lisa in Lagos"}\n'


@pytest.fixture(scope="module")
def model(tiny_model_dir, make_random_tagger, tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("bulk-ray-model")
    make_random_tagger(tiny_model_dir).save(folder / "final-model.pt")
    return str(folder / "final-model.pt")


@pytest.fixture(scope="module")
def ray_instance():
    """One Ray instance for the module (redact_corpus keeps a connection it did not open)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(address="local", num_cpus=2, include_dashboard=False, runtime_env=ray_runtime_env(embedded=True),
             logging_level=logging.WARNING)
    yield
    ray.shutdown()


def actor_processes() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir()
            if entry.name.isdigit() and any(name in cmdline(int(entry.name)) for name in ACTOR)]


class ActorKiller(threading.Thread):
    """Kills the first actor process seen writing a shard (holding a temporary file open), once."""

    def __init__(self) -> None:
        super().__init__(name="actor-killer", daemon=True)
        self.stop = threading.Event()
        self.killed: Optional[tuple[int, list[str]]] = None

    def run(self) -> None:
        while not self.stop.is_set() and self.killed is None:
            for pid in actor_processes():
                writing = open_temporary_files(pid)
                if writing:
                    kill(pid)
                    self.killed = pid, writing
                    break
            self.stop.wait(0.01)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="finds the actor processes in /proc (Linux)")
def test_ray_actor_pool_writes_the_local_engines_output_also_when_an_actor_dies(
        model, tmp_path, capsysbinary, one_torch_thread, ray_instance):
    corpus = write_corpus(tmp_path / "corpus")
    (corpus / BAD).write_bytes(BAD_LINES)
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    code, _ = redact_corpus(capsysbinary, model, str(corpus), "--output", str(local), *CORPUS)
    assert code == 1

    killer = ActorKiller()
    killer.start()
    try:
        code, err = redact_corpus(capsysbinary, model, str(corpus), "--output", str(on_ray), "--engine", "ray",
                                  "--workers", "2", *CORPUS)
    finally:
        killer.stop.set()
        killer.join()
    assert killer.killed is not None, "no actor was seen writing a shard"
    assert any(Path(path).is_relative_to(on_ray) for path in killer.killed[1])
    assert code == 1, err
    assert f"{len(SHARDS) + 1} shard(s), 0 finished earlier, {len(SHARDS) + 1} to redact with 2 Ray actor(s)" in err
    error = f"{BAD}, line 2: not valid JSON (Expecting ',' delimiter)"
    assert f"failed: {error}" in err

    # the local engine's folder, byte for byte; the failed shard alone is missing; nothing left over
    assert sorted(tree(on_ray)) == SHARDS
    assert tree(on_ray) == tree(local)
    assert tree(default_map_dir(on_ray)) == tree(default_map_dir(local))
    assert temporary_files(on_ray, default_map_dir(on_ray)) == []
    counts = [{name: (entry["status"], entry.get("lines"), entry.get("entities"), entry.get("error"))
               for name, entry in manifest(folder)["shards"].items()} for folder in (local, on_ray)]
    assert counts[0] == counts[1] and counts[1][BAD] == ("failed", None, None, error)
    assert manifest(on_ray)["last_run"]["engine"] == "ray"

    # fixed, the shard is redone on Ray; the finished ones are not touched
    before = {path: path.stat().st_mtime_ns for path in on_ray.rglob("*")
              if path.is_file() and path.name != "manifest.json"}
    (corpus / BAD).write_bytes(BAD_LINES.replace(b'"id": 2\n', b'"id": 2}\n'))
    code, err = redact_corpus(capsysbinary, model, str(corpus), "--output", str(on_ray), "--engine", "ray",
                              "--workers", "2", *CORPUS)
    assert code == 0 and f"{len(SHARDS) + 1} shard(s), {len(SHARDS)} finished earlier, 1 to redact" in err
    assert all(path.stat().st_mtime_ns == time for path, time in before.items())
    code, _ = redact_corpus(capsysbinary, model, str(corpus), "--output", str(local), *CORPUS)
    assert code == 0
    assert tree(on_ray) == tree(local) and tree(default_map_dir(on_ray)) == tree(default_map_dir(local))
