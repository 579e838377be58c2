"""A student tagger: the teacher with fewer transformer layers, everything else copied.

The student is built the way loading a saved tagger builds one: from the teacher's state (what ``save`` would
write), with the encoder's config saying ``K`` layers and the kept layers' weights renumbered ``0 .. K-1``. So the
encoder is exactly ``AutoModel.from_config(config with K layers)`` + the teacher's weights: every layer's
``layer_id``-derived settings (ModernBERT's attention norm on layer 0, local window and rotary base of local
layers) come from the layer's new position, and :func:`~flair_modernbert.distillation.layers.select_layers`
chooses the teacher layers so those settings are the ones the weights were trained with. Tokenizer, word
embeddings, pooling, context, the head (linear, CRF, BiLSTM) and its tag dictionary are the teacher's, so a saved
student is an ordinary tagger file that loads with ``SequenceTagger.load`` and
:func:`~flair_modernbert.tagging.loading.load_tagger`.

Encoders: ModernBERT (``model.layers``; roles by ``global_attn_every_n_layers``) and BERT-like ones with one
layer list (``encoder.layer``: BERT, RoBERTa, XLM-R, ELECTRA, DeBERTa, MiniLM; ``transformer.layer``:
DistilBERT). Other embeddings (Flair's classic word or character embeddings, stacks) cannot be distilled this way
and are refused with a message naming them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Union

from flair.embeddings.transformer import TransformerEmbeddings
from flair.models import SequenceTagger

from flair_modernbert.distillation.layers import global_layers, select_layers

logger = logging.getLogger(__name__)

__all__ = ["EncoderLayers", "encoder_layers", "make_student", "student_layer_indexes"]

#: where an encoder keeps its layer list, first match wins
_LAYER_PATHS = ("layers", "encoder.layer", "transformer.layer")


@dataclass(frozen=True)
class EncoderLayers:
    """Where a tagger's transformer keeps its layers, and the rules for choosing some.

    Attributes:
        path: the layer list's attribute path in the Hugging Face model (``layers``, ``encoder.layer``).
        count: the number of layers, ``L``.
        every: ModernBERT's ``global_attn_every_n_layers``; ``None`` for encoders without local layers.
        first_is_special: layer 0 differs from the others (ModernBERT: no attention norm).
        model_type: the config's ``model_type``.
    """

    path: str
    count: int
    every: Optional[int]
    first_is_special: bool
    model_type: str

    def select(self, student_layers: int) -> list[int]:
        """The teacher layers a student of ``student_layers`` layers keeps (see :func:`select_layers`)."""
        return select_layers(self.count, student_layers, self.every, self.first_is_special)

    def student(self, layers: Union[int, Sequence[int]]) -> list[int]:
        """The teacher layers a student keeps, from ``distill --layers``: a count (:meth:`select`) or the layers
        themselves (:meth:`check`), fewer than the teacher's either way.

        Raises:
            ValueError: a count out of range, a list that :meth:`check` refuses or that keeps every layer.
        """
        if isinstance(layers, int):
            return self.select(layers)
        keep = self.check(layers)
        if len(keep) >= self.count:
            raise ValueError(f"--layers {','.join(map(str, keep))}: a student keeps fewer layers than its "
                             f"teacher's {self.count}")
        return keep

    def check(self, keep: Sequence[int]) -> list[int]:
        """``keep`` as a list, checked: increasing teacher layers, roles kept (``len(keep) == L`` allowed).

        Raises:
            ValueError: an empty, unsorted or out-of-range list, or one that moves a layer to another role.
        """
        keep = [int(t) for t in keep]
        if not keep or any(b <= a for a, b in zip(keep, keep[1:])) or keep[0] < 0 or keep[-1] >= self.count:
            raise ValueError(f"layers to keep {keep}: expected increasing teacher layers from 0 to {self.count - 1}")
        teacher, student = global_layers(self.count, self.every), global_layers(len(keep), self.every)
        for i, t in enumerate(keep):
            if teacher[t] != student[i] or (self.first_is_special and (i == 0) != (t == 0)):
                raise ValueError(f"layers to keep {keep}: teacher layer {t} cannot be student layer {i} "
                                 f"({self.model_type}: global attention every {self.every} layers, layer 0 first)")
        return keep


def _attribute(root: Any, path: str) -> Any:
    for name in path.split("."):
        root = getattr(root, name, None)
        if root is None:
            return None
    return root


def encoder_layers(tagger: SequenceTagger) -> EncoderLayers:
    """Where ``tagger``'s transformer keeps its layers.

    Raises:
        ValueError: the tagger's embeddings are not a transformer's, or a transformer without one layer list
            (the message names the embeddings or the model class).
    """
    import torch

    embeddings = getattr(tagger, "embeddings", None)
    if not isinstance(embeddings, TransformerEmbeddings):
        raise ValueError(
            f"this tagger cannot be distilled: its embeddings are {type(embeddings).__name__}, not a transformer's "
            "(a student keeps some of a transformer's layers; use a tagger trained on ModernBertEmbeddings or "
            "TransformerWordEmbeddings)"
        )
    model = embeddings.model
    config = model.config
    for path in _LAYER_PATHS:
        layers = _attribute(model, path)
        if isinstance(layers, torch.nn.ModuleList) and len(layers) == int(config.num_hidden_layers):
            model_type = str(getattr(config, "model_type", ""))
            modernbert = model_type == "modernbert"
            every = int(config.global_attn_every_n_layers) if modernbert else None
            return EncoderLayers(path, len(layers), every, modernbert, model_type)
    raise ValueError(
        f"this tagger cannot be distilled: its {type(model).__name__} keeps no single list of "
        f"{config.num_hidden_layers} layers (looked for {', '.join(_LAYER_PATHS)})"
    )


def student_layer_indexes(indexes: Sequence[int], teacher_layers: int, keep: Sequence[int],
                          layer_mean: bool) -> list[int]:
    """The embeddings' ``layers`` (hidden-state indexes: 0 the word embeddings, ``i`` layer ``i - 1``'s output)
    for the student.

    Negative indexes count from the top and keep doing so (``-1``: the student's last layer feeds the head, as the
    teacher's last did); ``all`` stays all; a positive index follows its layer to its new position.

    Raises:
        ValueError: an index the student has no counterpart for, or ``all`` without ``layer_mean`` (the word
            vector would get shorter than the head's input).
    """
    states, student_states = teacher_layers + 1, len(keep) + 1
    if list(indexes) == list(range(states)) and states > 1:
        if not layer_mean:
            raise ValueError("embeddings.layers 'all' without layer_mean: the word vector holds one slice per layer, "
                             "so a student's would be shorter than its head expects; this tagger cannot be distilled")
        return list(range(student_states))
    moved = {0: 0, **{t + 1: i + 1 for i, t in enumerate(keep)}}
    result = []
    for index in indexes:
        if index < 0 and -index <= student_states:
            result.append(index)
        elif index < 0:
            raise ValueError(f"embeddings.layers {index}: a student with {len(keep)} layers has hidden states "
                             f"-1 to -{student_states} only")
        elif index in moved:
            result.append(moved[index])
        else:
            raise ValueError(f"embeddings.layers {index}: the output of teacher layer {index - 1}, which the student "
                             f"does not keep (it keeps {keep})")
    return result


def _renumbered(weights: dict[str, Any], prefix: str, keep: Sequence[int]) -> dict[str, Any]:
    """``weights`` with layer ``keep[i]`` under ``prefix`` renamed layer ``i`` and the other layers left out."""
    position = {str(t): str(i) for i, t in enumerate(keep)}
    result = type(weights)()
    for key, value in weights.items():
        if not key.startswith(prefix):
            result[key] = value
            continue
        layer, _, rest = key[len(prefix):].partition(".")
        if layer in position:
            result[f"{prefix}{position[layer]}.{rest}"] = value
    return result


def make_student(teacher: SequenceTagger, layers: Optional[int] = None,
                 keep: Optional[Sequence[int]] = None) -> SequenceTagger:
    """A copy of ``teacher`` whose transformer keeps ``layers`` of its layers (see the module docstring).

    Args:
        teacher: a trained ``SequenceTagger`` (or subclass: the student is of the same class) over
            ``ModernBertEmbeddings`` or Flair's ``TransformerWordEmbeddings``; it is not changed.
        layers: the student's number of layers ``K``, ``1 <= K < L``; the teacher layers are chosen by
            :func:`~flair_modernbert.distillation.layers.select_layers`.
        keep: instead of ``layers``, the teacher layers to keep (increasing, roles kept; all ``L`` allowed).

    Returns:
        The student, on ``flair.device``, in the teacher's train/eval mode.

    Raises:
        ValueError: ``K`` out of range, a ``keep`` that breaks the rules, or a tagger that cannot be distilled.
    """
    from transformers.modeling_utils import no_init_weights

    spec = encoder_layers(teacher)
    if keep is not None:
        keep = spec.check(keep)
        if layers is not None and layers != len(keep):
            raise ValueError(f"layers={layers} but keep names {len(keep)} layers")
    elif layers is None:
        raise ValueError("make_student: give the student's number of layers (or the layers to keep)")
    else:
        keep = spec.select(layers)
    embeddings = teacher.embeddings
    state = teacher._get_state_dict()
    params = dict(state["embeddings"])
    config = dict(params["config_state_dict"])
    # DistilBERT spells it n_layers (num_hidden_layers is an alias of its config class)
    count_key = "n_layers" if "n_layers" in config and "num_hidden_layers" not in config else "num_hidden_layers"
    config[count_key] = len(keep)
    params["config_state_dict"] = config
    params["layers"] = ",".join(map(str, student_layer_indexes(
        embeddings.layer_indexes, spec.count, keep, bool(embeddings.layer_mean))))
    state["embeddings"] = params
    prefix = f"embeddings.model.{spec.path}."
    state["state_dict"] = _renumbered(state["state_dict"], prefix, keep)
    with no_init_weights():
        student = type(teacher).load(state)
    student.train(teacher.training)
    logger.info("student: teacher layers %s of %d kept (%s)", keep, spec.count, spec.model_type)
    return student
