"""The one schema: pydantic models of recipes, augmentation operations and ablation definitions.

A recipe has seven top-level keys, each optional except ``corpus``::

    corpus:        where the sentences come from  -> FlairCorpus | ColumnCorpus | HFCorpus | SpansCorpus (by ``type``)
    synthetic:     generated PII documents added to every split -> SyntheticConfig (default: none)
    embeddings:    the ModernBERT encoder          -> EmbeddingsConfig
    tagger:        the head on top of it           -> TaggerConfig
    training:      optimiser, schedule, seeds      -> TrainingConfig
    augmentation:  train-split augmentation ops    -> AugmentationConfig
    output_dir:    where a run writes its files    -> str

Every model forbids unknown keys and checks types strictly (``"3"`` is not a number); ranges are ``Field``
constraints. Paths follow :mod:`flair_modernbert.config.paths`: validators read the base folder from the
validation context (``{"base_dir": folder of the file, "overridden": keys set with --set}``), so a path
written in a file is relative to that file and one given with ``--set`` to the current directory.

Defaults follow what is known to work for ModernBERT NER: full fine-tuning with a low learning rate and small
batches (Flair's FLERT recipe: AdamW, lr 5e-6, batch 4, linear warm-up over 10% of the steps, 64 words of
context each side; stefan-it reached ~95% dev F1 on CoNLL-03 with ModernBERT-large at lr 5e-6, batch 4, 10
epochs; ModernBERT-base reached test F1 0.898 on OntoNotes 5 with a CRF head).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from flair_modernbert.config.errors import FieldIssue, shown
from flair_modernbert.config.paths import looks_like_path, resolve_path
from flair_modernbert.encoder.options import BACKENDS, POOLINGS
from flair_modernbert.encoder.random_models import check_model_name
from flair_modernbert.redaction.rules import load_rules
from flair_modernbert.redaction.types import canonical_type  # re-exported: the schema's type names

__all__ = [
    "CORPUS_TYPES",
    "PERSON_TYPES",
    "LOWERCASE_SCOPES",
    "NOISE_ACTIONS",
    "NOISE_TARGETS",
    "FlairCorpus",
    "ColumnCorpus",
    "HFCorpus",
    "SpansCorpus",
    "SPAN_FILE_FORMATS",
    "SPAN_ALIGNMENTS",
    "CorpusConfig",
    "SyntheticConfig",
    "canonical_type",
    "DocumentsConfig",
    "EmbeddingsConfig",
    "TaggerConfig",
    "TrainingConfig",
    "LowercaseOp",
    "SwapOp",
    "CharNoiseOp",
    "OpConfig",
    "AugmentationConfig",
    "Recipe",
    "Variant",
    "AblationDefinition",
    "dice_with_crf_message",
]

CORPUS_TYPES = ("flair", "column", "hf", "spans")
#: ``corpus.format`` of a ``spans`` corpus (``auto``: by extension and content; see flair_modernbert.data.spans)
SPAN_FILE_FORMATS = ("auto", "jsonl", "doccano", "label_studio", "presidio")
#: ``corpus.alignment``: what a span whose edges fall inside a word does
SPAN_ALIGNMENTS = ("expand", "error")
#: Default entity types of ``lowercase``, matched case-insensitively: CoNLL's PER, OntoNotes' PERSON, WNUT's person.
PERSON_TYPES: tuple[str, ...] = ("PER", "PERSON")
LOWERCASE_SCOPES = ("entities", "sentence")
#: ``char_noise`` action -> nlpaug augmenter class in ``nlpaug.augmenter.char``.
NOISE_ACTIONS: dict[str, str] = {"keyboard": "KeyboardAug", "ocr": "OcrAug", "random": "RandomCharAug"}
NOISE_TARGETS = ("entities", "context", "both")


# ------------------------------------------------------------------------------------------------ helpers
class Section(BaseModel):
    """A strictly checked mapping: unknown keys and wrong types are errors."""

    model_config = ConfigDict(extra="forbid", strict=True)


def _any_case(*choices: str) -> BeforeValidator:
    """Accept a literal in any letter case (``bio`` for ``BIO``) and return it as written in the schema."""

    def canonical(value: Any) -> Any:
        if isinstance(value, str):
            for choice in choices:
                if value.lower() == choice.lower():
                    return choice
        return value

    return BeforeValidator(canonical)


def _base_dir(info: ValidationInfo, key: str) -> Optional[Path]:
    """The folder a relative path of ``key`` is relative to (``None``: the current directory)."""
    context = info.context or {}
    for set_key in context.get("overridden", ()):
        if key == set_key or key.startswith(set_key + ".") or set_key.startswith(key + "."):
            return None
    return context.get("base_dir")


def _path(key: str) -> AfterValidator:
    def resolve(value: Optional[str], info: ValidationInfo) -> Optional[str]:
        if value is None:
            return None
        if not value.strip():
            raise ValueError("must not be empty")
        return str(resolve_path(value, _base_dir(info, key)))

    return AfterValidator(resolve)


def _distinct(values: list[int]) -> list[int]:
    if len(set(values)) != len(values):
        raise ValueError(f"seeds must be distinct, got {values}")
    return values


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {value}")
    return value


Seeds = Annotated[list[int], Field(min_length=1), AfterValidator(_distinct)]
#: ``--set`` strings; a single string is a list of one
Overrides = Annotated[list[str], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
BelowOne = Annotated[float, Field(ge=0.0, lt=1.0)]
PositiveNumber = Annotated[float, Field(gt=0.0), AfterValidator(_finite)]
TypeNames = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]


# ------------------------------------------------------------------------------------------------ corpus
def _sample(value: Any) -> Optional[Union[int, float]]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a fraction in (0, 1] or a number of sentences, got {shown(value)}")
    if isinstance(value, int) and value < 1:
        raise ValueError(f"an integer sample is a number of sentences, must be >= 1, got {value}")
    if isinstance(value, float) and not 0.0 < value <= 1.0:
        raise ValueError(f"a fractional sample must be in (0, 1], got {value}")
    return value


class DocumentsConfig(Section):
    """``corpus.documents``: train on whole documents, and score the test set as whole documents too.

    Training sequences are consecutive sentences of one document (CoNLL ``-DOCSTART-`` with
    ``document_separator``, a Hugging Face ``document_column``, or the sentences Flair links in a file), as
    many as fit ``max_subtokens``.

    Attributes:
        max_subtokens: subtokens of one sequence; ``None`` (default): the encoder's window (8,192 for ModernBERT).
        synthetic: the corpus has no documents: build them from shuffled sentences (seeded by ``corpus.seed``).
    """

    max_subtokens: Optional[Annotated[int, Field(ge=8)]] = None
    synthetic: bool = False


class _Corpus(Section):
    """Keys of every corpus type.

    Attributes:
        label_type: the label layer that holds the entity spans. Default ``ner``.
        sample: keep only part of every split, for smoke runs: a float in (0, 1] keeps that fraction, an
            integer N >= 1 keeps at most N sentences per split. Default ``None`` (everything).
        seed: seed of every random choice made while loading (the sample, a dev/test split carved from train,
            synthetic documents).
        documents: train and score on whole documents (see :class:`DocumentsConfig`); ``None``: sentences.
        label_map: entity type -> new type, applied to every split right after loading (before ``sample``):
            ``{PER: person, LOC: location, ORG: organization, MISC: null}``; ``null`` (or ``O``) drops the
            type's spans. Types not named keep their names. Default ``None`` (no renaming).
        canonical_types: after ``label_map``, rename every type that ``rules.json``'s ``type_groups`` knows to
            its canonical name (``PER`` -> ``person``, ``PHONE_NUMBER`` -> ``phone``); others are kept. Default
            false.
    """

    label_type: Annotated[str, Field(min_length=1, pattern=r"\S")] = "ner"
    sample: Annotated[Optional[Union[int, float]], PlainValidator(_sample)] = None
    seed: int = 0
    documents: Optional[DocumentsConfig] = None
    label_map: Optional[dict[Annotated[str, Field(min_length=1)], Optional[str]]] = None
    canonical_types: bool = False

    @field_validator("label_map")
    @classmethod
    def _label_map(cls, value: Optional[dict[str, Optional[str]]]) -> Optional[dict[str, Optional[str]]]:
        if value is None:
            return None
        for old, new in value.items():
            if new is not None and (not new or any(c.isspace() for c in new)):
                raise ValueError(f"{old}: the new type {new!r} must be a non-empty name without white space "
                                 "(or null to drop the type)")
        return value

    @model_validator(mode="before")
    @classmethod
    def _drop_other_types_nulls(cls, data: Any) -> Any:
        # `--set corpus.columns=null` unsets a key of another corpus type instead of failing
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None or k in cls.model_fields}
        return data


class FlairCorpus(_Corpus):
    """``corpus: {type: flair}``: a loader of ``flair.datasets`` by name.

    Attributes:
        name: the ``flair.datasets`` class, e.g. ``CONLL_03``, ``ONTONOTES``, ``WNUT_17``. Required.
        kwargs: keyword arguments of that class, e.g. ``{version: v4, language: english}``; ``base_path``
            in it is a path.
    """

    type: Literal["flair"]
    name: Annotated[str, Field(min_length=1)]
    kwargs: dict[str, Any] = Field(default_factory=dict)

    @field_validator("kwargs")
    @classmethod
    def _base_path(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if isinstance(value.get("base_path"), str):
            base = _base_dir(info, "corpus.kwargs.base_path")
            value = {**value, "base_path": str(resolve_path(value["base_path"], base))}
        return value


class ColumnCorpus(_Corpus):
    r"""``corpus: {type: column}``: a folder of CoNLL-style column files.

    Attributes:
        path: the folder with the column files. Required.
        train_file, dev_file, test_file: file names inside ``path``. Default ``None``: Flair's own rule finds
            them (names containing ``train``/``dev``/``test``); a split without a file is sampled from train.
        columns: column index (0-based) -> field, e.g. ``{0: text, 1: ner}``; must name ``text`` and
            ``label_type``.
        column_delimiter: a regular expression between columns. Default ``\s+`` (any whitespace); use
            ``"\t"`` for tab-separated files whose tokens may hold spaces.
        tag_scheme: the tags in the files: ``BIO`` (IOB2), ``IOB1`` or ``BIOES``. Default ``BIO``.
        strict_tags: reject tag sequences the scheme forbids (else count and log them). Default true.
        document_separator: a token that stands alone as a document boundary, e.g. ``-DOCSTART-``.
        encoding: text encoding of the files. Default ``utf-8``.
    """

    type: Literal["column"]
    path: Annotated[str, _path("corpus.path")]
    train_file: Optional[str] = None
    dev_file: Optional[str] = None
    test_file: Optional[str] = None
    columns: Annotated[dict[int, str], BeforeValidator(lambda v: _int_keys(v))] = Field(
        default_factory=lambda: {0: "text", 1: "ner"}
    )
    column_delimiter: Annotated[str, Field(min_length=1)] = r"\s+"
    tag_scheme: Annotated[Literal["BIO", "IOB1", "BIOES"], _any_case("BIO", "IOB1", "BIOES")] = "BIO"
    strict_tags: bool = True
    document_separator: Optional[Annotated[str, Field(pattern=r"\S")]] = None
    encoding: str = "utf-8"

    @field_validator("column_delimiter")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"not a valid regular expression ({error})") from None
        return value

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str) -> str:
        try:
            "".encode(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}") from None
        return value

    @model_validator(mode="after")
    def _columns(self) -> "ColumnCorpus":
        fields = list(self.columns.values())
        if any(index < 0 for index in self.columns):
            raise FieldIssue("columns", f"column indices are 0-based and must be >= 0, got {sorted(self.columns)}")
        if fields.count("text") != 1:
            raise FieldIssue("columns", f"exactly one column must be 'text', got {self.columns}")
        if self.label_type not in fields:
            raise FieldIssue(
                "columns", f"no column holds the label type '{self.label_type}' (corpus.label_type), got {self.columns}"
            )
        if len(set(fields)) != len(fields):
            raise FieldIssue("columns", f"a field is mapped twice in {self.columns}")
        return self


def _int_keys(value: Any) -> Any:
    # '0' from JSON-minded files or --set corpus.columns.0=text
    if isinstance(value, dict):
        return {int(k) if isinstance(k, str) and k.strip().isdigit() else k: v for k, v in value.items()}
    return value


class HFCorpus(_Corpus):
    """``corpus: {type: hf}``: a Hugging Face ``datasets`` id or a ``save_to_disk`` folder.

    Attributes:
        name: a ``datasets`` id for ``datasets.load_dataset`` (needs the hub or its cache), or
        path: a folder written by ``DatasetDict.save_to_disk`` (works offline). Exactly one of the two.
        kwargs: extra ``load_dataset`` arguments, with ``name`` only.
        tokens_column: the column with the list of words. Default ``tokens``.
        tags_column: the column with the list of tags. Default ``ner_tags``; integer tags are named by the
            ``ClassLabel`` feature or by ``label_names``.
        label_names: names of integer tags when the dataset has no ``ClassLabel`` feature.
        splits: Flair split (``train``/``dev``/``test``) -> dataset split name. Default: ``train``,
            ``validation`` (or ``dev``), ``test``, each where present.
        document_column: a column whose value names each row's document (consecutive rows with the same value
            are one document, whose sentences give each other context). Default ``None``: a split is one
            sequence of linked rows, as Flair links the sentences of a file.
        tag_scheme, strict_tags: as for ``column``.
    """

    type: Literal["hf"]
    name: Optional[str] = None
    path: Annotated[Optional[str], _path("corpus.path")] = None
    kwargs: dict[str, Any] = Field(default_factory=dict)
    tokens_column: str = "tokens"
    tags_column: str = "ner_tags"
    label_names: Optional[list[str]] = None
    splits: Optional[dict[Literal["train", "dev", "test"], str]] = None
    document_column: Optional[str] = None
    tag_scheme: Annotated[Literal["BIO", "IOB1", "BIOES"], _any_case("BIO", "IOB1", "BIOES")] = "BIO"
    strict_tags: bool = True

    @model_validator(mode="after")
    def _one_source(self) -> "HFCorpus":
        if bool(self.name) == bool(self.path):
            raise FieldIssue(
                "name" if self.name else "path",
                "a 'hf' corpus needs exactly one of name (a datasets id) and path (a save_to_disk folder)",
            )
        if self.path and self.kwargs:
            raise FieldIssue("kwargs", "load_dataset arguments only apply with corpus.name, not corpus.path")
        if self.splits is not None and "train" not in self.splits:
            raise FieldIssue("splits", "must map 'train' to a dataset split")
        return self


class SpansCorpus(_Corpus):
    """``corpus: {type: spans}``: span-annotated text (see docs/corpora.md).

    Every record is a text with character spans: JSON lines of ``{"text", "spans": [{"start", "end",
    "type"}]}`` (what ``flair-modernbert predict`` writes), doccano JSONL, Label Studio's JSON export or
    presidio-evaluator's dataset JSON. Texts are split into sentences and words by the one segmentation rule
    (:mod:`flair_modernbert.segmentation`), as at prediction time.

    Attributes:
        path: one file (the train split; dev and test are sampled from it) or a folder of files. Required.
        train_file, dev_file, test_file: file names inside a folder ``path``. Default ``None``: Flair's rule
            (names containing ``train``, ``dev``/``testa``, ``test``/``testb``); a split without a file is
            sampled from train (10 %, seeded by ``seed``).
        format: ``auto`` (default: by extension and content), ``jsonl``, ``doccano``, ``label_studio`` or
            ``presidio``.
        alignment: a span whose edges fall inside a word: ``expand`` (default) widens it to whole words and
            logs a warning naming file and line; ``error`` stops with file and line.
    """

    type: Literal["spans"]
    path: Annotated[str, _path("corpus.path")]
    train_file: Optional[str] = None
    dev_file: Optional[str] = None
    test_file: Optional[str] = None
    format: Literal[SPAN_FILE_FORMATS] = "auto"  # type: ignore[valid-type]
    alignment: Literal[SPAN_ALIGNMENTS] = "expand"  # type: ignore[valid-type]


CorpusConfig = Annotated[Union[FlairCorpus, ColumnCorpus, HFCorpus, SpansCorpus], Field(discriminator="type")]


# ------------------------------------------------------------------------------------------------ encoder
def _layers(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _use_context(value: Any) -> Union[bool, int, str]:
    if isinstance(value, bool) or value == "document":
        return value
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, int):
        raise ValueError(f"a number of context words must be >= 0, got {value}")
    raise ValueError(f"expected true, false, a number of words or 'document', got {shown(value)}")


class EmbeddingsConfig(Section):
    """``embeddings:`` -- the encoder (:class:`flair_modernbert.ModernBertEmbeddings` for ModernBERT).

    Attributes:
        model: a Hugging Face id (default ``answerdotai/ModernBERT-base``), a local model folder, or
            ``random:tiny|small|base|large`` (a random-weight ModernBERT built locally: smoke runs only).
            Any other encoder (BERT, DeBERTa, ...) runs through Flair's stock ``TransformerWordEmbeddings``.
        layers: which layers, Flair-style: ``"-1"`` (last, default), ``"-1,-2,-3,-4"`` or ``all``.
        layer_mean: average the chosen layers instead of concatenating them. Default true.
        subtoken_pooling: ``first`` (default), ``last``, ``first_last`` or ``mean``.
        use_context: words of context each side (FLERT): ``false``, ``true`` (= 64), a number, or ``document``
            (as much of the document as fits the model's window). Default 64.
        context_dropout: probability of dropping the context in a training step (FLERT). Default 0.5.
        fine_tune: update the encoder's weights. Default true.
        attention_backend: ``auto`` (default), ``flash_attn`` (CUDA), ``torch_varlen`` (CUDA) or ``sdpa``.
        final_norm: apply ModernBERT's final LayerNorm to the last layer. Default false (layer ``-1`` is then
            the output before that norm, as in stock Flair).
        allow_long_sentences: stride over sentences longer than the model's window (default true) instead
            of raising an error.
    """

    model: Annotated[str, Field(min_length=1, pattern=r"\S")] = "answerdotai/ModernBERT-base"
    layers: Annotated[str, BeforeValidator(_layers)] = "-1"
    layer_mean: bool = True
    subtoken_pooling: Literal[POOLINGS] = "first"  # type: ignore[valid-type]
    use_context: Annotated[Union[bool, int, str], PlainValidator(_use_context)] = 64
    context_dropout: Probability = 0.5
    fine_tune: bool = True
    attention_backend: Literal[BACKENDS] = "auto"  # type: ignore[valid-type]
    final_norm: bool = False
    allow_long_sentences: bool = True

    @field_validator("layers")
    @classmethod
    def _layer_list(cls, value: str) -> str:
        if value != "all" and not re.fullmatch(r"\s*-?\d+\s*(,\s*-?\d+\s*)*", value):
            raise ValueError(f"expected 'all' or layer indices such as '-1' or '-1,-2', got {value!r}")
        return value

    @field_validator("model")
    @classmethod
    def _model(cls, value: str, info: ValidationInfo) -> str:
        check_model_name(value)
        base = _base_dir(info, "embeddings.model")
        if looks_like_path(value, base):
            return str(resolve_path(value, base))
        return value


# ------------------------------------------------------------------------------------------------ tagger
def dice_with_crf_message(head: str) -> str:
    """The one message for Dice loss alone on a CRF head."""
    return (
        f"tagger.loss='dice' with head {head!r}: the CRF transitions would get no gradient; "
        "use loss: ce+dice (CRF likelihood + Dice) or head: softmax"
    )


class TaggerConfig(Section):
    """``tagger:`` -- the head on top of the embeddings (a Flair ``SequenceTagger``).

    Attributes:
        head: ``crf`` (linear + CRF, default), ``bilstm-crf`` (BiLSTM + CRF) or ``softmax`` (linear only).
        loss: ``ce`` (default: CRF negative log-likelihood with a CRF, cross-entropy without), ``dice``
            (softmax head only) or ``ce+dice``.
        dice_weight: weight of the Dice term in ``ce+dice``. Default 1.0.
        dice_smooth: smoothing constant of the Dice loss. Default 1.0.
        hidden_size: LSTM hidden size of ``bilstm-crf``. Default 256.
        dropout: dropout on the embeddings. Default 0.0.
        word_dropout: probability of dropping a whole word vector. Default 0.05 (Flair's).
        locked_dropout: dropout with one mask per sentence. Default 0.5 (Flair's).
        class_weights: loss weight per tag or entity type, e.g. ``{O: 0.5, PER: 2}``. With a CRF head they
            need ``loss: ce+dice`` (Flair's CRF likelihood cannot be weighted).
        tag_format: how spans become tags inside the model: ``BIOES`` (default) or ``BIO``.
        recall_bias: the model's default recall knob, stored with it: the O tag's emission is lowered by this
            much before decoding (higher: more redacted, fewer leaks). Default 0.0 (plain decoding).
    """

    head: Literal["crf", "bilstm-crf", "softmax"] = "crf"
    loss: Literal["ce", "dice", "ce+dice"] = "ce"
    dice_weight: Annotated[float, Field(ge=0.0)] = 1.0
    dice_smooth: Annotated[float, Field(gt=0.0)] = 1.0
    hidden_size: Annotated[int, Field(ge=1)] = 256
    dropout: BelowOne = 0.0
    word_dropout: BelowOne = 0.05
    locked_dropout: BelowOne = 0.5
    class_weights: Optional[dict[str, PositiveNumber]] = None
    tag_format: Annotated[Literal["BIOES", "BIO"], _any_case("BIOES", "BIO")] = "BIOES"
    recall_bias: Annotated[float, AfterValidator(_finite)] = 0.0

    @model_validator(mode="after")
    def _loss_fits_head(self) -> "TaggerConfig":
        crf = self.head in ("crf", "bilstm-crf")
        if crf and self.loss == "dice":
            raise FieldIssue("loss", dice_with_crf_message(self.head))
        if crf and self.class_weights and self.loss == "ce":
            raise FieldIssue(
                "class_weights",
                f"with head {self.head!r} and loss 'ce': Flair's CRF likelihood cannot be weighted; use "
                "loss: ce+dice (the weights then weight the Dice term) or head: softmax",
            )
        return self


# ------------------------------------------------------------------------------------------------ training
class TrainingConfig(Section):
    """``training:`` -- one Flair ``ModelTrainer`` run per seed.

    Attributes:
        learning_rate: peak learning rate. Default 5e-6 (FLERT).
        decoder_learning_rate: a separate learning rate for the head (linear layer, CRF); ``None`` (default)
            uses ``learning_rate``.
        mini_batch_size: sentences per optimiser step. Default 4.
        mini_batch_chunk_size: split each batch into chunks of this many sentences (gradient accumulation).
        eval_batch_size: sentences per batch when evaluating. Default 16.
        max_epochs: passes over the training split. Default 10.
        scheduler: ``linear`` (warm-up then linear decay, default), ``onecycle`` or ``none``.
        warmup_fraction: fraction of the steps spent warming up. Default 0.1.
        weight_decay: AdamW weight decay. Default 0.01.
        gradient_clipping: maximal gradient norm; ``None`` disables clipping. Default 5.0.
        mixed_precision: automatic mixed precision (CUDA only). Default false.
        seeds: one run per seed, distinct. Default ``[42]``.
        deterministic: ask torch for deterministic algorithms. Default false.
        device: ``auto`` (CUDA if available, else CPU; default), ``cpu``, ``cuda`` or ``cuda:N``.
        train_with_dev: train on train + dev. Default false.
        save_checkpoints: keep a checkpoint after each epoch, to resume a run. Default false.
    """

    learning_rate: PositiveNumber = 5e-6
    decoder_learning_rate: Optional[PositiveNumber] = None
    mini_batch_size: Annotated[int, Field(ge=1)] = 4
    mini_batch_chunk_size: Optional[Annotated[int, Field(ge=1)]] = None
    eval_batch_size: Annotated[int, Field(ge=1)] = 16
    max_epochs: Annotated[int, Field(ge=1)] = 10
    scheduler: Annotated[Literal["linear", "onecycle", "none"], _any_case("linear", "onecycle", "none")] = "linear"
    warmup_fraction: BelowOne = 0.1
    weight_decay: Annotated[float, Field(ge=0.0)] = 0.01
    gradient_clipping: Optional[PositiveNumber] = 5.0
    mixed_precision: bool = False
    seeds: Seeds = Field(default_factory=lambda: [42])
    deterministic: bool = False
    device: str = "auto"
    train_with_dev: bool = False
    save_checkpoints: bool = False

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", value):
            raise ValueError(f"expected auto, cpu, cuda or cuda:N, got {value!r}")
        return value

    @field_validator("mini_batch_chunk_size")
    @classmethod
    def _chunk(cls, value: Optional[int], info: ValidationInfo) -> Optional[int]:
        batch = info.data.get("mini_batch_size")
        if value is not None and batch is not None and value > batch:
            raise ValueError(f"must be between 1 and mini_batch_size ({batch}), got {value}")
        return value


# ------------------------------------------------------------------------------------------------ augmentation
class _Op(Section):
    p: Probability = 1.0


class LowercaseOp(_Op):
    """``{type: lowercase, p, types, scope}``: lower-case names (see ``augmentation.LowercaseNames``)."""

    type: Literal["lowercase"]
    types: TypeNames = Field(default_factory=lambda: list(PERSON_TYPES))
    scope: Literal[LOWERCASE_SCOPES] = "entities"  # type: ignore[valid-type]


class SwapOp(_Op):
    """``{type: swap, p, gazetteer, types, mention_p}``: entity swap (see ``augmentation.EntitySwap``).

    ``gazetteer`` is a ``TYPE<TAB>mention`` file (relative to the file that names it); null takes the
    mentions of the training split.
    """

    type: Literal["swap"]
    gazetteer: Annotated[Optional[str], _path("augmentation")] = None
    types: Optional[TypeNames] = None
    mention_p: Probability = 1.0


class CharNoiseOp(_Op):
    """``{type: char_noise, p, action, target, token_p, types}``: nlpaug character noise."""

    type: Literal["char_noise"]
    action: Literal[tuple(NOISE_ACTIONS)] = "keyboard"  # type: ignore[valid-type]
    target: Literal[NOISE_TARGETS] = "both"  # type: ignore[valid-type]
    token_p: Probability = 0.1
    types: Optional[TypeNames] = None


OpConfig = Annotated[Union[LowercaseOp, SwapOp, CharNoiseOp], Field(discriminator="type")]


def _ops_mapping(value: Any) -> Any:
    # the bare list form is the mapping form with the default ratio
    if value is None:
        return {}
    if isinstance(value, (list, tuple)):
        return {"ops": list(value)}
    if not isinstance(value, (dict, BaseModel)):
        raise ValueError(f"expected a list of operations or a mapping {{ratio, seed, ops}}, got {shown(value)}")
    return value


class AugmentationConfig(Section):
    """``augmentation:`` -- label-aligned copies added to the training split.

    Written as a list of operations or as a mapping::

        ratio: 1.0             # augmented sentences added per training sentence
        seed: 13               # optional; otherwise the run's seed
        keep_unchanged: false  # add copies that no operation changed (default: draw again instead)
        ops:
          - {type: lowercase, p: 0.5, types: [person], scope: entities}
          - {type: swap, p: 0.5, gazetteer: null, types: null, mention_p: 1.0}
          - {type: char_noise, p: 0.3, action: keyboard, target: both, token_p: 0.1, types: null}

    Operations run in the order listed, each firing with its own ``p``.
    """

    ratio: Annotated[float, Field(ge=0.0)] = 1.0
    seed: Optional[int] = None
    keep_unchanged: bool = False
    ops: list[OpConfig] = Field(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _list_form(cls, data: Any, handler: Any) -> "AugmentationConfig":
        return handler(_ops_mapping(data))

    def to_dict(self) -> dict[str, Any]:
        """The mapping form, as plain data."""
        return self.model_dump(mode="python")


# ------------------------------------------------------------------------------------------------ synthetic
def _locale(value: str) -> str:
    if not re.fullmatch(r"[a-z]{2,3}(_[A-Za-z]{2,4})?", value):
        raise ValueError(f"expected a Faker locale such as en_US, de_DE or fr_FR, got {value!r}")
    return value


def _canonical_types(values: Optional[list[str]]) -> Optional[list[str]]:
    if values is None:
        return None
    known = [group[0] for group in load_rules()["type_groups"]]
    found: list[str] = []
    for value in values:
        kind = canonical_type(value)
        if kind is None:
            raise ValueError(f"{value!r} is not a PII type; types (or their aliases in rules.json's type_groups): "
                             f"{', '.join(known)}")
        if kind not in found:
            found.append(kind)
    return found


class SyntheticConfig(Section):
    """``synthetic:`` -- generated PII documents (:mod:`flair_modernbert.synthetic`) added to the corpus.

    The documents are Faker-filled templates with span labels of canonical type names (``person``, ``phone``,
    ...); they join the corpus after ``corpus.label_map`` and ``corpus.sample``. Each split has its own seed
    (``seed``, ``seed + 1``, ``seed + 2`` for train, dev and test), so dev and test do not repeat train.

    Attributes:
        train, dev, test: documents generated and added to each split. Default 0.
        locales: Faker locales, e.g. ``[en_US, de_DE]``. Default ``[en_US]``.
        seed: seed of the generator. Default 0.
        lowercase, uppercase: share of generated documents whose names are lower-cased / upper-cased. Defaults
            0.1 and 0.05; together at most 1.
        long_documents: share of generated documents that are long ones assembled from many records (up to the
            encoder's 8,192-subtoken window). Default 0.0.
        types: keep only these types' spans in the generated data (others become O); canonical names or
            their aliases (``PER``, ``PHONE_NUMBER``). Default ``None``: every type.
    """

    train: Annotated[int, Field(ge=0)] = 0
    dev: Annotated[int, Field(ge=0)] = 0
    test: Annotated[int, Field(ge=0)] = 0
    locales: Annotated[list[Annotated[str, AfterValidator(_locale)]], Field(min_length=1)] = Field(
        default_factory=lambda: ["en_US"]
    )
    seed: int = 0
    lowercase: Probability = 0.1
    uppercase: Probability = 0.05
    long_documents: Probability = 0.0
    types: Annotated[Optional[TypeNames], AfterValidator(_canonical_types)] = None

    @model_validator(mode="after")
    def _shares(self) -> "SyntheticConfig":
        if self.lowercase + self.uppercase > 1.0 + 1e-9:
            raise FieldIssue(
                "uppercase",
                f"lowercase ({self.lowercase}) + uppercase ({self.uppercase}) is more than 1: they are shares of "
                "the same generated documents",
            )
        return self


# ------------------------------------------------------------------------------------------------ recipe
class Recipe(Section):
    """A whole recipe; build it with :func:`flair_modernbert.config.load_recipe` (or ``recipe_from_dict``).

    ``source`` (the file it came from) is not part of :meth:`to_dict` and not compared.
    """

    corpus: CorpusConfig
    embeddings: EmbeddingsConfig = Field(default_factory=EmbeddingsConfig)
    tagger: TaggerConfig = Field(default_factory=TaggerConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    augmentation: AugmentationConfig = Field(default_factory=AugmentationConfig)
    synthetic: Optional[SyntheticConfig] = None
    output_dir: Annotated[str, _path("output_dir")] = "runs/recipe"
    _source: Optional[str] = PrivateAttr(default=None)

    @property
    def source(self) -> Optional[str]:
        """The file the recipe was read from (or the name it was given)."""
        return self._source

    def to_dict(self) -> dict[str, Any]:
        """Plain YAML-ready data (every key, defaults included); loading it again gives an equal recipe."""
        return self.model_dump(mode="python")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Recipe) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


# ------------------------------------------------------------------------------------------------ ablation
class Variant(Section):
    """One variant of an ablation: the base recipe with its own augmentation and overrides.

    Attributes:
        name: used as a folder name (no ``/``).
        augmentation: replaces the recipe's ``augmentation`` section; ``None`` keeps it.
        set: ``--set`` overrides for this variant only.
    """

    name: Annotated[str, Field(min_length=1, pattern=r"^[^/]*\S[^/]*$")]
    augmentation: Optional[AugmentationConfig] = None
    set: Overrides = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _folder_name(cls, value: str) -> str:
        if value in (".", ".."):
            raise ValueError(f"{value!r} is used as a folder name")
        return value


class AblationDefinition(Section):
    """An ablation file (``augment/*.yaml``): variants × seeds of a base recipe.

    Attributes:
        recipe: the base recipe file (relative to the ablation file). Required.
        set: overrides for every variant.
        seeds: every variant is trained once per seed (distinct). Default ``[42]``.
        baseline: the variant the others are compared with. Default: the first.
        focus_type: the entity type reported on its own. Default: ``PER`` or ``PERSON`` when present.
        output_dir: where the runs and the table go. Default ``runs/ablation-<file name>``.
        variants: the variants (distinct names). Required.
    """

    recipe: Annotated[str, _path("recipe")]
    set: Overrides = Field(default_factory=list)
    seeds: Seeds = Field(default_factory=lambda: [42])
    baseline: Optional[str] = None
    focus_type: Optional[str] = None
    output_dir: Annotated[Optional[str], _path("output_dir")] = None
    variants: Annotated[list[Variant], Field(min_length=1)]
    _source: Optional[str] = PrivateAttr(default=None)

    @property
    def source(self) -> Optional[str]:
        """The ablation file."""
        return self._source

    @model_validator(mode="after")
    def _names(self) -> "AblationDefinition":
        names = [variant.name for variant in self.variants]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise FieldIssue("variants", f"the names {', '.join(repeated)} repeat")
        if self.baseline is None:
            self.baseline = names[0]
        elif self.baseline not in names:
            raise FieldIssue("baseline", f"{self.baseline!r} is not a variant; variants: {', '.join(names)}")
        if not Path(self.recipe).is_file():
            raise FieldIssue("recipe", f"{self.recipe} does not exist")
        return self
