"""Redacting whole corpora (``redact MODEL INPUT... --output DIR``, :mod:`flair_modernbert.bulk`), local engine.

A saved untrained tagger that tags many words (plus the pattern types: e-mail addresses, phone numbers) redacts a
corpus of nested folders: plain text shards, a JSON lines shard whose text is in ``body``, a Parquet shard (an
int column, nulls, more rows than one Parquet batch), next to a hidden file, a hidden folder and a README that
must be skipped. The outputs and span maps must be byte for byte those of ``redact FILE --span-map MAP`` run file
by file, in this process and with ``--workers 2``, also after a worker and then the driver were killed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Optional

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flair_modernbert.bulk import MANIFEST, default_map_dir, find_shards
from flair_modernbert.cli import main

FIRST = ["Anna", "John", "Maria", "Peter", "Lisa", "Omar", "Chen", "Sofia"]
LAST = ["Smith", "Jones", "Miller", "Garcia", "Nguyen", "Brown"]
CITIES = ["Paris", "Berlin", "New York", "Lagos", "Osaka"]
#: the shards of :func:`write_corpus` (relative to its folder)
TEXT_SHARDS = ["chats/d.text", "tickets/2024/a.txt", "tickets/2024/b.txt", "tickets/2025/c.txt"]
JSONL_SHARD = "exports/records.jsonl"
PARQUET_SHARD = "exports/table.parquet"
SHARDS = sorted([*TEXT_SHARDS, JSONL_SHARD, PARQUET_SHARD])
#: Parquet rows: more than one batch of the reader (1024), with text in every 8th row and nulls around the border
PARQUET_ROWS = 1100
PARQUET_NULLS = (3, 1023, 1024)
#: the options every run over the corpus uses (the JSON lines and Parquet text is in ``body``)
CORPUS = ["--text-field", "body", "--no-progress"]


def ticket(rng: random.Random) -> str:
    """A short support-ticket line with a name, a place, an e-mail address or a phone number (or nothing)."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    kind = rng.randrange(6)
    if kind == 0:
        return f"{first} {last} moved to {rng.choice(CITIES)} last year."
    if kind == 1:
        return f"Mail {first.lower()}.{last.lower()}@example.com or call +1 415 555 {rng.randrange(1000, 9999)}."
    if kind == 2:
        place = rng.choice(CITIES)
        return f"Ticket {rng.randrange(10**5)}: {first} says the printer in {place} is broken. {last} agrees."
    if kind == 3:
        return ""
    if kind == 4:
        return f"Call {first} at 030 {rng.randrange(100000, 999999)} tomorrow."
    return "nothing personal here"


def write_corpus(root: Path, lines: int = 300, seed: int = 0) -> Path:
    """The corpus of the module docstring under ``root``; ``lines`` per text shard."""
    rng = random.Random(seed)
    for index, name in enumerate(TEXT_SHARDS):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "\n".join(ticket(rng) for _ in range(lines))
        if index == 0:  # Windows line ends and no final line end
            path.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
        else:
            path.write_text(text + "\n", encoding="utf-8")
    records = [{"id": n, "body": ticket(rng), "meta": {"lang": "en", "tags": ["a", n]}, "text": "not this field"}
               for n in range(lines)]
    (root / JSONL_SHARD).parent.mkdir(parents=True, exist_ok=True)
    (root / JSONL_SHARD).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    write_parquet(root / PARQUET_SHARD, rng)
    # skipped: hidden files and folders, other suffixes
    (root / ".hidden.txt").write_text("Anna Smith\n", encoding="utf-8")
    (root / ".cache").mkdir()
    (root / ".cache" / "x.txt").write_text("Anna Smith\n", encoding="utf-8")
    (root / "README.md").write_text("# Anna Smith\n", encoding="utf-8")
    return root


def parquet_texts(rng: random.Random) -> list[Optional[str]]:
    return [None if row in PARQUET_NULLS else ticket(rng) if row % 8 == 0 else "" for row in range(PARQUET_ROWS)]


