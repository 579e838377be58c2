"""The recall knob (docs/recall.md): the O tag's emission lowered by B before decoding, in the API, the CLI, the
span map, the service, a run folder's default and the JavaScript export, with the guarantees docs/recall.md states."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import torch
import yaml
from fastapi.testclient import TestClient

from flair_modernbert.cli import main
from flair_modernbert.data.columns import read_words
from flair_modernbert.inference import Document, load_tagger, recall_bias_applied, tag_documents
from flair_modernbert.serve import create_app

SAMPLE = Path(__file__).parent.parent / "flair_modernbert" / "data" / "wnut17_sample" / "test.conll"
NAMES_TEXTS = ["We met John Smith in Paris .", "my name is mary jones and i live in berlin .",
               "Please call Lisa Miller today . Anna lives in New York .", "Nothing to see here ."]
GRID = [-2.0, 0.0, 0.5, 1.0, 2.0, 4.0, 8.0]

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def texts(limit: int = 60) -> list[str]:
    return [" ".join(words) for words in read_words(SAMPLE, limit)] + NAMES_TEXTS


@pytest.fixture(scope="module")
def names(names_model):
    return load_tagger(names_model[0])


@pytest.fixture(scope="module")
def softmax(tiny_model_dir, make_random_tagger):
    return make_random_tagger(tiny_model_dir, head="softmax")


def tagged(tagger, items: list[str], bias) -> list[Document]:
    return tag_documents(tagger, [Document(text) for text in items], recall_bias=bias)


def hidden_alnum(document: Document) -> set[int]:
    return {i for span in document.spans for i in range(span.start, span.end) if document.text[i].isalnum()}


def tagged_words(document: Document) -> list[int]:
    """Per sentence: how many of its words lie inside a span (the words not tagged O)."""
    return [sum(any(s.start <= w.start and w.end <= s.end for s in document.spans) for w in sentence)
            for sentence in document.units]


def test_zero_is_the_models_own_decoding_and_nothing_stays_on_the_tagger(names):
    items = texts(30)
    before = [d.to_json() for d in tag_documents(names, [Document(t) for t in items])]
    assert names.recall_bias in (None, 0.0)  # the names run sets no default (the schema writes 0 or nothing)
    assert [d.to_json() for d in tagged(names, items, 0)] == before
    assert [d.to_json() for d in tagged(names, items, 3.0)] != before
    assert not names.linear._forward_hooks  # the hook is gone after the call ...
    assert [d.to_json() for d in tagged(names, items, None)] == before  # ... and later calls are unchanged
    # exactly the O column is lowered, by float32(B)
    x = torch.randn(3, names.linear.in_features)
    plain = names.linear(x)
    with recall_bias_applied(names, 0.3):
        lowered = names.linear(x)
    o = names.label_dictionary.get_items().index("O")
    assert torch.equal(lowered[:, o], plain[:, o] - torch.tensor(0.3, dtype=torch.float32))
    assert torch.equal(torch.cat([lowered[:, :o], lowered[:, o + 1 :]], 1), torch.cat([plain[:, :o], plain[:, o + 1 :]], 1))
    with pytest.raises(ValueError, match="finite"):
        tagged(names, items[:1], float("inf"))


def test_threads_with_different_biases_each_get_their_own(names):
    """The hook lives on the shared tagger: a call from another thread must never see this call's bias."""
    from concurrent.futures import ThreadPoolExecutor

    items = texts(12)
    expected = {bias: [d.to_json() for d in tagged(names, items, bias)] for bias in (0.0, 3.0)}
    assert expected[0.0] != expected[3.0]
    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(lambda bias: (bias, [d.to_json() for d in tagged(names, items, bias)]),
                             [0.0, 3.0] * 4))
    assert all(found == expected[bias] for bias, found in runs)
    assert not names.linear._forward_hooks


def test_higher_bias_never_hides_fewer_characters(names, softmax):
    """What docs/recall.md promises: per document, hidden letters and digits never shrink as B grows (trained CRF
    tagger, softmax head); the words a CRF tags non-O per sentence never get fewer (Viterbi, exact); with a softmax
    head the hidden words are nested (exact)."""
    items = texts(60)
    for tagger in (names, softmax):
        previous = None
        for bias in GRID:
            documents = tagged(tagger, items, bias)
            current = [(hidden_alnum(d), tagged_words(d)) for d in documents]
            if previous is not None:
                for text, (chars0, words0), (chars1, words1) in zip(items, previous, current):
                    assert len(chars1) >= len(chars0), (bias, text)
                    assert all(b >= a for a, b in zip(words0, words1)), (bias, text)
                    if tagger is softmax:
                        assert chars0 <= chars1, (bias, text)
            previous = current
    # a large bias hides every word
    for tagger in (names, softmax):
        for document in tagged(tagger, items, 1e4):
            assert hidden_alnum(document) == {i for i, c in enumerate(document.text) if c.isalnum()}, document.text


