"""Export to the browser, JavaScript side: the exported folder run by Transformers.js in Node (``node --test``)
gives what the Python tagger gives (the example page in headless Chromium: test_browser_page.py).

The Python side writes a fixture at test time (segmentation, subtoken ids, Flair's emission scores, tags and
``predict`` lines of several exported taggers, plus Python's own answers for JSON, float repr and rounding);
``flair_modernbert/export/js/test/parity.test.mjs`` checks the JavaScript module against it. Needs Node 20 and
the module's node_modules (``npm ci`` in flair_modernbert/export/js); without
them these tests are skipped, unless FLAIR_MODERNBERT_REQUIRE_JS=1 (set by .ci/run) turns that into a failure.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from flair_modernbert.data.columns import read_words
from flair_modernbert.export import export_tagger
from flair_modernbert.export.folder import JS_DIR
from flair_modernbert.inference import Document, redact, resolve_types, tag_documents
from flair_modernbert.segmentation import sentences as split_sentences

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "flair_modernbert" / "data" / "wnut17_sample" / "test.conll"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def sample_lines(limit: int) -> list[str]:
    return [" ".join(words) for words in read_words(SAMPLE, limit)]


#: Texts whose segmentation is easy to get wrong: code points outside the BMP, combining marks, zero-width and
#: format characters, variation selectors, URLs, handles, several kinds of line breaks, a BOM.
TRICKY = [
    "Jane Doe moved to Berlin . She loves it !",
    "\ufeffZoë Ðoe-Smith (née O'Neil) met @jdoe at www.example.com/a?b=1, then at https://x.org/p.",
    "𝕏 user 👩‍👩‍👧 said: Ann\u200b\u200bBerlin … ok?! #Paris2024 e.g. jane.doe@mail.com",
    "Line one\nLine two\r\nLine three\u2028after a line separator\u0085and NEL\tand a tab",
    "Café ☕️ with Josè (e\u0301) und Grüße aus Köln ; 東京 に 行った 。 次 ！",
    "\u05e9\u05dc\u05d5\u05dd Ahmed \u200f\u0639\u0644\u064a\u200f and Chloé\ufe0f in Montréal",
    "Smith\ufe0e met x\U000e0100y ❤️Ann 👍🏽 \u0301 東京タワー in Köln\ufe0f .",
    "   ",
    "",
    "Jane Doe ( jane.doe@acme.com , +49 30 1234567 ) paid 4111 1111 1111 1111 from 192.168.0.1 ; see www.acme.com/x .",
]


def multi_sentence_documents() -> list[str]:
    lines = sample_lines(60)
    return [" ".join(lines[i : i + 3]) for i in range(0, 24, 3)]


# ------------------------------------------------------------------------------------------ Python reference
def _word_ids(tokenizer, words: list[str]) -> list[list[int]]:
    encoding = tokenizer(words, is_split_into_words=True, add_special_tokens=False)
    grouped: list[list[int]] = [[] for _ in words]
    for token_id, word in zip(encoding["input_ids"], encoding.word_ids()):
        grouped[word].append(token_id)
    return grouped


def _emissions(tagger, sentences) -> list[list[list[float]]]:
    """The scores Flair's head gives each word (the linear layer's output), sentences in batches of 32."""
    captured = []
    handle = tagger.linear.register_forward_hook(lambda module, args, output: captured.append(output.detach()))
    found = []
    try:
        with torch.no_grad():
            for i in range(0, len(sentences), 32):
                batch = sentences[i : i + 32]
                tensor, lengths = tagger._prepare_tensors(batch)
                tagger.forward(tensor, lengths)
                found += [captured[-1][j, : len(s)].double().tolist() for j, s in enumerate(batch)]
    finally:
        handle.remove()
        for sentence in sentences:
            sentence.clear_embeddings()
    return found


def reference_documents(tagger, texts: list[str], placeholder: str | None = None) -> list[dict]:
    """What the Python tagger computes for each text; context stays inside a text, as predict intends."""
    from flair.data import Sentence

    tokenizer = tagger.embeddings.tokenizer
    groups = [split_sentences(text) for text in texts]
    flair_sentences = [[Sentence([word.text for word in group]) for group in doc] for doc in groups]
    for doc in flair_sentences:
        Sentence.set_context_for_sentences(doc)  # also for one sentence: no context from other texts
    flat = [sentence for doc in flair_sentences for sentence in doc]
    emissions = iter(_emissions(tagger, flat))
    tagger.predict(flat, label_name="tags", force_token_predictions=True)
    if tagger.embeddings.context_length:
        # predict links the sentences of one-sentence lines to each other (flair's set_context_for_sentences
        # skips only sentences already linked): tag each text alone so that context stays inside it
        tagged = [tag_documents(tagger, [Document(text)])[0] for text in texts]
        everything = [tag_documents(tagger, [Document(text)], resolve_types(tagger, ["all"]))[0] for text in texts]
    else:
        tagged = tag_documents(tagger, [Document(text) for text in texts])
        everything = tag_documents(tagger, [Document(text) for text in texts], resolve_types(tagger, ["all"]))
    documents = []
    for text, doc_groups, doc_sentences, document, full in zip(texts, groups, flair_sentences, tagged, everything):
        redacted, span_map = redact(document, placeholder)
        redacted_all, span_map_all = redact(full)  # --types all: pattern spans merged in, rules.json's placeholder
        documents.append({
            "text": text,
            "ids": [_word_ids(tokenizer, [word.text for word in group]) for group in doc_groups],
            "emissions": [next(emissions) for _ in doc_sentences],
            "tags": [[token.get_label("tags").value for token in sentence] for sentence in doc_sentences],
            "line": json.dumps(document.to_json(), ensure_ascii=False),
            "redacted": redacted,
            "span_map": span_map,
            "line_all": json.dumps(full.to_json(), ensure_ascii=False),
            "redacted_all": redacted_all,
            "span_map_all": span_map_all,
        })
    return documents


def python_values() -> dict:
    """Python's answers for what pyjson.mjs and round4 imitate."""
    import random

    rng = random.Random(0)
    floats = [rng.random() for _ in range(300)] + [k / 32 for k in range(33)] + [0.00005, 0.99995, 1.0, 0.5]
    reprs = [1.0, 0.0, -0.0, 1e16, 1e15, 1.5e16, 1e-05, 0.0001, 0.00012345, 5e-324, 1e22, 123456.789, -2.5e-7,
             float("nan"), float("inf"), float("-inf"), *floats[:50]]
    strips = ["  a  ", "\x1c\x1fa b\u3000", "\u200ba\u200b", "\x85x\xa0", "\ufeffa"]
    jsons = ['{"b": 1, "2": [1.0, 1e400, -0, 1E2, 12345678901234567890123], "a": {"x": null, "y": true}}',
             '{"s": "tab\\t \\u00e9 \\ud83d\\ude00 \\u001f \\" \\\\ / \\u2028", "n": NaN, "i": -Infinity}',
             '{"dup": 1, "k": 2, "dup": 3}', '[]', '"plain"']
    return {
        "round": [[x, round(x, 4)] for x in floats],
        "repr": [[x, repr(x)] for x in reprs if math.isfinite(x)],
        "strip": [[text, text.strip()] for text in strips],
        "json": [[text, json.dumps(json.loads(text), ensure_ascii=False)] for text in jsons],
    }


