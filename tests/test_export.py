"""Export to ONNX + Transformers.js, Python side: the graph reproduces Flair's emission scores (ModernBERT and stock
Flair BERT taggers), the exported tokenizer gives Python's ids, the quantized copies (fp16, int8, q4) are written
and stay close, unsupported taggers and options are refused before any work."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from flair_modernbert.export import UnsupportedModelError, export_spec, export_tagger, parse_quantize
from flair_modernbert.export.onnx_graph import export_onnx
from flair_modernbert.export.verify import flair_emissions, onnx_emissions

SAMPLE = Path(__file__).parent.parent / "flair_modernbert" / "data" / "wnut17_sample" / "test.conll"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def sample_sentences(limit: int = 200) -> list[list[str]]:
    sentences, words = [], []
    for line in SAMPLE.read_text(encoding="utf-8").splitlines() + [""]:
        if line.strip():
            words.append(line.split("\t")[0])
        elif words:
            sentences.append(words)
            words = []
    return sentences[:limit]


# a sentence longer than the tiny model's local attention window (16 subtokens), so local layers mask
LONG = ("In 2019 Jane Doe and John Smith flew from New York to Berlin , then drove through Bavaria , Austria and "
        "northern Italy before they reached Lake Como on a rainy Sunday in late October .").split()


@pytest.mark.parametrize(
    "options",
    [
        dict(subtoken_pooling="first", layers="-1"),
        dict(subtoken_pooling="first_last", layers="-1,-3", layer_mean=False, final_norm=True),
        dict(subtoken_pooling="mean", layers="0,-1", layer_mean=True),
        dict(subtoken_pooling="last", layers="-2"),
    ],
    ids=["first", "first_last-concat-final_norm", "mean-layer_mean", "last"],
)
def test_graph_emissions_equal_flair(bpe_modernbert_dir, make_random_tagger, tmp_path, options):
    """ONNX Runtime on the exported graph gives Flair's emission scores (<= 1e-4): single sentences, a padded
    batch of mixed lengths, and a sentence longer than the local attention window."""
    tagger = make_random_tagger(bpe_modernbert_dir, **options)
    spec = export_spec(tagger)
    model = export_onnx(tagger, spec, tmp_path / "model.onnx")
    tokenizer = tagger.embeddings.tokenizer
    sentences = [LONG, *sample_sentences(6), ["Hi"]]
    assert len(tokenizer(LONG, is_split_into_words=True)["input_ids"]) > 2 * tagger.embeddings.model.config.local_attention
    reference = flair_emissions(tagger, sentences)
    for words, expected in zip(sentences, reference):  # one at a time
        (found,) = onnx_emissions(model, tokenizer, spec, [words])
        assert np.abs(found - expected).max() <= 1e-4
    batch = onnx_emissions(model, tokenizer, spec, sentences)  # one padded batch
    worst = max(float(np.abs(a - b).max()) for a, b in zip(batch, reference))
    assert worst <= 1e-4, worst
    assert max(float(np.abs(e).max()) for e in reference) > 0.5  # the scores are not all near zero


@pytest.mark.parametrize(
    "options",
    [
        dict(subtoken_pooling="first", layers="-1"),
        dict(subtoken_pooling="first_last", layers="-1,-2", layer_mean=False),
        dict(subtoken_pooling="mean", layers="0,-1", layer_mean=True),
        dict(subtoken_pooling="last", layers="-2"),
    ],
    ids=["first", "first_last-concat", "mean-layer_mean", "last"],
)
def test_bert_graph_emissions_equal_stock_flair(tiny_bert_dir, make_random_tagger, tmp_path, options):
    """A stock Flair TransformerWordEmbeddings tagger over BERT (WordPiece): the exported graph gives Flair's
    emission scores, one sentence at a time and as one padded batch; ids are those of is_split_into_words."""
    from flair_modernbert.export.folder import word_id_mismatches

    tagger = make_random_tagger(tiny_bert_dir, stock=True, **options)
    spec = export_spec(tagger)
    assert (spec.embeddings, spec.model_type, spec.trim_context, spec.final_norm) == ("stock", "bert", False, False)
    model = export_onnx(tagger, spec, tmp_path / "model.onnx")
    tokenizer = tagger.embeddings.tokenizer
    # the tiny vocabulary spells most words letter by letter: sentences within its 128 positions
    sentences = [LONG[:12], *sample_sentences(12), ["Hi"], ["Zoë", "Köln", "e\u0301", "東京", "O'Neil", "co-founder"]]
    sentences = [s for s in sentences if len(tokenizer(s, is_split_into_words=True)["input_ids"]) <= 128]
    assert len(sentences) >= 8
    reference = flair_emissions(tagger, sentences)
    for words, expected in zip(sentences, reference):
        (found,) = onnx_emissions(model, tokenizer, spec, [words])
        assert np.abs(found - expected).max() <= 1e-4
    batch = onnx_emissions(model, tokenizer, spec, sentences)
    assert max(float(np.abs(a - b).max()) for a, b in zip(batch, reference)) <= 1e-4
    assert max(float(np.abs(e).max()) for e in reference) > 0.5
    tokenizer.save_pretrained(tmp_path / "tok")
    state = (tmp_path / "tok" / "tokenizer.json").read_text(encoding="utf-8")
    assert word_id_mismatches(tokenizer, state, sample_sentences(50) + sentences) == []


def test_exported_tokenizer_gives_python_ids_and_needs_the_prefix_space(bpe_modernbert_dir, make_random_tagger, tmp_path):
    """tokenizer.json (all Transformers.js reads) gives each word the ids Flair uses; without the prefix-space rule
    (the hub's ModernBERT setting) most sentences get other ids: the negative control."""
    from tokenizers import Tokenizer

    tagger = make_random_tagger(bpe_modernbert_dir)
    out = export_tagger(tagger, tmp_path / "out", link_node_modules=False, check=False).folder
    state = json.loads((out / "tokenizer.json").read_text(encoding="utf-8"))
    assert state["pre_tokenizer"]["add_prefix_space"] is True
    python = tagger.embeddings.tokenizer

    def mismatches(backend: Tokenizer) -> int:
        wrong = 0
        for words in sample_sentences():
            encoding = python(words, is_split_into_words=True, add_special_tokens=False)
            expected = [[] for _ in words]
            for token_id, word in zip(encoding["input_ids"], encoding.word_ids()):
                expected[word].append(token_id)
            # the JavaScript side tokenizes each word on its own, without special tokens
            found = [backend.encode(word, add_special_tokens=False).ids for word in words]
            wrong += found != expected
        return wrong

    assert mismatches(Tokenizer.from_str(json.dumps(state))) == 0
    state["pre_tokenizer"]["add_prefix_space"] = False
    assert mismatches(Tokenizer.from_str(json.dumps(state))) > 0.9 * len(sample_sentences())


def test_export_folder_is_what_transformers_js_loads(bpe_modernbert_dir, make_random_tagger, tmp_path):
    tagger = make_random_tagger(bpe_modernbert_dir, use_context=2)
    result = export_tagger(tagger, tmp_path / "out", quantize="int8", link_node_modules=False)
    out = result.folder
    config = json.loads((out / "config.json").read_text())
    tags = tagger.label_dictionary.get_items()
    assert config["model_type"] == "modernbert"
    assert [config["id2label"][str(i)] for i in range(len(tags))] == tags
    crf = json.loads((out / "crf.json").read_text())
    assert crf["tags"] == tags and crf["tag_format"] == "BIOES" and crf["pooling"] == "first"
    assert tags[crf["crf"]["start"]] == "<START>" and tags[crf["crf"]["stop"]] == "<STOP>"
    transitions = tagger.crf.transitions.detach().numpy()
    assert np.array_equal(np.asarray(crf["crf"]["transitions"], dtype=np.float32), transitions)  # exact float32
    assert crf["context"] == {"length": 2, "separator": "[FLERT]", "trim": True,
                              "separator_id": tagger.embeddings.tokenizer.convert_tokens_to_ids("[FLERT]")}
    assert crf["tokens"]["overflow"] == "stride" and crf["encoder"]["embeddings"] == "modernbert"
    assert crf["model_files"] == {"fp32": "onnx/model.onnx", "q8": "onnx/model_quantized.onnx"}
    assert crf["tokens"]["prefix"] == [tagger.embeddings.tokenizer.cls_token_id]
    assert crf["tokens"]["suffix"] == [tagger.embeddings.tokenizer.sep_token_id]
    for name in ("onnx/model.onnx", "onnx/model_quantized.onnx", "tokenizer.json", "tokenizer_config.json",
                 "tagger.mjs", "predict.mjs", "package.json", "package-lock.json", "README.md", "JAVASCRIPT.md"):
        assert (out / name).is_file(), name
    assert result.files["onnx/model_quantized.onnx"] < result.files["onnx/model.onnx"]
    assert result.max_abs_diff is not None and result.max_abs_diff <= 1e-4
    assert "onnx/model.onnx" in result.summary()


def test_unsupported_taggers_are_refused_before_any_work(bpe_modernbert_dir, tiny_bert_dir, make_random_tagger, tmp_path):
    from flair.data import Dictionary
    from flair.embeddings import TransformerWordEmbeddings
    from flair.models import SequenceTagger

    out = tmp_path / "out"
    with pytest.raises(UnsupportedModelError, match="LSTM.*bilstm-crf"):
        export_tagger(make_random_tagger(bpe_modernbert_dir, head="bilstm-crf"), out)
    with pytest.raises(UnsupportedModelError, match="use_context: 'document'"):
        export_tagger(make_random_tagger(bpe_modernbert_dir, use_context="document"), out)
    types = Dictionary(add_unk=False)
    types.span_labels = True
    types.add_item("person")
    bert = SequenceTagger(TransformerWordEmbeddings(str(tiny_bert_dir)), types, "ner", use_crf=True, use_rnn=False,
                          reproject_embeddings=False)
    export_spec(bert)  # a stock BERT tagger exports ...
    bert.embeddings.model.config.model_type = "gpt2"  # ... a model Transformers.js has no token classifier for does not
    with pytest.raises(UnsupportedModelError, match="a 'gpt2' model, which Transformers.js does not run for token "
                                                    "classification; export supports bert, camembert"):
        export_tagger(bert, out)
    slow = SequenceTagger(TransformerWordEmbeddings(str(tiny_bert_dir), transformers_tokenizer_kwargs={"use_fast": False}),
                          types, "ner", use_crf=False, use_rnn=False, reproject_embeddings=False)
    with pytest.raises(UnsupportedModelError, match="tokenizer: BertTokenizer is a slow \\(Python\\) tokenizer; "
                                                    "Transformers.js reads tokenizer.json"):
        export_tagger(slow, out)
    with pytest.raises(UnsupportedModelError, match="embeddings are StackedEmbeddings"):
        from flair.embeddings import StackedEmbeddings

        stacked = SequenceTagger(StackedEmbeddings([TransformerWordEmbeddings(str(tiny_bert_dir))]), types, "ner",
                                 use_crf=False, use_rnn=False, reproject_embeddings=False)
        export_tagger(stacked, out)
    assert not out.exists()


def test_bert_export_folder_windows_and_quantized_copies(tiny_bert_dir, make_random_tagger, tmp_path, caplog):
    """A stock BERT tagger exports with BertForTokenClassification's config; how long sequences are handled follows
    stock Flair (no tokenizer window: error past the model's positions; allow_long_sentences: stride; else:
    truncate); --quantize fp16,int8,q4 writes the three files Transformers.js loads, each close to Flair, and ONNX
    Runtime's quantizers do not flood the log (a line per graph node) while our own progress lines stay."""
    tagger = make_random_tagger(tiny_bert_dir, stock=True, use_context=3)
    caplog.set_level(logging.DEBUG)
    result = export_tagger(tagger, tmp_path / "out", quantize="q4,fp16,q8", link_node_modules=False)
    chatter = [r.getMessage() for r in caplog.records
               if "onnxruntime" in r.pathname or r.name.startswith("onnxruntime")]
    assert chatter == []
    assert any(r.getMessage().startswith("wrote ") and r.getMessage().split(" (")[0].endswith("model_q4.onnx")
               for r in caplog.records)
    out = result.folder
    config = json.loads((out / "config.json").read_text())
    assert config["model_type"] == "bert" and config["architectures"] == ["BertForTokenClassification"]
    crf = json.loads((out / "crf.json").read_text())
    assert crf["tokens"]["overflow"] == "error" and crf["tokens"]["max_length"] == 128  # max_position_embeddings
    assert crf["context"]["trim"] is False and crf["context"]["separator"] == "[FLERT]"
    assert crf["tokens"]["prefix"] == [tagger.embeddings.tokenizer.cls_token_id]
    assert crf["model_files"] == {"fp32": "onnx/model.onnx", "fp16": "onnx/model_fp16.onnx",
                                  "q8": "onnx/model_quantized.onnx", "q4": "onnx/model_q4.onnx"}
    for name in crf["model_files"].values():
        assert (out / name).is_file(), name
    assert result.max_abs_diff <= 1e-4
    # fp16 is near fp32; int8 and q4 move the scores more (tiny random model: 32-wide rows, one q4 block each)
    assert set(result.quantized_diffs) == {"fp16", "int8", "q4"}
    assert result.quantized_diffs["fp16"] <= 1e-2 < 1.0 and result.quantized_diffs["q4"] < 1.0
    import onnx

    q4 = onnx.load(str(out / "onnx" / "model_q4.onnx"))
    assert any(node.op_type == "MatMulNBits" for node in q4.graph.node)
    assert any(t.name.endswith("_q4_codes") for t in q4.graph.initializer)  # 4-bit embedding tables
    summary = result.summary()
    assert "onnx/model_q4.onnx" in summary and "(q4)" in summary and "(fp16)" in summary

    windowed = make_random_tagger(tiny_bert_dir, stock=True, allow_long_sentences=True,
                                  transformers_tokenizer_kwargs={"model_max_length": 64})
    assert export_spec(windowed).overflow == "stride" and export_spec(windowed).max_length == 64
    cut = make_random_tagger(tiny_bert_dir, stock=True, allow_long_sentences=False,
                             transformers_tokenizer_kwargs={"model_max_length": 64})
    assert export_spec(cut).overflow == "truncate"


def _table_graph(path: Path, table: np.ndarray, weight: np.ndarray) -> None:
    """ids -> Gather(table) -> MatMul(weight) -> logits, the shape of an encoder's first and last steps."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "ids"], ["rows"]), helper.make_node("MatMul", ["rows", "weight"], ["logits"])],
        "table", [helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "n"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "n", weight.shape[1]])],
        [numpy_helper.from_array(table, "table"), numpy_helper.from_array(weight, "weight")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


def _rows(path: Path, ids: np.ndarray) -> np.ndarray:
    """The looked-up rows of a table graph's (quantized) copy: its output cut before the MatMul."""
    import onnx
    import onnxruntime

    model = onnx.load(str(path))
    matmul = next(n for n in model.graph.node if n.op_type in ("MatMul", "MatMulNBits"))
    model.graph.node.remove(matmul)
    model.graph.output[0].name = matmul.input[0]
    model.graph.output[0].type.tensor_type.ClearField("shape")
    return onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, {"ids": ids})[0]


