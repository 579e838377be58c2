"""The config room: the pydantic schema of recipes, augmentation operations and ablations, the one YAML loader,
``--set`` overrides, the path rule, and the checks against the machine a run is on.

Nothing here imports torch, flair or transformers, so a recipe is checked in a fraction of a second.
"""

from flair_modernbert.config.errors import ConfigError
from flair_modernbert.config.loading import (
    augmentation_from,
    load_ablation,
    load_augmentation,
    load_recipe,
    recipe_from_dict,
    save_recipe,
    variant_recipe,
    with_overrides,
)
from flair_modernbert.config.paths import PACKAGE_PREFIX, package_dir, resolve_path
from flair_modernbert.config.runtime import check_runtime, resolve_device
from flair_modernbert.config.schema import (
    AblationDefinition,
    AugmentationConfig,
    CharNoiseOp,
    ColumnCorpus,
    CorpusConfig,
    DocumentsConfig,
    EmbeddingsConfig,
    FlairCorpus,
    HFCorpus,
    LowercaseOp,
    OpConfig,
    Recipe,
    SpansCorpus,
    SwapOp,
    SyntheticConfig,
    TaggerConfig,
    TrainingConfig,
    Variant,
)
from flair_modernbert.config.yamlfiles import parse_override, read_yaml

__all__ = [
    "PACKAGE_PREFIX",
    "AblationDefinition",
    "AugmentationConfig",
    "CharNoiseOp",
    "ColumnCorpus",
    "ConfigError",
    "CorpusConfig",
    "DocumentsConfig",
    "EmbeddingsConfig",
    "FlairCorpus",
    "HFCorpus",
    "LowercaseOp",
    "OpConfig",
    "Recipe",
    "SpansCorpus",
    "SwapOp",
    "SyntheticConfig",
    "TaggerConfig",
    "TrainingConfig",
    "Variant",
    "augmentation_from",
    "check_runtime",
    "load_ablation",
    "load_augmentation",
    "load_recipe",
    "package_dir",
    "parse_override",
    "read_yaml",
    "recipe_from_dict",
    "resolve_device",
    "resolve_path",
    "save_recipe",
    "variant_recipe",
    "with_overrides",
]
