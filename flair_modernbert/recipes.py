"""Typed training recipes: YAML files read into dataclasses, validated, overridable with ``--set``.

A recipe has six top-level keys, each optional except ``corpus``::

    corpus:        where the sentences come from  -> CorpusConfig
    embeddings:    the ModernBERT encoder          -> EmbeddingsConfig
    tagger:        the head on top of it           -> TaggerConfig
    training:      optimiser, schedule, seeds      -> TrainingConfig
    augmentation:  train-split augmentation ops    -> kept raw (list or mapping)
    output_dir:    where a run writes its files    -> str

Every key is checked: an unknown key, a value of the wrong type or out of range raises a
:class:`RecipeError` (a ``ValueError``) naming the file, the dotted key (``training.learning_rate``) and,
when the value came from the command line, the ``--set`` override.

Numbers: recipes are read with a YAML loader that also reads ``5e-6`` as a float (plain PyYAML follows
YAML 1.1 and would return the *string* ``'5e-6'``). Duplicate keys in one mapping are an error.

Path resolution rule (applies to ``corpus.path``, ``corpus.kwargs.base_path``, path-like
``embeddings.model`` values and ``output_dir``):

1. ``package:<relative path>`` points into the installed ``flair_modernbert`` package, e.g.
   ``package:data/wnut17_sample`` is the WNUT-17 sample shipped with it; it works from any directory and
   from any install location.
2. ``~`` and ``$VARIABLES`` are expanded; absolute paths are used as they are.
3. A relative path written in a recipe file is relative to the folder of that file, never to the current
   directory: ``recipes/wnut17-base-crf.yaml`` says ``../../shared/data/wnut17`` and works from anywhere.
4. A relative path given with ``--set`` (or in a dict passed without ``base_dir``) is relative to the
   current working directory, the way any command-line path is. So is the default ``output_dir``
   (``runs/<recipe file name>``).

:func:`load_recipe` applies the rule, so a loaded :class:`Recipe` holds absolute paths and
:func:`save_recipe` writes a recipe that loads the same from anywhere. ``embeddings.model`` is a path when
it starts with ``./``, ``../``, ``/``, ``~``, ``$`` or ``package:``, or when a folder of that name exists
next to the recipe; otherwise it is a Hugging Face id (``answerdotai/ModernBERT-base``) or ``random:<size>``.

Defaults follow what is known to work for ModernBERT NER: full fine-tuning with a low learning rate and
small batches (Flair's FLERT recipe: AdamW, lr 5e-6, batch 4, linear warm-up over 10% of the steps,
64 words of context each side; stefan-it reached ~95% dev F1 on CoNLL-03 with ModernBERT-large at lr 5e-6,
batch 4, 10 epochs; ModernBERT-base reached test F1 0.898 on OntoNotes 5 with a CRF head, fine-tuned with a
low learning rate and small batches).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import logging
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional, Sequence, Union, get_args, get_origin, get_type_hints

import yaml

from flair_modernbert.local_models import MODEL_SIZES, RANDOM_PREFIX

logger = logging.getLogger(__name__)

__all__ = [
    "PACKAGE_PREFIX",
    "CorpusConfig",
    "EmbeddingsConfig",
    "TaggerConfig",
    "TrainingConfig",
    "Recipe",
    "RecipeError",
    "load_recipe",
    "recipe_from_dict",
    "apply_overrides",
    "save_recipe",
    "parse_override",
    "resolve_path",
    "package_dir",
    "resolve_device",
    "check_runtime",
]

#: Prefix of paths inside the installed ``flair_modernbert`` package (see the module docstring).
PACKAGE_PREFIX = "package:"

CORPUS_TYPES = ("flair", "column", "hf")
TAG_SCHEMES = ("BIO", "IOB1", "BIOES")


class RecipeError(ValueError):
    """A recipe (or an override of it) is invalid. The message names the file, the key and the override.

    Attributes:
        key: the dotted key at fault (``training.learning_rate``), or ``""`` for the whole recipe.
        source: the recipe file (or ``<dict>``) the recipe came from.
        override: the ``--set`` string responsible, if any.
    """

    def __init__(self, message: str, key: str = "", source: str = "", override: Optional[str] = None) -> None:
        super().__init__(message)
        self.key = key
        self.source = source
        self.override = override


# ------------------------------------------------------------------------------------------------ sections
@dataclass
class CorpusConfig:
    """``corpus:`` -- where the sentences come from. Which keys apply depends on ``type``.

    Common to all types:
        type: ``flair`` (a loader of ``flair.datasets`` by name), ``column`` (a folder of CoNLL-style
            column files) or ``hf`` (a Hugging Face ``datasets`` id or a ``save_to_disk`` folder). Required.
        label_type: the label layer that holds the entity spans. Default ``ner``.
        sample: keep only part of every split, for smoke runs: a float in (0, 1] keeps that fraction, an
            integer N >= 1 keeps at most N sentences per split. Default ``None`` (everything).
        seed: seed of every random choice made while loading: the ``sample`` subset and a dev/test split
            sampled from train when the corpus has none. Default 0.

    ``type: flair``:
        name: the ``flair.datasets`` class, e.g. ``CONLL_03``, ``ONTONOTES``, ``WNUT_17``. Required.
        kwargs: keyword arguments of that class, e.g. ``{version: v4, language: english}``;
            ``base_path`` in it is a path (see the module docstring). Default ``{}``.

    ``type: column``:
        path: the folder with the column files. Required.
        train_file, dev_file, test_file: file names inside ``path``. Default ``None``: Flair's own rule
            finds them (names containing ``train``/``dev``/``test``, ``testa``/``testb``); a split without a
            file is sampled from train (10%).
        columns: column index (0-based) -> field, e.g. ``{0: text, 1: ner}``. Must name ``text`` and
            ``label_type``. Default ``{0: text, 1: ner}``.
        column_delimiter: a regular expression between columns. Default ``\\s+`` (Flair's: any whitespace);
            use ``"\\t"`` for tab-separated files whose tokens may hold spaces.
        tag_scheme: the scheme of the tags in the files: ``BIO`` (IOB2), ``IOB1`` (converted to BIO while
            loading) or ``BIOES``. Default ``BIO``.
        strict_tags: reject tag sequences the scheme forbids (``I-X`` after ``O`` or after another type in
            BIO; unclosed or unopened spans in BIOES). When false they are counted and logged, and Flair
            reads an ``I-X`` that follows ``O`` as the start of a span. Default true.
        document_separator: a token that stands alone as a document boundary, e.g. ``-DOCSTART-``
            (CoNLL-03); Flair then keeps document context from leaking across it. Default ``None``.
        encoding: text encoding of the files. Default ``utf-8``.

    ``type: hf``:
        name: a ``datasets`` id for ``datasets.load_dataset`` (needs the hub or its cache), or
        path: a folder written by ``DatasetDict.save_to_disk`` (works offline). Exactly one of the two.
        kwargs: extra ``load_dataset`` arguments, with ``name`` only (e.g. ``{revision: main}``). Default ``{}``.
        tokens_column: the column with the list of words. Default ``tokens``.
        tags_column: the column with the list of tags. Default ``ner_tags``. Integer tags are named by the
            ``ClassLabel`` feature (``features[tags_column].feature.names``) or by ``label_names``.
        label_names: names of integer tags when the dataset has no ``ClassLabel`` feature. Default ``None``.
        splits: Flair split (``train``/``dev``/``test``) -> dataset split name. Default ``None``: ``train``,
            ``validation`` (or ``dev``), ``test``, each where present.
        tag_scheme, strict_tags: as for ``column``.
    """

    type: Literal["flair", "column", "hf"]
    label_type: str = "ner"
    sample: Optional[Union[int, float]] = None
    seed: int = 0
    name: Optional[str] = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    path: Optional[str] = None
    train_file: Optional[str] = None
    dev_file: Optional[str] = None
    test_file: Optional[str] = None
    columns: dict[int, str] = field(default_factory=lambda: {0: "text", 1: "ner"})
    column_delimiter: str = r"\s+"
    tag_scheme: Literal["BIO", "IOB1", "BIOES"] = "BIO"
    strict_tags: bool = True
    document_separator: Optional[str] = None
    encoding: str = "utf-8"
    tokens_column: str = "tokens"
    tags_column: str = "ner_tags"
    label_names: Optional[list[str]] = None
    splits: Optional[dict[str, str]] = None

    def keys_in_use(self) -> tuple[str, ...]:
        """The keys that apply to this corpus ``type`` (the ones :meth:`Recipe.to_dict` writes)."""
        return ("type",) + _CORPUS_KEYS[self.type] + _CORPUS_COMMON


_CORPUS_COMMON = ("label_type", "sample", "seed")
_CORPUS_KEYS: dict[str, tuple[str, ...]] = {
    "flair": ("name", "kwargs"),
    "column": (
        "path",
        "train_file",
        "dev_file",
        "test_file",
        "columns",
        "column_delimiter",
        "tag_scheme",
        "strict_tags",
        "document_separator",
        "encoding",
    ),
    "hf": (
        "name", "path", "kwargs", "tokens_column", "tags_column", "label_names", "splits", "tag_scheme", "strict_tags",
    ),
}


@dataclass
class EmbeddingsConfig:
    """``embeddings:`` -- the ModernBERT encoder (:class:`flair_modernbert.ModernBertEmbeddings`).

    Attributes:
        model: a Hugging Face id (default ``answerdotai/ModernBERT-base``), a local model folder, or
            ``random:tiny|small|base|large`` for a random-weight ModernBERT built on this machine (smoke
            runs only: random weights give low F1).
        layers: which layers to use, Flair-style: ``"-1"`` (last, default), ``"-1,-2,-3,-4"`` or ``all``.
            An integer is accepted and read as a string.
        layer_mean: average the chosen layers instead of concatenating them. Default true.
        subtoken_pooling: how a word's subtokens become one vector: ``first`` (default, as FLERT),
            ``last``, ``first_last`` or ``mean``.
        use_context: words of context each side of a sentence (FLERT): ``false``, ``true`` (= 64), an
            integer, or ``document`` (as much of the document as fits the model's window). Default 64,
            FLERT's value.
        context_dropout: probability of dropping the context in a training step (FLERT). Default 0.5.
        fine_tune: update the encoder's weights (default true; ModernBERT NER results are all fine-tuned).
        attention_backend: ``auto`` (default), ``flash_attn`` (CUDA only), ``torch_varlen`` or ``sdpa``.
        final_norm: apply ModernBERT's final LayerNorm to the last layer. Default false: layer ``-1``
            then means what it means in stock Flair (the output before that norm).
        allow_long_sentences: stride over sentences longer than the model's window (default true) instead
            of raising an error.
    """

    model: str = "answerdotai/ModernBERT-base"
    layers: str = field(default="-1", metadata={"int_as_str": True})
    layer_mean: bool = True
    subtoken_pooling: Literal["first", "last", "first_last", "mean"] = "first"
    use_context: Union[bool, int, Literal["document"]] = 64
    context_dropout: float = 0.5
    fine_tune: bool = True
    attention_backend: Literal["auto", "flash_attn", "torch_varlen", "sdpa"] = "auto"
    final_norm: bool = False
    allow_long_sentences: bool = True


@dataclass
class TaggerConfig:
    """``tagger:`` -- the head on top of the embeddings (a Flair ``SequenceTagger``).

    Attributes:
        head: ``crf`` (linear + CRF, default), ``bilstm-crf`` (BiLSTM + CRF, the classic Flair tagger)
            or ``softmax`` (linear layer only, FLERT's fine-tuning head).
        loss: ``ce`` (default: the head's own loss, i.e. CRF negative log-likelihood for CRF heads and
            cross-entropy for ``softmax``), ``dice`` or ``ce+dice`` (see :mod:`flair_modernbert.losses`).
        dice_weight: weight of the Dice term in ``ce+dice``. Default 1.0.
        dice_smooth: smoothing constant of the Dice loss (avoids 0/0 for absent tags). Default 1.0.
        hidden_size: LSTM hidden size of ``bilstm-crf``. Default 256 (Flair's).
        dropout: dropout on the embeddings. Default 0.0 (Flair's).
        word_dropout: probability of dropping a whole word vector. Default 0.05 (Flair's).
        locked_dropout: dropout with one mask per sentence. Default 0.5 (Flair's; FLERT kept it).
        class_weights: loss weight per tag or label, e.g. ``{O: 0.5}``. Default ``None`` (all 1).
        tag_format: how spans become tags inside the model: ``BIOES`` (default, Flair's) or ``BIO``.
    """

    head: Literal["crf", "bilstm-crf", "softmax"] = "crf"
    loss: Literal["ce", "dice", "ce+dice"] = "ce"
    dice_weight: float = 1.0
    dice_smooth: float = 1.0
    hidden_size: int = 256
    dropout: float = 0.0
    word_dropout: float = 0.05
    locked_dropout: float = 0.5
    class_weights: Optional[dict[str, float]] = None
    tag_format: Literal["BIOES", "BIO"] = "BIOES"


@dataclass
class TrainingConfig:
    """``training:`` -- one Flair ``ModelTrainer`` run per seed.

    Attributes:
        learning_rate: peak learning rate. Default 5e-6 (FLERT; stefan-it's ModernBERT-large CoNLL-03 run).
        decoder_learning_rate: a separate learning rate for the head (linear layer, CRF), which learns
            slowly at 5e-6; ``None`` (default) uses ``learning_rate``.
        mini_batch_size: sentences per optimiser step. Default 4 (FLERT; small batches worked best for
            ModernBERT).
        mini_batch_chunk_size: split each batch into chunks of this many sentences (gradient
            accumulation, to save memory). Default ``None``.
        eval_batch_size: sentences per batch when evaluating. Default 16.
        max_epochs: passes over the training split. Default 10 (stefan-it's ModernBERT-large run; FLERT
            used 20 on CoNLL-03).
        scheduler: ``linear`` (warm-up then linear decay, default, FLERT), ``onecycle`` or ``none``.
        warmup_fraction: fraction of the steps spent warming up. Default 0.1 (FLERT).
        weight_decay: AdamW weight decay. Default 0.01 (torch's AdamW default, which Flair's fine-tuning
            uses).
        gradient_clipping: maximal gradient norm; ``None`` disables clipping. Default 5.0 (Flair's).
        mixed_precision: automatic mixed precision (CUDA only; :func:`check_runtime` rejects it on CPU).
            Default false.
        seeds: one run per seed. Default ``[42]``.
        deterministic: ask torch for deterministic algorithms (slower on GPU). Default false.
        device: ``auto`` (CUDA if available, else CPU; default), ``cpu``, ``cuda`` or ``cuda:N``.
        train_with_dev: train on train + dev (for a final model once settings are fixed). Default false.
        save_checkpoints: keep a checkpoint after each epoch, to resume a run. Default false.
    """

    learning_rate: float = 5e-6
    decoder_learning_rate: Optional[float] = None
    mini_batch_size: int = 4
    mini_batch_chunk_size: Optional[int] = None
    eval_batch_size: int = 16
    max_epochs: int = 10
    scheduler: Literal["linear", "onecycle", "none"] = "linear"
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    gradient_clipping: Optional[float] = 5.0
    mixed_precision: bool = False
    seeds: list[int] = field(default_factory=lambda: [42])
    deterministic: bool = False
    device: str = "auto"
    train_with_dev: bool = False
    save_checkpoints: bool = False


@dataclass
class Recipe:
    """A whole recipe. Build it with :func:`load_recipe` (or :func:`recipe_from_dict`).

    Attributes:
        corpus: see :class:`CorpusConfig`.
        embeddings: see :class:`EmbeddingsConfig`.
        tagger: see :class:`TaggerConfig`.
        training: see :class:`TrainingConfig`.
        augmentation: the ``augmentation:`` value as written (a list of ops or a mapping such as
            ``{ratio, seed, ops}``; empty = none), interpreted by
            :func:`flair_modernbert.augmentation.parse_augmentation`.
        output_dir: where a run writes its model, logs and reports. Default ``runs/<recipe file name>``.
        source: the file the recipe was read from (not part of :meth:`to_dict`, not compared).
    """

    corpus: CorpusConfig
    embeddings: EmbeddingsConfig = field(default_factory=EmbeddingsConfig)
    tagger: TaggerConfig = field(default_factory=TaggerConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    augmentation: Union[list, dict] = field(default_factory=list)
    output_dir: str = "runs/recipe"
    source: Optional[str] = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The recipe as plain YAML-ready data; loading it again gives an equal recipe.

        Only the corpus keys of the corpus ``type`` are written.
        """
        corpus = {key: copy.deepcopy(getattr(self.corpus, key)) for key in self.corpus.keys_in_use()}
        return {
            "corpus": corpus,
            "embeddings": dataclasses.asdict(self.embeddings),
            "tagger": dataclasses.asdict(self.tagger),
            "training": dataclasses.asdict(self.training),
            "augmentation": copy.deepcopy(self.augmentation),
            "output_dir": self.output_dir,
        }


_SECTIONS: dict[str, type] = {
    "corpus": CorpusConfig,
    "embeddings": EmbeddingsConfig,
    "tagger": TaggerConfig,
    "training": TrainingConfig,
}
_TOP_LEVEL = ("corpus", "embeddings", "tagger", "training", "augmentation", "output_dir")


# ------------------------------------------------------------------------------------------------ YAML
class _RecipeLoader(yaml.SafeLoader):
    """SafeLoader that reads ``5e-6`` as a float (YAML 1.2) and rejects duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                continue  # the base class reports unhashable keys
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first on line {seen[key] + 1})", key_node.start_mark
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


# YAML 1.1 needs a dot in a float; ``5e-6`` would otherwise be the string '5e-6'
_RecipeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def _yaml_load(text: str) -> Any:
    return yaml.load(text, Loader=_RecipeLoader)  # noqa: S506 - a SafeLoader subclass


# ------------------------------------------------------------------------------------------------ paths
def package_dir() -> Path:
    """The folder of the installed ``flair_modernbert`` package (what ``package:`` paths point into)."""
    return Path(__file__).resolve().parent


def resolve_path(value: Union[str, os.PathLike], base_dir: Optional[Union[str, os.PathLike]] = None) -> Path:
    """Apply the recipe path rule (see the module docstring) to one path.

    Args:
        value: ``package:<relative>``, an absolute path, or a relative path (``~``/``$VAR`` are expanded).
        base_dir: the folder relative paths are relative to: the recipe file's folder for values written in
            a recipe; ``None`` means the current working directory.

    Returns:
        An absolute, normalised path (symlinks are kept).
    """
    text = os.fspath(value)
    if text.startswith(PACKAGE_PREFIX):
        path = package_dir() / text[len(PACKAGE_PREFIX) :].lstrip("/\\")
    else:
        path = Path(os.path.expandvars(os.path.expanduser(text)))
        if not path.is_absolute():
            path = Path(base_dir if base_dir is not None else os.getcwd()) / path
    return Path(os.path.normpath(os.path.abspath(path)))


def _model_is_path(model: str, base_dir: Optional[Path]) -> bool:
    if model.startswith(RANDOM_PREFIX):
        return False
    if model.startswith((PACKAGE_PREFIX, "./", "../", ".\\", "..\\", "/", "~", "$")) or model in (".", ".."):
        return True
    return base_dir is not None and (Path(base_dir) / model).is_dir()


# ------------------------------------------------------------------------------------------------ building
class _Context:
    """Where values came from: the recipe file and the ``--set`` overrides (for messages and paths)."""

    def __init__(self, source: str, base_dir: Optional[Path]) -> None:
        self.source = source
        self.base_dir = base_dir
        self.overrides: list[tuple[str, str]] = []  # (dotted key, the --set text)

    def override_for(self, *keys: str) -> Optional[str]:
        found = None
        for set_key, text in self.overrides:
            for key in keys:
                if set_key == key or key.startswith((set_key + ".", set_key + "[")) or set_key.startswith(key + "."):
                    found = text
        return found

    def fail(self, key: str, message: str, related: Sequence[str] = ()) -> RecipeError:
        override = self.override_for(key, *related)
        where = f"{self.source}: " + (f"{key}: " if key else "")
        suffix = f" (set by override '{override}')" if override else ""
        return RecipeError(where + message + suffix, key=key, source=self.source, override=override)

    def base_for(self, key: str) -> Optional[Path]:
        # a path typed on the command line is relative to the current directory, like any CLI path
        return None if self.override_for(key) else self.base_dir


class _Mismatch(Exception):
    """A value does not have the expected type (raised inside :func:`_coerce`, turned into a RecipeError)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def _describe(hint: Any) -> str:
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return "anything"
    if hint is type(None):
        return "null"
    if hint is bool:
        return "a boolean (true/false)"
    if hint is int:
        return "an integer"
    if hint is float:
        return "a number"
    if hint is str:
        return "a string"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is Union:
        return " or ".join(_describe(a) for a in args)
    if origin is list or hint is list:
        return f"a list of {_plural(args[0])}" if args else "a list"
    if origin is dict or hint is dict:
        return f"a mapping of {_plural(args[0])} to {_plural(args[1])}" if args else "a mapping"
    return getattr(hint, "__name__", str(hint))


def _plural(hint: Any) -> str:
    names = {bool: "booleans", int: "integers", float: "numbers", str: "strings", Any: "values"}
    return names.get(hint, f"({_describe(hint)})")


def _shown(value: Any) -> str:
    text = repr(value)
    return (text if len(text) <= 60 else text[:57] + "...") + f" ({type(value).__name__})"


def _coerce(value: Any, hint: Any, key: str) -> Any:
    """Check ``value`` against a type hint and return it normalised (ints as floats, canonical literals)."""
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return value
    if origin is Union:
        if value is None:
            if type(None) in args:
                return None
            raise _Mismatch(key, f"expected {_describe(hint)}, got null")
        for option in args:
            if option is type(None):
                continue
            try:
                return _coerce(value, option, key)
            except _Mismatch as mismatch:
                if mismatch.key != key:  # the outer type fits, an element does not: report that
                    raise
        raise _Mismatch(key, f"expected {_describe(hint)}, got {_shown(value)}")
    if origin is Literal:
        if isinstance(value, str):
            for option in args:
                if value == option or value.lower() == str(option).lower():
                    return option
        raise _Mismatch(key, f"expected {_describe(hint)}, got {_shown(value)}")
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    elif origin is list or hint is list:
        if isinstance(value, list):
            return [_coerce(item, args[0], f"{key}[{i}]") for i, item in enumerate(value)] if args else value
    elif origin is dict or hint is dict:
        if isinstance(value, dict):
            if not args:
                return value
            result = {}
            for raw_key, item in value.items():
                dict_key = raw_key
                if args[0] is int and isinstance(raw_key, str) and re.fullmatch(r"\d+", raw_key.strip()):
                    dict_key = int(raw_key)  # '0' from JSON-minded files or --set corpus.columns.0=text
                dict_key = _coerce(dict_key, args[0], f"{key}.{raw_key}")
                result[dict_key] = _coerce(item, args[1], f"{key}.{raw_key}")
            return result
    else:  # pragma: no cover - a field type this module does not know
        raise TypeError(f"unsupported field type {hint!r} for {key}")
    raise _Mismatch(key, f"expected {_describe(hint)}, got {_shown(value)}")


def _unknown_key(ctx: _Context, key: str, name: str, valid: Sequence[str], extra: str = "") -> RecipeError:
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6) if isinstance(name, str) else []
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return ctx.fail(key, f"unknown key{extra}{hint} Valid keys: {', '.join(valid)}.")


def _build_section(cls: type, data: Any, prefix: str, ctx: _Context, allowed: Optional[Sequence[str]] = None) -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ctx.fail(prefix, f"expected a mapping of keys, got {_shown(data)}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    valid = list(allowed) if allowed is not None else list(fields)
    values = {}
    for name, value in data.items():
        key = f"{prefix}.{name}"
        if name not in fields:
            raise _unknown_key(ctx, key, name, valid)
        if name not in valid:
            if value is None:
                continue  # null unsets a key of another corpus type (--set corpus.columns=null)
            kind = data.get("type")
            raise ctx.fail(
                key,
                f"not used by corpus type '{kind}'. Keys of a '{kind}' corpus: {', '.join(valid)}.",
                related=(f"{prefix}.type",),
            )
        if fields[name].metadata.get("int_as_str") and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        try:
            values[name] = _coerce(value, hints[name], key)
        except _Mismatch as mismatch:
            raise ctx.fail(mismatch.key, mismatch.message) from None
    missing = [f.name for f in fields.values() if f.name not in values and f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ctx.fail(f"{prefix}.{missing[0]}", "required key is missing")
    return cls(**values)


def _build_corpus(data: Any, ctx: _Context) -> CorpusConfig:
    if data is None:
        raise ctx.fail("corpus", "required section is missing (corpus.type: flair, column or hf)")
    if not isinstance(data, dict):
        raise ctx.fail("corpus", f"expected a mapping of keys, got {_shown(data)}")
    if "type" not in data:
        raise ctx.fail("corpus.type", "required key is missing: flair, column or hf")
    try:
        kind = _coerce(data["type"], Literal["flair", "column", "hf"], "corpus.type")
    except _Mismatch as mismatch:
        raise ctx.fail(mismatch.key, mismatch.message) from None
    allowed = ("type",) + _CORPUS_KEYS[kind] + _CORPUS_COMMON
    config = _build_section(CorpusConfig, {**data, "type": kind}, "corpus", ctx, allowed=allowed)
    _check_corpus(config, ctx)
    return config


def _check_corpus(c: CorpusConfig, ctx: _Context) -> None:
    if not c.label_type.strip():
        raise ctx.fail("corpus.label_type", "must not be empty")
    if c.sample is not None:
        if isinstance(c.sample, int) and c.sample < 1:
            raise ctx.fail("corpus.sample", f"an integer sample is a number of sentences, must be >= 1, got {c.sample}")
        if isinstance(c.sample, float) and not 0.0 < c.sample <= 1.0:
            raise ctx.fail("corpus.sample", f"a fractional sample must be in (0, 1], got {c.sample}")
    if c.type == "flair":
        if not c.name:
            raise ctx.fail("corpus.name", "required for corpus type 'flair': a flair.datasets loader such as CONLL_03")
    elif c.type == "column":
        if not c.path:
            raise ctx.fail("corpus.path", "required for corpus type 'column': the folder with the column files")
        fields = list(c.columns.values())
        if any(index < 0 for index in c.columns):
            raise ctx.fail("corpus.columns", f"column indices are 0-based and must be >= 0, got {sorted(c.columns)}")
        if fields.count("text") != 1:
            raise ctx.fail("corpus.columns", f"exactly one column must be 'text', got {c.columns}")
        if c.label_type not in fields:
            raise ctx.fail(
                "corpus.columns",
                f"no column holds the label type '{c.label_type}' (corpus.label_type), got {c.columns}",
                related=("corpus.label_type",),
            )
        if len(set(fields)) != len(fields):
            raise ctx.fail("corpus.columns", f"a field is mapped twice in {c.columns}")
        if not c.column_delimiter:
            raise ctx.fail("corpus.column_delimiter", "must not be empty")
        try:
            re.compile(c.column_delimiter)
        except re.error as error:
            raise ctx.fail("corpus.column_delimiter", f"not a valid regular expression ({error})") from None
        if c.document_separator is not None and not c.document_separator.strip():
            raise ctx.fail("corpus.document_separator", "must not be blank")
        try:
            "".encode(c.encoding)
        except LookupError:
            raise ctx.fail("corpus.encoding", f"unknown encoding {c.encoding!r}") from None
    elif c.type == "hf":
        if bool(c.name) == bool(c.path):
            raise ctx.fail(
                "corpus.name" if c.name else "corpus.path",
                "a 'hf' corpus needs exactly one of name (a datasets id) and path (a save_to_disk folder)",
                related=("corpus.path", "corpus.name"),
            )
        if c.path and c.kwargs:
            raise ctx.fail("corpus.kwargs", "load_dataset arguments only apply with corpus.name, not corpus.path",
                           related=("corpus.path",))
        if c.splits is not None:
            unknown = sorted(set(c.splits) - {"train", "dev", "test"})
            if unknown:
                raise ctx.fail(f"corpus.splits.{unknown[0]}", "unknown split; corpus.splits keys are train, dev, test")
            if "train" not in c.splits:
                raise ctx.fail("corpus.splits", "must map 'train' to a dataset split")


def _check_embeddings(e: EmbeddingsConfig, ctx: _Context) -> None:
    if not e.model.strip():
        raise ctx.fail("embeddings.model", "must not be empty")
    if e.model.startswith(RANDOM_PREFIX) and e.model[len(RANDOM_PREFIX) :] not in MODEL_SIZES:
        raise ctx.fail(
            "embeddings.model", f"unknown random model {e.model!r}; use one of "
            + ", ".join(RANDOM_PREFIX + size for size in MODEL_SIZES)
        )
    if e.layers != "all" and not re.fullmatch(r"\s*-?\d+\s*(,\s*-?\d+\s*)*", e.layers):
        raise ctx.fail("embeddings.layers", f"expected 'all' or layer indices such as '-1' or '-1,-2', got {e.layers!r}")
    if not isinstance(e.use_context, bool) and isinstance(e.use_context, int) and e.use_context < 0:
        raise ctx.fail("embeddings.use_context", f"a number of context words must be >= 0, got {e.use_context}")
    _check_probability(ctx, "embeddings.context_dropout", e.context_dropout)


def _check_tagger(t: TaggerConfig, ctx: _Context) -> None:
    if t.dice_weight < 0:
        raise ctx.fail("tagger.dice_weight", f"must be >= 0, got {t.dice_weight}")
    if t.dice_smooth <= 0:
        raise ctx.fail("tagger.dice_smooth", f"must be > 0, got {t.dice_smooth}")
    if t.hidden_size < 1:
        raise ctx.fail("tagger.hidden_size", f"must be >= 1, got {t.hidden_size}")
    for name in ("dropout", "word_dropout", "locked_dropout"):
        _check_probability(ctx, f"tagger.{name}", getattr(t, name), below_one=True)
    for label, weight in (t.class_weights or {}).items():
        if not math.isfinite(weight) or weight <= 0:
            raise ctx.fail(f"tagger.class_weights.{label}", f"a class weight must be a positive number, got {weight}")


def _check_training(t: TrainingConfig, ctx: _Context) -> None:
    for name in ("learning_rate", "decoder_learning_rate"):
        value = getattr(t, name)
        if value is not None and (not math.isfinite(value) or value <= 0):
            raise ctx.fail(f"training.{name}", f"must be a positive number, got {value}")
    for name in ("mini_batch_size", "eval_batch_size", "max_epochs"):
        if getattr(t, name) < 1:
            raise ctx.fail(f"training.{name}", f"must be >= 1, got {getattr(t, name)}")
    if t.mini_batch_chunk_size is not None and not 1 <= t.mini_batch_chunk_size <= t.mini_batch_size:
        raise ctx.fail(
            "training.mini_batch_chunk_size",
            f"must be between 1 and mini_batch_size ({t.mini_batch_size}), got {t.mini_batch_chunk_size}",
            related=("training.mini_batch_size",),
        )
    _check_probability(ctx, "training.warmup_fraction", t.warmup_fraction, below_one=True)
    if t.weight_decay < 0:
        raise ctx.fail("training.weight_decay", f"must be >= 0, got {t.weight_decay}")
    if t.gradient_clipping is not None and t.gradient_clipping <= 0:
        raise ctx.fail(
            "training.gradient_clipping",
            f"a maximal gradient norm must be > 0 (or null to disable), got {t.gradient_clipping}",
        )
    if not t.seeds:
        raise ctx.fail("training.seeds", "needs at least one seed")
    if len(set(t.seeds)) != len(t.seeds):
        raise ctx.fail("training.seeds", f"seeds must be distinct, got {t.seeds}")
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", t.device):
        raise ctx.fail("training.device", f"expected auto, cpu, cuda or cuda:N, got {t.device!r}")


def _check_probability(ctx: _Context, key: str, value: float, below_one: bool = False) -> None:
    if not 0.0 <= value <= 1.0 or (below_one and value >= 1.0):
        interval = "[0, 1)" if below_one else "[0, 1]"
        raise ctx.fail(key, f"must be in {interval}, got {value}")


def _check_augmentation(value: Any, ctx: _Context) -> Union[list, dict]:
    if value is None:
        return []
    if not isinstance(value, (list, dict)):
        raise ctx.fail("augmentation", f"expected a list of operations or a mapping, got {_shown(value)}")
    if not value:
        return value
    try:  # the augmentation module validates its own schema when it is there
        from flair_modernbert.augmentation import parse_augmentation
    except ImportError as error:
        logger.debug("augmentation not validated now (%s); it is checked when the run applies it", error)
        return value
    try:
        parse_augmentation(copy.deepcopy(value), ctx.source)
    except ValueError as error:
        override = ctx.override_for("augmentation")
        message = str(error)
        if ctx.source not in message:
            message = f"{ctx.source}: augmentation: {message}"
        if override:
            message += f" (set by override '{override}')"
        raise RecipeError(message, key="augmentation", source=ctx.source, override=override) from error
    return value


def _resolve_paths(recipe: Recipe, ctx: _Context, output_dir_written: bool) -> None:
    corpus = recipe.corpus
    if corpus.path is not None:
        corpus.path = str(resolve_path(corpus.path, ctx.base_for("corpus.path")))
    if corpus.type == "flair" and isinstance(corpus.kwargs.get("base_path"), str):
        base = ctx.base_for("corpus.kwargs.base_path")
        corpus.kwargs["base_path"] = str(resolve_path(corpus.kwargs["base_path"], base))
    base = ctx.base_for("embeddings.model")
    if _model_is_path(recipe.embeddings.model, base):
        recipe.embeddings.model = str(resolve_path(recipe.embeddings.model, base))
    # the default output_dir is relative to the current directory, a written one follows the rule
    output_base = ctx.base_for("output_dir") if output_dir_written else None
    recipe.output_dir = str(resolve_path(recipe.output_dir, output_base))


def _build(data: Any, ctx: _Context, default_output: str) -> Recipe:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ctx.fail("", f"a recipe is a mapping with the keys {', '.join(_TOP_LEVEL)}; got {_shown(data)}")
    for name in data:
        if name not in _TOP_LEVEL:
            raise _unknown_key(ctx, str(name), str(name), _TOP_LEVEL)
    corpus = _build_corpus(data.get("corpus"), ctx)
    embeddings = _build_section(EmbeddingsConfig, data.get("embeddings"), "embeddings", ctx)
    _check_embeddings(embeddings, ctx)
    tagger = _build_section(TaggerConfig, data.get("tagger"), "tagger", ctx)
    _check_tagger(tagger, ctx)
    training = _build_section(TrainingConfig, data.get("training"), "training", ctx)
    _check_training(training, ctx)
    augmentation = _check_augmentation(data.get("augmentation"), ctx)
    output_dir = data.get("output_dir")
    written = output_dir is not None
    if not written:
        output_dir = default_output
    if not isinstance(output_dir, str) or not output_dir.strip():
        raise ctx.fail("output_dir", f"expected a folder name, got {_shown(output_dir)}")
    recipe = Recipe(corpus, embeddings, tagger, training, augmentation, output_dir, source=ctx.source)
    _resolve_paths(recipe, ctx, output_dir_written=written)
    return recipe


# ------------------------------------------------------------------------------------------------ overrides
def parse_override(text: str) -> tuple[list[str], Any]:
    """Split a ``--set`` string into its dotted key and its value.

    Args:
        text: ``key=value``, e.g. ``training.learning_rate=1e-5``, ``training.seeds=[1,2,3]``,
            ``corpus.sample=null``. The value is read as YAML (scalar, list or flow mapping).

    Returns:
        The key's parts and the value.

    Raises:
        RecipeError: no ``=``, an empty key part, or a value that is not valid YAML.
    """
    if "=" not in text:
        raise RecipeError(f"override '{text}': expected KEY=VALUE, e.g. training.learning_rate=1e-5", override=text)
    key, _, raw = text.partition("=")
    parts = key.strip().split(".")
    if not key.strip() or any(not part.strip() for part in parts):
        raise RecipeError(f"override '{text}': the key {key.strip()!r} has an empty part", override=text)
    try:
        value = _yaml_load(raw) if raw.strip() else None
    except yaml.YAMLError as error:
        detail = str(error).splitlines()[0]
        raise RecipeError(f"override '{text}': the value is not valid YAML ({detail})", override=text) from None
    return [part.strip() for part in parts], value


def _apply_override(data: dict, text: str, ctx: _Context) -> None:
    try:
        parts, value = parse_override(text)
    except RecipeError as error:
        raise RecipeError(f"{ctx.source}: {error}", source=ctx.source, override=text) from None
    node: Any = data
    for depth, part in enumerate(parts[:-1]):
        existing = next((k for k in node if str(k) == part), part)
        child = node.get(existing)
        if child is None:
            child = node[existing] = {}
        if not isinstance(child, dict):
            where = ".".join(parts[: depth + 1])
            raise RecipeError(
                f"{ctx.source}: override '{text}': {where} holds {_shown(child)}, not a section with keys",
                key=where, source=ctx.source, override=text,
            )
        node = child
    last = next((k for k in node if str(k) == parts[-1]), parts[-1])
    node[last] = value
    ctx.overrides.append((".".join(parts), text))


def _build_with_overrides(data: Any, overrides: Sequence[str], ctx: _Context, default_output: str) -> Recipe:
    data = copy.deepcopy(data) if data is not None else {}
    if overrides and not isinstance(data, dict):
        raise ctx.fail("", f"a recipe is a mapping; got {_shown(data)}")
    for text in overrides:
        _apply_override(data, text, ctx)
    return _build(data, ctx, default_output)


# ------------------------------------------------------------------------------------------------ public API
def load_recipe(path: Union[str, os.PathLike], overrides: Sequence[str] = ()) -> Recipe:
    """Read, override and validate a recipe file.

    Args:
        path: the YAML recipe.
        overrides: ``--set`` strings (``training.learning_rate=1e-5``), applied in order before validation.

    Returns:
        The validated :class:`Recipe`, paths resolved to absolute paths (see the module docstring).

    Raises:
        FileNotFoundError: no such file.
        RecipeError: invalid YAML, an unknown key, a wrong type or value, or a bad override; the message
            names the file, the dotted key and the override.
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"recipe {file} does not exist (looked in {file.resolve().parent})")
    try:
        data = _yaml_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise RecipeError(f"{file}: not valid YAML: {error}", source=str(file)) from None
    ctx = _Context(str(file), file.resolve().parent)
    return _build_with_overrides(data, list(overrides), ctx, default_output=f"runs/{file.stem}")


def recipe_from_dict(
    data: dict[str, Any],
    overrides: Sequence[str] = (),
    source: str = "<dict>",
    base_dir: Optional[Union[str, os.PathLike]] = None,
) -> Recipe:
    """Validate a recipe given as a dict (as :meth:`Recipe.to_dict` returns or a YAML file holds).

    Args:
        data: the recipe.
        overrides: ``--set`` strings applied before validation.
        source: names the recipe in error messages.
        base_dir: folder that relative paths are relative to; ``None`` = the current directory.

    Raises:
        RecipeError: as :func:`load_recipe`.
    """
    ctx = _Context(source, Path(base_dir).resolve() if base_dir is not None else None)
    return _build_with_overrides(data, list(overrides), ctx, default_output="runs/recipe")


def apply_overrides(recipe: Recipe, overrides: Sequence[str]) -> Recipe:
    """A copy of ``recipe`` with ``--set`` overrides applied and validated (the original is unchanged).

    Relative paths in the overrides are relative to the current directory.
    """
    ctx = _Context(recipe.source or "<recipe>", None)
    return _build_with_overrides(recipe.to_dict(), list(overrides), ctx, default_output=recipe.output_dir)


def save_recipe(recipe: Recipe, path: Union[str, os.PathLike]) -> Path:
    """Write the resolved recipe (every key, defaults included, absolute paths) as YAML.

    Loading the written file with :func:`load_recipe` gives a recipe equal to ``recipe``.

    Returns:
        The path written.
    """
    from flair_modernbert import __version__

    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f"# Resolved recipe written by flair-modernbert {__version__}"
        + (f" from {recipe.source}" if recipe.source else "")
        + ".\n# Every key is explicit (defaults included); paths are absolute.\n"
    )
    body = yaml.safe_dump(recipe.to_dict(), sort_keys=False, allow_unicode=True, default_flow_style=False)
    file.write_text(header + body, encoding="utf-8")
    return file


# ------------------------------------------------------------------------------------------------ runtime checks
def resolve_device(spec: str = "auto") -> "torch.device":  # noqa: F821
    """Turn ``training.device`` into a ``torch.device``.

    Raises:
        ValueError: ``cuda``/``cuda:N`` asked for on a machine without (that) CUDA device.
    """
    import torch

    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(spec)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"training.device: {spec!r} but CUDA is not available on this machine; "
                "use --set training.device=auto (or cpu)"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            count = torch.cuda.device_count()
            raise ValueError(f"training.device: {spec!r} but this machine has {count} CUDA device(s)")
    return device


#: Recipe keys that only work on a CUDA device, with the value that needs it.
CUDA_ONLY = {
    "training.mixed_precision": True,
    "embeddings.attention_backend": "flash_attn",
}


def check_runtime(recipe: Recipe, device: Optional[Union[str, "torch.device"]] = None) -> "torch.device":  # noqa: F821
    """Check the recipe against the device it will run on; call it before building the model.

    Args:
        recipe: the recipe.
        device: the device of the run; ``None`` resolves ``recipe.training.device``.

    Returns:
        The device.

    Raises:
        ValueError: a CUDA-only option (:data:`CUDA_ONLY`) on a non-CUDA device, or an unavailable device;
            the message names each key and the override that turns it off.
    """
    import torch

    device = torch.device(device) if device is not None else resolve_device(recipe.training.device)
    if device.type == "cuda":
        return device
    problems = []
    if recipe.training.mixed_precision:
        problems.append(
            "training.mixed_precision: true needs a CUDA device (automatic mixed precision), "
            f"but this run is on {device}; use --set training.mixed_precision=false"
        )
    if recipe.embeddings.attention_backend == "flash_attn":
        problems.append(
            "embeddings.attention_backend: 'flash_attn' needs a CUDA device with flash-attn installed, "
            f"but this run is on {device}; use --set embeddings.attention_backend=auto"
        )
    if problems:
        raise ValueError(f"{recipe.source or '<recipe>'}: " + "; ".join(problems))
    return device
