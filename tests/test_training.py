"""Training from recipes: files of a run, round trip of the saved model, TensorBoard tags, resume, seeds."""

import json
import math

import pytest
import torch
from flair.data import Sentence
from flair.models import SequenceTagger
from flair.trainers.plugins.base import TrainerPlugin
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from flair_modernbert.config import load_recipe, package_dir, recipe_from_dict
from flair_modernbert.data import load_corpus
from flair_modernbert.evaluation import EvaluationResult, evaluate_model, evaluate_tagger
from flair_modernbert.training import RunResult, RunResults, TrainingSummary, train_recipe, train_run

QUICK = ["corpus.sample=40", "training.max_epochs=2", "training.mini_batch_size=8", "embeddings.use_context=false"]


def _quickstart(*extra):
    return load_recipe(package_dir().parent / "recipes" / "quickstart.yaml", [*QUICK, *extra])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One quickstart run (40 sentences per split, 2 epochs), shared by the tests of this module."""
    out = tmp_path_factory.mktemp("quickstart-run")
    lines = []
    summary = train_recipe(_quickstart(), output_dir=out, announce=lines.append, progress=False)
    return summary, lines


def test_a_run_writes_every_file(trained):
    summary, lines = trained
    run = summary.runs[0]
    out = run.output_dir
    assert lines[0].startswith(f"TensorBoard logs: {out / 'tensorboard'}")
    for name in ("final-model.pt", "results.json", "report.txt", "README.md", "recipe.yaml", "confusion.png",
                 "training.log"):
        assert (out / name).is_file(), name
    assert (out / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    results = json.loads((out / "results.json").read_text())
    assert results["seeds"] == [42] and results["seed"] == 42
    assert set(results["test"]["per_class"]) <= {"person", "location", "corporation", "group", "product",
                                                  "creative-work"}
    for key in ("micro_f1", "lowercased_micro_f1"):
        assert 0.0 <= results[key] <= 1.0
    assert results["test"]["micro"]["support"] == sum(v["support"] for v in results["test"]["per_class"].values())
    report = (out / "report.txt").read_text()
    assert "Case robustness" in report and "micro avg" in report
    card = (out / "README.md").read_text()
    assert "Smoke run" in card and "SequenceTagger.load" in card and "learning_rate" in card
    # the resolved recipe loads back to the same recipe (only output_dir differs: --output)
    written, original = load_recipe(out / "recipe.yaml").to_dict(), _quickstart().to_dict()
    assert written.pop("output_dir") == str(out)
    original.pop("output_dir")
    assert written == original


def test_saved_model_reproduces_the_reported_scores(trained):
    """train -> save -> load -> predict: the loaded model gives exactly the test scores of the run."""
    run = trained[0].runs[0]
    import flair_modernbert  # noqa: F401

    tagger = SequenceTagger.load(run.output_dir / "final-model.pt")
    corpus = load_corpus(_quickstart().corpus)
    result = evaluate_tagger(tagger, list(corpus.test), gold_label_type="ner", progress=False)
    lower = evaluate_tagger(tagger, list(corpus.test), gold_label_type="ner", lowercase=True, progress=False)
    assert result.micro == run.results.test.micro
    assert lower.micro["f1"] == run.results.lowercased_micro_f1


def test_loaded_models_predict_identically(trained):
    run = trained[0].runs[0]
    import flair_modernbert  # noqa: F401

    first = SequenceTagger.load(run.output_dir / "final-model.pt")
    second = SequenceTagger.load(run.output_dir / "final-model.pt")
    texts = ["john smith moved to Berlin .", "Apple hired Tim Cook in California"]
    a, b = [Sentence(t) for t in texts], [Sentence(t) for t in texts]
    first.predict(a, return_probabilities_for_all_classes=True)
    second.predict(b, return_probabilities_for_all_classes=True)
    for x, y in zip(a, b):
        assert [(t.get_label("ner").value, t.get_label("ner").score) for t in x] == \
            [(t.get_label("ner").value, t.get_label("ner").score) for t in y]


def test_tensorboard_log_opens_on_the_overview_and_holds_the_promised_tags(trained):
    run = trained[0].runs[0]
    events = EventAccumulator(str(run.output_dir / "tensorboard"), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    overview = {"1_overview/train_loss", "1_overview/learning_rate", "1_overview/dev_micro_f1"}
    expected = overview | {
        "2_train/batch_loss", "2_train/gradient_norm", "2_train/learning_rate_decoder",
        "3_dev/micro_f1", "3_dev/macro_f1", "3_dev/micro_precision", "3_dev/micro_recall",
        "3_test/micro_f1", "3_test/macro_f1", "3_test_lowercased/micro_f1",
    }
    assert expected <= scalars, expected - scalars
    # TensorBoard sorts groups by name: loss, learning rate and dev micro F1 come first
    assert sorted({tag.split("/")[0] for tag in scalars})[0] == "1_overview"
    assert {tag for tag in scalars if tag.startswith("1_overview/")} == overview
    per_type = {t for t in scalars if t.startswith("4_dev_per_type/")}
    types = {t.split("/")[1].rsplit("_", 1)[0] for t in per_type}
    assert types and all({f"4_dev_per_type/{k}_{m}" for m in ("f1", "precision", "recall")} <= per_type for k in types)
    # one loss per batch: 40 sentences / 8 = 5 batches x 2 epochs
    assert len(events.Scalars("2_train/batch_loss")) == 10
    assert [e.step for e in events.Scalars("1_overview/dev_micro_f1")] == [1, 2]
    assert events.Scalars("3_test/micro_f1")[-1].value == pytest.approx(run.results.micro_f1)
    assert events.Scalars("1_overview/dev_micro_f1")[-1].value == pytest.approx(run.results.dev_micro_f1)
    assert "5_confusion/test" in events.Tags()["images"]
    # the head's group (decoder_learning_rate) follows the same schedule at its own rate, one value per batch
    encoder = [e.value for e in events.Scalars("1_overview/learning_rate")]
    head = [e.value for e in events.Scalars("2_train/learning_rate_decoder")]
    recipe = _quickstart().training
    assert len(encoder) == len(head) == 10 and max(encoder) == pytest.approx(recipe.learning_rate, rel=0.2)
    assert head == pytest.approx([v * recipe.decoder_learning_rate / recipe.learning_rate for v in encoder])
    hparams = EventAccumulator(str(run.output_dir / "tensorboard")).Reload().PluginTagToContent("hparams")
    assert hparams  # add_hparams wrote the hyper-parameters
    from tensorboard.plugins.hparams import plugin_data_pb2

    start = next(plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
                 for content in hparams.values()
                 if plugin_data_pb2.HParamsPluginData.FromString(content).HasField("session_start_info"))
    assert start.hparams["fine_tune"].string_value == "true"  # not 1.0000
    assert start.hparams["loss"].string_value == "ce" and start.hparams["head"].string_value == "crf"


def test_training_log_holds_flairs_and_our_lines(trained):
    run = trained[0].runs[0]
    log = (run.output_dir / "training.log").read_text(encoding="utf-8")
    assert "epoch 1" in log.lower() and "corpus" in log  # Flair's epoch lines and our corpus summary
    assert "test micro F1" in log


def test_several_seeds_give_a_mean_std_table(tmp_path):
    lines = []
    summary = train_recipe(_quickstart("training.max_epochs=1", "corpus.sample=16"), output_dir=tmp_path,
                           seeds=[1, 2], announce=lines.append, progress=False)
    assert isinstance(summary, TrainingSummary) and [r.seed for r in summary.runs] == [1, 2]
    assert lines[0].startswith(f"TensorBoard logs: {tmp_path / 'tensorboard'}")
    for seed in (1, 2):
        assert (tmp_path / f"seed-{seed}" / "final-model.pt").is_file()
        assert (tmp_path / "tensorboard" / f"seed-{seed}").is_dir()
    values = [r.results.micro_f1 for r in summary.runs]
    agg = json.loads((tmp_path / "results.json").read_text())["aggregate"]["micro_f1"]
    assert agg["mean"] == pytest.approx(sum(values) / 2)
    assert agg["std"] == pytest.approx(abs(values[0] - values[1]) / math.sqrt(2))
    table = (tmp_path / "summary.md").read_text()
    assert "| mean ± std" in table and f"{agg['mean']:.4f} ± {agg['std']:.4f}" in table


class _Interrupt(TrainerPlugin):
    """Stops the run at the start of an epoch, as a crash or Ctrl-C would."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    @TrainerPlugin.hook
    def before_training_epoch(self, epoch, **kwargs):
        if epoch == self.epoch:
            raise RuntimeError("simulated crash")


