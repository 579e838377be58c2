"""The scripts in examples/ run as README says, and print what they promise."""

import ast
import re
import runpy
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run(monkeypatch, capsys, name: str, *args: str) -> str:
    monkeypatch.setattr(sys, "argv", [str(EXAMPLES / name), *args])
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    return capsys.readouterr().out


def test_augment_sentences_keeps_labels_on_their_tokens(monkeypatch, capsys):
    lines = _run(monkeypatch, capsys, "augment_sentences.py").splitlines()
    rows = {line.split()[0]: line for line in lines}
    assert rows["original"].split("'John Smith'/PER")[1].strip() == ", 'Berlin'/LOC"
    assert "john smith moved to Berlin" in rows["lowercase"] and "'john smith'/PER" in rows["lowercase"]
    # the swapped-in mentions come from the two training sentences, with their own types
    assert re.search(r"'(Anna Maria Schmidt|Bob)'/PER", rows["swap"])
    assert re.search(r"'(Berlin|New York)'/LOC", rows["swap"]) and "Siemens" not in rows["swap"]
    assert set(rows) == {"original", "lowercase", "swap", "noise", "all"}


def test_embed_sentences_matches_stock_flair(monkeypatch, capsys, tiny_model_dir):
    out = _run(monkeypatch, capsys, "embed_sentences.py", str(tiny_model_dir))
    match = re.search(r"(\d+) words, embedding size (\d+), max \|unpadded - padded\| = (\S+)", out)
    assert match, out
    assert int(match.group(1)) == 20 and float(match.group(3)) <= 1e-4


def test_train_and_redact_trains_saves_loads_and_redacts(monkeypatch, capsys, tmp_path):
    out = _run(monkeypatch, capsys, "train_and_redact.py", str(tmp_path)).splitlines()
    assert re.fullmatch(r"test micro F1 \d\.\d{3}, lower-cased test \d\.\d{3}", out[0])
    assert (tmp_path / "final-model.pt").is_file()
    originals = ["Call me tomorrow , Steve Jobs lives in Palo Alto .", "nothing to hide here"]
    assert len(out) == 4 and out[3] == f"model, reports and training.log in {tmp_path}"
    # whatever the tiny random model finds, putting the span texts back gives the original documents
    for line, original in zip(out[1:3], originals):
        redacted, spans = line.split(" <- ")
        for text, placeholder in ast.literal_eval(spans):
            assert placeholder in redacted and text in original
            redacted = redacted.replace(placeholder, text, 1)
        assert redacted == original
