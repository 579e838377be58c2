"""Writing records as span JSON lines: one ``{"text", "spans"}`` object per line, UTF-8, written atomically."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Union

logger = logging.getLogger(__name__)

__all__ = ["SynthSummary", "write_records"]


@dataclass
class SynthSummary:
    """What :func:`write_records` wrote."""

    path: Path
    records: int = 0
    entities: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        """One line: records and entities per type."""
        types = ", ".join(f"{kind} {count}" for kind, count in sorted(self.entities.items()))
        return (f"wrote {self.records} records with {sum(self.entities.values())} entities to {self.path}"
                f" ({types or 'no entities'})")


def write_records(records: Iterable[dict], path: Union[str, Path], *, force: bool = False,
                  progress: bool = False, total: Optional[int] = None) -> SynthSummary:
    """Write ``records`` to ``path`` as JSON lines (``ensure_ascii=False``), through a temporary file and a rename.

    Args:
        records: ``{"text", "spans"}`` dicts, e.g. from :func:`~flair_modernbert.synthetic.generate_records`.
        path: the file to write; its folder is created.
        force: replace an existing file (without it, an existing file is refused).
        progress: a progress bar on stderr.
        total: the number of records, for the progress bar.

    Raises:
        FileExistsError: ``path`` exists and ``force`` is false.
    """
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists; pass --force (force=True) to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    result = SynthSummary(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            bar = None
            if progress:
                from tqdm import tqdm

                bar = tqdm(total=total, unit=" records", desc=f"writing {path.name}", mininterval=1.0)
            for record in records:
                out.write(json.dumps({"text": record["text"], "spans": record["spans"]}, ensure_ascii=False))
                out.write("\n")
                result.records += 1
                result.entities.update(span["type"] for span in record["spans"])
                if bar is not None:
                    bar.update()
            if bar is not None:
                bar.close()
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    logger.info(result.summary())
    return result
