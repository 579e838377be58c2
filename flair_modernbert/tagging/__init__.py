"""The tagging room: the embeddings and Flair ``SequenceTagger`` a recipe describes, its losses, and loading
saved taggers."""

from flair_modernbert.tagging.build import build_embeddings, build_tagger, expand_class_weights
from flair_modernbert.tagging.dice import DiceSequenceTagger
from flair_modernbert.tagging.loading import load_tagger
from flair_modernbert.tagging.losses import LOSSES, dice_loss

__all__ = [
    "LOSSES",
    "DiceSequenceTagger",
    "build_embeddings",
    "build_tagger",
    "dice_loss",
    "expand_class_weights",
    "load_tagger",
]
