"""Random-weight ModernBERT models built on this machine, for tests, smoke runs and benchmarks.

The Hugging Face hub is not always reachable (CI, air-gapped laptops), yet every code path of this library
needs a real ``ModernBertModel`` and a real byte-level BPE tokenizer. :func:`build_random_modernbert` trains
a small tokenizer with the ``tokenizers`` library on the WNUT-17 sample shipped in ``flair_modernbert/data``,
builds a ``ModernBertConfig`` of the requested shape with random weights and saves both with
``save_pretrained``, so the result loads exactly like ``answerdotai/ModernBERT-base`` does.

The tokenizer copies what matters from ModernBERT's own: NFC normalisation, a ``ByteLevel`` pre-tokenizer
with ``add_prefix_space=False`` (so the prefix-space handling of :mod:`flair_modernbert.encoder.tokenization` is
exercised), ``[CLS] $A [SEP]`` post-processing, and a ``PreTrainedTokenizerFast`` wrapper with
``model_max_length=8192``.

Random weights give random predictions: models built here are for checking code paths, speed and numerical
equivalence, never for accuracy.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable, Optional

logger = logging.getLogger(__name__)

#: Prefix of model names that :func:`resolve_model_name` builds locally instead of loading.
RANDOM_PREFIX = "random:"

SPECIAL_TOKENS = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]

#: Shapes of the random models. ``base`` and ``large`` match ModernBERT-base/-large.
MODEL_SIZES: dict[str, dict[str, Any]] = {
    "tiny": dict(
        hidden_size=64,
        num_hidden_layers=4,
        intermediate_size=96,
        num_attention_heads=4,
        local_attention=16,
        global_attn_every_n_layers=3,
    ),
    "small": dict(
        hidden_size=256,
        num_hidden_layers=6,
        intermediate_size=384,
        num_attention_heads=4,
        local_attention=64,
        global_attn_every_n_layers=3,
    ),
    "base": dict(
        hidden_size=768,
        num_hidden_layers=22,
        intermediate_size=1152,
        num_attention_heads=12,
        local_attention=128,
        global_attn_every_n_layers=3,
    ),
    "large": dict(
        hidden_size=1024,
        num_hidden_layers=28,
        intermediate_size=2624,
        num_attention_heads=16,
        local_attention=128,
        global_attn_every_n_layers=3,
    ),
}

_BUILD_VERSION = 2  # 2: caches built from an empty sample (a tokenizer without merges) are rebuilt


def sample_corpus_dir() -> Path:
    """The folder of the WNUT-17 sample shipped with the package (CC-BY 4.0, see its README)."""
    return Path(__file__).resolve().parent.parent / "data" / "wnut17_sample"


def _sample_texts() -> list[str]:
    texts = []
    for path in sorted(sample_corpus_dir().glob("*.conll")):
        words: list[str] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                words.append(line.split("\t")[0])
            elif words:
                texts.append(" ".join(words))
                words = []
        if words:
            texts.append(" ".join(words))
    # lower-cased copies so that lower-cased names are as common as capitalised ones
    return texts + [t.lower() for t in texts]


def train_tokenizer(
    texts: Optional[Iterable[str]] = None, vocab_size: int = 4096, model_max_length: int = 8192
) -> "transformers.PreTrainedTokenizerFast":  # noqa: F821
    """Train a ModernBERT-style byte-level BPE tokenizer.

    Args:
        texts: training texts; the shipped WNUT-17 sample (cased and lower-cased) by default.
        vocab_size: the BPE vocabulary size, special tokens included.
        model_max_length: written to the tokenizer config, as ModernBERT's own (8192).

    Returns:
        A ``PreTrainedTokenizerFast`` with ``[UNK] [CLS] [SEP] [PAD] [MASK]`` special tokens.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    corpus = list(texts) if texts is not None else _sample_texts()
    if not corpus:
        # a BPE trained on nothing has no merges: every word would be spelled out byte by byte
        raise ValueError(f"no texts to train the tokenizer on (the shipped sample is read from {sample_corpus_dir()})")
    backend = Tokenizer(models.BPE())
    backend.normalizer = normalizers.NFC()
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(corpus, trainer=trainer)
    cls_id, sep_id = backend.token_to_id("[CLS]"), backend.token_to_id("[SEP]")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        mask_token="[MASK]",
        model_max_length=model_max_length,
        clean_up_tokenization_spaces=True,
        model_input_names=["input_ids", "attention_mask"],
    )


