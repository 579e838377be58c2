"""The path rule, for every path a recipe, an augmentation file or an ablation file holds.

1. ``package:<relative path>`` points into the installed ``flair_modernbert`` package (``package:data/wnut17_sample``
   is the WNUT-17 sample shipped with it), from any directory and any install location.
2. ``~`` and ``$VARIABLES`` are expanded; absolute paths are used as they are.
3. A relative path written in a file is relative to the folder of that file, never to the current directory.
4. A relative path given on the command line (``--set``), or in a dict passed without a base folder, is
   relative to the current directory, as any command-line path is.

Resolved paths are absolute and normalised, with symbolic links kept.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Union

from flair_modernbert.encoder.random_models import is_random_name

__all__ = ["PACKAGE_PREFIX", "package_dir", "resolve_path", "looks_like_path"]

#: Prefix of paths inside the installed ``flair_modernbert`` package.
PACKAGE_PREFIX = "package:"


def package_dir() -> Path:
    """The folder of the installed ``flair_modernbert`` package (what ``package:`` paths point into)."""
    return Path(__file__).resolve().parent.parent


def resolve_path(value: Union[str, os.PathLike], base_dir: Optional[Union[str, os.PathLike]] = None) -> Path:
    """Apply the path rule (see the module docstring) to one path.

    Args:
        value: ``package:<relative>``, an absolute path, or a relative path (``~``/``$VAR`` are expanded).
        base_dir: the folder relative paths are relative to (the file's folder for values written in a file);
            ``None`` means the current directory.
    """
    text = os.fspath(value)
    if text.startswith(PACKAGE_PREFIX):
        path = package_dir() / text[len(PACKAGE_PREFIX) :].lstrip("/\\")
    else:
        path = Path(os.path.expandvars(os.path.expanduser(text)))
        if not path.is_absolute():
            path = Path(base_dir if base_dir is not None else os.getcwd()) / path
    return Path(os.path.normpath(os.path.abspath(path)))


def looks_like_path(model: str, base_dir: Optional[Path]) -> bool:
    """Whether an ``embeddings.model`` value is a path rather than a hub id or ``random:<size>``.

    It is when it starts with ``./``, ``../``, ``/``, ``~``, ``$`` or ``package:``, or when a folder of that
    name exists in ``base_dir``.
    """
    if is_random_name(model):
        return False
    if model.startswith((PACKAGE_PREFIX, "./", "../", ".\\", "..\\", "/", "~", "$")) or model in (".", ".."):
        return True
    return base_dir is not None and (Path(base_dir) / model).is_dir()