def write_parquet(path: Path, rng: random.Random) -> None:
    table = pa.table({"id": pa.array(range(PARQUET_ROWS), type=pa.int32()),
                      "body": pa.array(parquet_texts(rng), type=pa.string()),
                      "score": pa.array([row / 7 for row in range(PARQUET_ROWS)], type=pa.float64())},
                     metadata={"source": "tests"})
    pq.write_table(table, path, row_group_size=400)


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative POSIX path → bytes), the manifest left out (it has times)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != MANIFEST}


def temporary_files(*folders: Path) -> list[Path]:
    return [p for folder in folders if folder.exists() for p in folder.rglob("*.tmp")]


def manifest(output: Path) -> dict:
    return json.loads((output / MANIFEST).read_text(encoding="utf-8"))


def redact_corpus(capsysbinary, *args: str) -> tuple[int, str]:
    """``main(["redact", ...])`` in this process: its exit code and stderr."""
    capsysbinary.readouterr()
    code = main(["redact", *args])
    return code, capsysbinary.readouterr().err.decode("utf-8")


def redact_file(capsysbinary, model: str, path: Path, span_map: Optional[Path] = None, *options: str) -> bytes:
    """What ``redact MODEL FILE [--span-map MAP]`` prints (bytes)."""
    capsysbinary.readouterr()
    extra = ["--span-map", str(span_map)] if span_map is not None else []
    assert main(["redact", model, str(path), *extra, *options]) == 0
    return capsysbinary.readouterr().out


def cli_env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONIOENCODING": "utf-8"}


def console() -> list[str]:
    script = Path(sys.executable).parent / "flair-modernbert"
    return [str(script)] if script.exists() else [sys.executable, "-m", "flair_modernbert.cli"]


def wait_for(condition: Callable[[], object], what: str, timeout: float = 180.0, every: float = 0.01) -> object:
    """Poll ``condition`` until it returns something true (returned), failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# ------------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def model(tiny_model_dir, make_random_tagger, tmp_path_factory) -> str:
    """An untrained tagger that tags many words with six types, saved as a training run's final-model.pt."""
    folder = tmp_path_factory.mktemp("bulk-model")
    make_random_tagger(tiny_model_dir).save(folder / "final-model.pt")
    return str(folder / "final-model.pt")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("bulk-corpus").resolve() / "corpus")


@pytest.fixture(scope="module")
def reference(model, corpus, tmp_path_factory, one_torch_thread) -> Path:
    """The corpus redacted in this process (one torch thread, as each of two workers on two cores has)."""
    output = tmp_path_factory.mktemp("bulk-reference") / "redacted"
    assert main(["redact", model, str(corpus), "--output", str(output), *CORPUS]) == 0
    return output


# ------------------------------------------------------------------------------------------------ path rule
def test_folders_are_searched_recursively_skipping_hidden_files_and_other_suffixes(corpus, tmp_path):
    tmp_path = tmp_path.resolve()  # shards name resolved paths
    output = tmp_path / "redacted"
    shards = find_shards([corpus], output)
    assert [shard.relative for shard in shards] == SHARDS
    assert default_map_dir(output) == tmp_path / "redacted.span-maps"
    for shard in shards:
        source = corpus / shard.relative
        assert shard.input == str(source) and shard.output == str(output / shard.relative)
        assert shard.span_map == str(tmp_path / "redacted.span-maps" / (shard.relative + ".map.jsonl"))
        assert shard.format == ("parquet" if shard.relative.endswith(".parquet") else "lines")
        assert (shard.size, shard.mtime_ns) == (source.stat().st_size, source.stat().st_mtime_ns)
    assert {shard.span_map for shard in find_shards([corpus], output, span_maps=None)} == {None}
    maps = find_shards([corpus], output, span_maps=tmp_path / "maps")
    assert maps[0].span_map == str(tmp_path / "maps" / (SHARDS[0] + ".map.jsonl"))