def rounding_flips(found: str, expected: str) -> int:
    """Span scores of two predict lines that differ by one step of the 4th decimal; everything else must be equal.

    ONNX Runtime and torch compute the token confidences ~1e-7 apart, so a span score sitting on a rounding
    boundary of ``round(score, 4)`` can come out one step away (about 1 span in 300 here).
    """
    if found == expected:
        return 0
    a, b = json.loads(found), json.loads(expected)
    assert len(a["spans"]) == len(b["spans"]), (found, expected)
    flips = 0
    for x, y in zip(a["spans"], b["spans"]):
        assert abs(x["score"] - y["score"]) <= 1.0001e-4, (found, expected)
        flips += x["score"] != y["score"]
        x["score"] = y["score"]
    assert a == b and list(a) == list(b), (found, expected)
    return flips


# ------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def crf_export(bpe_modernbert_dir, make_random_tagger, tmp_path_factory):
    """A CRF tagger with random weights and transitions (many different tags), saved and exported with fp16, int8
    and q4 copies."""
    tagger = make_random_tagger(bpe_modernbert_dir, layers="-1", subtoken_pooling="first")
    folder = tmp_path_factory.mktemp("crf-export")
    tagger.save(folder / "final-model.pt")
    export_tagger(tagger, folder / "export", quantize="fp16,int8,q4")
    return tagger, folder


