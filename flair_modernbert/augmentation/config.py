"""Augmentation recipes: parsing and checking the ``augmentation:`` structure, building the pipeline.

Two forms are accepted (in a recipe's ``augmentation:`` section, or as a whole YAML file)::

    # a bare list of operations (ratio 1.0, seed from the caller)
    - {type: lowercase, p: 0.5}

    # or a mapping
    ratio: 1.0             # augmented copies per training sentence (0.5: for half of them, 2.0: two each)
    seed: 13               # optional; the caller's seed wins when it gives one
    keep_unchanged: false  # optional; keep copies that no operation changed (default: drop them)
    ops:
      - {type: lowercase, p: 0.5, types: [person], scope: entities}
      - {type: swap, p: 0.5, gazetteer: null, types: null, mention_p: 1.0}
      - {type: char_noise, p: 0.3, action: keyboard, target: both, token_p: 0.1, types: null}

Operation keys (all optional except ``type``):

* ``lowercase``: ``p`` (1.0), ``types`` ([PER, PERSON], case-insensitive), ``scope`` (entities | sentence).
* ``swap``: ``p`` (1.0), ``gazetteer`` (null: mentions of the training split; else a ``TYPE<TAB>mention``
  file; a relative path is resolved against the YAML file's folder by :func:`load_augmentation`, against
  ``base_dir`` by :func:`parse_augmentation`, else left as written), ``types`` (null: all), ``mention_p``
  (1.0: every eligible mention is swapped when the op fires).
* ``char_noise``: ``p`` (1.0), ``action`` (keyboard | ocr | random), ``target`` (entities | context | both),
  ``token_p`` (0.1), ``types`` (null: all entity types).

Operations run in the order listed, each firing with its own ``p``. Order matters: ``swap`` after
``lowercase`` replaces lower-cased names with cased ones from the bank; list ``swap`` first to lower-case
the swapped-in names as well.

Anything else -- an unknown operation, an unknown key, a value of the wrong type or out of range -- raises
:class:`AugmentationConfigError` (a ``ValueError``) naming the source and the key, e.g.
``recipes/x.yaml: augmentation.ops[1].token_p: expected a probability in [0, 1], got 1.5``.
"""

from __future__ import annotations

import difflib
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional, Union

from flair.data import Sentence

from flair_modernbert.augmentation.base import Augmenter, Compose
from flair_modernbert.augmentation.lowercase import LOWERCASE_SCOPES, PERSON_TYPES, LowercaseNames
from flair_modernbert.augmentation.mentions import MentionBank, load_gazetteer
from flair_modernbert.augmentation.noise import NOISE_ACTIONS, NOISE_TARGETS, CharNoise
from flair_modernbert.augmentation.swap import EntitySwap

logger = logging.getLogger(__name__)

__all__ = [
    "AugmentationConfigError",
    "LowercaseOp",
    "SwapOp",
    "CharNoiseOp",
    "OpConfig",
    "AugmentationConfig",
    "parse_augmentation",
    "load_augmentation",
    "resolve_augmentation",
    "build_augmenter",
]


class AugmentationConfigError(ValueError):
    """An augmentation recipe is invalid.

    Attributes:
        source: the file (or a name such as ``"<recipe>"``) the recipe came from.
        key: the offending key as a path, e.g. ``augmentation.ops[1].token_p`` (``augmentation[1].p`` for
            the list form).
    """

    def __init__(self, source: str, key: str, message: str) -> None:
        self.source = source
        self.key = key
        super().__init__(f"{source}: {key}: {message}")


@dataclass(frozen=True)
class LowercaseOp:
    """``{type: lowercase, p, types, scope}``: see :class:`~flair_modernbert.augmentation.LowercaseNames`."""

    p: float = 1.0
    types: tuple[str, ...] = PERSON_TYPES
    scope: str = "entities"
    type: str = field(default="lowercase", init=False)


