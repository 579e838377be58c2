"""``OUTPUT/manifest.json``: what a corpus run did, and what a rerun may skip.

The manifest holds the model (path, size and time of its file), the options that decide the output, and one entry
per shard: ``done`` with its counts (lines, entities per type, malformed lines kept) or ``failed`` with the error.
Only the driver writes it, after each shard, under a temporary name moved into place, so it always parses.

A rerun skips a shard whose entry is ``done`` when its output (and span map) exist and its input has the size and
modification time recorded; everything else is redone (outputs only ever appear complete, see
:mod:`flair_modernbert.bulk.shard`). A rerun with another model file or other options is refused, since the folder
would mix two redactions; ``overwrite`` starts a new manifest instead.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Optional, Union

from flair_modernbert import __version__
from flair_modernbert.bulk.formats import AtomicFile
from flair_modernbert.bulk.shard import RedactOptions, ShardResult
from flair_modernbert.bulk.shards import Shard

logger = logging.getLogger(__name__)

__all__ = ["MANIFEST", "Manifest", "model_identity"]

MANIFEST = "manifest.json"
VERSION = 1


def model_identity(model: Union[str, Path]) -> dict[str, Any]:
    """The model file's path, size and modification time (a retrained model in the same folder differs)."""
    path = Path(model)
    file = path / "final-model.pt" if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"no model at {file}: pass a final-model.pt or the output folder of a training run")
    stat = file.stat()
    return {"path": str(file.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


class Manifest:
    """The manifest of one output folder (see the module docstring)."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data

    @classmethod
    def open(cls, output: Union[str, Path], options: RedactOptions, overwrite: bool = False) -> "Manifest":
        """The folder's manifest, or a new one.

        Raises:
            ValueError: the folder holds a run with another model or other options (the differences named), or a
                manifest this version cannot read; unless ``overwrite``.
        """
        path = Path(output) / MANIFEST
        fresh = {"version": VERSION, "package_version": __version__, "created": _now(),
                 "model": model_identity(options.model), "options": options.to_json(), "shards": {}}
        if overwrite or not path.is_file():
            return cls(path, fresh)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"{path} cannot be read ({error}); pass --overwrite to redo the whole run") from None
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ValueError(f"{path} was written by another version of this tool; pass --overwrite to redo the run")
        differences = [f"{key}: {data['options'].get(key)!r} there, {value!r} now"
                       for key, value in fresh["options"].items() if data["options"].get(key) != value]
        if data["model"] != fresh["model"]:
            differences.insert(0, f"model: {data['model']['path']} ({data['model']['size']} bytes) there, "
                                  f"{fresh['model']['path']} ({fresh['model']['size']} bytes) now")
        if differences:
            raise ValueError(f"{path.parent} holds a run with another model or other options ("
                             + "; ".join(differences) + "): its finished shards would be mixed with this run's; "
                             "choose another --output or pass --overwrite to redo every shard")
        return cls(path, data)

    @property
    def shards(self) -> dict[str, dict[str, Any]]:
        return self.data["shards"]

    def finished(self, shard: Shard) -> bool:
        """Whether a rerun may skip the shard."""
        entry = self.shards.get(shard.relative)
        if entry is None or entry.get("status") != "done":
            return False
        if (entry.get("input_size"), entry.get("input_mtime_ns")) != (shard.size, shard.mtime_ns):
            logger.info("%s changed since it was redacted: redoing it", shard.relative)
            return False
        outputs = [shard.output] + ([shard.span_map] if shard.span_map is not None else [])
        return all(Path(path).is_file() for path in outputs)

    def todo(self, shards: Iterable[Shard]) -> list[Shard]:
        """The shards a run still has to do."""
        return [shard for shard in shards if not self.finished(shard)]

    def _entry(self, shard: Shard) -> dict[str, Any]:
        return {"input": shard.input, "format": shard.format, "input_size": shard.size,
                "input_mtime_ns": shard.mtime_ns, "output": shard.relative,
                "span_map": shard.span_map}

    def record(self, shard: Shard, result: ShardResult) -> None:
        """A finished shard (written at once)."""
        entry = {**self._entry(shard), "status": "done", "finished": _now(), **result.to_json()}
        entry.pop("relative")
        self.shards[shard.relative] = entry
        self.save()

    def fail(self, shard: Shard, error: str) -> None:
        """A shard that failed (written at once; a rerun tries it again)."""
        self.shards[shard.relative] = {**self._entry(shard), "status": "failed", "finished": _now(), "error": error}
        self.save()

    def totals(self) -> dict[str, Any]:
        """Shards done and failed, lines, entities per type and malformed lines kept, over the whole folder."""
        done = [entry for entry in self.shards.values() if entry["status"] == "done"]
        entities: Counter = Counter()
        for entry in done:
            entities.update(entry["entities"])
        return {"shards_done": len(done), "shards_failed": len(self.shards) - len(done),
                "lines": sum(entry["lines"] for entry in done), "entities": dict(sorted(entities.items())),
                "kept_unredacted": sum(entry["kept"] for entry in done)}

    def save(self, extra: Optional[dict[str, Any]] = None) -> None:
        """Write the manifest (atomically), with the totals and ``extra`` top-level fields."""
        if extra:
            self.data.update(extra)
        self.data["shards"] = dict(sorted(self.shards.items()))
        self.data["totals"] = self.totals()
        file = AtomicFile(self.path)
        file.handle.write((json.dumps(self.data, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
        file.commit()
