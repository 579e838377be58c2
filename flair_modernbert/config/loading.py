"""Loading recipes, augmentation files and ablation files: YAML, ``--set`` overrides, validation, saving.

Every loader goes the same way: read the YAML file (:mod:`~flair_modernbert.config.yamlfiles`), apply the
``--set`` overrides to the raw data, validate with the schema (:mod:`~flair_modernbert.config.schema`) with the
file's folder as the base of relative paths, and turn the first validation error into a
:class:`~flair_modernbert.config.errors.ConfigError` that names the file, the dotted key and the override.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, Optional, Sequence, Union, get_args

import yaml
from pydantic import BaseModel, ValidationError

from flair_modernbert.config.errors import ConfigError, config_error, did_you_mean, override_for, shown
from flair_modernbert.config.schema import (
    AblationDefinition,
    AugmentationConfig,
    ColumnCorpus,
    FlairCorpus,
    HFCorpus,
    Recipe,
    Section,
    SpansCorpus,
    Variant,
)
from flair_modernbert.config.yamlfiles import apply_override, read_yaml

__all__ = [
    "load_recipe",
    "recipe_from_dict",
    "with_overrides",
    "save_recipe",
    "load_augmentation",
    "augmentation_from",
    "load_ablation",
    "variant_recipe",
]

_CORPORA = {"flair": FlairCorpus, "column": ColumnCorpus, "hf": HFCorpus, "spans": SpansCorpus}
_NO_TYPE = type("_NoType", (), {"annotation": None})()
_TAGGED = {"corpus": _CORPORA, "ops": {"lowercase": None, "swap": None, "char_noise": None}}


# ------------------------------------------------------------------------------------------------ errors
def _strip_tags(loc: Sequence[Any]) -> list[Any]:
    """Drop the tags pydantic puts in the location of a discriminated union (``corpus.column.path``)."""
    out: list[Any] = []
    for index, part in enumerate(loc):
        owner = loc[index - 1] if index else None
        if isinstance(owner, int) and index >= 2:
            owner = loc[index - 2]
        if isinstance(part, str) and owner in _TAGGED and part in _TAGGED[owner] and index and (
            loc[index - 1] == owner or isinstance(loc[index - 1], int)
        ):
            continue
        out.append(part)
    return out


def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _models(arg)]


def _valid_keys(root: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    """The keys of the model at ``loc`` (pydantic's location, union tags included) below ``root``."""
    current: list[type[BaseModel]] = [root]
    for part in loc:
        if not isinstance(part, str):
            continue
        tagged = [cls for cls in current if part in get_args(cls.model_fields.get("type", _NO_TYPE).annotation)]
        if tagged:  # a union tag picks the variant
            current = tagged
            continue
        current = [m for cls in current if part in cls.model_fields for m in _models(cls.model_fields[part].annotation)]
    return [key for cls in current[:1] for key in cls.model_fields]


def _corpus_key(data: Any, name: str) -> str:
    kind = data.get("type") if isinstance(data, dict) else None
    own = list(_CORPORA[kind].model_fields) if kind in _CORPORA else []
    if any(name in cls.model_fields for cls in _CORPORA.values()):
        return f"not used by corpus type '{kind}'. Keys of a '{kind}' corpus: {', '.join(own)}."
    return f"unknown key{did_you_mean(name, own)} Valid keys: {', '.join(own)}."


def _validate(
    cls: type[BaseModel], data: Any, source: str, base_dir: Optional[Path], overrides: dict[str, str]
) -> Any:
    context = {"base_dir": base_dir, "overridden": tuple(overrides)}
    try:
        return cls.model_validate(data, context=context)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        loc = _strip_tags(first["loc"])
        if first["type"] == "missing" and loc[:1] == ["corpus"] and len(loc) == 2 and isinstance(data, dict):
            kind = (data.get("corpus") or {}).get("type")
            key = f"corpus.{loc[1]}"
            override = override_for(key, overrides)
            suffix = f" (set by override '{override}')" if override else ""
            raise ConfigError(f"{source}: {key}: required for corpus type '{kind}'{suffix}", key=key, source=source,
                              override=override) from None
        if first["type"] == "extra_forbidden" and loc[:1] == ["corpus"] and len(loc) == 2:
            key = f"corpus.{loc[1]}"
            message = _corpus_key(data.get("corpus") if isinstance(data, dict) else None, loc[1])
            override = override_for(key, overrides)
            suffix = f" (set by override '{override}')" if override else ""
            raise ConfigError(f"{source}: {key}: {message}{suffix}", key=key, source=source, override=override) from None
        raise config_error(
            error, source, overrides, valid_keys=lambda parent: _valid_keys(cls, parent),
            strip=_strip_tags,
        ) from None


def _with_overrides(data: Any, overrides: Sequence[str], source: str) -> tuple[Any, dict[str, str]]:
    data = copy.deepcopy(data) if data is not None else {}
    applied: dict[str, str] = {}
    if overrides and not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of keys, got {shown(data)}", source=source)
    for text in overrides:
        applied[apply_override(data, text, source)] = text
    return data, applied


# ------------------------------------------------------------------------------------------------ recipes
def _recipe(data: Any, overrides: Sequence[str], source: str, base_dir: Optional[Path], default_output: str) -> Recipe:
    data, applied = _with_overrides(data, overrides, source)
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a recipe is a mapping with the keys corpus, embeddings, tagger, training, "
                          f"augmentation, synthetic, output_dir; got {shown(data)}", source=source)
    if "corpus" not in data:
        raise ConfigError(f"{source}: corpus: required section is missing (corpus.type: flair, column, hf or spans)",
                          key="corpus", source=source)
    if data.get("output_dir") is None:
        # the default output folder is relative to the current directory, like a command-line path
        data["output_dir"] = default_output
        applied.setdefault("output_dir", "")
    recipe = _validate(Recipe, data, source, base_dir, applied)
    recipe._source = source
    return recipe


