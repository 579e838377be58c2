"""The one YAML loader of recipes, augmentation files and ablation files, and ``--set`` overrides.

YAML files are read with a loader that also reads ``5e-6`` as a float (plain PyYAML follows YAML 1.1 and would
return the *string* ``'5e-6'``) and rejects duplicate keys. Errors name the file and the line.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any, Union

import yaml

from flair_modernbert.config.errors import ConfigError, shown

__all__ = ["read_yaml", "yaml_value", "parse_override", "apply_override"]


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads ``5e-6`` as a float (YAML 1.2) and rejects duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                continue  # the base class reports unhashable keys
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first on line {seen[key] + 1})", key_node.start_mark
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


# YAML 1.1 needs a dot in a float; ``5e-6`` would otherwise be the string '5e-6'
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def yaml_value(text: str, name: str = "<text>") -> Any:
    """Parse YAML text with the project's loader (``name`` appears in error marks)."""
    stream = io.StringIO(text)
    stream.name = name  # PyYAML names the source in its error marks
    return yaml.load(stream, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def read_yaml(path: Union[str, Path], what: str = "file") -> Any:
    """Read a YAML file.

    Raises:
        FileNotFoundError: no such file.
        ConfigError: not UTF-8 (line named) or not valid YAML (line and column named).
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"{what} {file} does not exist (looked in {file.resolve().parent})")
    raw = file.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ConfigError(f"{file}: line {line}: not valid UTF-8 ({error.reason})", source=str(file)) from None
    try:
        return yaml_value(text, str(file))
    except yaml.YAMLError as error:
        raise ConfigError(f"{file}: not valid YAML: {error}", source=str(file)) from None


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split a ``--set`` string into its dotted key and its value (read as YAML).

    Args:
        text: ``key=value``, e.g. ``training.learning_rate=1e-5``, ``training.seeds=[1,2,3]``,
            ``corpus.sample=null``.

    Raises:
        ConfigError: no ``=``, an empty key part, or a value that is not valid YAML.
    """
    if "=" not in text:
        raise ConfigError(f"override '{text}': expected KEY=VALUE, e.g. training.learning_rate=1e-5", override=text)
    key, _, raw = text.partition("=")
    parts = key.strip().split(".")
    if not key.strip() or any(not part.strip() for part in parts):
        raise ConfigError(f"override '{text}': the key {key.strip()!r} has an empty part", override=text)
    try:
        value = yaml_value(raw) if raw.strip() else None
    except yaml.YAMLError as error:
        detail = str(error).splitlines()[0]
        raise ConfigError(f"override '{text}': the value is not valid YAML ({detail})", override=text) from None
    return [part.strip() for part in parts], value


def apply_override(data: dict, text: str, source: str) -> str:
    """Apply one ``--set`` string to nested mappings in place; return its dotted key.

    Raises:
        ConfigError: a malformed override, or a key that walks into a value that is not a mapping.
    """
    try:
        parts, value = parse_override(text)
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}", source=source, override=text) from None
    node: Any = data
    for depth, part in enumerate(parts[:-1]):
        existing = next((k for k in node if str(k) == part), part)
        child = node.get(existing)
        if child is None:
            child = node[existing] = {}
        if not isinstance(child, dict):
            where = ".".join(parts[: depth + 1])
            raise ConfigError(
                f"{source}: override '{text}': {where} holds {shown(child)}, not a section with keys",
                key=where, source=source, override=text,
            )
        node = child
    last = next((k for k in node if str(k) == parts[-1]), parts[-1])
    node[last] = value
    return ".".join(parts)