@pytest.fixture(scope="module")
def softmax_context_export(bpe_modernbert_dir, make_random_tagger, tmp_path_factory):
    """Softmax head, first_last pooling over two concatenated layers with the final norm, FLERT context of 5 words."""
    tagger = make_random_tagger(bpe_modernbert_dir, head="softmax", layers="-1,-2", layer_mean=False,
                                subtoken_pooling="first_last", final_norm=True, use_context=5)
    folder = tmp_path_factory.mktemp("softmax-export")
    export_tagger(tagger, folder / "export")
    return tagger, folder


@pytest.fixture(scope="module")
def bert_crf_export(tiny_bert_dir, make_random_tagger, tmp_path_factory):
    """Flair's stock TransformerWordEmbeddings over a tiny BERT (WordPiece, lower-casing, accents stripped) with a
    window of 128 subtokens and Flair's strided windows, CRF head, first pooling; saved, exported with fp16, int8
    and q4 copies."""
    tagger = make_random_tagger(tiny_bert_dir, stock=True, layers="-1", subtoken_pooling="first",
                                allow_long_sentences=True, transformers_tokenizer_kwargs={"model_max_length": 128})
    folder = tmp_path_factory.mktemp("bert-crf-export")
    tagger.save(folder / "final-model.pt")
    export_tagger(tagger, folder / "export", quantize="fp16,int8,q4")
    return tagger, folder


@pytest.fixture(scope="module")
def bert_softmax_context_export(tiny_bert_dir, make_random_tagger, tmp_path_factory):
    """Stock BERT tagger, softmax head, mean pooling over two concatenated layers, FLERT context of 3 words kept
    whole (stock Flair) and strided with the sentence when they do not fit the window."""
    tagger = make_random_tagger(tiny_bert_dir, stock=True, head="softmax", layers="-1,-2", layer_mean=False,
                                subtoken_pooling="mean", use_context=3, allow_long_sentences=True,
                                transformers_tokenizer_kwargs={"model_max_length": 128})
    folder = tmp_path_factory.mktemp("bert-softmax-export")
    export_tagger(tagger, folder / "export")
    return tagger, folder


@pytest.fixture(scope="module")
def bert_truncating_export(tiny_bert_dir, make_random_tagger, tmp_path_factory):
    """Stock BERT tagger with allow_long_sentences=False: sequences longer than the window are truncated (the words
    after the cut get zero vectors); CRF head, first_last pooling, context of 2 words without the [FLERT] separator."""
    tagger = make_random_tagger(tiny_bert_dir, stock=True, subtoken_pooling="first_last", use_context=2,
                                use_context_separator=False, allow_long_sentences=False,
                                transformers_tokenizer_kwargs={"model_max_length": 128})
    folder = tmp_path_factory.mktemp("bert-truncating-export")
    export_tagger(tagger, folder / "export")
    return tagger, folder


@pytest.fixture(scope="module")
def roberta_crf_export(bpe_modernbert_dir, make_random_tagger, tmp_path_factory):
    """A stock tagger over a tiny random RoBERTa (model_type 'roberta': positions after the padding index) with the
    byte-level BPE tokenizer of ``bpe_modernbert_dir`` (Flair loads it with add_prefix_space=True), a window of 128,
    FLERT context of 2 words, CRF head; saved and exported."""
    import shutil

    from transformers import AutoTokenizer, RobertaConfig, RobertaModel

    folder = tmp_path_factory.mktemp("roberta-crf-export")
    model_dir = folder / "tiny-roberta"
    model_dir.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (bpe_modernbert_dir / name).is_file():
            shutil.copyfile(bpe_modernbert_dir / name, model_dir / name)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        config = RobertaConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                               intermediate_size=37, max_position_embeddings=160, type_vocab_size=1,
                               pad_token_id=tokenizer.pad_token_id)
        RobertaModel(config).save_pretrained(model_dir)
    tagger = make_random_tagger(model_dir, stock=True, use_context=2, allow_long_sentences=True,
                                transformers_tokenizer_kwargs={"model_max_length": 128})
    tagger.save(folder / "final-model.pt")
    export_tagger(tagger, folder / "export")
    return tagger, folder