def build_random_modernbert(
    output_dir: os.PathLike | str,
    size: str = "tiny",
    seed: int = 0,
    vocab_size: Optional[int] = None,
    model_max_length: int = 8192,
    embedding_rows: Optional[int] = None,
    **config_overrides: Any,
) -> Path:
    """Build and save a random-weight ModernBERT model with its tokenizer.

    Args:
        output_dir: where ``config.json``, the weights and the tokenizer files are written.
        size: one of :data:`MODEL_SIZES` (``tiny``, ``small``, ``base``, ``large``).
        seed: seeds the weight initialisation.
        vocab_size: BPE vocabulary size; 4096 for ``tiny``, 8192 otherwise.
        model_max_length: the tokenizer's ``model_max_length`` (ModernBERT: 8192).
        embedding_rows: rows of the token embedding matrix (``config.vocab_size``), at least the tokenizer's
            size; the real ModernBERT's 50,368 gives files and embedding lookups of the real size. Default: the
            tokenizer's size rounded up to a multiple of 64.
        **config_overrides: any ``ModernBertConfig`` field, e.g. ``num_hidden_layers=2``.

    Returns:
        ``output_dir`` as a :class:`~pathlib.Path`.
    """
    import torch
    from transformers import ModernBertConfig, ModernBertModel

    if size not in MODEL_SIZES:
        raise ValueError(f"Unknown random model size {size!r}; choose one of {sorted(MODEL_SIZES)}.")
    output = Path(output_dir)
    tokenizer = train_tokenizer(
        vocab_size=vocab_size or (4096 if size == "tiny" else 8192), model_max_length=model_max_length
    )
    shape = {**MODEL_SIZES[size], **config_overrides}
    rows = ((len(tokenizer) + 63) // 64) * 64
    if embedding_rows is not None:
        if embedding_rows < len(tokenizer):
            raise ValueError(f"embedding_rows={embedding_rows} is smaller than the tokenizer's {len(tokenizer)} tokens")
        rows = embedding_rows
    config = ModernBertConfig(
        vocab_size=rows,
        pad_token_id=tokenizer.pad_token_id,
        cls_token_id=tokenizer.cls_token_id,
        sep_token_id=tokenizer.sep_token_id,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
        max_position_embeddings=model_max_length,
        reference_compile=False,
        **shape,
    )
    # a private RNG: building the model (e.g. on the first use of random:<size> inside a seeded training run)
    # must not reset the caller's random state, or that run would differ from later ones with the same seed
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ModernBertModel(config)
    output.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output)
    tokenizer.save_pretrained(output)
    (output / MARKER_FILE).write_text(
        f"Random-weight ModernBERT ({size}, seed {seed}) built by flair_modernbert.encoder.random_models. "
        "Not a trained model: for tests, smoke runs and speed measurements only.\n",
        encoding="utf-8",
    )
    logger.info("Built random ModernBERT %s (seed %d) in %s", size, seed, output)
    return output


def check_model_name(model: str) -> str:
    """``model`` unchanged, or a ``ValueError`` for a ``random:<size>`` with an unknown size."""
    if model.startswith(RANDOM_PREFIX) and model[len(RANDOM_PREFIX) :] not in MODEL_SIZES:
        raise ValueError(
            f"unknown random model {model!r}; use one of " + ", ".join(RANDOM_PREFIX + s for s in MODEL_SIZES)
        )
    return model


#: Written into every model folder :func:`build_random_modernbert` makes.
MARKER_FILE = "RANDOM_WEIGHTS.md"


def is_random_name(model: str) -> bool:
    """Whether ``model`` is a ``random:<size>`` name (built on first use, not a path or a hub id)."""
    return model.startswith(RANDOM_PREFIX)


def is_random_model(model: str) -> bool:
    """Whether ``model`` names a random-weight model: ``random:<size>``, or a folder this module built."""
    return is_random_name(model) or (Path(model) / MARKER_FILE).is_file()


def cache_dir() -> Path:
    """Where :func:`resolve_model_name` keeps built models (``$FLAIR_MODERNBERT_CACHE`` overrides)."""
    root = os.environ.get("FLAIR_MODERNBERT_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "flair_modernbert"


def resolve_model_name(model: str, seed: int = 0) -> str:
    """Turn ``random:<size>`` into the path of a locally built random model; return other names unchanged.

    Built models are cached (see :func:`cache_dir`), so the second call is instant.

    Args:
        model: a Hugging Face model id, a local directory, or ``random:tiny|small|base|large``.
        seed: weight seed of a random model.
    """
    if not model.startswith(RANDOM_PREFIX):
        return model
    size = check_model_name(model)[len(RANDOM_PREFIX) :]
    target = cache_dir() / f"random-{size}-seed{seed}-v{_BUILD_VERSION}"
    if (target / "config.json").exists() and (target / "tokenizer.json").exists():
        return str(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    logger.info("Building random ModernBERT '%s' in %s (random weights: smoke runs only)", size, target)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        build_random_modernbert(tmp, size=size, seed=seed)
        (tmp / "build.json").write_text(json.dumps({"size": size, "seed": seed}), encoding="utf-8")
        try:
            tmp.rename(target)
        except OSError:  # another process finished first
            if not (target / "config.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return str(target)


@functools.lru_cache(maxsize=32)
def model_type_of(model: str) -> str:
    """The ``model_type`` of a model id or directory (``modernbert`` for ``random:<size>``), read once per name.

    Raises:
        OSError: the config cannot be read; the message says which model and what to pass instead.
    """
    if model.startswith(RANDOM_PREFIX):
        return "modernbert"
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(model).model_type
    except OSError as error:
        raise OSError(
            f"Could not load the config of {model!r}: not a local directory with a config.json, and the "
            f"Hugging Face hub could not provide it ({error}). Pass a local model directory, "
            "'answerdotai/ModernBERT-base' with network access, or 'random:tiny' for a smoke run."
        ) from error