def _weights(path):
    import flair_modernbert  # noqa: F401

    return SequenceTagger.load(path).state_dict()


def test_an_interrupted_run_resumes_from_its_checkpoint_to_the_same_model(tmp_path):
    recipe = _quickstart("training.save_checkpoints=true", "corpus.sample=24")
    straight = train_run(recipe, tmp_path / "straight", seed=3, progress=False)
    with pytest.raises(RuntimeError, match="simulated crash"):
        train_run(recipe, tmp_path / "resumed", seed=3, progress=False, extra_plugins=[_Interrupt(2)])
    from flair_modernbert.tagging.loading import load_checkpoint

    assert load_checkpoint(tmp_path / "resumed" / "checkpoint.pt")["epoch"] == 1  # read with the allow-list
    lines = []
    resumed = train_run(recipe, tmp_path / "resumed", seed=3, resume=True, progress=False, announce=lines.append)
    assert any("resuming from" in line and "after epoch 1 of 2" in line for line in lines)
    a, b = _weights(tmp_path / "straight" / "final-model.pt"), _weights(tmp_path / "resumed" / "final-model.pt")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-6), key
    assert resumed.results.micro_f1 == straight.results.micro_f1
    # resuming a finished run trains nothing and evaluates the checkpoint's model (dev included) again
    lines.clear()
    again = train_run(recipe, tmp_path / "resumed", seed=3, resume=True, progress=False, announce=lines.append)
    assert any("the checkpoint already holds all 2 epochs" in line for line in lines)
    assert again.results.dev.micro == pytest.approx(resumed.results.dev.micro)
    assert again.results.micro_f1 == pytest.approx(straight.results.micro_f1)


