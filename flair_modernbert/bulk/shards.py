"""Which files a corpus run reads and where each one's output goes: the one path rule of ``redact --output``.

Inputs are files, folders (searched recursively) and glob patterns (``data/**/*.jsonl``, expanded here as well,
for shells that leave them alone). Every input file is one *shard*: its output has the same path relative to the
inputs' common folder under ``OUTPUT``, and its span map the same path under the span-map folder plus
``.map.jsonl``. A shard is Parquet when its name ends in ``.parquet``, otherwise lines (plain text or JSON lines,
``--format``). In folders, only files ending in :data:`LINE_SUFFIXES` or ``.parquet`` are shards, hidden files and
folders are skipped, and so are the output and span-map folders themselves where they lie inside an input folder
or under a pattern's fixed part (an earlier run's results). An output that would replace an input is refused.
"""

from __future__ import annotations

import glob
import logging
import os
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Optional, Union

logger = logging.getLogger(__name__)

__all__ = ["LINE_SUFFIXES", "PARQUET_SUFFIX", "MAP_SUFFIX", "Shard", "default_map_dir", "find_shards"]

#: suffixes of line files picked up in folders (a file named directly is read whatever its name)
LINE_SUFFIXES = (".txt", ".text", ".jsonl", ".ndjson")
PARQUET_SUFFIX = ".parquet"
#: appended to a shard's relative path for its span map
MAP_SUFFIX = ".map.jsonl"
_MAGIC = set("*?[")


@dataclass(frozen=True)
class Shard:
    """One input file and where its results go (plain data, so it travels to worker processes and Ray actors).

    Attributes:
        input: the input file (absolute).
        relative: its path relative to the inputs' common folder (POSIX separators): its name in the manifest.
        format: ``lines`` or ``parquet``.
        output: the output file (absolute).
        span_map: the span map file (absolute), or ``None`` (``--no-map``).
        size: the input's size in bytes when found.
        mtime_ns: the input's modification time when found.
    """

    input: str
    relative: str
    format: str
    output: str
    span_map: Optional[str]
    size: int
    mtime_ns: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def default_map_dir(output: Union[str, Path]) -> Path:
    """Span maps hold the original values, so by default they go next to the output, not into it: a folder
    handed on to an LLM pipeline never carries them. ``redacted/`` → ``redacted.span-maps/`` (absolute: ``.`` has
    a sibling too)."""
    output = Path(output).resolve()
    return output.with_name(output.name + ".span-maps")


def _expand(pattern: str) -> tuple[list[Path], Path]:
    """The files a glob pattern matches and the folder its matches are relative to (the part before the magic)."""
    matches = sorted(Path(match) for match in glob.glob(pattern, recursive=True))
    parts = Path(pattern).parts
    fixed = []
    for part in parts:
        if _MAGIC & set(part):
            break
        fixed.append(part)
    root = Path(*fixed) if fixed else Path(".")
    return [match for match in matches if match.is_file()], root


def _inside(path: Path, folder: Optional[Path]) -> bool:
    if folder is None:
        return False
    return path == folder or folder in path.parents


def _folder_files(folder: Path, skip: list[Optional[Path]]) -> tuple[list[Path], Counter]:
    files, ignored = [], Counter()
    for current, dirs, names in os.walk(folder):
        here = Path(current)
        # the output and span-map folders themselves, not every folder inside them: an input folder may lie in
        # the output folder (``redact M corpus/raw --output corpus``)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and here / d not in skip)
        for name in sorted(names):
            path = here / name
            if name.startswith("."):
                continue
            if path.suffix.lower() in LINE_SUFFIXES or path.suffix.lower() == PARQUET_SUFFIX:
                files.append(path)
            else:
                ignored[path.suffix.lower() or "(no suffix)"] += 1
    return files, ignored


def find_shards(
    inputs: Iterable[Union[str, Path]],
    output: Union[str, Path],
    span_maps: Union[str, Path, None, bool] = True,
) -> list[Shard]:
    """The shards of a corpus run, sorted by relative path.

    Args:
        inputs: files, folders and glob patterns.
        output: the output folder.
        span_maps: the span-map folder; ``True`` for :func:`default_map_dir`; ``None``/``False`` for none.

    Raises:
        FileNotFoundError: an input that is neither a file, a folder nor a pattern matching files (named).
        ValueError: no shard at all, or an output that would replace its input.
    """
    output = Path(output).resolve()
    map_dir = default_map_dir(output) if span_maps is True else Path(span_maps).resolve() if span_maps else None
    found: dict[Path, None] = {}
    roots: list[Path] = []
    ignored: Counter = Counter()
    for given in inputs:
        text = str(given)
        path = Path(text)
        named = path.is_file()
        if named:
            files, root = [path], path.parent
        elif path.is_dir():
            (files, skipped), root = _folder_files(path.resolve(), [output, map_dir]), path
            ignored += skipped
            if not files:
                raise FileNotFoundError(f"input folder {text} holds no file ending in "
                                        f"{', '.join(LINE_SUFFIXES + (PARQUET_SUFFIX,))}")
        elif _MAGIC & set(text):
            files, root = _expand(text)
            if not files:
                raise FileNotFoundError(f"input pattern {text} matches no file")
        else:
            raise FileNotFoundError(f"input {text} is neither a file, a folder nor a glob pattern that matches files")
        root = root.resolve()
        roots.append(root)
        # an earlier run's results where the output folder lies inside the searched one; an output folder that is
        # the searched one (or above it) holds inputs, and an input it would replace is refused below
        below = output != root and _inside(output, root)
        for file in files:
            resolved = file.resolve()
            if not named and ((below and _inside(resolved, output)) or _inside(resolved, map_dir)):
                continue
            found[resolved] = None
    if ignored:
        logger.info("skipped files in input folders by suffix: %s",
                    ", ".join(f"{suffix} ({count})" for suffix, count in sorted(ignored.items())))
    if not found:
        raise ValueError("no input files to redact (all of them lie in the output or span-map folder)")
    base = Path(os.path.commonpath([str(root) for root in roots]))
    shards = []
    for file in found:
        try:
            relative = file.relative_to(base)
        except ValueError:  # a pattern's match outside its fixed prefix (``../x*/y``): rooted at its own folder
            relative = Path(file.name)
        out = output / relative
        if out == file:
            raise ValueError(f"--output {output} would replace the input {file} with its redacted copy; "
                             "choose another output folder")
        stat = file.stat()
        shards.append(Shard(
            input=str(file),
            relative=relative.as_posix(),
            format="parquet" if file.suffix.lower() == PARQUET_SUFFIX else "lines",
            output=str(out),
            span_map=str(map_dir / (relative.as_posix() + MAP_SUFFIX)) if map_dir is not None else None,
            size=stat.st_size,
            mtime_ns=stat.st_mtime_ns,
        ))
    names = Counter(shard.relative for shard in shards)
    clashes = [name for name, count in names.items() if count > 1]
    if clashes:
        raise ValueError(f"several inputs map to the same output path {clashes[0]!r}; give their common folder instead")
    return sorted(shards, key=lambda shard: shard.relative)
