"""export --vocab: a trimmed vocabulary keeps the corpus's tokens plus what spells any text; the trimmed export tags
the corpus as the untrimmed tagger does (Python and Node), spells unseen words in smaller pieces (never [UNK] where
the original would not), is smaller, and bad arguments are refused with clear errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from flair_modernbert.export import export_spec, export_tagger
from flair_modernbert.export.vocab import (
    VocabularyCheck,
    read_vocab_corpus,
    trim_tokenizer_json,
    trim_vocabulary,
    trimmed,
)
from test_export import sample_sentences

RECIPE = Path(__file__).parent.parent / "recipes" / "quickstart.yaml"

pytestmark = pytest.mark.usefixtures("one_torch_thread")

#: words the small corpus below never uses: long rare words, accents, CJK, emoji, a URL, digits
UNSEEN = ["Supercalifragilistic", "Zoë", "Köln", "東京タワー", "👍🏽", "www.example.com/a?b=1", "O'Neil",
          "20191231", "xylophone", "Quixotic"]


@pytest.fixture(scope="module")
def bpe_tagger(bpe_modernbert_dir, make_random_tagger):
    return make_random_tagger(bpe_modernbert_dir, use_context=2)


@pytest.fixture(scope="module")
def text_corpus(tmp_path_factory) -> Path:
    """30 WNUT-17 sample sentences as plain text, a document a line (predict and predict.mjs read the same words)."""
    path = tmp_path_factory.mktemp("vocab") / "corpus.txt"
    path.write_text("\n".join(" ".join(words) for words in sample_sentences(30)) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def bpe_exports(bpe_tagger, text_corpus, tmp_path_factory):
    """The same tagger exported untrimmed and trimmed to the text corpus, both with int8 and q4 copies."""
    base = tmp_path_factory.mktemp("bpe-exports")
    full = export_tagger(bpe_tagger, base / "full", quantize="int8,q4")
    trim = export_tagger(bpe_tagger, base / "trimmed", quantize="int8,q4", vocab=text_corpus)
    return full, trim


def _pieces(tokenizer: Tokenizer, word: str) -> list[str]:
    return tokenizer.encode(word, add_special_tokens=False).tokens


def test_trimmed_bpe_export_is_smaller_and_tags_the_corpus_as_before(bpe_tagger, bpe_exports, text_corpus):
    full, trim = bpe_exports
    record = trim.vocabulary
    assert record["agreement"] == 1.0 and record["words"] == sum(map(len, read_vocab_corpus(text_corpus)[0]))
    assert record["corpus_kind"] == "text" and record["model"] == "BPE"
    assert record["rows_total"] == bpe_tagger.embeddings.model.get_input_embeddings().weight.shape[0]
    assert 256 + record["seen"] <= record["rows_kept"] < 0.75 * record["rows_total"]
    assert 0 < record["merges_kept"] < record["merges_total"]
    for name in ("onnx/model.onnx", "onnx/model_quantized.onnx", "onnx/model_q4.onnx"):
        assert trim.files[name] < full.files[name], name
    # the removed rows account for the fp32 difference (4 bytes a value), give or take the graph's other bytes
    removed = (record["rows_total"] - record["rows_kept"]) * record["hidden_size"] * 4
    assert abs((full.files["onnx/model.onnx"] - trim.files["onnx/model.onnx"]) - removed) < 0.02 * removed
    assert trim.max_abs_diff <= 1e-4  # the ordinary check, on the trimmed tagger
    out = trim.folder
    crf = json.loads((out / "crf.json").read_text())
    assert crf["vocabulary"]["rows_kept"] == record["rows_kept"] and crf["vocabulary"]["agreement"] == 1.0
    assert "## Trimmed vocabulary" in (out / "README.md").read_text()
    config = json.loads((out / "config.json").read_text())
    state = json.loads((out / "tokenizer.json").read_text())
    vocab = {**state["model"]["vocab"], **{t["content"]: t["id"] for t in state["added_tokens"]}}
    assert config["vocab_size"] == record["rows_kept"] == len(vocab) == max(vocab.values()) + 1
    assert (config["pad_token_id"], config["cls_token_id"], config["sep_token_id"]) == \
        (vocab["[PAD]"], vocab["[CLS]"], vocab["[SEP]"])
    assert crf["tokens"]["prefix"] == [vocab["[CLS]"]] and crf["tokens"]["suffix"] == [vocab["[SEP]"]]
    assert crf["context"]["separator_id"] == vocab["[FLERT]"] and crf["tokens"]["pad"] == vocab["[PAD]"]
    assert state["post_processor"]["special_tokens"]["[CLS]"]["ids"] == [vocab["[CLS]"]]
    # the merge list stays consistent: every merge's parts and result are in the vocabulary, in the original order
    original = json.loads((full.folder / "tokenizer.json").read_text())["model"]["merges"]
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in state["model"]["merges"]]
    assert all(a in vocab and b in vocab and a + b in vocab for a, b in merges)
    ranks = {tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m): i for i, m in enumerate(original)}
    assert [ranks[m] for m in merges] == sorted(ranks[m] for m in merges)
    # the untrimmed tagger is left as it was
    assert len(bpe_tagger.embeddings.tokenizer) == record["tokenizer_size"]
    assert bpe_tagger.embeddings.model.config.vocab_size == record["rows_total"]


def test_trimmed_bpe_spells_unseen_words_in_smaller_pieces_in_python_and_node(bpe_exports, node):
    from transformers import AutoTokenizer

    from flair_modernbert.export.folder import node_word_id_mismatches

    full, trim = bpe_exports
    before = Tokenizer.from_file(str(full.folder / "tokenizer.json"))
    after = Tokenizer.from_file(str(trim.folder / "tokenizer.json"))
    finer = 0
    for word in UNSEEN:
        old, new = _pieces(before, word), _pieces(after, word)
        assert "".join(new) == "".join(old) and len(new) >= len(old), word  # the same bytes, in smaller pieces
        assert after.decode(after.encode(word, add_special_tokens=False).ids).strip() == word
        finer += len(new) > len(old)
    assert finer >= 5
    # Transformers.js reads the trimmed tokenizer.json as Python does, unseen words included
    python = AutoTokenizer.from_pretrained(str(trim.folder))
    assert node_word_id_mismatches(python, trim.folder, [UNSEEN, *sample_sentences(5)]) == []


def test_trimmed_export_predicts_in_node_as_the_untrimmed_one(bpe_exports, text_corpus, node):
    """predict.mjs on the corpus: the trimmed folder prints what the untrimmed one prints; on unseen words it runs."""
    full, trim = bpe_exports

    def predict(folder: Path, data: str) -> list[dict]:
        done = subprocess.run([node, str(folder / "predict.mjs"), "-"], input=data, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        return [json.loads(line) for line in done.stdout.splitlines()]

    data = text_corpus.read_text(encoding="utf-8")
    expected = predict(full.folder, data)
    assert sum(len(d["spans"]) for d in expected) > 5  # the random tagger predicts spans to compare
    assert predict(trim.folder, data) == expected
    (unseen,) = predict(trim.folder, " ".join(UNSEEN) + "\n")
    assert unseen["text"] == " ".join(UNSEEN)


def test_wordpiece_trim_keeps_characters_and_continuations(tiny_bert_dir, make_random_tagger, tmp_path, node):
    """A stock BERT tagger (WordPiece, uncased): every character and ##character stays, [UNK] only where the original
    gives it, Node reads the trimmed vocabulary as Python does, and the trimmed export tags the corpus as before."""
    from transformers import AutoTokenizer

    from flair_modernbert.export.folder import node_word_id_mismatches

    tagger = make_random_tagger(tiny_bert_dir, stock=True)
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"text": t, "id": i}) + "\n" for i, t in enumerate(
        ["John Smith moved to Berlin.", "The man said hi in Berlin, and John was there."])), encoding="utf-8")
    full = export_tagger(tagger, tmp_path / "full", link_node_modules=False)
    trim = export_tagger(tagger, tmp_path / "trimmed", vocab=corpus, link_node_modules=False, quantize="fp16")
    assert (trim.folder / "onnx" / "model_fp16.onnx").is_file() and trim.quantized_diffs["fp16"] <= 1e-2
    record = trim.vocabulary
    assert record["corpus_kind"] == "spans"  # {"text"} lines are span documents without spans
    assert record["model"] == "WordPiece" and record["agreement"] == 1.0
    vocab = json.loads((trim.folder / "tokenizer.json").read_text())["model"]["vocab"]
    letters = "abcdefghijklmnopqrstuvwxyz"
    assert set(letters) | {"##" + c for c in letters} | {"[UNK]", "[CLS]", "[SEP]", "[PAD]", ".", ","} <= set(vocab)
    assert {"john", "smith", "berlin", "moved"} <= set(vocab) and not {"paris", "york", "lives", "of"} & set(vocab)
    assert record["rows_kept"] == len(vocab) + 1 < record["rows_total"]  # + [FLERT], an added token
    assert trim.files["onnx/model.onnx"] < full.files["onnx/model.onnx"]
    before = Tokenizer.from_file(str(full.folder / "tokenizer.json"))
    after = Tokenizer.from_file(str(trim.folder / "tokenizer.json"))
    assert _pieces(before, "Paris") == ["paris"] and _pieces(after, "Paris") == ["p", "##a", "##r", "##i", "##s"]
    words = ["Paris", "York", "lives", "Zoë", "naïve", "xyz", "O'Neil", "東京", "€5"]
    for word in words:
        old, new = _pieces(before, word), _pieces(after, word)
        assert ("[UNK]" in new) == ("[UNK]" in old), word  # 東京, €: [UNK] in both (not in the vocabulary)
        assert "".join(p.removeprefix("##") for p in new) == "".join(p.removeprefix("##") for p in old)
    assert "[UNK]" in _pieces(after, "東京") and "[UNK]" not in _pieces(after, "naïve")
    python = AutoTokenizer.from_pretrained(str(trim.folder))
    assert node_word_id_mismatches(python, trim.folder, [words]) == []


def test_trim_tokenizer_json_refuses_word_level_and_keeps_specials(bpe_tagger, tmp_path):
    from tokenizers import models

    word_level = json.loads(Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1}, unk_token="[UNK]")).to_str())
    with pytest.raises(ValueError, match="word-level .*cannot spell unseen words|could not spell unseen words"):
        trim_tokenizer_json(word_level, {1})
    bpe_tagger.embeddings.tokenizer.save_pretrained(tmp_path)
    state = json.loads((tmp_path / "tokenizer.json").read_text())
    trimmed_state, kept, counts, _, _ = trim_tokenizer_json(state, set())  # nothing seen: bytes and specials only
    assert len(kept) == 256 + len([t for t in state["added_tokens"] if t["special"]])
    assert counts["merges_kept"] == 0 and trimmed_state["model"]["merges"] == []


def test_read_vocab_corpus_kinds(tmp_path):
    column = tmp_path / "train.conll"
    column.write_text("Jane\tB-PER\nDoe\tI-PER\n.\tO\n\nHi\tO\n", encoding="utf-8")
    assert read_vocab_corpus(column) == ([["Jane", "Doe", "."], ["Hi"]], "column")
    text = tmp_path / "docs.txt"
    text.write_text("Jane Doe moved. She is fine.\n\nHi!\n", encoding="utf-8")
    assert read_vocab_corpus(text) == ([["Jane", "Doe", "moved", "."], ["She", "is", "fine", "."], ["Hi", "!"]], "text")
    assert read_vocab_corpus(f"text:{column}")[1] == "text"  # a prefix chooses the kind
    spans = tmp_path / "spans.jsonl"
    spans.write_text(json.dumps({"text": "Jane Doe moved.", "spans": [{"start": 0, "end": 8, "type": "person"}]})
                     + "\n", encoding="utf-8")
    assert read_vocab_corpus(spans) == ([["Jane", "Doe", "moved", "."]], "spans")
    for split in ("train", "dev", "test"):
        (tmp_path / "corpus").mkdir(exist_ok=True)
        (tmp_path / "corpus" / f"{split}.conll").write_text("Jane\tB-person\nDoe\tI-person\nhi\tO\n", encoding="utf-8")
    assert read_vocab_corpus(RECIPE, [f"corpus.path={tmp_path / 'corpus'}"]) == ([["Jane", "Doe", "hi"]], "recipe")


def test_bad_vocab_arguments_are_refused(bpe_modernbert_dir, bpe_tagger, make_random_tagger, text_corpus, tmp_path,
                                         capsys):
    from flair_modernbert.cli import main
    from flair_modernbert.export.folder import write_folder

    with pytest.raises(FileNotFoundError, match="--vocab .*nope.txt: no such file"):
        export_tagger(tmp_path / "no-model", tmp_path / "out", vocab=tmp_path / "nope.txt")
    with pytest.raises(ValueError, match="--vocab-min-agreement 1.5: give a share"):
        export_tagger(tmp_path / "no-model", tmp_path / "out", vocab=text_corpus, vocab_min_agreement=1.5)
    with pytest.raises(ValueError, match="--vocab-set needs --vocab"):
        export_tagger(tmp_path / "no-model", tmp_path / "out", vocab_overrides=["corpus.path=x"])
    with pytest.raises(ValueError, match="unknown kind 'columns'"):
        read_vocab_corpus(f"columns:{text_corpus}")
    with pytest.raises(ValueError, match="--vocab-set applies to a recipe"):
        read_vocab_corpus(text_corpus, ["corpus.path=x"])
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(ValueError, match="empty.txt: no words in it"):
        export_tagger(bpe_tagger, tmp_path / "out", vocab=empty)
    assert not (tmp_path / "out").exists()
    model = tmp_path / "final-model.pt"
    bpe_tagger.save(model)
    assert main(["export", str(model), str(tmp_path / "out"), "--vocab", str(tmp_path / "nope.txt")]) == 2
    assert "nope.txt: no such file" in capsys.readouterr().err
    assert main(["export", str(model), str(tmp_path / "out"), "--vocab-set", "corpus.path=x"]) == 2
    assert "--vocab-set needs --vocab" in capsys.readouterr().err

    # below the threshold: a check against another tagger's tags (a real disagreement) refuses, nothing is kept
    other = make_random_tagger(bpe_modernbert_dir, seed=11)
    sentences, kind = read_vocab_corpus(text_corpus)
    trim = trim_vocabulary(bpe_tagger, sentences, corpus=str(text_corpus), corpus_kind=kind)
    spec = export_spec(bpe_tagger)
    check = VocabularyCheck.prepare(other, spec, trim, sentences, 0.995)
    with trimmed(bpe_tagger, trim):
        with pytest.raises(ValueError, match=r"the trimmed export tags \d+\.\d+% of the corpus's \d+ words as the "
                                             r"untrimmed tagger .* below --vocab-min-agreement 99.50%; the export "
                                             r"was not kept"):
            write_folder(bpe_tagger, export_spec(bpe_tagger), tmp_path / "refused", vocabulary=check, check=False)
    assert not (tmp_path / "refused").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".refused")]


def test_cli_export_vocab_reports_on_stderr(bpe_tagger, text_corpus, tmp_path, capsys):
    from flair_modernbert.cli import main

    model = tmp_path / "final-model.pt"
    bpe_tagger.save(model)
    out = tmp_path / "out"
    assert main(["export", str(model), str(out), "--no-node-modules", "--no-check",
                 "--vocab", f"text:{text_corpus}", "--vocab-min-agreement", "0.99"]) == 0
    captured = capsys.readouterr()
    assert f"exported to {out}" in captured.out
    assert "embedding rows kept" in captured.err and "untrimmed: about" in captured.err
    assert "corpus words (100.00%) tagged as by the untrimmed tagger (at least 99.00% required)" in captured.err
    assert json.loads((out / "crf.json").read_text())["vocabulary"]["min_agreement"] == 0.99
