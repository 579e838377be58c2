"""The JavaScript module gives each word the subtoken ids Python's (Rust) tokenizer gives it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from transformers import BertTokenizerFast

from flair_modernbert.export.folder import JS_DIR

WORDS = ["ΛΕΜΕΣΟΣ", "ΠΑΦΟΣ", "Σ", "ΣΑΣ", "λεμεσος", "Ὀδυσσεύς", "İstanbul", "STRASSE", "Straße"]

SCRIPT = """
import { AutoTokenizer, env } from "@huggingface/transformers";
import { Tagger } from "./tagger.mjs";
env.allowRemoteModels = false;
env.localModelPath = "";
const tokenizer = await AutoTokenizer.from_pretrained(process.argv[1]);
const tagger = Object.create(Tagger.prototype);  // only the tokenizer side of a tagger
tagger.tokenizer = tokenizer;
tagger._ids = new Map();
const words = JSON.parse(process.argv[2]);
console.log(JSON.stringify(words.map((word) => Array.from(tagger.wordIds(word), Number))));
"""


def _tokenizer(folder: Path, lowercase: bool) -> Path:
    letters = sorted(set("".join(WORDS).lower() + "".join(WORDS) + "σς"))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *letters, *("##" + c for c in letters)]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=lowercase).save_pretrained(folder)
    return folder


def test_word_ids_equal_python_for_greek_final_sigma_and_other_special_casing(node, tmp_path):
    for lowercase in (True, False):
        folder = _tokenizer(tmp_path / f"lower-{lowercase}", lowercase)
        python = BertTokenizerFast.from_pretrained(folder)
        expected = [python(word, add_special_tokens=False)["input_ids"] for word in WORDS]
        done = subprocess.run([node, "--input-type=module", "-e", SCRIPT, str(folder), json.dumps(WORDS)],
                              capture_output=True, text=True, cwd=JS_DIR, timeout=120)
        assert done.returncode == 0, done.stderr
        found = json.loads(done.stdout)
        assert found == expected, [(w, f, e) for w, f, e in zip(WORDS, found, expected) if f != e]
    # the case the rule is for: a word-final capital sigma reads as σ (Rust), not ς (JavaScript's toLowerCase)
    sigma = BertTokenizerFast.from_pretrained(tmp_path / "lower-True")
    assert sigma.convert_ids_to_tokens(sigma("ΠΑΦΟΣ", add_special_tokens=False)["input_ids"])[-1] == "##σ"
