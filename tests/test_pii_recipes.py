"""The PII recipes run as their comments say: a CoNLL-03-style folder + synthetic PII, set from the command line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flair_modernbert.cli import main
from flair_modernbert.config import load_recipe

ROOT = Path(__file__).resolve().parents[1]
PII_RECIPES = ["pii-minilm.yaml", "pii-modernbert-base.yaml"]

#: IOB1 with CoNLL-03's types: a B- only where an entity directly follows one of its own type
CONLL03 = """-DOCSTART- -X- -X- O

John NNP B-NP I-PER
Smith NNP I-NP I-PER
lives VBZ B-VP O
in IN B-PP O
Berlin NNP B-NP I-LOC
. . O O

Mary NNP B-NP I-PER
Jones NNP I-NP I-PER
Peter NNP I-NP B-PER
works VBZ B-VP O
for IN B-PP O
Siemens NNP B-NP I-ORG
in IN B-PP O
German JJ B-NP I-MISC
Paris NNP I-NP I-LOC
. . O O
"""


@pytest.fixture(scope="module")
def conll03_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("conll03")
    for name in ("eng.train", "eng.testa", "eng.testb"):
        (folder / name).write_text(CONLL03, encoding="utf-8")
    return folder


@pytest.mark.parametrize("name", PII_RECIPES)
def test_pii_recipe_reads_a_conll03_folder_with_canonical_types(name, conll03_folder):
    from flair_modernbert.data import load_corpus

    recipe = load_recipe(ROOT / "recipes" / name, [f"corpus.path={conll03_folder}", "synthetic.train=0",
                                                   "synthetic.dev=0", "synthetic.test=0"])
    corpus = load_corpus(recipe)
    spans = [(span.text, span.tag) for sentence in corpus.train for span in sentence.get_spans("ner")]
    # IOB1 read as CoNLL-03 means it (B- splits Mary Jones | Peter), PER/LOC/ORG renamed, MISC dropped
    assert spans == [("John Smith", "person"), ("Berlin", "location"), ("Mary Jones", "person"),
                     ("Peter", "person"), ("Siemens", "organization"), ("Paris", "location")]


def test_pii_minilm_trains_with_the_documented_overrides(conll03_folder, tiny_bert_dir, tmp_path, capsys):
    from transformers import BertTokenizerFast

    # the tokenizer says the model's 128 positions, as a real model's does, so that synthetic documents longer
    # than that (the tiny vocabulary spells most words letter by letter) are split into windows
    model = tmp_path / "bert"
    shutil.copytree(tiny_bert_dir, model)
    BertTokenizerFast.from_pretrained(model, model_max_length=128).save_pretrained(model)
    out = tmp_path / "run"
    code = main(["train", str(ROOT / "recipes" / "pii-minilm.yaml"), "--set", f"corpus.path={conll03_folder}",
                 "--set", f"embeddings.model={model}", "--set", "training.max_epochs=1",
                 "--set", "synthetic.train=24", "--set", "synthetic.dev=4", "--set", "synthetic.test=4",
                 "--set", "synthetic.locales=[en_US]",
                 "--output", str(out)])
    assert code == 0, capsys.readouterr().err
    recipe = load_recipe(out / "recipe.yaml")
    assert recipe.synthetic.types == ["person", "location", "organization", "street_address", "date", "phone"]
    results = json.loads((out / "results.json").read_text())
    # scored on the real test split plus the 4 synthetic test documents
    assert 0.0 <= results["micro_f1"] <= 1.0 and (out / "final-model.pt").is_file()
    assert {"street_address", "date", "phone"} <= set(results["per_class"])
    from flair_modernbert.inference import load_tagger, model_types

    # the model's types are the recipe's: the real corpus renamed, synthetic PII added, MISC gone
    types = set(model_types(load_tagger(out)))
    assert {"person", "location", "organization", "street_address", "date", "phone"} <= types
    assert "MISC" not in types and "PER" not in types


def test_synth_output_is_a_span_corpus(tmp_path):
    out = tmp_path / "synthetic.jsonl"
    subprocess.run([sys.executable, "-m", "flair_modernbert.cli", "synth", str(out), "--n", "40", "--seed", "3",
                    "--no-progress"], check=True, capture_output=True)
    from flair_modernbert.data.spans import read_span_documents

    documents = read_span_documents(out)
    assert len(documents) == 40
    assert all(doc.text[start:end].strip() == doc.text[start:end] for doc in documents for start, end, _ in doc.spans)