def load_recipe(path: Union[str, os.PathLike], overrides: Sequence[str] = ()) -> Recipe:
    """Read, override and validate a recipe file.

    Args:
        path: the YAML recipe.
        overrides: ``--set`` strings (``training.learning_rate=1e-5``), applied in order before validation.

    Returns:
        The validated :class:`~flair_modernbert.config.schema.Recipe`, paths absolute (see
        :mod:`~flair_modernbert.config.paths`); ``output_dir`` defaults to ``runs/<file name>`` under the
        current directory.

    Raises:
        FileNotFoundError: no such file.
        ConfigError: invalid YAML, an unknown key, a wrong type or value, or a bad override; the message names
            the file, the dotted key and the override.
    """
    file = Path(path)
    data = read_yaml(file, "recipe")
    return _recipe(data, overrides, str(file), file.resolve().parent, f"runs/{file.stem}")


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
        base_dir: the folder relative paths are relative to; ``None`` = the current directory.
    """
    base = Path(base_dir).resolve() if base_dir is not None else None
    return _recipe(data, overrides, source, base, "runs/recipe")


def with_overrides(recipe: Recipe, overrides: Sequence[str]) -> Recipe:
    """A validated copy of ``recipe`` with ``--set`` overrides applied (the original is unchanged).

    Relative paths in the overrides are relative to the current directory.
    """
    if not overrides:
        return recipe
    return _recipe(recipe.to_dict(), overrides, recipe.source or "<recipe>", None, recipe.output_dir)


def save_recipe(recipe: Recipe, path: Union[str, os.PathLike]) -> Path:
    """Write the resolved recipe (every key, defaults included, absolute paths) as YAML.

    Loading the written file with :func:`load_recipe` gives a recipe equal to ``recipe``.
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


# ------------------------------------------------------------------------------------------------ augmentation
class _AugmentationFile(Section):
    """An augmentation section alone (so that error keys read ``augmentation.ops[1].p`` as in a recipe)."""

    augmentation: AugmentationConfig


def augmentation_from(
    data: Any, source: str = "<augmentation>", base_dir: Optional[Union[str, os.PathLike]] = None
) -> AugmentationConfig:
    """Validate an augmentation section (list or mapping form, or a YAML file's path); an ``AugmentationConfig``
    is returned as is.

    Args:
        data: the section, or the path of a file holding it (see :func:`load_augmentation`).
        source: names it in error messages.
        base_dir: the folder relative gazetteer paths are relative to; ``None`` = the current directory.
    """
    if isinstance(data, AugmentationConfig):
        return data
    if isinstance(data, os.PathLike) or (
        isinstance(data, str) and (data.endswith((".yaml", ".yml")) or Path(data).is_file())
    ):
        return load_augmentation(data)
    base = Path(base_dir).resolve() if base_dir is not None else None
    wrapped = _validate(_AugmentationFile, {"augmentation": data}, source, base, {})
    return wrapped.augmentation


def load_augmentation(path: Union[str, os.PathLike]) -> AugmentationConfig:
    """Read an augmentation file: the list or mapping form, or a whole recipe (its ``augmentation`` section).

    Relative gazetteer paths are relative to the file.
    """
    file = Path(path)
    data = read_yaml(file, "augmentation file")
    if isinstance(data, dict) and "augmentation" in data and "ops" not in data:
        data = data["augmentation"]
    if data is None:
        raise ConfigError(f"{file}: empty; expected a list of operations or {{ratio, seed, ops}}", source=str(file))
    return augmentation_from(data, str(file), file.resolve().parent)


# ------------------------------------------------------------------------------------------------ ablations
def load_ablation(path: Union[str, os.PathLike]) -> AblationDefinition:
    """Read and check an ablation file; every variant's recipe is validated too (fail now, not hours later).

    Raises:
        FileNotFoundError: no such file.
        ConfigError: naming the file and the key (``variants[2].augmentation.ops[0].p``), or the variant
            whose recipe does not validate.
    """
    file = Path(path)
    data = read_yaml(file, "ablation file")
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: expected a mapping with the keys {', '.join(AblationDefinition.model_fields)}",
                          source=str(file))
    definition = _validate(AblationDefinition, data, str(file), file.resolve().parent, {})
    definition._source = str(file)
    for variant in definition.variants:
        variant_recipe(definition, variant)
    return definition


def variant_recipe(definition: AblationDefinition, variant: Variant) -> Recipe:
    """The validated recipe of one variant: base recipe + common overrides + the variant's (and its augmentation)."""
    try:
        recipe = load_recipe(definition.recipe, [*definition.set, *variant.set])
    except ConfigError as error:
        raise ConfigError(f"{definition.source}: variant {variant.name!r}: {error}", key=error.key,
                          source=str(definition.source), override=error.override) from error
    if variant.augmentation is not None:
        recipe = recipe.model_copy(update={"augmentation": variant.augmentation})
    return recipe