@pytest.mark.parametrize("width", [64, 40])
def test_q4_embedding_tables_are_4_bit_blocks(tmp_path, width):
    """q4 stores embedding tables as 4-bit codes in blocks of 32 with a float16 scale and minimum, unpacked by
    standard operators (no contrib op: the browsers' WebAssembly build lacks GatherBlockQuantized): each looked-up
    value within half a step of the float table (an outlier coarsens its own block only), ids of any shape, a row
    width that is not a multiple of the block padded and cut back; the file 5 / 8 of the int8-table one's size;
    embedding_block_size=None keeps int8 tables; a block size that is not a power of two >= 16 is refused by name."""
    import onnx

    from flair_modernbert.export.onnx_graph import quantize_q4

    rng = np.random.default_rng(0)
    table = rng.normal(size=(4000, width)).astype(np.float32)
    table[7, 3] = 40.0
    weight = rng.normal(size=(width, 8)).astype(np.float32)
    _table_graph(tmp_path / "model.onnx", table, weight)

    four = quantize_q4(tmp_path / "model.onnx", tmp_path / "q4.onnx", embedding_block_size=32)
    eight = quantize_q4(tmp_path / "model.onnx", tmp_path / "q4-int8-tables.onnx", embedding_block_size=None)
    nodes4 = onnx.load(str(four)).graph.node
    assert {n.op_type for n in nodes4 if n.domain not in ("", "ai.onnx")} == {"MatMulNBits"}
    assert "DequantizeLinear" in {n.op_type for n in onnx.load(str(eight)).graph.node}
    if width == 64:  # 4 bits + 32 bits of scale and minimum per 32 values (5 bits) against 8 bits
        assert 0.6 * eight.stat().st_size < four.stat().st_size < 0.66 * eight.stat().st_size

    ids = np.array([[0, 7, 3999], [7, 12, 12]], dtype=np.int64)
    rows = _rows(four, ids)
    assert rows.shape == (2, 3, width)
    padded = np.zeros((2, 3, 64), dtype=np.float32)
    padded[..., :width] = table[ids]
    blocks = padded.reshape(2, 3, 2, 32)
    step = (blocks.max(-1) - blocks.min(-1)) / 15
    error = np.abs(np.pad(rows, ((0, 0), (0, 0), (0, 64 - width))).reshape(2, 3, 2, 32) - blocks)
    assert (error <= step[..., None] * 0.5 * 1.01 + 1e-3).all()  # float16 scale and minimum: 1 % slack
    assert error[0, 0].max() < 0.5 < error[0, 1, 0].max()  # row 7's first block holds the outlier
    assert np.allclose(_rows(eight, ids), table[ids], atol=np.abs(table).max(0).max() / 63)

    with pytest.raises(ValueError, match="quantize_q4: embedding_block_size must be a power of two >= 16, got 48"):
        quantize_q4(tmp_path / "model.onnx", tmp_path / "bad.onnx", embedding_block_size=48)


