"""Label-aligned data augmentation for NER training splits: lower-cased names, entity swap, character noise.

Each augmenter reads a Flair ``Sentence`` with span labels and returns a new one whose labels still cover
exactly their tokens; the input is never changed. Every augmenter is seeded (pass a ``random.Random`` or an
int), fires with a probability ``p`` and composes with others (:class:`Compose`). An augmentation section (a
list of ops, or ``{ratio, seed, ops}``; its schema is :class:`flair_modernbert.config.AugmentationConfig`) is
built into a pipeline by :func:`build_augmenter`; :func:`augment_corpus` adds augmented sentences to the
training split only, :func:`augment_folder` does the same for a column folder on disk.

Example::

    from flair_modernbert.augmentation import augment_corpus

    augmented_corpus, report = augment_corpus(
        corpus, {"ratio": 1.0, "ops": [{"type": "lowercase", "p": 0.5}, {"type": "swap", "p": 0.5}]}, seed=1
    )
    print(report.summary())
"""

from flair_modernbert.augmentation.base import Augmenter, Compose, LabeledTokens, Mention, OpRecord, as_rng
from flair_modernbert.augmentation.corpus import AugmentationReport, OpCounts, augment_corpus, augment_sentences
from flair_modernbert.augmentation.folder import REPORT_FILE, augment_folder
from flair_modernbert.augmentation.io import write_column_file
from flair_modernbert.augmentation.lowercase import LowercaseNames
from flair_modernbert.augmentation.mentions import GazetteerError, MentionBank, load_gazetteer
from flair_modernbert.augmentation.noise import CharNoise
from flair_modernbert.augmentation.pipeline import build_augmenter
from flair_modernbert.augmentation.swap import EntitySwap

__all__ = [
    "Augmenter",
    "Compose",
    "LabeledTokens",
    "Mention",
    "OpRecord",
    "as_rng",
    "LowercaseNames",
    "EntitySwap",
    "MentionBank",
    "GazetteerError",
    "load_gazetteer",
    "CharNoise",
    "build_augmenter",
    "AugmentationReport",
    "OpCounts",
    "augment_sentences",
    "augment_corpus",
    "augment_folder",
    "REPORT_FILE",
    "write_column_file",
]