def _tiny_xlmr(model_dir: Path, normalizer=None) -> Path:
    """A tiny random XLM-RoBERTa with a SentencePiece-style tokenizer (Unigram, Metaspace pre-tokenizer prepending
    '▁', NFKC unless ``normalizer`` is given; trained on the shipped WNUT-17 sample) and a window of 128."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import XLMRobertaConfig, XLMRobertaModel, XLMRobertaTokenizerFast

    backend = Tokenizer(models.Unigram())
    backend.normalizer = normalizer or normalizers.NFKC()
    backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    trainer = trainers.UnigramTrainer(vocab_size=1000, special_tokens=specials, unk_token="<unk>")
    backend.train_from_iterator([" ".join(words) for words in read_words(SAMPLE.with_name("train.conll"))], trainer)
    backend.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", backend.token_to_id("<s>")), ("</s>", backend.token_to_id("</s>"))])
    tokenizer = XLMRobertaTokenizerFast(tokenizer_object=backend, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                        pad_token="<pad>", cls_token="<s>", sep_token="</s>", mask_token="<mask>",
                                        model_max_length=128)
    tokenizer.save_pretrained(model_dir)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        config = XLMRobertaConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                  intermediate_size=37, max_position_embeddings=160, type_vocab_size=1,
                                  pad_token_id=tokenizer.pad_token_id)
        XLMRobertaModel(config).save_pretrained(model_dir)
    return model_dir


@pytest.fixture(scope="module")
def xlmr_crf_export(make_random_tagger, tmp_path_factory):
    """A stock tagger over a tiny random XLM-RoBERTa (SentencePiece-style tokenizer), first_last pooling."""
    folder = tmp_path_factory.mktemp("xlmr-crf-export")
    tagger = make_random_tagger(_tiny_xlmr(folder / "tiny-xlmr"), stock=True, subtoken_pooling="first_last",
                                allow_long_sentences=True)
    tagger.save(folder / "final-model.pt")
    export_tagger(tagger, folder / "export")
    return tagger, folder


def test_export_refuses_a_tokenizer_transformers_js_cannot_read(node, make_random_tagger, tmp_path):
    """The export asks Transformers.js (in Node) for the ids of sample words: a tokenizer.json with a component it
    does not implement (the Nmt normalizer) is refused with its message, and nothing is written."""
    from tokenizers import normalizers

    model_dir = _tiny_xlmr(tmp_path / "nmt-xlmr", normalizers.Sequence([normalizers.Nmt(), normalizers.NFKC()]))
    tagger = make_random_tagger(model_dir, stock=True)
    with pytest.raises(ValueError, match="Transformers.js cannot load the exported tokenizer.json: .*Nmt"):
        export_tagger(tagger, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["nmt-xlmr"]  # no half-written folder left behind


def _with_window(tagger, window: int):
    """Python's tagger with a window of ``window`` subtokens, as ModernBertEmbeddings or stock Flair sets one up."""
    tagger.embeddings.tokenizer.model_max_length = window
    tagger.embeddings.stride = window // 2 if tagger.embeddings.allow_long_sentences else 0
    return tagger


#: Transformers.js dtypes of the quantized copies, and the least share of words whose tag (Viterbi or softmax) they
#: must agree on with fp32 (untrained random taggers, unsure everywhere; measured values are in the test's output).
DTYPE_FLOORS = {"fp16": 0.98, "q8": 0.9, "q4": 0.8}


def _windowless_bert_export(tiny_bert_dir, make_random_tagger, folder: Path) -> tuple:
    """A stock BERT tagger whose tokenizer has no model_max_length: Flair neither strides nor truncates, so a
    sequence longer than the model's 128 positions fails in Python; returns the tagger, its export and such a text."""
    from flair.data import Sentence

    tagger = make_random_tagger(tiny_bert_dir, stock=True)
    export_tagger(tagger, folder / "export", link_node_modules=False)
    text = " ".join(sample_lines(12))
    with pytest.raises(RuntimeError, match="128"):  # Python's own answer: the position embeddings end at 128
        tagger.predict([Sentence([w.text for w in s]) for s in split_sentences(text.replace(" .", " ,"))])
    return tagger, folder / "export", text.replace(" .", " ,")


