"""Make ``SequenceTagger.load`` find ``ModernBertEmbeddings`` without importing it (torch, flair) up front.

Flair rebuilds a saved tagger's embeddings through its registry ``flair.embeddings.base.EMBEDDING_CLASSES``,
filled by ``@register_embeddings`` when a class is defined. ``import flair_modernbert`` must stay cheap (the
command line starts with it), so instead of defining the class it puts a stand-in into the registry whose
``load_embedding`` imports the real class and delegates to it. When Flair is not imported yet, a one-shot
import hook adds the stand-in right after ``flair.embeddings.base`` is executed.
"""

from __future__ import annotations

import importlib.abc
import sys
from typing import Any, Optional

_MODULE = "flair.embeddings.base"
_NAME = "ModernBertEmbeddings"


class _StandIn:
    """Registry entry that loads the real :class:`~flair_modernbert.encoder.embeddings.ModernBertEmbeddings`."""

    embeddings_name = _NAME

    @classmethod
    def load_embedding(cls, params: dict[str, Any]) -> Any:
        from flair_modernbert.encoder.embeddings import ModernBertEmbeddings

        return ModernBertEmbeddings.load_embedding(params)


def _insert(module: Any) -> None:
    module.EMBEDDING_CLASSES.setdefault(_NAME, _StandIn)


class _Loader(importlib.abc.Loader):
    def __init__(self, inner: importlib.abc.Loader) -> None:
        self.inner = inner

    def create_module(self, spec: Any) -> Optional[Any]:
        return self.inner.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.inner.exec_module(module)
        _insert(module)


class _Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Optional[Any]:
        if fullname != _MODULE:
            return None
        sys.meta_path.remove(self)  # one shot
        for finder in sys.meta_path:
            spec = finder.find_spec(fullname, path, target) if hasattr(finder, "find_spec") else None
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _Loader(spec.loader)
                return spec
        return None


def register_lazily() -> None:
    """Put the stand-in into Flair's registry now, or as soon as Flair's embeddings module is imported."""
    module = sys.modules.get(_MODULE)
    if module is not None and hasattr(module, "EMBEDDING_CLASSES"):
        _insert(module)
    elif not any(isinstance(finder, _Hook) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Hook())