@dataclass(frozen=True)
class SwapOp:
    """``{type: swap, p, gazetteer, types, mention_p}``: see :class:`~flair_modernbert.augmentation.EntitySwap`."""

    p: float = 1.0
    gazetteer: Optional[str] = None
    types: Optional[tuple[str, ...]] = None
    mention_p: float = 1.0
    type: str = field(default="swap", init=False)


@dataclass(frozen=True)
class CharNoiseOp:
    """``{type: char_noise, p, action, target, token_p, types}``: see :class:`~flair_modernbert.augmentation.CharNoise`."""

    p: float = 1.0
    action: str = "keyboard"
    target: str = "both"
    token_p: float = 0.1
    types: Optional[tuple[str, ...]] = None
    type: str = field(default="char_noise", init=False)


OpConfig = Union[LowercaseOp, SwapOp, CharNoiseOp]
_OP_CLASSES: dict[str, type] = {"lowercase": LowercaseOp, "swap": SwapOp, "char_noise": CharNoiseOp}
_TOP_KEYS = ("ratio", "seed", "keep_unchanged", "ops")
#: keys in messages are paths from here, e.g. augmentation.ops[1].token_p
_ROOT = "augmentation"


@dataclass(frozen=True)
class AugmentationConfig:
    """A checked augmentation recipe.

    Attributes:
        ops: the operations, applied in order to each augmented copy.
        ratio: augmented copies per training sentence (``0.5``: one copy for half of them, ``2.0``: two each).
        seed: the recipe's seed, or ``None`` (then the caller's seed, else 0).
        keep_unchanged: keep copies that came out identical to their source (default: drop them, so the
            added sentences are all real variations).
        source: where the recipe came from (for messages).
    """

    ops: tuple[OpConfig, ...] = ()
    ratio: float = 1.0
    seed: Optional[int] = None
    keep_unchanged: bool = False
    source: str = "<recipe>"

    def to_dict(self) -> dict[str, Any]:
        """The recipe as plain data (the mapping form), e.g. for a JSON report."""
        ops = []
        for op in self.ops:
            data = asdict(op)
            ops.append({"type": data.pop("type"), **{k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}})
        return {"ratio": self.ratio, "seed": self.seed, "keep_unchanged": self.keep_unchanged, "ops": ops}