def test_globs_and_several_inputs_are_relative_to_their_common_folder(corpus, tmp_path, monkeypatch):
    output = tmp_path / "out"

    def names(*inputs):
        return [shard.relative for shard in find_shards([str(i) for i in inputs], output)]

    # a pattern's matches are relative to the part before its first wildcard; glob skips hidden files too
    assert names(f"{corpus}/tickets/*/*.txt") == ["2024/a.txt", "2024/b.txt", "2025/c.txt"]
    assert names(f"{corpus}/**/*.txt") == ["tickets/2024/a.txt", "tickets/2024/b.txt", "tickets/2025/c.txt"]
    assert names(f"{corpus}/**/*.jsonl", f"{corpus}/chats/*") == ["chats/d.text", JSONL_SHARD]
    monkeypatch.chdir(corpus)
    assert names("tickets/**/*.t?t") == ["2024/a.txt", "2024/b.txt", "2025/c.txt"]
    assert default_map_dir(".") == corpus.with_name("corpus.span-maps")
    # several folders and files: relative to their common folder; a file named directly is read whatever its name
    assert names(corpus / "tickets" / "2024", corpus / "chats") == ["chats/d.text", "tickets/2024/a.txt",
                                                                    "tickets/2024/b.txt"]
    assert names(corpus / "tickets" / "2025", corpus / JSONL_SHARD, corpus / "README.md") == [
        "README.md", JSONL_SHARD, "tickets/2025/c.txt"]
    assert names(corpus / "tickets" / "2024" / "a.txt") == ["a.txt"]
    # the same file named twice is one shard
    assert names(corpus / "chats", corpus / "chats" / "d.text") == ["d.text"]


def test_output_and_span_maps_inside_an_input_folder_are_skipped_an_output_that_replaces_inputs_refused(tmp_path):
    data = tmp_path.resolve() / "data"
    (data / "sub").mkdir(parents=True)
    for name in ("a.txt", "sub/b.txt"):
        (data / name).write_text("Anna Smith\n", encoding="utf-8")
    # an earlier run's output and span maps inside the input folder (their default places)
    for name in ("redacted/a.txt", "redacted/sub/b.txt", "redacted.span-maps/a.txt.map.jsonl"):
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).write_text("[PERSON_1]\n", encoding="utf-8")
    for inputs in ([data], [f"{data}/**/*.txt", f"{data}/**/*.jsonl"]):
        assert [s.relative for s in find_shards(inputs, data / "redacted")] == ["a.txt", "sub/b.txt"]
    # an input folder inside the output folder is read whole (only the output's own folders are skipped)
    assert [s.relative for s in find_shards([data / "sub"], data)] == ["b.txt"]
    assert [s.output for s in find_shards([data / "sub"], data)] == [str(data / "b.txt")]
    # the output would be the input itself
    for inputs, output in (([data], data), ([data / "a.txt"], data), ([f"{data}/*.txt"], data),
                           ([data / "sub", data / "a.txt"], data)):
        with pytest.raises(ValueError, match="would replace the input .*a.txt|would replace the input .*b.txt"):
            find_shards(inputs, output)