def test_node_module_matches_python(node, crf_export, softmax_context_export, bert_crf_export,
                                    bert_softmax_context_export, bert_truncating_export, tiny_bert_dir,
                                    make_random_tagger, tmp_path):
    crf, crf_folder = crf_export
    softmax, softmax_folder = softmax_context_export
    bert, bert_folder = bert_crf_export
    bert_softmax, bert_softmax_folder = bert_softmax_context_export
    bert_cut, bert_cut_folder = bert_truncating_export
    texts = sample_lines(60) + TRICKY
    long_texts = [" ".join(sample_lines(20)[i : i + 4]).replace(" .", ",") for i in range(0, 16, 4)]
    cases = [
        {"name": "crf, first pooling", "folder": str(crf_folder / "export"), "min_distinct_tags": 12,
         "dtypes": DTYPE_FLOORS, "documents": reference_documents(crf, texts)},
        {"name": "softmax, first_last, 2 layers, final norm, context 5",
         "folder": str(softmax_folder / "export"),
         "documents": reference_documents(softmax, multi_sentence_documents() + TRICKY[:3])},
        {"name": "bert (stock Flair, WordPiece), crf, first pooling, long sentences strided",
         "folder": str(bert_folder / "export"), "min_distinct_tags": 12, "dtypes": DTYPE_FLOORS,
         "documents": reference_documents(bert, texts + long_texts)},
        {"name": "bert (stock Flair), softmax, mean, 2 layers, context 3 kept whole",
         "folder": str(bert_softmax_folder / "export"),
         "documents": reference_documents(bert_softmax, multi_sentence_documents() + TRICKY[:3] + long_texts[:2])},
        {"name": "bert (stock Flair), crf, first_last, context 2 without separator, truncated at the window",
         "folder": str(bert_cut_folder / "export"),
         "documents": reference_documents(bert_cut, multi_sentence_documents()[:4] + long_texts + texts[:6])},
    ]
    windows = {tagger: tagger.embeddings.tokenizer.model_max_length
               for tagger in (crf, softmax, bert, bert_softmax, bert_cut)}
    try:
        cases.append({"name": "crf, sentences longer than a 24-subtoken window (strided windows)",
                      "folder": str(crf_folder / "export"), "options": {"maxLength": 24},
                      "documents": reference_documents(_with_window(crf, 24), long_texts + texts[:10])})
        cases.append({"name": "softmax with context trimmed to a 40-subtoken window",
                      "folder": str(softmax_folder / "export"), "options": {"maxLength": 40},
                      "documents": reference_documents(_with_window(softmax, 40), multi_sentence_documents()[:4] + long_texts[:2])})
        cases.append({"name": "bert crf, strided windows of 24 subtokens",
                      "folder": str(bert_folder / "export"), "options": {"maxLength": 24},
                      "documents": reference_documents(_with_window(bert, 24), long_texts + texts[:10])})
        cases.append({"name": "bert softmax, context kept whole, strided in windows of 24 subtokens",
                      "folder": str(bert_softmax_folder / "export"), "options": {"maxLength": 24},
                      "documents": reference_documents(_with_window(bert_softmax, 24),
                                                       multi_sentence_documents()[:4] + long_texts[:2])})
        cases.append({"name": "bert crf, context, truncated at 24 subtokens",
                      "folder": str(bert_cut_folder / "export"), "options": {"maxLength": 24},
                      "documents": reference_documents(_with_window(bert_cut, 24),
                                                       multi_sentence_documents()[:4] + long_texts[:2] + texts[:6])})
    finally:
        for tagger, window in windows.items():
            _with_window(tagger, window)
    _, windowless, too_long = _windowless_bert_export(tiny_bert_dir, make_random_tagger, tmp_path / "windowless")
    (node_modules := windowless / "node_modules").symlink_to((JS_DIR / "node_modules").resolve())
    refusals = [{"folder": str(windowless), "text": too_long,
                 "pattern": "more than the window of 128; the tokenizer has no window \\(model_max_length\\) and the "
                            "model no more positions, so Python's tagger fails on it too"}]
    assert node_modules.is_symlink()
    fixture = tmp_path / "fixture.json"
    fixture.write_text(json.dumps({"cases": cases, "refusals": refusals, "segmentation": [
        {"text": text, "sentences": [[[w.text, w.start, w.end] for w in s] for s in split_sentences(text)]}
        for text in texts + long_texts], "python": python_values()}, ensure_ascii=False), encoding="utf-8")
    run = subprocess.run([node, "--test", "--test-reporter=spec", str(JS_DIR / "test" / "parity.test.mjs")],
                         env={**os.environ, "FLAIR_MODERNBERT_FIXTURE": str(fixture)}, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert "ℹ fail 0" in run.stdout and "ℹ pass 0" not in run.stdout
    assert "✔ a sequence Python cannot run" in run.stdout
    agreement = [line.strip() for line in run.stdout.splitlines() if "agreement with fp32" in line]
    assert len(agreement) == 2 * len(DTYPE_FLOORS), run.stdout[-6000:]
    print("\n".join(agreement))  # noqa: T201 - the measured numbers, for -s


@pytest.mark.parametrize("export", ["crf_export", "bert_crf_export", "roberta_crf_export", "xlmr_crf_export"])
def test_predict_mjs_prints_what_predict_prints(node, export, request):
    """The same input through `flair-modernbert predict MODEL -` and `node OUT/predict.mjs -`: identical output
    (a ModernBERT tagger, and stock Flair taggers over BERT with WordPiece, over RoBERTa with byte-level BPE and
    context, over XLM-RoBERTa with a SentencePiece-style Unigram tokenizer)."""
    _, folder = request.getfixturevalue(export)
    lines = sample_lines(60) + TRICKY[:6] + [
        json.dumps({"id": 7, "text": "Jane Doe moved to Berlin .", "spans": [], "meta": {"a": [1.0, 2]}}),
        '{"2": "first?", "text": "Ann in Paris", "x": 1e400}',
        "trailing carriage return\r",
    ]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    python = subprocess.run([sys.executable, "-m", "flair_modernbert.cli", "predict", str(folder), "-", "--batch-size", "8"],
                            input=data, capture_output=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert python.returncode == 0, python.stderr.decode()[-3000:]
    js = subprocess.run([node, str(folder / "export" / "predict.mjs"), "-", "--batch-size", "8"], input=data,
                        capture_output=True, timeout=600)
    assert js.returncode == 0, js.stderr.decode()[-3000:]
    # split at \n only: lines hold U+2028 and U+0085, which str.splitlines() would split at
    expected, found = python.stdout.decode().split("\n")[:-1], js.stdout.decode().split("\n")[:-1]
    assert len(found) == len(expected) == data.count(b"\n")
    flips = sum(rounding_flips(f, e) for f, e in zip(found, expected))
    spans = sum(len(json.loads(line)["spans"]) for line in expected)
    assert spans > 100 and flips <= max(2, spans // 100), (flips, spans)
    assert sum(f == e for f, e in zip(found, expected)) >= len(expected) - flips


def test_predict_mjs_redacts_as_redact_does(node, crf_export):
    """`flair-modernbert redact` and `predict --types all` against `node predict.mjs --redact` / `--types all`:
    pattern spans merged with the model's, one numbered placeholder per entity of a line, the same output."""
    _, folder = crf_export
    lines = sample_lines(30) + TRICKY[-1:] + [
        "Mail jane.doe@acme.com or JANE.DOE@ACME.COM , call 030 1234567 or +49 30 1234567 , IBAN DE89 3704 0044 0532 0130 00",
        json.dumps({"id": 3, "text": "Card 4111-1111-1111-1111 , ip 2001:db8::1 , www.acme.com ."}),
    ]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    for python_args, js_args in ((["redact"], ["--redact"]), (["redact", "--placeholder", "<{type}-{n}>", "--no-join-partial"],
                                 ["--redact", "--placeholder", "<{type}-{n}>", "--no-join-partial"]),
                                 (["predict", "--types", "all"], ["--types", "all"])):
        python = subprocess.run([sys.executable, "-m", "flair_modernbert.cli", python_args[0], str(folder), "-",
                                 *python_args[1:]], input=data, capture_output=True, timeout=600,
                                env={**os.environ, "OMP_NUM_THREADS": "1"})
        assert python.returncode == 0, python.stderr.decode()[-3000:]
        js = subprocess.run([node, str(folder / "export" / "predict.mjs"), "-", *js_args], input=data,
                            capture_output=True, timeout=600)
        assert js.returncode == 0, js.stderr.decode()[-3000:]
        expected, found = python.stdout.decode().split("\n")[:-1], js.stdout.decode().split("\n")[:-1]
        assert len(found) == len(expected) == len(lines)
        if python_args[0] == "redact":
            assert found == expected, python_args
            assert "[EMAIL_1]" in expected[-2] or "<EMAIL-1>" in expected[-2]
        else:
            flips = sum(rounding_flips(f, e) for f, e in zip(found, expected))
            spans = sum(len(json.loads(line)["spans"]) for line in expected)
            assert flips <= max(2, spans // 100), (flips, spans)
            assert sum(span["type"] == "email" for span in json.loads(expected[-2])["spans"]) == 2