def test_cuda_only_options_are_refused_on_cpu(tmp_path):
    recipe = _quickstart("training.mixed_precision=true", "training.device=cpu")
    with pytest.raises(ValueError, match="training.mixed_precision: true needs a CUDA device"):
        train_run(recipe, tmp_path, seed=1, progress=False)


def test_missing_corpus_says_where_it_looked(tmp_path):
    recipe = recipe_from_dict({"corpus": {"type": "column", "path": str(tmp_path / "nowhere")},
                               "embeddings": {"model": "random:tiny"}})
    with pytest.raises(FileNotFoundError, match=f"{tmp_path / 'nowhere'} does not exist"):
        train_run(recipe, tmp_path / "out", seed=1, progress=False)


def test_evaluate_model_reports_original_and_lowercased_side_by_side(trained, wnut_sample_dir, tmp_path):
    run = trained[0].runs[0]
    text = evaluate_model(run.output_dir, wnut_sample_dir, overrides=["corpus.sample=40"], output=tmp_path,
                          progress=False)
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["micro_f1"] == run.results.micro_f1  # same 40 test sentences, same model
    assert "lower-cased" in text and "micro avg" in text
    assert (tmp_path / "confusion.png").is_file() and (tmp_path / "report.txt").read_text().strip() == text.strip()


def test_run_results_round_trip_through_results_json(trained, tmp_path):
    run = trained[0].runs[0]
    again = RunResults.read(run.output_dir / "results.json")
    assert again.to_json() == run.results.to_json()
    assert (again.micro_f1, again.lowercased_micro_f1, again.seed) == (run.results.micro_f1,
                                                                        run.results.lowercased_micro_f1, 42)
    scores = {"precision": 0.5, "recall": 0.5, "f1": 0.25, "support": 2}
    test = EvaluationResult.from_dict({"micro": {**scores, "f1": 0.5}, "macro": {**scores, "f1": 0.3},
                                       "per_class": {"PER": scores}, "sentences": 2})
    metrics = RunResult(tmp_path, 1, RunResults(1, "c", "ner", "m", "crf", "ce", 1, 2, test=test))
    assert (metrics.metric("micro_f1"), metrics.metric("f1:PER"), metrics.metric("macro_f1"),
            metrics.metric("f1:LOC")) == (0.5, 0.25, 0.3, None)


def test_a_used_output_folder_is_refused_unless_resumed_or_overwritten(trained, tmp_path):
    run = trained[0].runs[0]
    before = (run.output_dir / "results.json").read_bytes()
    with pytest.raises(FileExistsError, match="is not empty .*--resume.*--overwrite"):
        train_recipe(_quickstart(), output_dir=run.output_dir, progress=False)
    assert (run.output_dir / "results.json").read_bytes() == before  # nothing rewritten, recipe.yaml included
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(FileExistsError, match="not a run folder; not cleared"):
        train_recipe(_quickstart(), output_dir=tmp_path, overwrite=True, progress=False)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"
    stale = tmp_path / "old-run"
    stale.mkdir()
    (stale / "recipe.yaml").write_text("old", encoding="utf-8")
    (stale / "checkpoint.pt").write_text("stale", encoding="utf-8")
    train_recipe(_quickstart("training.max_epochs=1", "corpus.sample=8"), output_dir=stale, overwrite=True,
                 progress=False)
    assert not (stale / "checkpoint.pt").exists() and (stale / "final-model.pt").is_file()
