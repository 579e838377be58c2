"""Configuration errors that name the file, the dotted key and the ``--set`` override responsible.

Validation is pydantic's; :func:`config_error` turns its first error into one line such as
``recipes/x.yaml: training.max_epochs: expected an integer, got 'ten' (str) (set by override
'training.max_epochs=ten')``.
"""

from __future__ import annotations

import difflib
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

__all__ = ["ConfigError", "FieldIssue", "close_matches", "config_error", "did_you_mean", "shown"]


class ConfigError(ValueError):
    """A recipe, augmentation file or ablation file (or an override of it) is invalid.

    Attributes:
        key: the dotted key at fault (``training.learning_rate``), or ``""`` for the whole file.
        source: the file (or a name such as ``<dict>``) the configuration came from.
        override: the ``--set`` string responsible, if any.
    """

    def __init__(self, message: str, key: str = "", source: str = "", override: Optional[str] = None) -> None:
        super().__init__(message)
        self.key = key
        self.source = source
        self.override = override


class FieldIssue(ValueError):
    """Raised inside validators to blame a key below the model being validated (``key`` is relative to it)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def shown(value: Any) -> str:
    """A value as messages show it: its repr (shortened) and its type."""
    text = repr(value)
    return (text if len(text) <= 60 else text[:57] + "...") + f" ({type(value).__name__})"


def close_matches(
    name: Any, choices: Iterable[str], limit: int = 1, normalise: Optional[Callable[[str], str]] = None
) -> list[str]:
    """The choices closest to ``name`` (compared after ``normalise``, e.g. ignoring case and punctuation)."""
    norm = normalise or (lambda text: text)
    by_norm: dict[str, list[str]] = {}
    for choice in choices:
        by_norm.setdefault(norm(choice), []).append(choice)
    wanted = norm(str(name))
    found = list(by_norm.get(wanted, []))
    for match in difflib.get_close_matches(wanted, list(by_norm), n=limit, cutoff=0.6):
        found += [c for c in by_norm[match] if c not in found]
    if wanted and normalise is not None:
        found += [c for key, group in by_norm.items() if key.startswith(wanted) for c in group if c not in found]
    return found[:limit]


def did_you_mean(name: Any, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest choice, or ``""``."""
    close = close_matches(name, choices)
    return f"; did you mean '{close[0]}'?" if close else ""


def dotted(parts: Sequence[Any]) -> str:
    """``("training", "seeds", 1)`` -> ``training.seeds[1]``."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def override_for(key: str, overrides: Mapping[str, str]) -> Optional[str]:
    """The ``--set`` text that set ``key`` (or a section above or below it), the last one wins."""
    found = None
    for set_key, text in overrides.items():
        if set_key == key or key.startswith((set_key + ".", set_key + "[")) or set_key.startswith(key + "."):
            found = text
    return found


def _choices(expected: str) -> str:
    return expected.replace(" or ", ", ")


def _message(error: Mapping[str, Any], valid_keys: Sequence[str]) -> str:
    kind, ctx, value = error["type"], error.get("ctx", {}), error.get("input")
    last = error["loc"][-1] if error["loc"] else ""
    expected = {
        ("int_type", "int_parsing", "int_from_float"): "an integer",
        ("float_type", "float_parsing", "finite_number"): "a number",
        ("bool_type", "bool_parsing"): "a boolean (true/false)",
        ("string_type",): "a string",
        ("list_type", "tuple_type"): "a list",
        ("dict_type", "model_type", "model_attributes_type"): "a mapping of keys",
    }
    for kinds, what in expected.items():
        if kind in kinds:
            return f"expected {what}, got {shown(value)}"
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return f"unknown key{did_you_mean(last, valid_keys)} Valid keys: {', '.join(valid_keys)}."
    if kind == "literal_error":
        return f"expected one of {_choices(ctx['expected'])}, got {shown(value)}"
    if kind == "union_tag_invalid":
        return f"expected one of {_choices(ctx['expected_tags'])}, got {shown(ctx['tag'])}"
    if kind == "union_tag_not_found":
        return "required key is missing"
    bounds = {"greater_than_equal": (">=", "ge"), "greater_than": (">", "gt"), "less_than": ("<", "lt"),
              "less_than_equal": ("<=", "le")}
    if kind in bounds:
        sign, name = bounds[kind]
        return f"must be {sign} {ctx[name]}, got {value!r}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_pattern_mismatch":
        return f"must not be blank, got {shown(value)}"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length', 1)} item(s), got {shown(value)}"
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    return error["msg"]


def config_error(
    error: Any,
    source: str,
    overrides: Mapping[str, str] = {},  # noqa: B006 - read only
    valid_keys: Any = None,
    strip: Any = None,
) -> ConfigError:
    """The :class:`ConfigError` of a pydantic ``ValidationError`` (its first error).

    Args:
        error: the ``ValidationError``.
        source: the file the configuration came from.
        overrides: dotted key -> ``--set`` text of each override applied.
        valid_keys: ``pydantic loc of the parent -> its keys``, for unknown-key messages.
        strip: ``loc -> loc`` that removes union tags (pydantic puts the tag of a discriminated union in the loc).
    """
    first = error.errors(include_url=False)[0]
    loc = list(strip(first["loc"]) if strip else first["loc"])
    issue = first.get("ctx", {}).get("error")
    if isinstance(issue, FieldIssue) and issue.key:
        loc += issue.key.split(".")
    if first["type"] in ("union_tag_invalid", "union_tag_not_found"):
        loc.append(first.get("ctx", {}).get("discriminator", "'type'").strip("'"))
    key = dotted(loc)
    keys = list(valid_keys(first["loc"][:-1])) if valid_keys and first["type"] == "extra_forbidden" else []
    message = _message(first, keys)
    override = override_for(key, overrides)
    suffix = f" (set by override '{override}')" if override else ""
    return ConfigError(f"{source}: {key}: {message}{suffix}" if key else f"{source}: {message}{suffix}",
                       key=key, source=source, override=override)