def test_cli_predict_redact_and_the_span_map_header(names, names_model, tmp_path, capsys):
    source = tmp_path / "in.txt"
    source.write_text("\n".join(NAMES_TEXTS) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["predict", str(names_model[0]), str(source), "--recall-bias", "2", "--no-progress"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [d.to_json() for d in tagged(names, NAMES_TEXTS, 2.0)]
    span_map = tmp_path / "map.jsonl"
    assert main(["redact", str(names_model[0]), str(source), "--recall-bias", "1.5", "--span-map", str(span_map),
                 "--no-progress"]) == 0
    header = json.loads(span_map.read_text(encoding="utf-8").splitlines()[0])
    assert header["recall_bias"] == 1.5 and header["format"] == "flair-modernbert-span-map"
    from flair_modernbert.redaction.restore import SpanMap

    assert SpanMap.read(span_map).recall_bias == 1.5
    with pytest.raises(SystemExit):
        main(["predict", str(names_model[0]), str(source), "--recall-bias", "nan"])
    assert "--recall-bias: expected a finite number, got nan" in capsys.readouterr().err


def test_a_run_folders_recipe_sets_the_default(names, names_model, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "final-model.pt").symlink_to(names_model[0] / "final-model.pt")
    recipe = yaml.safe_load((names_model[0] / "recipe.yaml").read_text(encoding="utf-8"))

    def write(value) -> None:
        recipe["tagger"]["recall_bias"] = value
        (run / "recipe.yaml").write_text(yaml.safe_dump(recipe), encoding="utf-8")

    write(2.5)
    for path in (run, run / "final-model.pt"):
        assert load_tagger(path).recall_bias == 2.5
    default = load_tagger(run)
    assert [d.to_json() for d in tag_documents(default, [Document(t) for t in NAMES_TEXTS])] == \
        [d.to_json() for d in tagged(names, NAMES_TEXTS, 2.5)]
    assert [d.to_json() for d in tagged(default, NAMES_TEXTS, 0)] == [d.to_json() for d in tagged(names, NAMES_TEXTS, 0)]
    source = tmp_path / "in.txt"
    source.write_text("\n".join(NAMES_TEXTS) + "\n", encoding="utf-8")
    assert main(["redact", str(run), str(source), "--span-map", str(tmp_path / "map.jsonl"), "--no-progress"]) == 0
    assert json.loads((tmp_path / "map.jsonl").read_text(encoding="utf-8").splitlines()[0])["recall_bias"] == 2.5
    write("lots")
    with pytest.raises(ValueError, match=r"recipe.yaml: tagger.recall_bias: expected a number"):
        load_tagger(run)


def test_serve_default_per_request_bias_and_mixed_batches(names):
    app = create_app(names, max_wait_ms=50, recall_bias=2.0)
    expected = {bias: [d.to_json() for d in tagged(names, NAMES_TEXTS, bias)] for bias in (0.0, 2.0, 6.0)}
    assert expected[0.0] != expected[2.0] != expected[6.0]
    with TestClient(app) as client:
        assert app.state.batcher.wait_ready(60)
        assert client.get("/ready").json()["recall_bias"] == 2.0
        assert client.post("/predict", json={"texts": NAMES_TEXTS}).json()["results"] == expected[2.0]
        assert client.post("/predict", json={"texts": NAMES_TEXTS, "recall_bias": 0}).json()["results"] == expected[0.0]
        redacted = client.post("/redact", json={"text": NAMES_TEXTS[1], "recall_bias": 6}).json()
        assert redacted["recall_bias"] == 6.0
        # requests with different biases arriving together: each answered with its own bias
        from concurrent.futures import ThreadPoolExecutor

        biases = [0.0, 2.0, 6.0] * 4
        with ThreadPoolExecutor(len(biases)) as pool:
            answers = list(pool.map(lambda b: client.post("/predict", json={"texts": NAMES_TEXTS, "recall_bias": b})
                                    .json()["results"], biases))
        assert answers == [expected[b] for b in biases]
        for bad in ('"x"', "1e400", "true"):
            answer = client.post("/predict", content=f'{{"text": "a", "recall_bias": {bad}}}')
            assert answer.status_code == 422 and answer.json()["field"] == "recall_bias", answer.json()


def test_javascript_export_applies_the_same_bias(node, bpe_modernbert_dir, make_random_tagger, tmp_path):
    """`node predict.mjs --recall-bias B` prints what `flair-modernbert predict --recall-bias B` prints (CRF and
    softmax heads); the export records the model's default in crf.json and Node uses it."""
    from test_export_js import rounding_flips

    from flair_modernbert.export import export_tagger

    items = texts(40)
    data = ("\n".join(items) + "\n").encode("utf-8")
    for head in ("crf", "softmax"):
        tagger = make_random_tagger(bpe_modernbert_dir, head=head, layers="-1", subtoken_pooling="first")
        tagger.recall_bias = 1.25
        folder = tmp_path / head
        folder.mkdir()
        tagger.save(folder / "final-model.pt")
        export_tagger(tagger, folder / "export")
        assert json.loads((folder / "export" / "crf.json").read_text(encoding="utf-8"))["recall_bias"] == 1.25
        for bias in (None, 0.0, 3.0, -1.0):
            flag = [] if bias is None else ["--recall-bias", str(bias)]
            python = [d.to_json() for d in tagged(tagger, items, bias)]
            js = subprocess.run([node, str(folder / "export" / "predict.mjs"), "-", *flag], input=data,
                                capture_output=True, timeout=300)
            assert js.returncode == 0, js.stderr.decode()[-3000:]
            found = js.stdout.decode().split("\n")[:-1]
            expected = [json.dumps(line, ensure_ascii=False) for line in python]
            flips = sum(rounding_flips(f, e) for f, e in zip(found, expected))
            spans = sum(len(line["spans"]) for line in python)
            assert len(found) == len(expected) and spans > 20 and flips <= max(2, spans // 100), (head, bias, flips)
    bad = subprocess.run([node, str(folder / "export" / "predict.mjs"), "-", "--recall-bias", "x"], input=b"a\n",
                         capture_output=True, timeout=60)
    assert bad.returncode == 2 and "--recall-bias: expected a finite number" in bad.stderr.decode()
