"""Config: every shipped recipe loads, defaults, ``--set`` overrides, the path rule (gazetteers too), one YAML
loader for recipes, augmentation and ablation files, and errors naming file + key."""

from __future__ import annotations

import os
import re
import typing
from pathlib import Path

import pytest
import yaml

from flair_modernbert.config import (
    ConfigError,
    EmbeddingsConfig,
    Recipe,
    check_runtime,
    load_ablation,
    load_recipe,
    package_dir,
    parse_override,
    recipe_from_dict,
    resolve_path,
    save_recipe,
    with_overrides,
)
from flair_modernbert.encoder.options import BACKENDS

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted((ROOT / "recipes").glob("*.yaml"))
MINIMAL = "corpus:\n  type: flair\n  name: WNUT_17\n"


def write(tmp_path: Path, text: str, name: str = "recipe.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path, overrides=()) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_recipe(path, overrides)
    return info.value


# ------------------------------------------------------------------------------------------------ shipped
def test_the_five_documented_recipes_are_shipped():
    names = {p.name for p in RECIPES}
    assert {
        "ontonotes5-base-crf.yaml",
        "ontonotes5-large-crf.yaml",
        "conll03-base-crf.yaml",
        "wnut17-base-crf.yaml",
        "quickstart.yaml",
    } <= names


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_every_shipped_recipe_loads_and_round_trips(path, tmp_path):
    recipe = load_recipe(path)
    assert isinstance(recipe, Recipe) and recipe.source == str(path)
    assert Path(recipe.output_dir).is_absolute()
    # the written recipe is complete: loading it elsewhere gives the same recipe
    saved = save_recipe(recipe, tmp_path / "out" / "recipe.yaml")
    assert saved.read_text(encoding="utf-8").startswith("# Resolved recipe")
    assert load_recipe(saved) == recipe
    assert yaml.safe_load(saved.read_text(encoding="utf-8")) == recipe.to_dict()


def test_shipped_recipes_hold_the_known_good_fine_tuning_settings():
    onto = load_recipe(ROOT / "recipes" / "ontonotes5-base-crf.yaml")
    assert (onto.corpus.type, onto.corpus.name, onto.corpus.kwargs) == (
        "flair", "ONTONOTES", {"version": "v4", "language": "english"})
    assert onto.embeddings.model == "answerdotai/ModernBERT-base"
    assert onto.training.learning_rate == 5e-6 and isinstance(onto.training.learning_rate, float)
    assert onto.training.mini_batch_size == 4 and onto.tagger.head == "crf"
    large = load_recipe(ROOT / "recipes" / "ontonotes5-large-crf.yaml")
    assert large.embeddings.model == "answerdotai/ModernBERT-large"
    conll = load_recipe(ROOT / "recipes" / "conll03-base-crf.yaml")
    assert (conll.corpus.name, conll.training.max_epochs, conll.embeddings.use_context) == ("CONLL_03", 20, 64)


def test_quickstart_is_an_offline_smoke_run_on_the_shipped_sample(wnut_sample_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # 'package:' works from any directory
    recipe = load_recipe(ROOT / "recipes" / "quickstart.yaml")
    assert Path(recipe.corpus.path) == wnut_sample_dir.resolve()
    assert recipe.embeddings.model == "random:tiny"
    assert recipe.training.max_epochs <= 10
    assert recipe.output_dir == str(tmp_path / "runs" / "quickstart")  # default: under the current directory


def test_wnut17_recipe_path_is_relative_to_the_recipe_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    recipe = load_recipe(ROOT / "recipes" / "wnut17-base-crf.yaml")
    # normalised, symlinks kept (resolve_path's rule): ../shared may well be a link to the data
    assert Path(recipe.corpus.path) == Path(os.path.normpath(ROOT.parent / "shared" / "data" / "wnut17"))
    assert (recipe.corpus.train_file, recipe.corpus.dev_file, recipe.corpus.test_file) == (
        "wnut17train.conll", "emerging.dev.conll", "emerging.test.annotated")
    assert recipe.corpus.columns == {0: "text", 1: "ner"} and recipe.corpus.column_delimiter == "\t"


# ------------------------------------------------------------------------------------------------ defaults
def test_a_minimal_recipe_gets_the_documented_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    recipe = load_recipe(write(tmp_path, MINIMAL, "my-run.yaml"))
    assert recipe.corpus.label_type == "ner" and recipe.corpus.kwargs == {} and recipe.corpus.sample is None
    e = recipe.embeddings
    assert (e.model, e.layers, e.layer_mean, e.subtoken_pooling) == ("answerdotai/ModernBERT-base", "-1", True, "first")
    assert (e.use_context, e.context_dropout, e.fine_tune, e.attention_backend, e.final_norm) == (64, 0.5, True, "auto", False)
    t = recipe.tagger
    assert (t.head, t.loss, t.tag_format, t.hidden_size, t.class_weights) == ("crf", "ce", "BIOES", 256, None)
    assert (t.dropout, t.word_dropout, t.locked_dropout) == (0.0, 0.05, 0.5)
    tr = recipe.training
    assert (tr.learning_rate, tr.mini_batch_size, tr.max_epochs, tr.scheduler, tr.warmup_fraction) == (
        5e-6, 4, 10, "linear", 0.1)
    assert (tr.weight_decay, tr.gradient_clipping, tr.mixed_precision, tr.seeds, tr.device) == (
        0.01, 5.0, False, [42], "auto")
    assert recipe.augmentation.ops == [] and recipe.augmentation.ratio == 1.0
    assert recipe.output_dir == str(tmp_path / "runs" / "my-run")
    # only the keys of the corpus type are written back
    assert set(recipe.to_dict()["corpus"]) == {"type", "name", "kwargs", "label_type", "sample", "seed", "documents",
                                               "label_map", "canonical_types"}


def test_exponent_floats_are_numbers_and_literals_are_case_insensitive(tmp_path):
    text = MINIMAL.replace("flair\n  name: WNUT_17", "column\n  path: data\n  tag_scheme: iob1")
    text += "training:\n  learning_rate: 5e-6\n  decoder_learning_rate: 1E-3\n  scheduler: OneCycle\n"
    recipe = load_recipe(write(tmp_path, text))
    assert recipe.training.learning_rate == 5e-6 and recipe.training.decoder_learning_rate == 1e-3
    assert (recipe.training.scheduler, recipe.corpus.tag_scheme) == ("onecycle", "IOB1")


def test_layers_given_as_an_integer_is_read_as_a_string(tmp_path):
    recipe = load_recipe(write(tmp_path, MINIMAL + "embeddings:\n  layers: -1\n  use_context: document\n"))
    assert recipe.embeddings.layers == "-1" and recipe.embeddings.use_context == "document"


def test_attention_backend_choices_match_the_attention_module():
    hint = EmbeddingsConfig.model_fields["attention_backend"].annotation
    assert set(typing.get_args(hint)) == set(BACKENDS)


# ------------------------------------------------------------------------------------------------ paths
def test_path_rule_package_prefix_recipe_folder_and_absolute(tmp_path):
    assert resolve_path("package:data/wnut17_sample") == package_dir() / "data" / "wnut17_sample"
    assert resolve_path("../data", tmp_path / "recipes") == tmp_path / "data"
    assert resolve_path(str(tmp_path / "x")) == tmp_path / "x"
    recipe_file = write(tmp_path, MINIMAL.replace("flair\n  name: WNUT_17", "column\n  path: ../corpus")
                        + "output_dir: ../out\nembeddings:\n  model: ./models/mb\n", "recipes/r.yaml")
    recipe = load_recipe(recipe_file)
    assert recipe.corpus.path == str(tmp_path / "corpus")
    assert recipe.output_dir == str(tmp_path / "out")
    assert recipe.embeddings.model == str(tmp_path / "recipes" / "models" / "mb")


def test_hub_ids_and_random_models_are_not_paths(tmp_path):
    recipe = load_recipe(write(tmp_path, MINIMAL + "embeddings:\n  model: answerdotai/ModernBERT-large\n"))
    assert recipe.embeddings.model == "answerdotai/ModernBERT-large"
    assert load_recipe(write(tmp_path, MINIMAL + "embeddings:\n  model: random:small\n")).embeddings.model == "random:small"


def test_override_paths_are_relative_to_the_current_directory(tmp_path, monkeypatch):
    recipe_file = write(tmp_path, MINIMAL.replace("flair\n  name: WNUT_17", "column\n  path: data"), "recipes/r.yaml")
    monkeypatch.chdir(tmp_path)
    assert load_recipe(recipe_file).corpus.path == str(tmp_path / "recipes" / "data")
    assert load_recipe(recipe_file, ["corpus.path=elsewhere/data"]).corpus.path == str(tmp_path / "elsewhere" / "data")


# ------------------------------------------------------------------------------------------------ overrides
def test_overrides_set_scalars_lists_and_mapping_entries(tmp_path):
    recipe = load_recipe(
        ROOT / "recipes" / "quickstart.yaml",
        [
            "training.learning_rate=1e-5",
            "training.seeds=[1, 2, 3]",
            "corpus.sample=0.1",
            "corpus.columns.2=pos",
            "tagger.class_weights.O=0.5",
            "embeddings.use_context=document",
            "training.mini_batch_chunk_size=null",
            "tagger.head = softmax",
        ],
    )
    assert recipe.training.learning_rate == 1e-5 and recipe.training.seeds == [1, 2, 3]
    assert recipe.corpus.sample == 0.1 and recipe.corpus.columns == {0: "text", 1: "ner", 2: "pos"}
    assert recipe.tagger.class_weights == {"O": 0.5} and recipe.embeddings.use_context == "document"
    assert recipe.training.mini_batch_chunk_size is None and recipe.tagger.head == "softmax"


def test_with_overrides_returns_a_validated_copy():
    recipe = load_recipe(ROOT / "recipes" / "quickstart.yaml")
    changed = with_overrides(recipe, ["training.max_epochs=1", "tagger.loss=ce+dice"])
    assert (changed.training.max_epochs, changed.tagger.loss) == (1, "ce+dice")
    assert (recipe.training.max_epochs, recipe.tagger.loss) == (10, "ce")
    with pytest.raises(ConfigError, match=r"training\.max_epochs: must be >= 1.*training\.max_epochs=0"):
        with_overrides(recipe, ["training.max_epochs=0"])


def test_parse_override_reads_yaml_values():
    assert parse_override("a.b=[1, 2]") == (["a", "b"], [1, 2])
    assert parse_override("a=5e-6") == (["a"], 5e-6)
    assert parse_override("a.b=x=y") == (["a", "b"], "x=y")


@pytest.mark.parametrize(
    "override, pattern",
    [
        ("training.learning_rate", r"override 'training\.learning_rate': expected KEY=VALUE"),
        ("training..lr=1", r"override 'training\.\.lr=1': the key 'training\.\.lr' has an empty part"),
        ("training.seeds=[1,", r"override 'training\.seeds=\[1,': the value is not valid YAML"),
        ("training.learning_rate.x=1", r"override 'training\.learning_rate\.x=1': training\.learning_rate holds 0\.005"),
    ],
)
def test_malformed_overrides_name_the_file_and_the_override(override, pattern):
    path = ROOT / "recipes" / "quickstart.yaml"
    error = error_of(path, [override])
    assert str(error).startswith(f"{path}: override '{override}': ")
    assert re.search(pattern, str(error)) and error.override == override


def test_override_errors_name_file_key_and_override():
    path = ROOT / "recipes" / "quickstart.yaml"
    error = error_of(path, ["training.learnig_rate=1e-5"])
    assert str(path) in str(error) and "training.learnig_rate: unknown key" in str(error)
    assert "did you mean 'learning_rate'" in str(error)
    assert "(set by override 'training.learnig_rate=1e-5')" in str(error)
    assert (error.key, error.override) == ("training.learnig_rate", "training.learnig_rate=1e-5")
    error = error_of(path, ["training.max_epochs=two"])
    assert f"{path}: training.max_epochs: expected an integer, got 'two' (str)" in str(error)
    assert "training.max_epochs=two" in str(error)


# ------------------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    "text, key, message",
    [
        (MINIMAL + "training:\n  learnig_rate: 1e-5\n", "training.learnig_rate", "unknown key; did you mean 'learning_rate'?"),
        (MINIMAL + "trainig:\n  max_epochs: 2\n", "trainig", "unknown key; did you mean 'training'?"),
        (MINIMAL + "training:\n  max_epochs: ten\n", "training.max_epochs", "expected an integer, got 'ten' (str)"),
        (MINIMAL + "training:\n  max_epochs: true\n", "training.max_epochs", "expected an integer, got True (bool)"),
        (MINIMAL + "training:\n  learning_rate: fast\n", "training.learning_rate", "expected a number, got 'fast'"),
        (MINIMAL + "training:\n  seeds: [1, a]\n", "training.seeds[1]", "expected an integer, got 'a' (str)"),
        (MINIMAL + "training:\n  seeds: 1\n", "training.seeds", "expected a list, got 1 (int)"),
        (MINIMAL + "training:\n  seeds: [1, 1]\n", "training.seeds", "seeds must be distinct, got [1, 1]"),
        (MINIMAL + "training:\n  device: gpu\n", "training.device", "expected auto, cpu, cuda or cuda:N"),
        (MINIMAL + "training:\n  warmup_fraction: 1.5\n", "training.warmup_fraction", "must be < 1.0, got 1.5"),
        (MINIMAL + "embeddings:\n  fine_tune: yes please\n", "embeddings.fine_tune", "expected a boolean"),
        (MINIMAL + "embeddings:\n  model: random:huge\n", "embeddings.model", "unknown random model 'random:huge'"),
        (MINIMAL + "tagger:\n  head: lstm\n", "tagger.head", "expected one of 'crf', 'bilstm-crf', 'softmax'"),
        (MINIMAL + "tagger:\n  class_weights: {O: -1}\n", "tagger.class_weights.O", "must be > 0.0, got -1"),
        (MINIMAL + "tagger:\n  loss: dice\n", "tagger.loss", "the CRF transitions would get no gradient"),
        (MINIMAL + "  columns: {0: text, 1: ner}\n", "corpus.columns", "not used by corpus type 'flair'"),
        (MINIMAL + "  sample: 0\n", "corpus.sample", "must be >= 1"),
        ("corpus:\n  type: column\n", "corpus.path", "required for corpus type 'column'"),
        ("corpus:\n  type: column\n  path: d\n  columns: {0: text, 1: pos}\n", "corpus.columns", "no column holds the label type 'ner'"),
        ("corpus:\n  type: hf\n", "corpus.path", "exactly one of name"),
        ("corpus:\n  type: sql\n", "corpus.type", "expected one of 'flair', 'column', 'hf'"),
        ("corpus:\n  name: WNUT_17\n", "corpus.type", "required key is missing"),
        ("training:\n  max_epochs: 2\n", "corpus", "required section is missing"),
        (MINIMAL + "augmentation: 3\n", "augmentation", "expected a list of operations or a mapping"),
    ],
)
def test_invalid_recipes_name_the_file_and_the_dotted_key(tmp_path, text, key, message):
    path = write(tmp_path, text)
    error = error_of(path)
    assert error.key == key and error.source == str(path)
    assert str(error).startswith(f"{path}: {key}: "), str(error)
    assert message in str(error)


def test_duplicate_keys_and_bad_yaml_are_errors(tmp_path):
    error = error_of(write(tmp_path, MINIMAL + "training:\n  max_epochs: 2\n  max_epochs: 3\n"))
    assert "duplicate key 'max_epochs'" in str(error) and "recipe.yaml" in str(error)
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_recipe(write(tmp_path, "corpus: [\n"))
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        load_recipe(tmp_path / "missing.yaml")


def test_an_empty_augmentation_section_has_no_ops(tmp_path):
    for text in ("augmentation: {}\n", "augmentation:\n", "augmentation: []\n"):
        assert load_recipe(write(tmp_path, MINIMAL + text)).augmentation.ops == []


def test_recipe_from_dict_names_its_source():
    with pytest.raises(ConfigError, match=r"^ablation variant 'x': training\.max_epochs: expected an integer"):
        recipe_from_dict({"corpus": {"type": "flair", "name": "WNUT_17"}, "training": {"max_epochs": "x"}},
                         source="ablation variant 'x'")


# ------------------------------------------------------------------------------------------------ runtime
def test_cuda_only_options_are_rejected_on_cpu():
    recipe = load_recipe(ROOT / "recipes" / "quickstart.yaml")
    assert check_runtime(recipe, "cpu").type == "cpu"
    amp = with_overrides(recipe, ["training.mixed_precision=true", "embeddings.attention_backend=flash_attn"])
    with pytest.raises(ValueError) as info:
        check_runtime(amp, "cpu")
    message = str(info.value)
    assert "training.mixed_precision: true needs a CUDA device" in message
    assert "--set training.mixed_precision=false" in message
    assert "embeddings.attention_backend: 'flash_attn' needs a CUDA device" in message


def test_an_unavailable_device_is_named():
    import torch

    recipe = load_recipe(ROOT / "recipes" / "quickstart.yaml", ["training.device=cuda:0"])
    if torch.cuda.is_available():
        assert check_runtime(recipe).type == "cuda"
    else:
        with pytest.raises(ValueError, match=r"training\.device: 'cuda:0' but CUDA is not available"):
            check_runtime(recipe)


# ------------------------------------------------------------------------------------------------ one loader, one path rule
def test_a_relative_gazetteer_is_relative_to_the_recipe_whatever_the_current_directory(tmp_path, monkeypatch):
    from flair_modernbert.augmentation import build_augmenter

    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "names.tsv").write_text("person\tAda Lovelace\n", encoding="utf-8")
    recipe_file = write(tmp_path, MINIMAL + "augmentation:\n  ops:\n    - {type: swap, gazetteer: names.tsv}\n",
                        "recipes/r.yaml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the run starts from another folder
    recipe = load_recipe(recipe_file)
    assert recipe.augmentation.ops[0].gazetteer == str(tmp_path / "recipes" / "names.tsv")
    # the pipeline a run builds opens that same file
    swap = build_augmenter(recipe.augmentation, label_type="ner").steps[0]
    assert swap.bank.candidates("person") == (("Ada", "Lovelace"),)
    # a gazetteer given on the command line is relative to the current directory
    (elsewhere / "other.tsv").write_text("person\tGrace Hopper\n", encoding="utf-8")
    changed = load_recipe(recipe_file, ["augmentation.ops=[{type: swap, gazetteer: other.tsv}]"])
    assert changed.augmentation.ops[0].gazetteer == str(elsewhere / "other.tsv")
    # and a missing one names the recipe key
    with pytest.raises(ConfigError, match=r"augmentation\.ops\[0\]\.p: must be <= 1\.0"):
        load_recipe(write(tmp_path, MINIMAL + "augmentation: [{type: swap, p: 2}]\n", "recipes/bad.yaml"))


def test_ablation_files_read_exponent_floats_as_numbers(tmp_path):
    recipe = write(tmp_path, MINIMAL, "recipe.yaml")
    ablation = write(tmp_path, (
        f"recipe: {recipe.name}\n"
        "variants:\n"
        "  - name: low\n"
        "    set: [training.learning_rate=1e-5]\n"
        "  - name: lower\n"
        "    augmentation: {ratio: 5e-1, ops: [{type: lowercase, p: 1e-1}]}\n"
    ), "ablation.yaml")
    definition = load_ablation(ablation)
    assert definition.variants[1].augmentation.ratio == 0.5
    assert definition.variants[1].augmentation.ops[0].p == 0.1 and isinstance(definition.variants[1].augmentation.ops[0].p, float)
    assert definition.baseline == "low" and definition.recipe == str(recipe)
    from flair_modernbert.config import variant_recipe

    assert variant_recipe(definition, definition.variants[0]).training.learning_rate == 1e-5


def test_ablation_errors_name_the_file_and_the_key(tmp_path):
    recipe = write(tmp_path, MINIMAL, "recipe.yaml")
    cases = [
        ("variants: [{name: a, augmentation: [{type: swap, p: x}]}]", "variants[0].augmentation.ops[0].p", "expected a number"),
        ("seeds: [1, 1]\nvariants: [{name: a}]", "seeds", "seeds must be distinct"),
        ("variants: [{name: a}, {name: a}]", "variants", "the names a repeat"),
        ("variants: [{name: a, sett: []}]", "variants[0].sett", "unknown key; did you mean 'set'?"),
        ("baseline: b\nvariants: [{name: a}]", "baseline", "'b' is not a variant"),
    ]
    for body, key, message in cases:
        path = write(tmp_path, f"recipe: {recipe.name}\n{body}\n", "ablation.yaml")
        with pytest.raises(ConfigError) as info:
            load_ablation(path)
        assert str(info.value).startswith(f"{path}: {key}: "), str(info.value)
        assert message in str(info.value)
    path = write(tmp_path, "recipe: recipe.yaml\nvariants: [{name: a, set: [training.max_epochs=0]}]\n", "ablation.yaml")
    with pytest.raises(ConfigError, match=r"variant 'a': .*training\.max_epochs: must be >= 1"):
        load_ablation(path)


def test_invalid_utf8_in_a_recipe_names_the_file_and_line(tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_bytes(MINIMAL.encode() + b"# caf\xe9\n")
    with pytest.raises(ConfigError, match=r"recipe\.yaml: line 4: not valid UTF-8"):
        load_recipe(path)
