"""Distributed training on the CPU: ``torchrun --nproc_per_node 2`` on gloo, through Flair's multi_gpu (DDP) path.

One real launch, as README documents it (``torchrun ... -m flair_modernbert.cli train RECIPE``), on a slice of
the shipped WNUT-17 sample with the tiny random ModernBERT. ``FLAIR_MODERNBERT_SHARD_LOG`` makes each process
write the training-set indices it trained on, which shows the shards.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from flair_modernbert.cli import main
from flair_modernbert.training.distributed import SHARD_LOG_ENV, distributed_plugins, setup_distributed

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "recipes" / "quickstart.yaml"
SENTENCES = 40
EPOCHS = 2
#: what a run leaves in its folder (one process or several)
RUN_FILES = {"README.md", "confusion.png", "final-model.pt", "loss.tsv", "recipe.yaml", "report.txt",
             "results.json", "tensorboard", "training.log"}


def _torchrun() -> list[str]:
    script = Path(sys.executable).with_name("torchrun")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "torch.distributed.run"]


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    """``torchrun --standalone --nproc_per_node 2 -m flair_modernbert.cli train`` on 40 sentences, 2 epochs."""
    tmp = tmp_path_factory.mktemp("torchrun")
    out, shards = tmp / "run", tmp / "shards"
    env = dict(os.environ)  # offline switches and the model cache of conftest
    env[SHARD_LOG_ENV] = str(shards)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    command = [*_torchrun(), "--standalone", "--nproc_per_node", "2", "-m", "flair_modernbert.cli", "train",
               str(QUICKSTART), "--set", f"corpus.sample={SENTENCES}", "--set", f"training.max_epochs={EPOCHS}",
               "--output", str(out), "--no-progress"]
    # the timeout only keeps a hung process group from hanging the suite
    process = subprocess.run(command, env=env, cwd=tmp, capture_output=True, text=True, timeout=900)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-5000:]
    ranks = {data["rank"]: data for data in (json.loads(p.read_text()) for p in sorted(shards.glob("rank-*.json")))}
    return out, ranks, process.stdout


def test_both_processes_trained_on_disjoint_shards_that_cover_the_training_split(launched):
    _, ranks, _ = launched
    assert sorted(ranks) == [0, 1]
    assert ranks[0]["pid"] != ranks[1]["pid"]
    for data in ranks.values():
        assert data["world_size"] == 2 and data["train_size"] == SENTENCES
        assert sorted(data["epochs"]) == [str(epoch) for epoch in range(1, EPOCHS + 1)]
    for epoch in map(str, range(1, EPOCHS + 1)):
        first, second = ranks[0]["epochs"][epoch], ranks[1]["epochs"][epoch]
        assert len(first) == len(set(first)) == SENTENCES // 2 == len(second) == len(set(second))
        assert not set(first) & set(second)
        assert set(first) | set(second) == set(range(SENTENCES))
    # the sampler reshuffles every epoch (Flair calls set_epoch)
    assert ranks[0]["epochs"]["1"] != ranks[0]["epochs"]["2"]


def test_rank_0_alone_wrote_the_outputs(launched):
    out, ranks, stdout = launched
    assert {path.name for path in out.iterdir()} == RUN_FILES
    # a TensorBoard event file is named after the process that writes it
    events = list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert events and {path.name.split(".")[-2] for path in events} == {str(ranks[0]["pid"])}
    log = (out / "training.log").read_text()
    assert "rank 0 of 2 joined the gloo process group on cpu" in log and "rank 1 of 2" not in log
    assert "compute on device: cpu, cpu" in log  # Flair's line, gathered from both processes
    results = json.loads((out / "results.json").read_text())
    assert results["device"] == "cpu" and results["train_sentences"] == SENTENCES and results["epochs"] == EPOCHS
    # rank 1 stays quiet on the console too
    assert stdout.count("model and reports written to") == 1 and stdout.count("TensorBoard logs:") == 1


def test_the_distributed_model_loads_and_predicts(launched, tmp_path, capsys):
    out, _, _ = launched
    text = tmp_path / "input.txt"
    text.write_text("Jane Doe moved to Berlin .\nNothing to see here .\n", encoding="utf-8")
    assert main(["predict", str(out), str(text), "--no-progress"]) == 0
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [d["text"] for d in documents] == ["Jane Doe moved to Berlin .", "Nothing to see here ."]
    assert all(isinstance(d["spans"], list) for d in documents)


def test_outside_torchrun_no_shard_log_and_nccl_needs_cuda(monkeypatch, tmp_path):
    monkeypatch.setenv(SHARD_LOG_ENV, str(tmp_path))
    assert distributed_plugins() == []  # no process group: a normal run pays nothing
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="'nccl' needs CUDA GPUs; on the CPU the backend is gloo"):
        setup_distributed("nccl")
