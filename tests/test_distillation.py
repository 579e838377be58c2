"""Distillation: which teacher layers a student keeps, the student as an ordinary tagger, the mixed loss, and
``flair-modernbert distill`` end to end on the names tagger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from flair.data import Sentence
from flair.models import SequenceTagger

from flair_modernbert.cli import main
from flair_modernbert.distillation import Distiller, encoder_layers, make_student, select_layers
from flair_modernbert.distillation.layers import global_layers, parse_layers
from flair_modernbert.tagging.loading import load_tagger, read_model_file

pytestmark = pytest.mark.usefixtures("one_torch_thread")

RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "quickstart.yaml"
TEXTS = ["John Smith moved to Berlin last year .", "Mary lives in New York", "the a of Paris said John"]


def _emissions(tagger: SequenceTagger, texts=TEXTS) -> torch.Tensor:
    from flair_modernbert.distillation.loss import emission_scores

    sentences = sorted((Sentence(text) for text in texts), key=len, reverse=True)  # a BiLSTM wants them so
    with torch.no_grad():
        return emission_scores(tagger, tagger.forward(*tagger._prepare_tensors(sentences)))


def _tags(tagger: SequenceTagger, texts=TEXTS) -> list[list[str]]:
    sentences = [Sentence(text) for text in texts]
    tagger.predict(sentences)
    return [[(span.text, span.tag) for span in sentence.get_spans("ner")] for sentence in sentences]


# ------------------------------------------------------------------------------------------------ layers
def test_modernbert_base_students_keep_the_global_pattern():
    eleven = select_layers(22, 11, every=3, first_is_special=True)
    seven = select_layers(22, 7, every=3, first_is_special=True)
    assert eleven == [0, 2, 4, 6, 8, 10, 12, 14, 17, 18, 20]
    assert seven == [0, 4, 7, 9, 14, 17, 21]
    teacher = global_layers(22, 3)
    for keep in (eleven, seven):
        assert [teacher[t] for t in keep] == global_layers(len(keep), 3)  # global where the student's are
        assert keep[0] == 0 and 0 not in keep[1:]
    assert select_layers(4, 2, every=3, first_is_special=True) == [0, 2]  # the tiny model: local layer 2


def test_bert_like_students_are_evenly_spaced():
    assert select_layers(6, 3) == [0, 2, 5]
    assert select_layers(6, 4) == [0, 2, 3, 5]
    assert select_layers(12, 4) == [0, 4, 7, 11]
    assert select_layers(6, 5) == [0, 1, 2, 4, 5] or select_layers(6, 5) == [0, 1, 3, 4, 5]


@pytest.mark.parametrize("layers, message", [(0, "at least 1, got 0"), (-2, "at least 1, got -2"),
                                             (6, "fewer layers than its teacher (6); choose 1 to 5"),
                                             (7, "fewer layers than its teacher")])
def test_bad_layer_counts_are_refused(layers, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        select_layers(6, layers)


def test_a_bad_layers_argument_is_refused_before_torch_loads():
    import subprocess
    import sys

    script = ("import sys\nfrom flair_modernbert.cli import main\ntry:\n"
              "    main(['distill', 'teacher', 'recipe.yaml', '--layers', '0,x', '--output', 'out'])\n"
              "except SystemExit as exit:\n    print(exit.code, 'torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["2", "False"], done.stdout + done.stderr
    assert "expected a number of layers or teacher layers like 0,1, got '0,x'" in done.stderr


def test_layers_are_a_count_or_the_teacher_layers_to_keep():
    assert parse_layers("2") == 2 and parse_layers("0,1") == [0, 1] and parse_layers(" 0, 2 ,5") == [0, 2, 5]
    with pytest.raises(ValueError, match="expected a number >= 1, got 0"):
        parse_layers("0")
    with pytest.raises(ValueError, match="expected a number of layers or teacher layers like 0,1, got '0,'"):
        parse_layers("0,")


# ------------------------------------------------------------------------------------------------ student
@pytest.fixture(scope="module")
def modernbert_teacher(tiny_model_dir, make_random_tagger):
    return make_random_tagger(tiny_model_dir, layers="-1")


def test_a_student_of_the_first_layers_computes_the_teachers_first_layers(modernbert_teacher):
    teacher = modernbert_teacher
    student = make_student(teacher, keep=[0, 1])
    sentences, again = [Sentence(t) for t in TEXTS], [Sentence(t) for t in TEXTS]
    saved = teacher.embeddings.layer_indexes
    teacher.embeddings.layer_indexes = [2]  # the output of the teacher's layer 1
    try:
        with torch.no_grad():
            teacher.embeddings.embed(sentences)
            student.embeddings.embed(again)
    finally:
        teacher.embeddings.layer_indexes = saved
    name = teacher.embeddings.name
    for one, two in zip(sentences, again):
        assert torch.equal(torch.stack([t.get_embedding([name]) for t in one]),
                           torch.stack([t.get_embedding([name]) for t in two]))
    # and the Hugging Face forward agrees (its own masks and rotary tables, built from the student's config)
    ids = teacher.embeddings.tokenizer("John Smith moved to Berlin", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        full = teacher.embeddings.model(ids, output_hidden_states=True).hidden_states
        short = student.embeddings.model(ids, output_hidden_states=True).hidden_states
    assert len(short) == 3 and all(torch.allclose(a, b, atol=1e-6) for a, b in zip(full[:2], short[:2]))
    # keeping every layer gives the teacher back
    assert torch.equal(_emissions(make_student(teacher, keep=[0, 1, 2, 3])), _emissions(teacher))


def test_a_student_is_what_its_config_builds_with_the_kept_weights(modernbert_teacher):
    teacher = modernbert_teacher
    student = make_student(teacher, 2)
    model, original = student.embeddings.model, teacher.embeddings.model
    assert model.config.num_hidden_layers == 2 and len(model.layers) == 2
    assert teacher.embeddings.model.config.num_hidden_layers == 4 and len(original.layers) == 4  # unchanged
    # student layer 1 is teacher layer 2 (both local): same weights, window, rotary table; layer 0 has no norm
    assert torch.equal(model.layers[1].attn.Wqkv.weight, original.layers[2].attn.Wqkv.weight)
    assert model.layers[1].attn.local_attention == original.layers[2].attn.local_attention == (8, 8)
    assert torch.equal(model.layers[1].attn.rotary_emb.inv_freq, original.layers[2].attn.rotary_emb.inv_freq)
    assert isinstance(model.layers[0].attn_norm, torch.nn.Identity)
    assert model.layers[1].attn.Wqkv.weight.data_ptr() != original.layers[2].attn.Wqkv.weight.data_ptr()
    assert torch.equal(student.crf.transitions, teacher.crf.transitions)
    assert student.embeddings.layer_indexes == [-1]


@pytest.mark.parametrize("kind", ["modernbert-crf", "modernbert-bilstm-crf", "bert-softmax"])
def test_a_student_saves_and_loads_as_an_ordinary_tagger(kind, tiny_model_dir, tiny_bert_dir, make_random_tagger,
                                                         tmp_path):
    if kind.startswith("bert"):
        teacher = make_random_tagger(tiny_bert_dir, head="softmax", stock=True, layers="-1")
        layers = 1
    else:
        teacher = make_random_tagger(tiny_model_dir, head=kind.split("-", 1)[1], layers="-1")
        layers = 2
    student = make_student(teacher, layers).eval()
    student.save(tmp_path / "final-model.pt")
    state = read_model_file(tmp_path / "final-model.pt")
    assert state["__cls__"] == "SequenceTagger"
    config = state["embeddings"]["config_state_dict"]
    assert config["num_hidden_layers"] == layers
    loaded = load_tagger(tmp_path)
    assert encoder_layers(loaded).count == layers
    assert torch.equal(_emissions(loaded), _emissions(student))
    assert not torch.equal(_emissions(student), _emissions(teacher))  # it really has fewer layers
    assert _tags(loaded) == _tags(student)
    assert torch.equal(_emissions(SequenceTagger.load(tmp_path / "final-model.pt")), _emissions(student))


def test_what_cannot_be_distilled_is_refused_by_name(modernbert_teacher, tiny_model_dir, make_random_tagger):
    from flair.data import Dictionary
    from flair.embeddings import CharacterEmbeddings

    characters = Dictionary()
    for character in "abcdefghijklmnopqrstuvwxyz":
        characters.add_item(character)
    classic = SequenceTagger(embeddings=CharacterEmbeddings(characters), tag_type="ner", use_crf=False,
                             tag_dictionary=modernbert_teacher.label_dictionary, use_rnn=False,
                             reproject_embeddings=False)
    with pytest.raises(ValueError, match="cannot be distilled: its embeddings are CharacterEmbeddings, not a "):
        make_student(classic, 1)
    with pytest.raises(ValueError, match=r"--layers 4: a student has fewer layers than its teacher \(4\)"):
        make_student(modernbert_teacher, 4)
    with pytest.raises(ValueError, match="teacher layer 1 cannot be student layer 0"):
        make_student(modernbert_teacher, keep=[1, 2])
    every_layer = make_random_tagger(tiny_model_dir, layers="all", layer_mean=False)
    with pytest.raises(ValueError, match="'all' without layer_mean"):
        make_student(every_layer, 2)
    top_four = make_random_tagger(tiny_model_dir, layers="-1,-2,-3,-4")
    with pytest.raises(ValueError, match="-4: a student with 2 layers has hidden states -1 to -3 only"):
        make_student(top_four, 2)
    assert make_student(top_four, 3).embeddings.layer_indexes == [-1, -2, -3, -4]


# ------------------------------------------------------------------------------------------------ loss
def test_the_mixed_loss_and_the_teacher_stays_out_of_the_student(modernbert_teacher):
    teacher = modernbert_teacher
    sentences = [Sentence("John Smith moved to Berlin"), Sentence("Mary is here")]
    for sentence, spans in zip(sentences, [((0, 2), "person"), ((0, 1), "person")]):
        sentence[spans[0][0]:spans[0][1]].add_label("ner", spans[1])
    twin = make_student(teacher, keep=[0, 1, 2, 3]).eval()  # the teacher's double: nothing to distil
    keys = set(twin.state_dict())
    gold, count = twin.forward_loss(sentences)
    with Distiller(twin, teacher, alpha=1.0, temperature=2.0).attached() as distiller:
        assert set(twin.state_dict()) == keys  # the teacher is no sub-module of the student
        loss, counted = twin.forward_loss(sentences)
        assert counted == count == 8 and abs(float(loss.detach())) < 1e-5
        assert distiller.epoch["tokens"] == 8 and abs(distiller.epoch["gold"] - float(gold.detach())) < 1e-4
    assert "forward_loss" not in twin.__dict__  # detached: the class's own loss again
    student = make_student(teacher, 2).eval()
    for sentence in sentences:  # Flair would reuse the word vectors the twin left (they bear the same name)
        sentence.clear_embeddings()
    own, _ = student.forward_loss(sentences)
    with Distiller(student, teacher, alpha=0.0).attached():
        assert torch.allclose(student.forward_loss(sentences)[0], own, atol=1e-5)
    with Distiller(student, teacher, alpha=0.25, temperature=3.0).attached() as distiller:
        mixed, _ = student.forward_loss(sentences)
        distillation = distiller.batch["distillation"]
        assert distillation > 0
        assert abs(float(mixed.detach()) - (0.75 * float(own.detach()) + 0.25 * distillation)) < 1e-4
    with pytest.raises(ValueError, match="--alpha must be from 0 to 1, got 1.5"):
        Distiller(student, teacher, alpha=1.5)
    with pytest.raises(ValueError, match="--temperature must be > 0, got 0"):
        Distiller(student, teacher, temperature=0)


def test_the_teacher_runs_once_per_sentence_and_not_at_all_with_alpha_0(modernbert_teacher, monkeypatch):
    teacher = modernbert_teacher
    sentences = [Sentence("John Smith moved to Berlin"), Sentence("Mary is here"), Sentence("Anna")]
    for sentence in sentences:
        sentence[0:1].add_label("ner", "person")
    calls = []
    forward = teacher.forward
    monkeypatch.setattr(teacher, "forward", lambda *args: calls.append(len(args[1])) or forward(*args))
    student = make_student(teacher, 2).eval()
    with Distiller(student, teacher, alpha=0.5).attached() as distiller:
        first, _ = student.forward_loss(sentences[:2])
        assert calls == [2]
        assert len(distiller._cache) == 2
        again, _ = student.forward_loss(list(reversed(sentences[:2])))  # the same sentences: no teacher pass
        assert calls == [2] and torch.allclose(first, again, atol=1e-5)
        student.forward_loss(sentences)  # only the new one goes through the teacher
        assert calls == [2, 1] and len(distiller._cache) == 3
    calls.clear()
    with Distiller(student, teacher, alpha=0.0).attached() as distiller:
        student.forward_loss(sentences)
        assert calls == [] and distiller.batch["distillation"] == 0.0 and distiller.batch["tokens"] == 9


def test_crf_marginals_are_the_brute_force_sums_over_every_tag_sequence(modernbert_teacher):
    import itertools

    from flair_modernbert.distillation.marginals import crf_log_marginals

    teacher = modernbert_teacher
    sentences = sorted((Sentence(t) for t in ["John Smith moved on", "Mary is here", "Anna"]), key=len, reverse=True)
    with torch.no_grad():
        scores = teacher.forward(*teacher._prepare_tensors(sentences))
    crf, lengths, transitions = scores
    items = teacher.label_dictionary.get_items()
    start, stop = items.index("<START>"), items.index("<STOP>")
    tags = [i for i, item in enumerate(items) if item not in ("<START>", "<STOP>")]
    for temperature in (1.0, 2.0):
        found = crf_log_marginals(teacher, scores, temperature, differentiable=False).exp()
        expected = []
        for b, length in enumerate(lengths.tolist()):
            paths = torch.tensor(list(itertools.product(range(len(items)), repeat=length)))
            total = transitions[stop, paths[:, -1]].clone()
            previous = torch.full((len(paths),), start)
            for t in range(length):
                total += crf[b, t, paths[:, t], previous]
                previous = paths[:, t]
            weights = torch.softmax(total.double() / temperature, dim=0)
            for t in range(length):
                expected.append(torch.stack([weights[paths[:, t] == y].sum() for y in tags]))
        assert torch.allclose(found.double(), torch.stack(expected), atol=1e-5)
        assert torch.allclose(found.sum(dim=1), torch.ones(len(found)), atol=1e-5)


def test_marginal_distillation_trains_the_student_and_needs_a_crf(modernbert_teacher, tiny_bert_dir,
                                                                   make_random_tagger):
    teacher = modernbert_teacher
    sentences = [Sentence("John Smith moved to Berlin"), Sentence("Mary is here")]
    for sentence in sentences:
        sentence[0:1].add_label("ner", "person")
    twin = make_student(teacher, keep=[0, 1, 2, 3]).eval()
    with Distiller(twin, teacher, alpha=1.0, target="marginals").attached():
        loss, count = twin.forward_loss(sentences)
        assert count == 8 and abs(float(loss.detach())) < 1e-4  # the teacher's double has nothing to learn
    student = make_student(teacher, 2).eval()
    for sentence in sentences:
        sentence.clear_embeddings()
    with Distiller(student, teacher, alpha=1.0, target="marginals").attached():
        loss, _ = student.forward_loss(sentences)
        assert float(loss.detach()) > 0
        loss.backward()  # through the marginals (a gradient of log Z) into the emission layer
    assert student.linear.weight.grad.abs().sum() > 0 and student.crf.transitions.grad.abs().sum() > 0
    softmax = make_random_tagger(tiny_bert_dir, head="softmax", stock=True, layers="-1")
    with pytest.raises(ValueError, match="--target marginals needs a CRF head"):
        Distiller(make_student(softmax, 1), softmax, target="marginals")
    with pytest.raises(ValueError, match="--target must be one of emissions, marginals, got 'logits'"):
        Distiller(student, teacher, target="logits")


# ------------------------------------------------------------------------------------------------ command
@pytest.fixture(scope="module")
def distilled(names_model, tmp_path_factory):
    """The names tagger (4 layers) distilled into its two lowest layers for 2 epochs with `flair-modernbert distill`."""
    teacher, corpus = names_model
    out = tmp_path_factory.mktemp("student") / "run"
    code = main(["distill", str(teacher), str(RECIPE), "--layers", "0,1", "--output", str(out), "--no-progress",
                 "--set", f"corpus.path={corpus}", "--set", "corpus.train_file=train.txt",
                 "--set", "corpus.dev_file=dev.txt", "--set", "corpus.test_file=test.txt",
                 "--set", "training.max_epochs=2", "--alpha", "0.5", "--temperature", "2"])
    assert code == 0
    return teacher, out, corpus


def test_distill_writes_an_ordinary_run_folder(distilled):
    teacher, out, _ = distilled
    for name in ("final-model.pt", "results.json", "report.txt", "recipe.yaml", "training.log", "README.md"):
        assert (out / name).is_file(), name
    facts = json.loads((out / "distillation.json").read_text())
    assert facts["kept_layers"] == [0, 1] and facts["teacher_layers"] == 4 and facts["alpha"] == 0.5
    results = json.loads((out / "results.json").read_text())
    assert results["test"]["micro"]["f1"] >= 0.9  # the names tagger knows its corpus: so does its student
    state = read_model_file(out / "final-model.pt")
    assert state["__cls__"] == "SequenceTagger"
    assert state["embeddings"]["config_state_dict"]["num_hidden_layers"] == 2
    assert not any(".layers.2." in key or ".layers.3." in key for key in state["state_dict"])
    assert (out / "final-model.pt").stat().st_size < (teacher / "final-model.pt").stat().st_size


def test_the_student_folder_predicts_and_redacts(distilled, tmp_path, capsys):
    _, out, _ = distilled
    source = tmp_path / "in.txt"
    source.write_text("We met John Smith in Paris .\nMy name is Anna .\n", encoding="utf-8")
    assert main(["redact", str(out), str(source), "--no-progress"]) == 0
    assert capsys.readouterr().out.splitlines() == ["We met [PER_1] in [LOC_1] .", "My name is [PER_1] ."]
    assert main(["predict", str(out), str(source), "--no-progress"]) == 0
    spans = [json.loads(line)["spans"] for line in capsys.readouterr().out.splitlines()]
    assert [[s["text"] for s in line] for line in spans] == [["John Smith", "Paris"], ["Anna"]]


def test_tensorboard_holds_both_losses_next_to_the_training_loss(distilled):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _, out, _ = distilled
    events = EventAccumulator(str(out / "tensorboard"), size_guidance={"scalars": 0}).Reload()
    tags = set(events.Tags()["scalars"])
    assert {"1_overview/train_loss", "1_overview/gold_loss", "1_overview/distillation_loss",
            "2_train/gold_batch_loss", "2_train/distillation_batch_loss"} <= tags
    total = [e.value for e in events.Scalars("1_overview/train_loss")]
    gold = [e.value for e in events.Scalars("1_overview/gold_loss")]
    distillation = [e.value for e in events.Scalars("1_overview/distillation_loss")]
    assert len(total) == len(gold) == len(distillation) == 2
    for t, g, d in zip(total, gold, distillation):
        assert abs(t - (0.5 * g + 0.5 * d)) < 1e-4 * max(1.0, t)
    assert distillation[1] < distillation[0]  # the student moves towards its teacher


def test_distill_refuses_bad_arguments_before_writing(names_model, tmp_path, capsys):
    teacher, _ = names_model
    out = tmp_path / "never"
    assert main(["distill", str(teacher), str(RECIPE), "--layers", "4", "--output", str(out), "--no-progress"]) == 2
    assert "--layers 4: a student has fewer layers than its teacher (4); choose 1 to 3" in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(SystemExit):
        main(["distill", str(teacher), str(RECIPE), "--layers", "0", "--output", str(out)])
    assert "argument --layers: expected a number >= 1, got 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["distill", str(teacher), str(RECIPE), "--layers", "2", "--output", str(out), "--alpha", "2"])
    assert "argument --alpha" in capsys.readouterr().err
    assert main(["distill", str(teacher), str(RECIPE), "--layers", "2", "--output", str(out), "--target", "logits",
                 "--no-progress"]) == 2
    assert "--target must be one of emissions, marginals, got 'logits'" in capsys.readouterr().err
    assert main(["distill", str(teacher), str(RECIPE), "--layers", "0,1,2,3", "--output", str(out),
                 "--no-progress"]) == 2
    assert "--layers 0,1,2,3: a student keeps fewer layers than its teacher's 4" in capsys.readouterr().err
    assert main(["distill", str(teacher), str(RECIPE), "--layers", "2,1", "--output", str(out), "--no-progress"]) == 2
    assert "layers to keep [2, 1]: expected increasing teacher layers from 0 to 3" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["distill", str(teacher), str(RECIPE), "--layers", "0,one", "--output", str(out)])
    assert "expected a number of layers or teacher layers like 0,1, got '0,one'" in capsys.readouterr().err
    assert not out.exists()


def test_the_student_exports_and_predict_mjs_gives_what_python_gives(distilled, node, tmp_path, capsys):
    import subprocess

    _, out, _ = distilled
    folder = tmp_path / "export"
    assert main(["export", str(out), str(folder), "--no-progress"]) == 0  # also checks the graph's emissions
    capsys.readouterr()
    texts = ["We met John Smith in Paris .", "My name is Anna .", "Lisa Miller lives in New York .",
             "Please call Peter Brown today .", "I live in London ❤️ ."]
    source = tmp_path / "in.txt"
    source.write_text("\n".join(texts) + "\n", encoding="utf-8")
    assert main(["predict", str(out), str(source), "--no-progress"]) == 0
    expected = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    run = subprocess.run([node, str(folder / "predict.mjs"), str(source)], capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr.decode()[-3000:]
    found = [json.loads(line) for line in run.stdout.decode().splitlines()]
    assert len(found) == len(expected) == len(texts)
    assert sum(len(line["spans"]) for line in expected) == 7  # every name and place
    for js, python in zip(found, expected):
        assert [(s["start"], s["end"], s["type"]) for s in js["spans"]] == \
               [(s["start"], s["end"], s["type"]) for s in python["spans"]]
        assert all(abs(a["score"] - b["score"]) <= 1.0001e-4 for a, b in zip(js["spans"], python["spans"]))
