"""Build the embeddings and the Flair ``SequenceTagger`` a recipe describes.

Heads (``tagger.head``):

- ``crf``: linear layer + CRF on the transformer's word vectors (``use_rnn=False, use_crf=True``);
- ``bilstm-crf``: BiLSTM (``hidden_size``) + CRF, the classic Flair tagger;
- ``softmax``: linear layer only, FLERT's fine-tuning head (``use_rnn=False, use_crf=False``).

Losses (``tagger.loss``) and what each does with each head -- a choice, enforced here:

========  ===================================  =================================================
loss      ``softmax`` head                      ``crf`` / ``bilstm-crf`` heads
========  ===================================  =================================================
ce        cross-entropy (Flair's)               CRF negative log-likelihood (Flair's ViterbiLoss)
dice      Dice loss alone                       refused: the CRF transitions would get no gradient
ce+dice   CE + ``dice_weight`` x Dice           CRF NLL + ``dice_weight`` x Dice on the emission
                                                scores (the CRF's per-token input), which keeps the
                                                CRF likelihood and pushes rare tags in the emissions
========  ===================================  =================================================

Class weights (``tagger.class_weights``, keys are tags such as ``B-PER`` or entity types such as ``PER``
which expand to all of that type's tags) go to Flair's ``loss_weights`` for the cross-entropy and weight the
Dice term per tag. Flair's CRF likelihood cannot be weighted, so class weights with a CRF head need
``loss: ce+dice`` (they then weight the Dice term) and are refused with plain ``ce``.

Encoders: a ModernBERT model (``model_type: modernbert``, or ``random:<size>``) gets
:class:`~flair_modernbert.encoder.embeddings.ModernBertEmbeddings`; any other Hugging Face encoder (BERT, DeBERTa,
...) gets Flair's stock ``TransformerWordEmbeddings`` with the same options, so baselines run from the same
recipe. ModernBERT-only options (``attention_backend``, ``final_norm``, ``use_context: document``) are refused
for other encoders rather than ignored.
"""

from __future__ import annotations

import logging
from typing import Any, Optional

import torch
from flair.data import Dictionary
from flair.embeddings import TransformerWordEmbeddings
from flair.models import SequenceTagger

from flair_modernbert.encoder.embeddings import ModernBertEmbeddings
from flair_modernbert.encoder.random_models import model_type_of
from flair_modernbert.tagging.dice import DiceSequenceTagger
from flair_modernbert.config import EmbeddingsConfig, TaggerConfig

logger = logging.getLogger(__name__)

__all__ = ["build_embeddings", "build_tagger", "expand_class_weights"]


def build_embeddings(config: EmbeddingsConfig) -> TransformerWordEmbeddings:
    """The word embeddings of a recipe's ``embeddings`` section.

    Args:
        config: model, layers, pooling, context, backend, fine-tuning.

    Returns:
        :class:`ModernBertEmbeddings` for a ModernBERT model, Flair's ``TransformerWordEmbeddings`` otherwise.

    Raises:
        ValueError: a ModernBERT-only option set for another encoder.
    """
    options: dict[str, Any] = dict(
        layers=config.layers,
        layer_mean=config.layer_mean,
        subtoken_pooling=config.subtoken_pooling,
        fine_tune=config.fine_tune,
        use_context=config.use_context,
        context_dropout=config.context_dropout,
        allow_long_sentences=config.allow_long_sentences,
    )
    model_type = model_type_of(config.model)
    if model_type == "modernbert":
        return ModernBertEmbeddings(
            config.model, attention_backend=config.attention_backend, final_norm=config.final_norm, **options
        )
    wrong = []
    if config.attention_backend != "auto":
        wrong.append(f"embeddings.attention_backend={config.attention_backend!r}")
    if config.final_norm:
        wrong.append("embeddings.final_norm=true")
    if config.use_context == "document":
        wrong.append("embeddings.use_context='document'")
    if wrong:
        raise ValueError(
            f"{', '.join(wrong)} only work with ModernBERT, but {config.model!r} is a {model_type!r} model; "
            "remove them (or use a ModernBERT model)"
        )
    logger.info("%s is a %s model: using Flair's TransformerWordEmbeddings", config.model, model_type)
    return TransformerWordEmbeddings(config.model, **options)


