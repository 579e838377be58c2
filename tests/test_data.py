"""Data: the shipped sample via the quickstart recipe, column-file checks with file:line, IOB1 read as Flair
decodes it, Hugging Face datasets from a local save_to_disk folder, missing corpora, sampling and summaries."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Sequence, Value

from flair_modernbert.config import ColumnCorpus, load_recipe, recipe_from_dict
from flair_modernbert.data import (
    CorpusFormatError,
    check_column_file,
    check_tags,
    flair_loader,
    load_corpus,
    summarize_corpus,
)

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "recipes" / "quickstart.yaml"


def spans(sentence, label_type: str = "ner") -> list[tuple[str, str]]:
    return [(span.text, span.get_label(label_type).value) for span in sentence.get_spans(label_type)]


def column_recipe(folder: Path, **corpus):
    corpus = {"type": "column", "path": str(folder), "train_file": "train.txt", **corpus}
    return recipe_from_dict({"corpus": corpus})


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def format_error(path: Path, **kwargs) -> CorpusFormatError:
    with pytest.raises(CorpusFormatError) as info:
        check_column_file(path, **kwargs)
    return info.value


def count_bio_entities(path: Path) -> Counter:
    counts: Counter = Counter()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and line.split("\t")[1].startswith("B-"):
            counts[line.split("\t")[1][2:]] += 1
    return counts


# ------------------------------------------------------------------------------------------------ shipped sample
def test_quickstart_recipe_loads_the_shipped_wnut_sample(wnut_sample_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no dependence on the current directory
    recipe = load_recipe(QUICKSTART)
    corpus = load_corpus(recipe.corpus)
    assert (len(corpus.train), len(corpus.dev), len(corpus.test)) == (600, 150, 200)
    assert Path(corpus.name) == wnut_sample_dir.resolve()
    first = corpus.train[0]
    assert first[0].text == "@paulwalk" and len(first) == 27
    assert spans(first) == [("Empire State Building", "location"), ("ESB", "location")]
    labels = corpus.make_label_dictionary("ner", add_unk=False).get_items()
    assert set(labels) == {"person", "location", "corporation", "product", "creative-work", "group"}


def test_summary_counts_match_the_files(wnut_sample_dir):
    corpus = load_corpus(load_recipe(QUICKSTART).corpus)
    summary = summarize_corpus(corpus, "ner")
    for split in ("train", "dev", "test"):
        expected = count_bio_entities(wnut_sample_dir / f"{split}.conll")
        assert summary.splits[split].entities == dict(expected)
    assert summary.splits["train"].sentences == 600 and summary.splits["train"].tokens == 11614
    text = summary.format()
    assert "sentences" in text and "person" in text and "600" in text
    assert summary.to_dict()["splits"]["dev"]["sentences"] == 150


def test_sample_keeps_a_seeded_subset_of_every_split():
    fraction = load_corpus(load_recipe(QUICKSTART, ["corpus.sample=0.1"]).corpus)
    assert (len(fraction.train), len(fraction.dev), len(fraction.test)) == (60, 15, 20)
    limited = load_corpus(load_recipe(QUICKSTART, ["corpus.sample=7", "corpus.seed=3"]).corpus)
    again = load_corpus(load_recipe(QUICKSTART, ["corpus.sample=7", "corpus.seed=3"]).corpus)
    assert len(limited.train) == 7
    assert [s.to_original_text() for s in limited.train] == [s.to_original_text() for s in again.train]


# ------------------------------------------------------------------------------------------------ column checks
def test_wrong_column_count_names_file_and_line(tmp_path):
    path = write(tmp_path / "train.txt", "John\tB-PER\nSmith\tI-PER\nNew York\tB-LOC\n")
    error = format_error(path)  # default delimiter: any whitespace, so 'New York' makes three columns
    assert f"{path}:3: 3 column(s), expected 2 as on line 1" in str(error)
    assert "use '\\t'" in str(error) and error.line == 3
    assert check_column_file(path, column_delimiter="\t").tokens == 3  # tab-separated: one token


def test_too_few_columns_for_the_column_map(tmp_path):
    path = write(tmp_path / "train.txt", "John\nSmith\n")
    error = format_error(path)
    assert f"{path}:1: 1 column(s), but corpus.columns" in str(error)


def test_unknown_tags_name_file_and_line(tmp_path):
    path = write(tmp_path / "train.txt", "John\tB-PER\nSmith\tI-PER\n\nin\tO\nParis\tB_LOC\nnow\to\n")
    error = format_error(path)
    assert f"{path}:5: unknown tag 'B_LOC'" in str(error)
    assert f"{path}:6: unknown tag 'o'" in str(error) and "upper case" in str(error)
    assert len(error.problems) == 2


def test_bioes_tags_in_a_bio_file_suggest_the_scheme(tmp_path):
    path = write(tmp_path / "train.txt", "Paris\tS-LOC\n")
    assert "set corpus.tag_scheme: BIOES" in str(format_error(path))


def test_i_after_o_or_another_type_is_rejected_in_strict_bio(tmp_path):
    path = write(tmp_path / "train.txt", "in\tO\nParis\tI-LOC\n\nJohn\tB-PER\nCorp\tI-ORG\n\nAcme\tI-ORG\n")
    error = format_error(path)
    messages = dict(error.problems)
    assert "'I-LOC' after 'O': in BIO a span starts with 'B-LOC'" in messages[2]
    assert "'I-ORG' after 'B-PER'" in messages[5]
    assert "'I-ORG' at the start of the sentence" in messages[7]
    assert f"{path}:2:" in str(error) and "corpus.tag_scheme: IOB1" in str(error)


def test_lenient_bio_accepts_i_after_o_as_a_span_start(tmp_path):
    write(tmp_path / "train.txt", "in\tO\nParis\tI-LOC\nFrance\tI-LOC\n")
    check = check_column_file(tmp_path / "train.txt", strict=False)
    assert check.irregular == 1
    corpus = load_corpus(column_recipe(tmp_path, strict_tags=False, column_delimiter="\t").corpus)
    assert spans(corpus.train[0]) == [("Paris France", "LOC")]


def test_empty_token_names_file_and_line(tmp_path):
    path = write(tmp_path / "train.txt", "John\tB-PER\n\tI-PER\n")
    error = format_error(path, column_delimiter="\t")
    assert f"{path}:2: empty token (column 0)" in str(error)


def test_whitespace_only_lines_separate_sentences(tmp_path):
    # the real WNUT-17 train file separates sentences with lines holding a single tab
    write(tmp_path / "train.txt", "John\tB-PER\nruns\tO\n\t\nParis\tB-LOC\n  \n\nok\tO\n")
    assert check_column_file(tmp_path / "train.txt", column_delimiter="\t").sentences == 3
    corpus = load_corpus(column_recipe(tmp_path, column_delimiter="\t").corpus)
    assert [spans(s) for s in corpus.train] == [[("John", "PER")], [("Paris", "LOC")], []]


def test_bioes_files_are_checked_and_read(tmp_path):
    good = write(tmp_path / "good" / "train.txt", "New\tB-LOC\nYork\tE-LOC\nis\tO\nbig\tS-MISC\n")
    corpus = load_corpus(column_recipe(good.parent, tag_scheme="BIOES").corpus)
    assert spans(corpus.train[0]) == [("New York", "LOC"), ("big", "MISC")]
    bad = write(tmp_path / "bad" / "train.txt", "New\tB-LOC\nYork\tI-LOC\nis\tO\nthe\tE-LOC\n")
    error = format_error(bad, tag_scheme="BIOES")
    messages = dict(error.problems)
    assert "not closed with 'E-LOC' before 'O'" in messages[3]
    assert "'E-LOC' after 'O'" in messages[4]


def test_document_separator_lines_are_not_checked(tmp_path):
    path = write(tmp_path / "train.txt", "-DOCSTART-\n\nJohn\tB-PER\n\n-DOCSTART-\n\nParis\tB-LOC\n")
    assert check_column_file(path, column_delimiter="\t", document_separator="-DOCSTART-").tokens == 2
    corpus = load_corpus(column_recipe(tmp_path, column_delimiter="\t", document_separator="-DOCSTART-").corpus)
    assert [s.is_document_boundary for s in corpus.train] == [True, False, True, False]


def test_load_corpus_checks_every_split_before_flair_reads_it(tmp_path):
    write(tmp_path / "train.txt", "John\tB-PER\n")
    dev = write(tmp_path / "dev.txt", "John\tB-PER\nSmith\tI-PERSON\nx\tI-PER\n")
    with pytest.raises(CorpusFormatError) as info:
        load_corpus(column_recipe(tmp_path, dev_file="dev.txt").corpus)
    assert f"{dev}:3: 'I-PER' after 'I-PERSON'" in str(info.value)


# ------------------------------------------------------------------------------------------------ IOB1
def test_iob1_tags_check_against_their_scheme():
    iob1 = ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG", "I-ORG", "O", "B-MISC"]
    assert check_tags(iob1, "IOB1") == []
    problems = check_tags(iob1, "BIO")
    assert [index for index, _ in problems] == [0, 4, 5]
    assert problems[0][1].startswith("'I-PER' at the start of the sentence: in BIO a span starts with 'B-PER'")


def test_iob1_column_files_are_read_as_their_spans(tmp_path):
    text = (
        "John I-PER NNP\nSmith I-PER NNP\nMary B-PER NNP\nmet O VBD\nin O IN\nNew I-LOC NNP\nYork I-LOC NNP\n"
        "Acme I-ORG NNP\n\nUN I-ORG NNP\n"
    )
    source = write(tmp_path / "train.txt", text)
    corpus = load_corpus(column_recipe(tmp_path, tag_scheme="IOB1", columns={0: "text", 1: "ner", 2: "pos"}).corpus)
    assert spans(corpus.train[0]) == [("John Smith", "PER"), ("Mary", "PER"), ("New York", "LOC"), ("Acme", "ORG")]
    assert spans(corpus.train[1]) == [("UN", "ORG")]
    assert corpus.train[0][0].get_label("pos").value == "NNP"  # other columns unchanged
    assert source.read_text(encoding="utf-8") == text  # the original file is left alone
    assert corpus.name == str(tmp_path)


# ------------------------------------------------------------------------------------------------ HF datasets
NAMES = ["O", "B-location", "I-location", "B-person", "I-person"]  # not alphabetical: ids must use these names


def save_hf(folder: Path, rows: dict[str, dict[str, list]], tags_feature=None) -> Path:
    features = Features({"tokens": Sequence(Value("string")),
                         "ner_tags": tags_feature or Sequence(ClassLabel(names=NAMES))})
    DatasetDict({split: Dataset.from_dict(data, features=features) for split, data in rows.items()}).save_to_disk(str(folder))
    return folder


def test_hf_save_to_disk_folder_becomes_a_corpus_with_span_labels(tmp_path):
    folder = save_hf(tmp_path / "hf", {
        "train": {"tokens": [["Anna", "Karenina", "visits", "New", "York"], ["hello"]], "ner_tags": [[3, 4, 0, 1, 2], [0]]},
        "validation": {"tokens": [["Paris", "!"]], "ner_tags": [[1, 0]]},
        "test": {"tokens": [["Bob", "Tom"]], "ner_tags": [[3, 3]]},
    })
    recipe = recipe_from_dict({"corpus": {"type": "hf", "path": str(folder)}})
    corpus = load_corpus(recipe.corpus)
    assert (len(corpus.train), len(corpus.dev), len(corpus.test)) == (2, 1, 1)
    assert spans(corpus.train[0]) == [("Anna Karenina", "person"), ("New York", "location")]
    assert spans(corpus.dev[0]) == [("Paris", "location")]
    assert spans(corpus.test[0]) == [("Bob", "person"), ("Tom", "person")]
    assert corpus.train[1].previous_sentence() is corpus.train[0]  # context for FLERT
    assert set(corpus.make_label_dictionary("ner", add_unk=False).get_items()) == {"person", "location"}


def test_hf_string_tags_custom_splits_and_iob1(tmp_path):
    folder = save_hf(tmp_path / "hf", {"all": {"tokens": [["Anna", "Bob", "x"]], "ner_tags": [["I-PER", "B-PER", "O"]]}},
                     tags_feature=Sequence(Value("string")))
    recipe = recipe_from_dict({"corpus": {"type": "hf", "path": str(folder), "tag_scheme": "IOB1", "label_type": "entity",
                                          "splits": {"train": "all", "dev": "all", "test": "all"}}})
    corpus = load_corpus(recipe.corpus)
    assert spans(corpus.test[0], "entity") == [("Anna", "PER"), ("Bob", "PER")]


def test_hf_bad_rows_and_settings_are_named(tmp_path):
    folder = save_hf(tmp_path / "hf", {"train": {"tokens": [["a"], ["in", "Paris"]], "ner_tags": [[0], [0, 2]]}})
    with pytest.raises(CorpusFormatError) as info:
        load_corpus(recipe_from_dict({"corpus": {"type": "hf", "path": str(folder)}}).corpus)
    assert f"{folder} [train], row 1: token 1: 'I-location' after 'O'" in str(info.value)
    with pytest.raises(ValueError, match=r"corpus\.tokens_column: .* has no column 'words'; it has tokens, ner_tags"):
        load_corpus(recipe_from_dict({"corpus": {"type": "hf", "path": str(folder), "tokens_column": "words"}}).corpus)
    with pytest.raises(ValueError, match=r"corpus\.splits\.dev: .* has no split 'validation'; it has train"):
        load_corpus(recipe_from_dict({"corpus": {"type": "hf", "path": str(folder),
                                                 "splits": {"train": "train", "dev": "validation"}}}).corpus)


# ------------------------------------------------------------------------------------------------ missing data
def test_missing_column_folder_and_file_say_where_they_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match=rf"corpus\.path: the column folder {tmp_path / 'nowhere'} does not exist"):
        load_corpus(column_recipe(tmp_path / "nowhere").corpus)
    write(tmp_path / "data" / "train.txt", "a\tO\n")
    with pytest.raises(FileNotFoundError) as info:
        load_corpus(column_recipe(tmp_path / "data", dev_file="dev.txt").corpus)
    assert f"corpus.dev_file: {tmp_path / 'data' / 'dev.txt'} does not exist" in str(info.value)
    assert "holds: train.txt" in str(info.value)


def test_relative_paths_follow_the_recipe_file(tmp_path, monkeypatch):
    write(tmp_path / "corpus" / "train.txt", "Paris\tB-LOC\n")
    recipe_file = write(tmp_path / "recipes" / "r.yaml",
                        "corpus:\n  type: column\n  path: ../corpus\n  train_file: train.txt\n")
    monkeypatch.chdir(tmp_path.parent)
    assert spans(load_corpus(load_recipe(recipe_file).corpus).train[0]) == [("Paris", "LOC")]
    # a config built in Python follows the same rule: relative to the current directory
    monkeypatch.chdir(tmp_path / "recipes")
    config = ColumnCorpus(type="column", path="../corpus", train_file="train.txt")
    assert config.path == str(tmp_path / "corpus")
    assert spans(load_corpus(config).train[0]) == [("Paris", "LOC")]


def test_flair_loader_names_list_close_matches():
    assert flair_loader("CONLL_03").__name__ == "CONLL_03"
    with pytest.raises(ValueError, match=r"corpus\.name: 'CONLL03' is not a corpus loader.*Did you mean CONLL_03"):
        flair_loader("CONLL03")
    with pytest.raises(ValueError, match=r"Did you mean ONTONOTES"):
        load_corpus(recipe_from_dict({"corpus": {"type": "flair", "name": "ontonotes"}}).corpus)
    with pytest.raises(ValueError, match=r"Did you mean WNUT_17"):
        flair_loader("WNUT17")


def test_flair_loader_by_name_reads_its_folder(tmp_path):
    # CONLL_03 is the one Flair loader that never downloads: give it a tiny folder of its own format
    for name in ("eng.train", "eng.testa", "eng.testb"):
        write(tmp_path / "conll_03" / name, "-DOCSTART- -X- -X- O\n\nEU NNP B-NP I-ORG\nrejects VBZ B-VP O\n"
                                             "German JJ B-NP I-MISC\ncall NN I-NP O\n\n")
    recipe = recipe_from_dict({"corpus": {"type": "flair", "name": "CONLL_03", "kwargs": {"base_path": str(tmp_path)}}})
    corpus = load_corpus(recipe.corpus)
    assert (len(corpus.train), len(corpus.dev), len(corpus.test)) == (2, 2, 2)
    assert corpus.train[0].is_document_boundary and spans(corpus.train[1]) == [("EU", "ORG"), ("German", "MISC")]
    bad_kwargs = recipe_from_dict({"corpus": {"type": "flair", "name": "CONLL_03",
                                              "kwargs": {"base_path": str(tmp_path), "colour": "red"}}})
    with pytest.raises(ValueError, match=r"corpus\.kwargs: Flair's CONLL_03 loader does not take .*colour"):
        load_corpus(bad_kwargs.corpus)


def test_missing_flair_corpus_explains_where_and_how(tmp_path):
    recipe = recipe_from_dict({"corpus": {"type": "flair", "name": "CONLL_03", "kwargs": {"base_path": str(tmp_path)}}})
    with pytest.raises(FileNotFoundError) as info:
        load_corpus(recipe.corpus)
    message = str(info.value)
    assert f"It looks in {tmp_path}/conll_03" in message and "may be offline" in message
    assert "Reuters licence" in message and "eng.testa" in message


def test_missing_hf_folder_says_what_is_expected(tmp_path):
    recipe = recipe_from_dict({"corpus": {"type": "hf", "path": str(tmp_path / "none")}})
    with pytest.raises(FileNotFoundError, match=r"corpus\.path: .*none does not exist.*save_to_disk"):
        load_corpus(recipe.corpus)


def test_invalid_utf8_in_a_column_file_names_the_right_line(tmp_path):
    lines = [f"w{i}\tO\n" + ("\n" if i % 3 == 2 else "") for i in range(3000)]
    text = "".join(lines).encode("utf-8")
    # the bad byte sits on line 3000 of the file, far beyond the first read-ahead chunk
    position = sum(1 for _ in text.split(b"\n")[:2999])
    body = text.split(b"\n")
    body[2999] = b"caf\xe9\tO"
    path = tmp_path / "train.txt"
    path.write_bytes(b"\n".join(body))
    error = format_error(path)
    assert error.line == 3000 and position == 2999
    assert f"{path}:3000: not valid utf-8 text" in str(error)