def test_parse_quantize():
    assert parse_quantize(None) == ()
    assert parse_quantize("q4,fp16") == ("fp16", "q4")
    assert parse_quantize(["int8", "q8", " fp16 "]) == ("fp16", "int8")
    with pytest.raises(ValueError, match=r"--quantize 'int4': choose from fp16, int8, q4 \(several with commas"):
        parse_quantize("fp16,int4")


def test_bad_options_and_outputs_are_refused_before_loading(tmp_path):
    missing = tmp_path / "no-such-model"  # never loaded: the option errors come first
    with pytest.raises(ValueError, match="--quantize 'int4'"):
        export_tagger(missing, tmp_path / "a", quantize="int4")
    with pytest.raises(ValueError, match="--quantize 'q3'"):
        export_tagger(missing, tmp_path / "a", quantize="fp16,q3")
    with pytest.raises(ValueError, match="--opset 9"):
        export_tagger(missing, tmp_path / "a", opset=9)
    with pytest.raises(ValueError, match="--opset 17: the dynamo exporter"):
        export_tagger(missing, tmp_path / "a", opset=17, exporter="dynamo")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not empty.*--overwrite"):
        export_tagger(missing, busy)
    with pytest.raises(FileNotFoundError, match="no model at"):
        export_tagger(missing, tmp_path / "a")


def test_cli_export(bpe_modernbert_dir, make_random_tagger, tmp_path, capsys):
    from flair_modernbert.cli import main

    model = tmp_path / "final-model.pt"
    make_random_tagger(bpe_modernbert_dir, head="softmax").save(model)
    out = tmp_path / "out"
    assert main(["export", str(model), str(tmp_path / "bad"), "--quantize", "fp16,int4"]) == 2
    assert "--quantize 'int4': choose from fp16, int8, q4" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
    assert main(["export", str(model), str(out), "--no-node-modules", "--quantize", "q4,fp16"]) == 0
    printed = capsys.readouterr().out
    assert f"exported to {out}" in printed and "max abs difference" in printed and "onnx/model_q4.onnx" in printed
    crf = json.loads((out / "crf.json").read_text())
    assert crf["head"] == "softmax"
    assert crf["model_files"] == {"fp32": "onnx/model.onnx", "fp16": "onnx/model_fp16.onnx", "q4": "onnx/model_q4.onnx"}
    assert main(["export", str(model), str(out)]) == 2
    assert "is not empty" in capsys.readouterr().err
