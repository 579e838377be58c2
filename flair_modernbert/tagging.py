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
:class:`~flair_modernbert.embeddings.ModernBertEmbeddings`; any other Hugging Face encoder (BERT, DeBERTa,
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

from flair_modernbert.embeddings import ModernBertEmbeddings
from flair_modernbert.local_models import RANDOM_PREFIX
from flair_modernbert.losses import LOSSES, dice_loss
from flair_modernbert.recipes import EmbeddingsConfig, TaggerConfig

logger = logging.getLogger(__name__)

__all__ = ["HEADS", "DiceSequenceTagger", "model_type_of", "build_embeddings", "build_tagger", "expand_class_weights"]

HEADS = ("crf", "bilstm-crf", "softmax")


def _dice_with_crf_error(head: str) -> ValueError:
    return ValueError(
        f"tagger.loss='dice' with head {head!r}: the CRF transitions would get no gradient; "
        "use loss: ce+dice (CRF likelihood + Dice) or head: softmax"
    )


def model_type_of(model: str) -> str:
    """The ``model_type`` of a Hugging Face model id or directory (``modernbert`` for ``random:<size>``).

    Raises:
        OSError: the config cannot be read; the message says which model and why (offline, typo).
    """
    if model.startswith(RANDOM_PREFIX):
        return "modernbert"
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(model).model_type
    except OSError as error:
        raise OSError(
            f"embeddings.model: cannot read the config of {model!r}: {error}. Give a local model directory, "
            "or a Hugging Face id on a machine that can reach the hub (or has it cached)."
        ) from error


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
    tags = tag_dictionary.get_items()
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


class DiceSequenceTagger(SequenceTagger):
    """A Flair ``SequenceTagger`` trained with Dice loss, alone or added to its own loss.

    Prediction is the stock ``SequenceTagger``'s; only the training loss differs, so a saved model also
    loads with ``SequenceTagger.load`` (as a plain ``SequenceTagger``, dropping the loss settings).

    Args:
        loss: ``dice`` (softmax head only) or ``ce+dice``.
        dice_weight: weight of the Dice term in ``ce+dice``.
        dice_smooth: smoothing constant of the Dice loss.
        dice_class_weights: weight per tag for the Dice term.
        **kwargs: ``SequenceTagger`` arguments.
    """

    def __init__(
        self,
        *args: Any,
        loss: str = "ce+dice",
        dice_weight: float = 1.0,
        dice_smooth: float = 1.0,
        dice_class_weights: Optional[dict[str, float]] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if loss not in ("dice", "ce+dice"):
            raise ValueError(f"DiceSequenceTagger: loss must be 'dice' or 'ce+dice', got {loss!r}")
        if loss == "dice" and self.use_crf:
            raise _dice_with_crf_error("bilstm-crf" if self.use_rnn else "crf")
        self.loss = loss
        self.dice_weight = float(dice_weight)
        self.dice_smooth = float(dice_smooth)
        self.dice_class_weights = dice_class_weights
        weights = self._init_loss_weights(dice_class_weights) if dice_class_weights else None
        self._dice_weight_tensor = weights[: self._real_tag_count()] if weights is not None else None

    def emission_logits(self, scores: Any) -> torch.Tensor:
        """``(tokens, tags)`` per-token scores of a batch, padding removed, in the order of the gold labels."""
        if not self.use_crf:
            return scores
        crf_scores, lengths, transitions = scores
        # the CRF adds transitions[to, from] to the emission of `to` for every `from`: undo it for from=0;
        # <START>/<STOP> come last in the dictionary and are never gold, so they are left out
        tags = self._real_tag_count()
        emissions = crf_scores[:, :, :tags, 0] - transitions[:tags, 0]
        return torch.cat([emission[: int(length)] for emission, length in zip(emissions, lengths)])

    def _real_tag_count(self) -> int:
        items = self.label_dictionary.get_items()
        return len([item for item in items if item not in ("<START>", "<STOP>")])

    def _calculate_loss(self, scores: Any, labels: torch.LongTensor) -> tuple[torch.Tensor, int]:
        if labels.size(0) == 0:
            return super()._calculate_loss(scores, labels)
        logits = self.emission_logits(scores)
        dice = dice_loss(logits, labels, self.dice_smooth, self._dice_weight_tensor) * labels.size(0)
        if self.loss == "dice":
            return dice, labels.size(0)
        own, count = super()._calculate_loss(scores, labels)
        return own + self.dice_weight * dice, count

    def _get_state_dict(self) -> dict[str, Any]:
        return {
            **super()._get_state_dict(),
            "loss": self.loss,
            "dice_weight": self.dice_weight,
            "dice_smooth": self.dice_smooth,
            "dice_class_weights": self.dice_class_weights,
        }

    @classmethod
    def _init_model_with_state_dict(cls, state: dict[str, Any], **kwargs: Any) -> "DiceSequenceTagger":
        return super()._init_model_with_state_dict(
            state,
            loss=state.get("loss", "ce+dice"),
            dice_weight=state.get("dice_weight", 1.0),
            dice_smooth=state.get("dice_smooth", 1.0),
            dice_class_weights=state.get("dice_class_weights"),
            **kwargs,
        )


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
    config = config or TaggerConfig()
    if config.head not in HEADS:
        raise ValueError(f"tagger.head: unknown head {config.head!r}; choose one of {', '.join(HEADS)}")
    if config.loss not in LOSSES:
        raise ValueError(f"tagger.loss: unknown loss {config.loss!r}; choose one of {', '.join(LOSSES)}")
    use_crf = config.head in ("crf", "bilstm-crf")
    if use_crf and config.loss == "dice":
        raise _dice_with_crf_error(config.head)
    if use_crf and config.class_weights and config.loss == "ce":
        raise ValueError(
            f"tagger.class_weights with head {config.head!r} and loss 'ce': Flair's CRF likelihood cannot be "
            "weighted; use loss: ce+dice (the weights then weight the Dice term) or head: softmax"
        )
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
    weights = expand_class_weights(config.class_weights, tagger_dictionary_of(options))
    tagger: SequenceTagger
    if config.loss == "ce":
        tagger = SequenceTagger(loss_weights=weights, **options)
    else:
        tagger = DiceSequenceTagger(
            loss=config.loss,
            dice_weight=config.dice_weight,
            dice_smooth=config.dice_smooth,
            loss_weights=None if use_crf else weights,  # Flair's CRF loss ignores them anyway
            dice_class_weights=weights,
            **options,
        )
    logger.info(
        "tagger: head %s, loss %s, %d tags (%s), embeddings %s",
        config.head, config.loss, len(tagger.label_dictionary), config.tag_format, type(embeddings).__name__,
    )
    return tagger


def tagger_dictionary_of(options: dict[str, Any]) -> Dictionary:
    """The tag dictionary ``SequenceTagger`` builds from a span dictionary (``B-PER``, ``S-PER``, ...)."""
    spans = options["tag_dictionary"]
    if spans.span_labels:
        tags = Dictionary(add_unk=False)
        tags.add_item("O")
        prefixes = ("B-", "I-", "E-", "S-") if options["tag_format"] == "BIOES" else ("B-", "I-")
        for label in spans.get_items():
            if label in ("O", "<unk>"):
                continue
            for prefix in prefixes:
                tags.add_item(prefix + label)
        return tags
    return spans

