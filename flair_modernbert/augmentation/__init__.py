"""Label-aligned data augmentation for NER training splits: lower-cased names, entity swap, character noise.

Each augmenter reads a Flair ``Sentence`` with span labels and returns a new one whose labels still cover
exactly their tokens; the input is never changed. Every augmenter is seeded (pass a ``random.Random`` or an
int), fires with a probability ``p`` and composes with others (:class:`Compose`). Recipes (a list of ops, or
``{ratio, seed, ops}``) are checked by :func:`parse_augmentation` and built by :func:`build_augmenter`;
:func:`augment_corpus` adds augmented copies to the training split only, :func:`augment_folder` does the same
for a column folder on disk. See :mod:`flair_modernbert.augmentation.config` for the recipe format.

Example::

    from flair_modernbert.augmentation import augment_corpus, parse_augmentation

    recipe = parse_augmentation({"ratio": 1.0, "ops": [{"type": "lowercase", "p": 0.5},
                                                       {"type": "swap", "p": 0.5}]})
    augmented_corpus, report = augment_corpus(corpus, recipe, seed=1)
    print(report.summary())
"""

from flair_modernbert.augmentation.base import Augmenter, Compose, LabeledTokens, Mention, OpRecord, as_rng
from flair_modernbert.augmentation.config import (
    AugmentationConfig,
    AugmentationConfigError,
    CharNoiseOp,
    LowercaseOp,
    SwapOp,
    build_augmenter,
    load_augmentation,
    parse_augmentation,
    resolve_augmentation,
)
from flair_modernbert.augmentation.corpus import (
    AugmentationReport,
    OpCounts,
    augment_corpus,
    augment_sentences,
    copies_per_sentence,
)
from flair_modernbert.augmentation.folder import REPORT_FILE, augment_folder
from flair_modernbert.augmentation.io import mentions_to_tags, sentence_tags, write_column_file
from flair_modernbert.augmentation.lowercase import PERSON_TYPES, LowercaseNames
from flair_modernbert.augmentation.mentions import GazetteerError, MentionBank, load_gazetteer
from flair_modernbert.augmentation.noise import CharNoise
from flair_modernbert.augmentation.swap import EntitySwap

__all__ = [
    "Augmenter",
    "Compose",
    "LabeledTokens",
    "Mention",
    "OpRecord",
    "as_rng",
    "LowercaseNames",
    "PERSON_TYPES",
    "EntitySwap",
    "MentionBank",
    "GazetteerError",
    "load_gazetteer",
    "CharNoise",
    "AugmentationConfig",
    "AugmentationConfigError",
    "LowercaseOp",
    "SwapOp",
    "CharNoiseOp",
    "parse_augmentation",
    "load_augmentation",
    "resolve_augmentation",
    "build_augmenter",
    "AugmentationReport",
    "OpCounts",
    "augment_sentences",
    "augment_corpus",
    "copies_per_sentence",
    "augment_folder",
    "REPORT_FILE",
    "mentions_to_tags",
    "sentence_tags",
    "write_column_file",
]