# ------------------------------------------------------------------------------------------------ checking
class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, message: str) -> AugmentationConfigError:
        return AugmentationConfigError(self.source, key, message)

    def unknown(self, key: str, where: str, allowed: Iterable[str]) -> AugmentationConfigError:
        allowed = list(allowed)
        close = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return self.fail(f"{where}{key}", f"unknown key{hint}; expected one of: {', '.join(allowed)}")

    def number(self, key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(key, f"expected a number, got {value!r}")
        return float(value)

    def probability(self, key: str, value: Any) -> float:
        number = self.number(key, value)
        if not 0.0 <= number <= 1.0:
            raise self.fail(key, f"expected a probability in [0, 1], got {value!r}")
        return number

    def choice(self, key: str, value: Any, choices: Iterable[str]) -> str:
        choices = list(choices)
        if not isinstance(value, str) or value not in choices:
            raise self.fail(key, f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    def types(self, key: str, value: Any, allow_none: bool) -> Optional[tuple[str, ...]]:
        if value is None and allow_none:
            return None
        if not isinstance(value, (list, tuple)) or not value:
            expected = "a non-empty list of entity types" + (" or null" if allow_none else "")
            raise self.fail(key, f"expected {expected}, got {value!r}")
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise self.fail(f"{key}[{index}]", f"expected an entity type name, got {item!r}")
        return tuple(value)


def _parse_op(raw: Any, where: str, check: _Checker, base_dir: Optional[Path]) -> OpConfig:
    if not isinstance(raw, dict):
        raise check.fail(where.rstrip("."), f"expected a mapping such as {{type: lowercase, p: 0.5}}, got {raw!r}")
    if "type" not in raw:
        raise check.fail(f"{where}type", f"missing; expected one of: {', '.join(_OP_CLASSES)}")
    op_type = raw["type"]
    if not isinstance(op_type, str) or op_type not in _OP_CLASSES:
        close = difflib.get_close_matches(str(op_type), list(_OP_CLASSES), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise check.fail(f"{where}type", f"unknown operation {op_type!r}{hint}; expected one of: {', '.join(_OP_CLASSES)}")
    op_class = _OP_CLASSES[op_type]
    allowed = [name for name in op_class.__dataclass_fields__ if name != "type"]
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "type":
            continue
        if key not in allowed:
            raise check.unknown(key, where, ["type", *allowed])
        name = f"{where}{key}"
        if key in ("p", "token_p", "mention_p"):
            values[key] = check.probability(name, value)
        elif key == "types":
            values[key] = check.types(name, value, allow_none=op_type != "lowercase")
        elif key == "scope":
            values[key] = check.choice(name, value, LOWERCASE_SCOPES)
        elif key == "action":
            values[key] = check.choice(name, value, NOISE_ACTIONS)
        elif key == "target":
            values[key] = check.choice(name, value, NOISE_TARGETS)
        elif key == "gazetteer":
            if value is None:
                values[key] = None
            elif isinstance(value, (str, Path)) and str(value).strip():
                path = Path(value).expanduser()
                if base_dir is not None and not path.is_absolute():
                    path = base_dir / path
                values[key] = str(path)
            else:
                raise check.fail(name, f"expected a file path or null, got {value!r}")
    return op_class(**values)


def parse_augmentation(
    obj: Any, source: str = "<recipe>", base_dir: Optional[Union[str, Path]] = None
) -> AugmentationConfig:
    """Check an augmentation recipe and turn it into an :class:`AugmentationConfig`.

    Args:
        obj: a list of operation mappings (ratio 1.0), or a mapping ``{ratio, seed, keep_unchanged, ops}``;
            ``None`` or an empty list means no augmentation. An ``AugmentationConfig`` is returned as is.
        source: where ``obj`` came from (a file name), used in error messages.
        base_dir: folder that relative gazetteer paths are resolved against (default: left as written).

    Raises:
        AugmentationConfigError: (a ``ValueError``) naming ``source`` and the key at fault.
    """
    if isinstance(obj, AugmentationConfig):
        return obj
    check = _Checker(source)
    base = Path(base_dir) if base_dir is not None else None
    settings: dict[str, Any] = {}
    if obj is None:
        raw_ops: Any = []
        prefix = _ROOT
    elif isinstance(obj, (list, tuple)):
        raw_ops, prefix = obj, _ROOT
    elif isinstance(obj, dict):
        for key in obj:
            if key not in _TOP_KEYS:
                raise check.unknown(key, f"{_ROOT}.", _TOP_KEYS)
        prefix = f"{_ROOT}.ops"
        raw_ops = obj.get("ops", [])
        if raw_ops is None:
            raw_ops = []
        if not isinstance(raw_ops, (list, tuple)):
            raise check.fail(f"{_ROOT}.ops", f"expected a list of operations, got {raw_ops!r}")
        if "ratio" in obj:
            ratio = check.number(f"{_ROOT}.ratio", obj["ratio"])
            if ratio < 0:
                raise check.fail(f"{_ROOT}.ratio", f"expected a number >= 0, got {obj['ratio']!r}")
            settings["ratio"] = ratio
        if obj.get("seed") is not None:
            seed = obj["seed"]
            if isinstance(seed, bool) or not isinstance(seed, int):
                raise check.fail(f"{_ROOT}.seed", f"expected an integer or null, got {seed!r}")
            settings["seed"] = seed
        if "keep_unchanged" in obj:
            if not isinstance(obj["keep_unchanged"], bool):
                raise check.fail(f"{_ROOT}.keep_unchanged", f"expected true or false, got {obj['keep_unchanged']!r}")
            settings["keep_unchanged"] = obj["keep_unchanged"]
    else:
        raise check.fail(
            _ROOT, f"expected a list of operations or a mapping {{ratio, seed, ops}}, got {obj!r}"
        )
    ops = tuple(_parse_op(raw, f"{prefix}[{index}].", check, base) for index, raw in enumerate(raw_ops))
    return AugmentationConfig(ops=ops, source=source, **settings)


def load_augmentation(path: Union[str, Path]) -> AugmentationConfig:
    """Read an augmentation recipe from a YAML file.

    The file holds the list or mapping form; a full training recipe is accepted too (its
    ``augmentation:`` section is used). Relative gazetteer paths are resolved against the file's folder.

    Raises:
        AugmentationConfigError: naming the file when it is missing, is not valid YAML or the recipe is invalid.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise AugmentationConfigError(str(path), "file", "augmentation recipe not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        raise AugmentationConfigError(str(path), where, f"not valid YAML: {error}") from error
    if isinstance(data, dict) and "augmentation" in data and "ops" not in data:
        data = data["augmentation"]  # a training recipe: use its augmentation section
    if data is None:
        raise AugmentationConfigError(str(path), "file", "empty; expected a list of operations or {ratio, seed, ops}")
    return parse_augmentation(data, source=str(path), base_dir=path.parent)


def resolve_augmentation(config: Any, source: str = "<recipe>") -> AugmentationConfig:
    """An :class:`AugmentationConfig` from a config, a list/mapping recipe or a YAML file path."""
    if isinstance(config, AugmentationConfig):
        return config
    if isinstance(config, (str, Path)):
        return load_augmentation(config)
    return parse_augmentation(config, source=source)


def build_augmenter(
    config: Any,
    train_sentences: Optional[Iterable[Sentence]] = None,
    label_type: str = "ner",
) -> Compose:
    """Build the pipeline of a recipe: a :class:`Compose` of one augmenter per operation, in order.

    Args:
        config: an :class:`AugmentationConfig`, or anything :func:`resolve_augmentation` accepts.
        train_sentences: the training split (``corpus.train``); needed by ``swap`` without a gazetteer.
            Never pass dev or test sentences: their mentions would leak into training.
        label_type: the span label type holding the entities.

    Raises:
        ValueError: a swap op without gazetteer and no ``train_sentences``; GazetteerError for a bad file.
    """
    config = resolve_augmentation(config)
    counts: dict[str, int] = {}
    steps: list[Augmenter] = []
    train_bank: Optional[MentionBank] = None
    gazetteers: dict[str, MentionBank] = {}
    for index, op in enumerate(config.ops):
        counts[op.type] = counts.get(op.type, 0) + 1
        label = op.type if counts[op.type] == 1 else f"{op.type}#{counts[op.type]}"
        if isinstance(op, LowercaseOp):
            steps.append(LowercaseNames(op.types, op.scope, p=op.p, label_type=label_type, label=label))
        elif isinstance(op, SwapOp):
            if op.gazetteer is not None:
                if op.gazetteer not in gazetteers:
                    gazetteers[op.gazetteer] = load_gazetteer(op.gazetteer)
                bank = gazetteers[op.gazetteer]
            else:
                if train_sentences is None:
                    raise ValueError(
                        f"{config.source}: {_ROOT} op {index} (swap): no gazetteer, so the training sentences are "
                        "needed for the mention bank; pass train_sentences=corpus.train"
                    )
                if train_bank is None:
                    train_bank = MentionBank.from_sentences(train_sentences, label_type, source="train split")
                bank = train_bank
            steps.append(EntitySwap(bank, op.types, op.mention_p, p=op.p, label_type=label_type, label=label))
        else:
            steps.append(CharNoise(op.action, op.target, op.token_p, op.types, p=op.p, label_type=label_type, label=label))
    return Compose(steps, label_type=label_type)
