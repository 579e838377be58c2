"""Redacting whole corpora: sharded, resumable, on this machine (processes) or on a Ray cluster.

``flair-modernbert redact MODEL INPUT... --output DIR`` and :func:`redact_corpus`. Every input file is a shard
(:mod:`.shards`: the path rule), read and written per format (:mod:`.formats`: lines, JSON lines, Parquet) and
redacted by :func:`redact_shard` (:mod:`.shard`) exactly as ``redact FILE`` does it, atomically; the folder's
``manifest.json`` (:mod:`.manifest`) lets a rerun skip finished shards. Engines: :mod:`.local` (one process or a
process pool) and :mod:`.ray_engine` (a Ray Data actor pool). docs/scaling.md.
"""

from flair_modernbert.bulk.manifest import MANIFEST, Manifest
from flair_modernbert.bulk.run import ENGINES, CorpusRun, redact_corpus
from flair_modernbert.bulk.shard import RedactOptions, ShardError, ShardResult, redact_shard
from flair_modernbert.bulk.shards import Shard, default_map_dir, find_shards

__all__ = [
    "ENGINES",
    "MANIFEST",
    "CorpusRun",
    "Manifest",
    "RedactOptions",
    "Shard",
    "ShardError",
    "ShardResult",
    "default_map_dir",
    "find_shards",
    "redact_corpus",
    "redact_shard",
]