def expand_class_weights(weights: Optional[dict[str, float]], tag_dictionary: Dictionary) -> Optional[dict[str, float]]:
    """Turn ``{PER: 2, O: 0.5}`` into weights per tag of the dictionary (``B-PER``, ``I-PER``, ...).

    Raises:
        ValueError: a key that is neither a tag nor an entity type of the dictionary (known ones listed).
    """
    if not weights:
        return None
    tags = [tag for tag in tag_dictionary.get_items() if tag not in ("<START>", "<STOP>")]
    types = sorted({tag.split("-", 1)[1] for tag in tags if "-" in tag})
    expanded: dict[str, float] = {}
    for key, value in weights.items():
        if key in tags:
            expanded[key] = float(value)
        elif key in types:
            for tag in tags:
                if tag.split("-", 1)[-1] == key and tag != key:
                    expanded.setdefault(tag, float(value))
        else:
            raise ValueError(
                f"tagger.class_weights: {key!r} is neither a tag nor an entity type of this corpus; "
                f"types: {', '.join(types)}; tags: {', '.join(tags)}"
            )
    return expanded


def build_tagger(
    embeddings: TransformerWordEmbeddings,
    tag_dictionary: Dictionary,
    label_type: str,
    config: Optional[TaggerConfig] = None,
) -> SequenceTagger:
    """The ``SequenceTagger`` of a recipe's ``tagger`` section (see the module docstring for the choices).

    Args:
        embeddings: from :func:`build_embeddings`.
        tag_dictionary: span label dictionary of the corpus (``corpus.make_label_dictionary(label_type,
            add_unk=False)``); Flair turns it into BIOES/BIO tags.
        label_type: the corpus's span label type (``ner``).
        config: head, loss, sizes, dropouts, class weights, tag format; ``None`` = defaults.

    Raises:
        ValueError: an unknown head or loss, ``dice`` with a CRF head, or class weights with a plain CRF loss.
    """
    config = config or TaggerConfig()  # validated on construction: head, loss and class weights fit together
    use_crf = config.head in ("crf", "bilstm-crf")
    options: dict[str, Any] = dict(
        embeddings=embeddings,
        tag_dictionary=tag_dictionary,
        tag_type=label_type,
        tag_format=config.tag_format,
        use_crf=use_crf,
        use_rnn=config.head == "bilstm-crf",
        hidden_size=config.hidden_size,
        reproject_embeddings=config.head == "bilstm-crf",
        dropout=config.dropout,
        word_dropout=config.word_dropout,
        locked_dropout=config.locked_dropout,
    )
    tagger: SequenceTagger
    if config.loss == "ce":
        tagger = SequenceTagger(**options)
    else:
        tagger = DiceSequenceTagger(
            loss=config.loss, dice_weight=config.dice_weight, dice_smooth=config.dice_smooth, **options
        )
    # class weights name tags, which exist once Flair has built the tagger's tag dictionary
    weights = expand_class_weights(config.class_weights, tagger.label_dictionary)
    if weights:
        if not use_crf:  # Flair's CRF likelihood takes no weights
            tagger.weight_dict = weights
            tagger.loss_weights = tagger._init_loss_weights(weights)
            tagger.loss_function = torch.nn.CrossEntropyLoss(weight=tagger.loss_weights, reduction="sum")
        if isinstance(tagger, DiceSequenceTagger):
            tagger.set_dice_class_weights(weights)
    logger.info(
        "tagger: head %s, loss %s, %d tags (%s), embeddings %s",
        config.head, config.loss, len(tagger.label_dictionary), config.tag_format, type(embeddings).__name__,
    )
    return tagger
