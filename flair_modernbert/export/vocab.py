"""A trimmed vocabulary for export (``export --vocab CORPUS``): only the embedding rows of tokens a corpus uses,
plus every token the tokenizer needs to spell any text.

Most of a small encoder's weights are its token embedding matrix (half of all-MiniLM-L6-v2's, a quarter of
ModernBERT-base's), and a redaction page never sees most of its rows. :func:`trim_vocabulary` keeps

- the tokens the tagger's tokenizer gives the corpus's words (as Flair tokenizes them: ``is_split_into_words``),
- the special tokens (``[CLS]``, ``[SEP]``, ``[PAD]``, ``[UNK]``, ``[FLERT]``, every added token marked special,
  the ids the post-processor, the padding and the model's config name),
- what spells any text in smaller pieces: for BPE every single-symbol token (byte-level BPE: the 256 byte
  symbols; ``<0xNN>`` byte-fallback tokens) and, so that merges stay consistent, the parts of every merge that
  produces a kept token (transitively); only merges whose parts and result are kept stay, in their order. For
  WordPiece every single character and its ``##`` continuation of the original vocabulary; for Unigram every
  single-character piece. A word-level vocabulary cannot spell unseen words and is refused.

Why the corpus tokenizes exactly as before: BPE applies the lowest-ranked applicable merge; every merge the original
applied to a corpus word builds a kept token, so it is kept, and a subset of merges in the same order picks the same
one at every step. WordPiece takes the longest vocabulary prefix; the original's pieces are kept and nothing longer
is added. Unigram's best segmentation over a subset of pieces is the original's when its pieces are kept.
:func:`trim_vocabulary` checks it on the corpus (the ids map one to one) rather than trusting the argument.

While exporting, the tagger (in place, restored afterwards: :func:`trimmed`) has its embedding rows sliced and
its tokenizer's ids renumbered (``tokenizer.json``: the
model's vocabulary, merges, added tokens, post-processor and padding ids; ``tokenizer_config.json``'s added tokens;
the model config's ``vocab_size`` and special token ids), so the ordinary export (ONNX graph, quantized copies,
``crf.json``'s token ids, the Node tokenizer check) runs on it unchanged. :class:`VocabularyCheck` compares the
trimmed graph's tags with the untrimmed tagger's (Flair, computed first) on the corpus, word by word.

Corpora (:func:`read_vocab_corpus`): a recipe (``.yaml``: the train split of its corpus, synthetic documents
included), a column file (words in the first column), span-annotated documents (JSON lines or arrays the span
readers know), documents as JSON lines with a ``"text"`` field, or plain text (one document a line). Prefix
``recipe:``, ``column:``, ``spans:``, ``jsonl:`` or ``text:`` to choose instead of the detection.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Union

logger = logging.getLogger(__name__)

__all__ = ["VOCAB_KINDS", "DEFAULT_MIN_AGREEMENT", "VocabularyTrim", "VocabularyCheck", "vocab_source",
           "read_vocab_corpus", "seen_token_ids", "trim_tokenizer_json", "trim_vocabulary", "trimmed", "flair_tags",
           "onnx_tags", "tag_agreement",
           "summary_lines"]

#: ``--vocab KIND:PATH`` kinds (without a prefix the kind is detected).
VOCAB_KINDS = ("recipe", "column", "spans", "jsonl", "text")
#: ``--vocab-min-agreement`` default: the share of corpus words whose tag must stay the untrimmed tagger's.
DEFAULT_MIN_AGREEMENT = 0.995

_TAG = re.compile(r"^(O|[BIESLU]-\S+|[BIESLU]_\S+)$")
_BYTE_FALLBACK = re.compile(r"^<0x[0-9A-Fa-f]{2}>$")


# ------------------------------------------------------------------------------------------------ corpora
def _looks_like_columns(path: Path) -> bool:
    """Column files: every non-blank line among the first 200 has at least two fields, the last a tag."""
    lines = []
    with path.open(encoding="utf-8", errors="replace") as stream:
        for line in stream:
            if line.strip():
                lines.append(line.split())
            if len(lines) >= 200:
                break
    return bool(lines) and all(len(fields) >= 2 and _TAG.match(fields[-1]) for fields in lines)


def _detect_kind(path: Path) -> str:
    if path.suffix.lower() in (".yaml", ".yml"):
        return "recipe"
    head = path.read_text(encoding="utf-8", errors="replace")[:4096].lstrip("\ufeff \t\r\n")
    if head.startswith(("{", "[")):
        from flair_modernbert.data.columns import CorpusFormatError
        from flair_modernbert.data.spans import detect_format

        try:
            detect_format(path)
            return "spans"
        except CorpusFormatError:
            return "jsonl"
    return "column" if _looks_like_columns(path) else "text"


def _document_sentences(texts: Iterable[str]) -> list[list[str]]:
    from flair_modernbert.inference import Document

    return [[word.text for word in unit] for text in texts for unit in Document(text).segment("sentence")]


def vocab_source(source: Union[str, os.PathLike]) -> tuple[Optional[str], Path]:
    """The kind (one of :data:`VOCAB_KINDS`, or None to detect) and the file of a ``--vocab`` argument.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a ``KIND:`` prefix that is not one of :data:`VOCAB_KINDS`.
    """
    text = str(source)
    kind = None
    prefix, _, rest = text.partition(":")
    if rest and prefix in VOCAB_KINDS:
        kind, text = prefix, rest
    elif rest and len(prefix) > 1 and not {"/", "\\"} & set(prefix) and not Path(text).exists():
        raise ValueError(f"--vocab {text!r}: unknown kind {prefix!r}; prefix one of {', '.join(VOCAB_KINDS)} "
                         "or give a path")
    path = Path(text)
    if not path.is_file():
        raise FileNotFoundError(f"--vocab {text}: no such file (give a corpus file or a recipe)")
    return kind, path


def read_vocab_corpus(source: Union[str, os.PathLike], overrides: Sequence[str] = ()) -> tuple[list[list[str]], str]:
    """The sentences (as words) of a ``--vocab`` corpus, split into words as ``predict`` splits text.

    Args:
        source: a path, optionally prefixed with one of :data:`VOCAB_KINDS` and ``:`` (``column:train.txt``).
        overrides: ``KEY=VALUE`` recipe overrides (``corpus.path=...``), for a recipe only.

    Returns:
        The sentences and the kind read (``recipe``, ``column``, ...).

    Raises:
        FileNotFoundError: no such file.
        ValueError: an unknown kind, overrides for a corpus that is not a recipe, or a corpus without words.
    """
    kind, path = vocab_source(source)
    kind = kind or _detect_kind(path)
    if overrides and kind != "recipe":
        raise ValueError(f"--vocab-set applies to a recipe, but {path} is read as {kind}")
    if kind == "recipe":
        from flair_modernbert.config import load_recipe
        from flair_modernbert.data import load_corpus

        corpus = load_corpus(load_recipe(path, overrides))
        sentences = [[token.text for token in sentence] for sentence in (corpus.train or [])]
    elif kind == "column":
        from flair_modernbert.data import read_words

        sentences = read_words(path)
    elif kind == "spans":
        from flair_modernbert.data import read_span_documents

        sentences = _document_sentences(document.text for document in read_span_documents(path))
    else:
        from flair_modernbert.inference import parse_line, read_lines

        with path.open("rb") as stream:
            texts = [parse_line(line, number, str(path), fmt="text" if kind == "text" else "jsonl").text
                     for number, line in read_lines(stream, str(path)) if line.strip()]
        sentences = _document_sentences(texts)
    sentences = [sentence for sentence in sentences if sentence]
    if not sentences:
        raise ValueError(f"--vocab {path}: no words in it (read as {kind}); a trimmed vocabulary needs a corpus")
    logger.info("--vocab %s (%s): %d sentences, %d words", path, kind, len(sentences), sum(map(len, sentences)))
    return sentences, kind


# ------------------------------------------------------------------------------------------------ tokenizer.json
def seen_token_ids(tokenizer: Any, sentences: Sequence[Sequence[str]], batch_size: int = 256) -> list[list[int]]:
    """The ids (no special tokens) the tokenizer gives each sentence, as Flair tokenizes it."""
    ids: list[list[int]] = []
    for at in range(0, len(sentences), batch_size):
        batch = [list(sentence) for sentence in sentences[at: at + batch_size]]
        ids += tokenizer(batch, is_split_into_words=True, add_special_tokens=False)["input_ids"]
    return ids


def _find(node: Any, type_name: str) -> bool:
    if isinstance(node, dict):
        return node.get("type") == type_name or any(_find(value, type_name) for value in node.values())
    if isinstance(node, list):
        return any(_find(value, type_name) for value in node)
    return False


def _processor_ids(node: Any, renumber: Optional[Callable[[str, int], int]] = None) -> set[int]:
    """Token ids a post-processor names (renumbered in place with ``renumber(token, old_id)``)."""
    found: set[int] = set()
    if isinstance(node, dict):
        if node.get("type") == "TemplateProcessing":
            for special in node.get("special_tokens", {}).values():
                found.update(special["ids"])
                if renumber is not None:
                    special["ids"] = [renumber(token, i) for token, i in zip(special["tokens"], special["ids"])]
        for key in ("sep", "cls"):  # BertProcessing, RobertaProcessing: [token, id]
            pair = node.get(key)
            if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], int):
                found.add(pair[1])
                if renumber is not None:
                    pair[1] = renumber(pair[0], pair[1])
        for value in node.get("processors", []) or []:
            found |= _processor_ids(value, renumber)
    return found


def _merge_parts(merge: Union[str, list[str]]) -> tuple[str, str]:
    if isinstance(merge, str):
        left, right = merge.split(" ", 1)
        return left, right
    return merge[0], merge[1]


def _merged(left: str, right: str, prefix: str) -> str:
    return left + (right[len(prefix):] if prefix and right.startswith(prefix) else right)


def _is_single(token: str, prefix: str, suffix: str) -> bool:
    core = token
    if prefix and core.startswith(prefix) and len(core) > len(prefix):
        core = core[len(prefix):]
    if suffix and core.endswith(suffix) and len(core) > len(suffix):
        core = core[: -len(suffix)]
    return len(core) == 1 or bool(_BYTE_FALLBACK.match(token))


@dataclass
class VocabularyTrim:
    """What :func:`trim_vocabulary` keeps.

    Attributes:
        kept_ids: the original row of each trimmed id (``kept_ids[i]`` for id ``i``).
        rows_total: rows of the original embedding matrix.
        tokenizer_size: tokens of the original tokenizer (vocabulary and added tokens).
        seen: distinct tokens the corpus used.
        model: the tokenizer's model (``BPE``, ``WordPiece``, ``Unigram``).
        merges_kept: BPE merges kept (0 otherwise).
        merges_total: BPE merges of the original.
        corpus: the ``--vocab`` argument, as given.
        corpus_kind: how it was read (``recipe``, ``column``, ``spans``, ``jsonl``, ``text``).
        sentences: corpus sentences.
        words: corpus words.
        hidden_size: width of an embedding row.
        tokenizer: the trimmed tokenizer.
        remap: original id -> trimmed id.
    """

    kept_ids: list[int] = field(repr=False)
    rows_total: int
    tokenizer_size: int
    seen: int
    model: str
    merges_kept: int = 0
    merges_total: int = 0
    corpus: str = ""
    corpus_kind: str = ""
    sentences: int = 0
    words: int = 0
    hidden_size: int = 0
    tokenizer: Any = field(default=None, repr=False, compare=False)
    remap: dict[int, int] = field(default_factory=dict, repr=False, compare=False)

    @property
    def rows_kept(self) -> int:
        """Rows of the trimmed embedding matrix."""
        return len(self.kept_ids)

    def to_json(self) -> dict[str, Any]:
        """The record written to ``crf.json`` (without the id list)."""
        skip = ("kept_ids", "tokenizer", "remap")
        record = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        record["rows_kept"] = self.rows_kept
        return record


def trim_tokenizer_json(state: dict[str, Any], seen: Iterable[int],
                        also: Iterable[int] = ()) -> tuple[dict[str, Any], list[int], dict[str, int]]:
    """A ``tokenizer.json`` (parsed) reduced to the tokens ``seen`` plus what spells any text (module docstring).

    Args:
        state: the parsed ``tokenizer.json`` (not modified).
        seen: ids the corpus used.
        also: other ids to keep (the model config's special token ids).

    Returns:
        The new state; the original ids kept, in the new order (new id = position; an added token that shared its
        id with a model token, as Flair's ``[FLERT]`` can, gets its own copy of that row); counts (``merges_kept``,
        ``merges_total``); old id -> new id (a model token's where two shared one); token -> new id.

    Raises:
        ValueError: a tokenizer model that cannot spell unseen words (``WordLevel``) or an unknown one.
    """
    state = copy.deepcopy(state)
    model = state["model"]
    kind = model.get("type")
    added = state.get("added_tokens") or []
    keep: set[int] = set(seen) | set(also)
    keep |= {token["id"] for token in added if token.get("special")}
    keep |= _processor_ids(state.get("post_processor"))
    if state.get("padding"):
        keep.add(state["padding"]["pad_id"])
    counts = {"merges_kept": 0, "merges_total": 0}
    if kind in ("BPE", "WordPiece"):
        vocab: dict[str, int] = model["vocab"]
        prefix = model.get("continuing_subword_prefix") or ""
        suffix = (model.get("end_of_word_suffix") or "") if kind == "BPE" else ""
        if kind == "WordPiece":
            prefix = prefix or "##"
        unk = model.get("unk_token")
        if unk is not None and unk in vocab:
            keep.add(vocab[unk])
        keep |= {i for token, i in vocab.items() if _is_single(token, prefix, suffix)}
        if kind == "BPE":
            merges = model.get("merges") or []
            producers: dict[str, list[tuple[str, str]]] = {}
            for merge in merges:
                left, right = _merge_parts(merge)
                producers.setdefault(_merged(left, right, prefix), []).append((left, right))
            by_id = {i: token for token, i in vocab.items()}
            work = [by_id[i] for i in keep if i in by_id]
            kept_tokens = set(work)
            while work:  # the parts of every merge producing a kept token, transitively
                token = work.pop()
                for pair in producers.get(token, ()):
                    for part in pair:
                        if part in vocab and part not in kept_tokens:
                            kept_tokens.add(part)
                            keep.add(vocab[part])
                            work.append(part)
            model["merges"] = [merge for merge in merges if all(
                t in kept_tokens for t in (*_merge_parts(merge), _merged(*_merge_parts(merge), prefix)))]
            counts = {"merges_kept": len(model["merges"]), "merges_total": len(merges)}
    elif kind == "Unigram":
        pieces = model["vocab"]
        if model.get("unk_id") is not None:
            keep.add(model["unk_id"])
        keep |= {i for i, (piece, _) in enumerate(pieces) if len(piece) == 1 or _BYTE_FALLBACK.match(piece)}
    elif kind == "WordLevel":
        raise ValueError("the tokenizer is word-level (WordLevel): a trimmed vocabulary could not spell unseen words "
                         "in smaller pieces, so --vocab is refused for it")
    else:
        raise ValueError(f"--vocab: the tokenizer's model {kind!r} is not one this export can trim "
                         "(BPE, WordPiece, Unigram)")
    # the model's tokens first (by id), then added tokens the model does not know (in order), as tokenizers numbers
    # them on loading; an added token sharing an old id with a model token shares its row
    if kind == "Unigram":
        contents = {piece: i for i, (piece, _) in enumerate(model["vocab"])}
    else:
        contents = dict(model["vocab"])
    model_kept = sorted(keep & set(contents.values()))
    remap = {old: new for new, old in enumerate(model_kept)}
    new_ids = {content: remap[i] for content, i in contents.items() if i in remap}
    kept = list(model_kept)
    for token in added:
        if token["content"] not in contents and token["id"] in keep:
            new_ids[token["content"]] = len(kept)
            remap.setdefault(token["id"], len(kept))
            kept.append(token["id"])
    if kind == "Unigram":
        model["vocab"] = [model["vocab"][i] for i in model_kept]
        if model.get("unk_id") is not None:
            model["unk_id"] = remap[model["unk_id"]]
    else:
        model["vocab"] = {token: remap[i] for token, i in model["vocab"].items() if i in remap}

    def renumber(content: str, old: int) -> int:
        return new_ids[content] if content in new_ids else remap[old]

    state["added_tokens"] = [{**token, "id": new_ids[token["content"]]} for token in added
                             if token["content"] in new_ids]
    _processor_ids(state.get("post_processor"), renumber)
    if state.get("padding"):
        padding = state["padding"]
        padding["pad_id"] = renumber(padding.get("pad_token", ""), padding["pad_id"])
    return state, kept, counts, remap, new_ids


def _trimmed_tokenizer(tokenizer: Any, state: dict[str, Any], new_ids: dict[str, int]) -> Any:
    """The tagger's tokenizer class loaded from the trimmed ``tokenizer.json`` (its other settings kept)."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        tokenizer.save_pretrained(folder)
        for name in ("vocab.txt", "vocab.json", "merges.txt", "sentencepiece.bpe.model", "spiece.model"):
            (folder / name).unlink(missing_ok=True)  # the slow tokenizer's files: tokenizer.json is the one truth
        (folder / "tokenizer.json").write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
        config_file = folder / "tokenizer_config.json"
        if config_file.is_file():
            config = json.loads(config_file.read_text(encoding="utf-8"))
            if isinstance(config.get("added_tokens_decoder"), dict):
                config["added_tokens_decoder"] = {str(new_ids[token["content"]]): token
                                                  for token in config["added_tokens_decoder"].values()
                                                  if token.get("content") in new_ids}
            config_file.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
        return type(tokenizer).from_pretrained(str(folder))


_CONFIG_IDS = ("pad_token_id", "bos_token_id", "eos_token_id", "cls_token_id", "sep_token_id", "mask_token_id",
               "unk_token_id", "decoder_start_token_id")


def trim_vocabulary(tagger: Any, sentences: Sequence[Sequence[str]], corpus: str = "",
                    corpus_kind: str = "") -> VocabularyTrim:
    """What a trimmed vocabulary for ``sentences`` keeps of the tagger's (the tagger is not changed; apply it with
    :func:`trimmed`).

    Args:
        tagger: a Flair ``SequenceTagger`` over ``ModernBertEmbeddings`` or ``TransformerWordEmbeddings``.
        sentences: the corpus, as words.
        corpus: the ``--vocab`` argument (recorded).
        corpus_kind: how it was read (recorded).

    Raises:
        ValueError: the tokenizer cannot be trimmed, or the trimmed one spells the corpus differently (a bug).
    """
    tokenizer = tagger.embeddings.tokenizer
    with tempfile.TemporaryDirectory() as scratch:
        tokenizer.save_pretrained(scratch)
        state = json.loads((Path(scratch) / "tokenizer.json").read_text(encoding="utf-8"))
    encoded = seen_token_ids(tokenizer, sentences)
    seen = {i for ids in encoded for i in ids}
    config = tagger.embeddings.model.config
    config_ids = {getattr(config, name) for name in _CONFIG_IDS if isinstance(getattr(config, name, None), int)}
    state, kept, counts, remap, new_ids = trim_tokenizer_json(state, seen, config_ids)
    rows, hidden = tagger.embeddings.model.get_input_embeddings().weight.shape
    if max(kept) >= rows:
        raise ValueError(f"--vocab: token id {max(kept)} has no row in the {rows}-row embedding matrix")
    trimmed_tokenizer = _trimmed_tokenizer(tokenizer, state, new_ids)
    moved = [token for token, i in new_ids.items() if trimmed_tokenizer.convert_tokens_to_ids(token) != i]
    if moved:
        raise ValueError(f"the trimmed tokenizer numbers {len(moved)} token(s) otherwise than planned (e.g. "
                         f"{moved[0]!r}); please report this with the model's tokenizer")
    again = seen_token_ids(trimmed_tokenizer, sentences)
    wrong = [number for number, (old, new) in enumerate(zip(encoded, again), start=1)
             if [remap[i] for i in old] != new]
    if wrong:
        raise ValueError(f"the trimmed tokenizer spells {len(wrong)} corpus sentence(s) differently from the original "
                         f"(first: sentence {wrong[0]}); please report this with the model's tokenizer")
    trim = VocabularyTrim(
        kept_ids=kept, rows_total=rows, tokenizer_size=len(tokenizer), seen=len(seen), model=state["model"]["type"],
        corpus=corpus, corpus_kind=corpus_kind, sentences=len(sentences), words=sum(map(len, sentences)),
        hidden_size=hidden, **counts,
    )
    trim.tokenizer, trim.remap = trimmed_tokenizer, remap
    logger.info("--vocab: %d of %d embedding rows kept (%d seen in the corpus)", trim.rows_kept, rows, len(seen))
    return trim


@contextlib.contextmanager
def trimmed(tagger: Any, trim: VocabularyTrim) -> Iterator[Any]:
    """The tagger with the trimmed vocabulary for the duration: its embedding rows sliced to ``trim.kept_ids``, the
    trimmed tokenizer, the config's ``vocab_size`` and special token ids renumbered; all restored on exit.

    The tagger is changed in place rather than copied: Flair's embeddings rebuild themselves from their
    parameters when copied (``__setstate__``), and a copy would hold the full matrix twice.
    """
    import torch
    from torch import nn

    model = tagger.embeddings.model
    embedding = model.get_input_embeddings()
    remap = trim.remap
    padding = embedding.padding_idx
    sliced = nn.Embedding(len(trim.kept_ids), embedding.weight.shape[1],
                          padding_idx=remap.get(padding) if padding is not None else None,
                          device=embedding.weight.device, dtype=embedding.weight.dtype)
    with torch.no_grad():
        sliced.weight.copy_(embedding.weight.detach()[torch.tensor(trim.kept_ids, device=embedding.weight.device)])
    config = model.config
    saved_ids = {name: getattr(config, name) for name in _CONFIG_IDS if hasattr(config, name)}
    saved_size, saved_tokenizer = config.vocab_size, tagger.embeddings.tokenizer
    try:
        model.set_input_embeddings(sliced)
        tagger.embeddings.tokenizer = trim.tokenizer
        config.vocab_size = len(trim.kept_ids)
        for name, value in saved_ids.items():
            if isinstance(value, int):
                setattr(config, name, remap.get(value))
        yield tagger
    finally:
        model.set_input_embeddings(embedding)
        tagger.embeddings.tokenizer = saved_tokenizer
        config.vocab_size = saved_size
        for name, value in saved_ids.items():
            setattr(config, name, value)


# ------------------------------------------------------------------------------------------------ the check
def _fit_windows(sentences: Sequence[Sequence[str]], tokenizer: Any, max_length: int) -> list[list[str]]:
    """The sentences, long ones cut into pieces of words that fit one window with the special tokens."""
    room = max_length - tokenizer.num_special_tokens_to_add()
    pieces: list[list[str]] = []
    for sentence, ids in zip(sentences, seen_token_ids(tokenizer, sentences)):
        if len(ids) <= room:
            pieces.append(list(sentence))
            continue
        lengths = [len(i) for i in seen_token_ids(tokenizer, [[word] for word in sentence])]
        piece: list[str] = []
        used = 0
        for word, length in zip(sentence, lengths):
            if piece and used + length > room:
                pieces.append(piece)
                piece, used = [], 0
            piece.append(word)
            used += length
        pieces.append(piece)
    return pieces


def _batches(items: Sequence[Any], size: int, what: str) -> Iterator[Sequence[Any]]:
    for at in range(0, len(items), size):
        if at and (at // size) % 50 == 0:
            logger.info("--vocab check (%s): %d of %d sentences", what, at, len(items))
        yield items[at: at + size]


def flair_tags(tagger: Any, sentences: Sequence[Sequence[str]], batch_size: int = 32) -> list[list[str]]:
    """The tags Flair gives each sentence alone (no context), decoded by the tagger's CRF or argmax."""
    from flair_modernbert.export.verify import decode_emissions, flair_emissions

    saved = tagger.embeddings.context_length
    tagger.embeddings.context_length = 0
    try:
        return [tags for batch in _batches(sentences, batch_size, "Flair")
                for tags in decode_emissions(tagger, flair_emissions(tagger, batch))]
    finally:
        tagger.embeddings.context_length = saved


def onnx_tags(tagger: Any, spec: Any, model_path: Union[str, os.PathLike], tokenizer: Any,
              sentences: Sequence[Sequence[str]], batch_size: int = 32) -> list[list[str]]:
    """The tags an exported graph gives each sentence alone, decoded by the tagger's CRF or argmax."""
    from flair_modernbert.export.verify import decode_emissions, onnx_emissions, onnx_session

    session = onnx_session(model_path)
    return [tags for batch in _batches(sentences, batch_size, "ONNX")
            for tags in decode_emissions(tagger, onnx_emissions(session, tokenizer, spec, batch, batch_size))]


def tag_agreement(sentences: Sequence[Sequence[str]], expected: Sequence[Sequence[str]],
                  found: Sequence[Sequence[str]]) -> dict[str, Any]:
    """``{"words", "agreeing", "agreement", "sentences", "examples"}``: how many words got the same tag (up to 5
    differing words with both tags as examples)."""
    words = agreeing = 0
    examples: list[dict[str, str]] = []
    for sentence, want, got in zip(sentences, expected, found):
        for word, a, b in zip(sentence, want, got):
            words += 1
            agreeing += a == b
            if a != b and len(examples) < 5:
                examples.append({"word": word, "untrimmed": a, "trimmed": b})
    return {"words": words, "agreeing": agreeing, "agreement": agreeing / words if words else 1.0,
            "sentences": len(sentences), "examples": examples}


@dataclass
class VocabularyCheck:
    """The check :func:`~flair_modernbert.export.folder.write_folder` runs on a trimmed export's fp32 graph: its
    tags on the corpus against the untrimmed tagger's (computed by :meth:`prepare`, before the tagger is trimmed).

    Attributes:
        trim: what was kept.
        sentences: the corpus, long sentences cut to fit one window.
        expected: the untrimmed tagger's tags of ``sentences``.
        min_agreement: the least share of words tagged as the untrimmed tagger tags them.
    """

    trim: VocabularyTrim
    sentences: list[list[str]] = field(repr=False)
    expected: list[list[str]] = field(repr=False)
    min_agreement: float = DEFAULT_MIN_AGREEMENT

    @classmethod
    def prepare(cls, tagger: Any, spec: Any, trim: VocabularyTrim, sentences: Sequence[Sequence[str]],
                min_agreement: float = DEFAULT_MIN_AGREEMENT) -> "VocabularyCheck":
        """The untrimmed tagger's tags of the corpus (Flair), to compare the trimmed graph with."""
        pieces = _fit_windows(sentences, tagger.embeddings.tokenizer, spec.max_length)
        return cls(trim, pieces, flair_tags(tagger, pieces), min_agreement)

    def run(self, tagger: Any, spec: Any, model_path: Union[str, os.PathLike]) -> dict[str, Any]:
        """The record for ``crf.json`` (what was kept, the agreement) of the trimmed ``tagger``'s graph.

        Raises:
            ValueError: the agreement is below ``min_agreement`` (the export is not kept).
        """
        found = tag_agreement(self.sentences, self.expected,
                              onnx_tags(tagger, spec, model_path, tagger.embeddings.tokenizer, self.sentences))
        record = {**self.trim.to_json(), **found, "min_agreement": self.min_agreement}
        logger.info("--vocab: the trimmed graph tags %d of %d corpus words (%.2f%%) as the untrimmed tagger",
                    found["agreeing"], found["words"], 100 * found["agreement"])
        if found["agreement"] < self.min_agreement:
            shown = ", ".join(f"{e['word']!r} {e['untrimmed']} -> {e['trimmed']}" for e in found["examples"])
            raise ValueError(
                f"--vocab {self.trim.corpus}: the trimmed export tags {found['agreement']:.2%} of the corpus's "
                f"{found['words']} words as the untrimmed tagger ({found['words'] - found['agreeing']} differ, e.g. "
                f"{shown}), below --vocab-min-agreement {self.min_agreement:.2%}; the export was not kept"
            )
        return record


def summary_lines(record: dict[str, Any], files: dict[str, int]) -> list[str]:
    """Lines for the command line about a trimmed vocabulary: rows kept, file sizes with and without it, agreement."""
    removed = record["rows_total"] - record["rows_kept"]
    lines = [f"  vocabulary: {record['rows_kept']} of {record['rows_total']} embedding rows kept "
             f"({record['rows_kept'] / record['rows_total']:.1%}; {record['seen']} tokens seen in {record['corpus']})"]
    from flair_modernbert.export.onnx_graph import Q4_EMBEDDING_BLOCK_SIZE
    from flair_modernbert.export.tables import TABLE_OVERHEAD_BITS

    # bytes per embedding value in each file: fp32 4, fp16 2, int8 1, q4 half a byte + a block's scale and minimum
    q4_width = (4 + TABLE_OVERHEAD_BITS / Q4_EMBEDDING_BLOCK_SIZE) / 8
    for name, width in (("onnx/model.onnx", 4), ("onnx/model_fp16.onnx", 2), ("onnx/model_quantized.onnx", 1),
                        ("onnx/model_q4.onnx", q4_width)):
        if name in files:
            before = files[name] + removed * record["hidden_size"] * width
            lines.append(f"    {name}: {files[name] / 2**20:.1f} MiB (untrimmed: about {before / 2**20:.1f} MiB)")
    lines.append(f"  vocabulary check: {record['agreeing']} of {record['words']} corpus words "
                 f"({record['agreement']:.2%})"
                 f" tagged as by the untrimmed tagger (at least {record['min_agreement']:.2%} required)")
    return lines