def test_missing_inputs_are_named(corpus, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.md").write_text("x\n", encoding="utf-8")
    for given, message in ((tmp_path / "nope.txt", "input .*nope.txt is neither a file, a folder nor a glob"),
                           (f"{tmp_path}/*.jsonl", r"input pattern .*\*.jsonl matches no file"),
                           (tmp_path / "empty", "input folder .*empty holds no file ending in .txt"),
                           (tmp_path / "other", "input folder .*other holds no file ending in")):
        with pytest.raises(FileNotFoundError, match=message):
            find_shards([corpus, given], tmp_path / "out")


# ------------------------------------------------------------------------------------------------ byte identity
def test_every_shard_is_what_redact_writes_for_its_file(model, corpus, reference, capsysbinary, tmp_path):
    maps = reference.with_name("redacted.span-maps")  # the default: next to the output, not in it
    assert sorted(tree(reference)) == SHARDS
    assert sorted(tree(maps)) == [name + ".map.jsonl" for name in SHARDS]
    for name in [*TEXT_SHARDS, JSONL_SHARD]:
        span_map = tmp_path / (Path(name).name + ".map.jsonl")
        printed = redact_file(capsysbinary, model, corpus / name, span_map, *CORPUS)
        assert (reference / name).read_bytes() == printed, name
        assert (maps / (name + ".map.jsonl")).read_bytes() == span_map.read_bytes(), name
    # the tagger hid model and pattern types, the JSON lines kept their other fields (the text field last)
    records = [json.loads(line) for line in (reference / JSONL_SHARD).read_text("utf-8").splitlines()]
    assert [list(record) for record in records[:2]] == [["id", "meta", "text", "body"]] * 2
    assert records[5]["meta"] == {"lang": "en", "tags": ["a", 5]} and records[5]["text"] == "not this field"
    types = manifest(reference)["totals"]["entities"]
    assert {"email", "phone", "person", "location"} <= set(types), types


def test_parquet_keeps_schema_rows_nulls_and_other_columns(model, corpus, reference, capsysbinary, tmp_path):
    given, redacted = pq.read_table(corpus / PARQUET_SHARD), pq.read_table(reference / PARQUET_SHARD)
    assert redacted.schema.equals(given.schema, check_metadata=True)
    assert redacted.num_rows == given.num_rows == PARQUET_ROWS
    assert redacted.column("id").equals(given.column("id")) and redacted.column("score").equals(given.column("score"))
    texts, out = given.column("body").to_pylist(), redacted.column("body").to_pylist()
    assert [row for row, text in enumerate(out) if text is None] == list(PARQUET_NULLS)
    # the texts, redacted as lines of a file: the same values and the same span map (rows numbered past nulls)
    rows = [row for row, text in enumerate(texts) if text is not None]
    lines = tmp_path / "body.txt"
    lines.write_text("".join(texts[row] + "\n" for row in rows), encoding="utf-8")
    printed = redact_file(capsysbinary, model, lines, tmp_path / "body.map.jsonl", "--no-progress")
    assert printed.decode("utf-8").split("\n")[:-1] == [out[row] for row in rows]
    assert sum(text != redact for text, redact in zip(texts, out) if text) > 100  # it did redact
    expected = []
    for line in (tmp_path / "body.map.jsonl").read_text("utf-8").splitlines():
        record = json.loads(line)
        if "line" in record:
            record["line"] = rows[record["line"] - 1] + 1
        expected.append(record)
    span_map = reference.with_name("redacted.span-maps") / (PARQUET_SHARD + ".map.jsonl")
    assert [json.loads(line) for line in span_map.read_text("utf-8").splitlines()] == expected


def test_without_span_maps_each_document_is_numbered_on_its_own(model, corpus, capsysbinary, tmp_path):
    output = tmp_path / "scrubbed"
    inputs = [corpus / "tickets" / "2024" / "a.txt", corpus / JSONL_SHARD]
    code, _ = redact_corpus(capsysbinary, model, *map(str, inputs), "--output", str(output), "--no-map", *CORPUS)
    assert code == 0
    assert sorted(tree(output)) == ["exports/records.jsonl", "tickets/2024/a.txt"]
    assert not default_map_dir(output).exists()
    for path in inputs:
        relative = path.relative_to(corpus).as_posix()
        assert (output / relative).read_bytes() == redact_file(capsysbinary, model, path, None, *CORPUS)
    first = (output / "tickets/2024/a.txt").read_text("utf-8").splitlines()
    assert sum("_2]" in line for line in first) > 10 and max(len(line) for line in first) > 0
    data = manifest(output)
    assert data["options"]["span_maps"] is False
    assert {entry["span_map"] for entry in data["shards"].values()} == {None}


def test_span_maps_are_readable_by_their_owner_only(reference):
    umask = os.umask(0)
    os.umask(umask)
    maps = reference.with_name("redacted.span-maps")
    for path in [maps, *maps.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path
    for path in [reference / MANIFEST, *(reference / name for name in SHARDS)]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path
    for path in (reference / "tickets", reference / "tickets" / "2024"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o777 & ~umask, path


# ------------------------------------------------------------------------------------------------ malformed input
BAD_LINES = {  # shard: (its bytes, the malformed line's number, the error)
    "broken.jsonl": (b'{"id": 1, "body": "Call Anna at +1 415 555 0100."}\n{"id": 2, "body": "cut off\n'
                     b'{"id": 3, "body": "Omar Brown in Lagos"}\n', 2,
                     "broken.jsonl, line 2: not valid JSON (Unterminated string starting at)"),
    "sub/latin1.txt": (b"Peter Jones\ncaf\xe9 in Berlin, mail peter@example.com\nLisa lives in Osaka\n", 2,
                       "sub/latin1.txt, line 2: not valid UTF-8 (invalid continuation byte at byte 3)"),
    "wrongtype.jsonl": (b'{"body": "Lisa Miller"}\n{"id": 2, "body": ["Lisa"]}\n{"body": "Sofia Garcia"}\n', 2,
                        "wrongtype.jsonl, line 2: a JSON line needs a string field 'body' (it is list, not a string)"),
}


def write_malformed(folder: Path) -> Path:
    (folder / "sub").mkdir(parents=True)
    (folder / "ok.txt").write_text("Anna Smith lives in Paris.\nMail anna@example.com today.\n", encoding="utf-8")
    for name, (data, _, _) in BAD_LINES.items():
        (folder / name).write_bytes(data)
    pq.write_table(pa.table({"id": [1], "text": ["Anna"]}), folder / "nocolumn.parquet")
    pq.write_table(pa.table({"body": [1, 2]}), folder / "numbers.parquet")
    return folder


def test_a_malformed_line_fails_its_shard_the_others_go_on_and_a_rerun_redoes_it(model, tmp_path, capsysbinary):
    source = write_malformed(tmp_path / "in")
    output = tmp_path / "out"
    code, err = redact_corpus(capsysbinary, model, str(source), "--output", str(output), *CORPUS)
    assert code == 1
    errors = {name: error for name, (_, _, error) in BAD_LINES.items()}
    errors["nocolumn.parquet"] = "nocolumn.parquet: no column 'body' (columns: id, text); choose one with --text-field"
    errors["numbers.parquet"] = ("numbers.parquet: column 'body' holds int64, not strings; choose a text column with "
                                 "--text-field")
    for error in errors.values():
        assert f"failed: {error}" in err
    assert "1 shard(s) redacted (2 lines" in err and "5 failed" in err
    data = manifest(output)
    assert {name: entry["status"] for name, entry in data["shards"].items()} == {
        "ok.txt": "done", **{name: "failed" for name in errors}}
    assert {name: entry["error"] for name, entry in data["shards"].items() if name != "ok.txt"} == errors
    assert data["totals"]["shards_done"] == 1 and data["totals"]["shards_failed"] == 5
    # a failed shard leaves nothing behind
    assert list(tree(output)) == ["ok.txt"] and list(tree(default_map_dir(output))) == ["ok.txt.map.jsonl"]
    assert temporary_files(output, default_map_dir(output)) == []

    # the file fixed, a rerun redoes the failed shards and leaves the finished one alone
    finished = (output / "ok.txt").stat().st_mtime_ns
    fixed = BAD_LINES["broken.jsonl"][0].replace(b'"cut off\n', b'"cut off"}\n')
    (source / "broken.jsonl").write_bytes(fixed)
    code, err = redact_corpus(capsysbinary, model, str(source), "--output", str(output), *CORPUS)
    assert code == 1 and "6 shard(s), 1 finished earlier, 5 to redact" in err and "4 failed" in err
    assert (output / "ok.txt").stat().st_mtime_ns == finished
    assert manifest(output)["shards"]["broken.jsonl"]["status"] == "done"
    assert sorted(tree(output)) == ["broken.jsonl", "ok.txt"]
    span_map = tmp_path / "broken.map.jsonl"
    assert (output / "broken.jsonl").read_bytes() == redact_file(capsysbinary, model, source / "broken.jsonl",
                                                                 span_map, *CORPUS)
    assert (default_map_dir(output) / "broken.jsonl.map.jsonl").read_bytes() == span_map.read_bytes()


def test_on_error_keep_writes_malformed_lines_through_byte_for_byte(model, tmp_path, capsysbinary):
    source = write_malformed(tmp_path / "in")
    output = tmp_path / "out"
    code, _ = redact_corpus(capsysbinary, model, f"{source}/**/*.txt", f"{source}/*.jsonl", "--output", str(output),
                            "--on-error", "keep", *CORPUS)
    assert code == 0
    data = manifest(output)
    assert data["options"]["on_error"] == "keep" and data["totals"]["kept_unredacted"] == 3
    for name, (raw, number, error) in BAD_LINES.items():
        entry = data["shards"][name]
        assert (entry["status"], entry["lines"], entry["kept"], entry["errors"]) == ("done", 3, 1, [error])
        lines = raw.split(b"\n")[:-1]
        written = (output / name).read_bytes().split(b"\n")
        assert written[-1] == b"" and written[number - 1] == lines[number - 1]
        # the other lines are redact's output of the file without the malformed line
        without = tmp_path / "without" / name
        without.parent.mkdir(parents=True, exist_ok=True)
        without.write_bytes(b"".join(line + b"\n" for n, line in enumerate(lines, start=1) if n != number))
        span_map = without.with_name(without.name + ".map.jsonl")
        expected = redact_file(capsysbinary, model, without, span_map, *CORPUS).split(b"\n")
        assert written[: number - 1] + written[number:] == expected
        assert written != [*lines, b""]  # the good lines were redacted
        # the same span map, with the lines after the malformed one numbered as in the input
        records = [json.loads(line) for line in span_map.read_text("utf-8").splitlines()]
        for record in records:
            if record.get("line", 0) >= number:
                record["line"] += 1
        kept = default_map_dir(output) / (name + ".map.jsonl")
        assert [json.loads(line) for line in kept.read_text("utf-8").splitlines()] == records


# ------------------------------------------------------------------------------------------------ resume
def test_a_rerun_skips_finished_shards_redoes_changed_and_partial_ones_and_refuses_other_options(
        model, tmp_path, capsysbinary):
    rng = random.Random(1)
    source = tmp_path / "in"
    for name in ("a.txt", "b.txt", "sub/c.jsonl"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        lines = [json.dumps({"body": ticket(rng), "n": n}) if name.endswith(".jsonl") else ticket(rng)
                 for n in range(30)]
        (source / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    output, maps = tmp_path / "out", tmp_path / "maps"
    run = [model, str(source), "--output", str(output), "--span-maps", str(maps), *CORPUS]
    code, err = redact_corpus(capsysbinary, *run)
    assert code == 0 and "3 shard(s), 0 finished earlier, 3 to redact with this process" in err
    assert "3 shard(s) redacted (90 lines" in err

    def times() -> dict[str, int]:
        return {p.relative_to(tmp_path).as_posix(): p.stat().st_mtime_ns
                for folder in (output, maps) for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST}

    # the manifest: model, options, every shard with its lines and entities per type (those of its span map)
    data = manifest(output)
    assert data["model"]["path"] == model and data["model"]["size"] == Path(model).stat().st_size
    assert data["options"]["model"] == model and data["options"]["text_field"] == "body"
    assert data["options"]["recall_bias"] is None and data["options"]["types"] is None
    assert list(data["shards"]) == ["a.txt", "b.txt", "sub/c.jsonl"]
    for name, entry in data["shards"].items():
        assert (entry["status"], entry["lines"], entry["kept"], entry["output"]) == ("done", 30, 0, name)
        assert entry["span_map"] == str(maps / (name + ".map.jsonl"))
        mentions = Counter(span["type"] for line in (maps / (name + ".map.jsonl")).read_text("utf-8").splitlines()
                           for span in json.loads(line).get("spans", []))
        assert entry["entities"] == dict(mentions) and sum(mentions.values()) > 30
    assert data["totals"]["lines"] == 90 and data["totals"]["shards_done"] == 3
    assert data["last_run"]["shards_redacted"] == 3 and data["last_run"]["engine"] == "local"

    # nothing to do: nothing is touched
    before = times()
    code, err = redact_corpus(capsysbinary, *run)
    assert code == 0 and "3 shard(s), 3 finished earlier, 0 to redact" in err and times() == before

    # a changed input and a partial shard (its output gone, a temporary file left) are redone
    with (source / "b.txt").open("a", encoding="utf-8") as stream:
        stream.write("Maria Nguyen moved to Osaka.\n")
    (output / "sub" / "c.jsonl").unlink()
    (output / "sub" / ".c.jsonl.x1y2.tmp").write_text("half a shard", encoding="utf-8")
    code, err = redact_corpus(capsysbinary, *run)
    assert code == 0 and "3 shard(s), 1 finished earlier, 2 to redact" in err
    after = times()
    assert after["out/a.txt"] == before["out/a.txt"] and after["maps/a.txt.map.jsonl"] == before["maps/a.txt.map.jsonl"]
    assert after["out/b.txt"] != before["out/b.txt"] and temporary_files(output) == []
    assert manifest(output)["shards"]["b.txt"]["lines"] == 31
    for name in ("b.txt", "sub/c.jsonl"):
        span_map = tmp_path / "check.map.jsonl"
        span_map.unlink(missing_ok=True)
        assert (output / name).read_bytes() == redact_file(capsysbinary, model, source / name, span_map, *CORPUS)
        assert (maps / (name + ".map.jsonl")).read_bytes() == span_map.read_bytes()

    # other options would mix two redactions in one folder: refused, naming the option, nothing touched
    before = times()
    for option, message in ((["--recall-bias", "1"], "recall_bias: None there, 1.0 now"),
                            (["--types", "person,email"], "types: None there, ['person', 'email'] now"),
                            (["--no-map"], "span_maps: True there, False now")):
        code, err = redact_corpus(capsysbinary, *run, *option)
        assert code == 2 and message in err and "--overwrite" in err, err
    assert times() == before
    # --overwrite redoes every shard with the new options
    code, err = redact_corpus(capsysbinary, *run, "--recall-bias", "1", "--overwrite")
    assert code == 0 and "3 shard(s), 0 finished earlier, 3 to redact" in err
    assert all(after != before[name] for name, after in times().items())
    assert manifest(output)["options"]["recall_bias"] == 1.0
    header = json.loads((maps / "a.txt.map.jsonl").read_text("utf-8").splitlines()[0])
    assert header["recall_bias"] == 1.0



def test_the_recall_bias_of_the_models_recipe_is_kept_and_checked_like_the_option(model, tmp_path, capsysbinary):
    run_folder = tmp_path / "run"
    run_folder.mkdir()
    os.link(model, run_folder / "final-model.pt")
    (run_folder / "recipe.yaml").write_text("tagger:\n  recall_bias: 1.5\n", encoding="utf-8")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("Anna Smith moved to Paris.\n", encoding="utf-8")
    output = tmp_path / "out"
    run = [str(run_folder), str(tmp_path / "in"), "--output", str(output), "--no-progress"]
    assert redact_corpus(capsysbinary, *run)[0] == 0
    assert manifest(output)["options"]["recall_bias"] == 1.5
    header = json.loads((default_map_dir(output) / "a.txt.map.jsonl").read_text("utf-8").splitlines()[0])
    assert header["recall_bias"] == 1.5
    # the recipe changed: the folder's shards were redacted with another bias
    (run_folder / "recipe.yaml").write_text("tagger:\n  recall_bias: 2\n", encoding="utf-8")
    code, err = redact_corpus(capsysbinary, *run)
    assert code == 2 and "recall_bias: 1.5 there, 2.0 now" in err

# ------------------------------------------------------------------------------------------------ command line
def test_corpus_options_need_output_and_output_takes_no_single_file_options(model, corpus, tmp_path, capsysbinary):
    one = str(corpus / "tickets" / "2024" / "a.txt")
    output = str(tmp_path / "out")
    for args, message in (
        ([one, "--workers", "2"], "--workers go(es) with --output DIR"),
        ([one, "--engine", "ray", "--no-map"], "--engine, --no-map go(es) with --output DIR"),
        ([one, "--on-error", "keep", "--overwrite"], "--on-error, --overwrite go(es) with --output DIR"),
        ([one, str(corpus / JSONL_SHARD)], "2 inputs given: several files, folders or globs need --output DIR"),
        ([one, "--output", output, "--span-map", str(tmp_path / "m.jsonl")],
         "--span-map FILE is for one input; with --output each shard gets its span map under --span-maps DIR"),
        (["-", "--output", output], "--output reads files, folders and patterns, not stdin ('-')"),
        ([str(tmp_path / "missing.txt"), "--output", output],
         f"input {tmp_path / 'missing.txt'} is neither a file, a folder nor a glob"),
        ([one, "--output", output, "--address", "auto"], "--address and --gpus-per-actor go with --engine ray"),
    ):
        code, err = redact_corpus(capsysbinary, model, *args, "--no-progress")
        assert code == 2 and f"error: {message}" in err, (args, err)
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------------------------ killed runs
def open_temporary_files(pid: int) -> list[str]:
    """The ``*.tmp`` files a process holds open (a shard it is writing)."""
    found = []
    try:
        for fd in (Path("/proc") / str(pid) / "fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.endswith(".tmp"):
                found.append(target)
    except OSError:  # gone meanwhile
        pass
    return found


def done_shards(output: Path) -> int:
    try:
        return sum(entry["status"] == "done" for entry in manifest(output)["shards"].values())
    except FileNotFoundError:
        return 0


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="finds the worker processes in /proc (Linux)")
def test_a_killed_worker_and_driver_lose_nothing_and_the_rerun_writes_the_uninterrupted_output(
        model, corpus, reference, tmp_path, capsysbinary):
    output = tmp_path / "redacted"
    maps = default_map_dir(output)
    log = tmp_path / "driver.log"
    with log.open("wb") as stderr:
        # one torch thread per worker, as the reference has, on any number of cores
        driver = subprocess.Popen([*console(), "redact", model, str(corpus), "--output", str(output), "--workers", "2",
                                   "--threads", "1", *CORPUS], stdout=subprocess.DEVNULL, stderr=stderr,
                                  env=cli_env(), start_new_session=True)  # its own process group: driver and workers
    try:
        def writing_worker() -> Optional[tuple[int, list[str]]]:
            assert driver.poll() is None, log.read_text()
            for pid in children(driver.pid):
                if "spawn_main" in cmdline(pid) and open_temporary_files(pid):
                    return pid, open_temporary_files(pid)
            return None

        # a worker process in the middle of a shard: killed
        worker, writing = wait_for(writing_worker, "a worker writing a shard")
        finished = done_shards(output)
        kill(worker)
        assert finished < len(SHARDS) - 1
        # the driver starts new workers, which redo the lost shards; with two shards left (in the middle of
        # them, most likely), the driver and its workers die
        wait_for(lambda: done_shards(output) >= len(SHARDS) - 2 or driver.poll() is not None, "finished shards")
        os.killpg(driver.pid, signal.SIGKILL)
        driver.wait(timeout=60)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait(timeout=60)
    printed = log.read_text(encoding="utf-8")
    assert "a worker process died (killed or out of memory); starting new workers" in printed, printed
    interrupted = done_shards(output)
    assert finished < interrupted < len(SHARDS), printed

    # the rerun does the rest (here: no pool to start for two shards); the folder is the uninterrupted run's, byte
    # for byte (so is every shard the worker processes wrote), nothing left over
    code, err = redact_corpus(capsysbinary, model, str(corpus), "--output", str(output), *CORPUS)
    assert code == 0
    assert (f"{len(SHARDS)} shard(s), {interrupted} finished earlier, {len(SHARDS) - interrupted} to redact with "
            "this process") in err
    assert tree(output) == tree(reference)
    assert tree(maps) == tree(reference.with_name("redacted.span-maps"))
    assert temporary_files(output, maps) == []
    counts = [{name: (entry["status"], entry["lines"], entry["entities"])
               for name, entry in manifest(folder)["shards"].items()} for folder in (output, reference)]
    assert counts[0] == counts[1] and sorted(counts[0]) == SHARDS
