"""A local HTTP service for a tagger: ``/predict``, ``/redact``, ``/restore`` with dynamic batching (docs/serve.md).

- :mod:`~flair_modernbert.serve.batching`: the dynamic batcher, one model worker thread.
- :mod:`~flair_modernbert.serve.schemas`: request and response bodies.
- :mod:`~flair_modernbert.serve.app`: ``create_app(tagger, ...)``, the FastAPI application.
- :mod:`~flair_modernbert.serve.server`: ``serve(model, ...)``, uvicorn (``flair-modernbert serve``).

FastAPI and uvicorn (``pip install 'flair-modernbert[serve]'``) are imported by this package only, and only when
the app is built, so the rest of the library never needs them.
"""

from __future__ import annotations

from typing import Any

from flair_modernbert.serve.server import check_serve_dependencies, open_socket, serve

__all__ = ["DynamicBatcher", "check_serve_dependencies", "create_app", "open_socket", "serve"]


def __getattr__(name: str) -> Any:
    # lazily: FastAPI is imported with the app, torch and Flair with the batcher
    if name == "create_app":
        from flair_modernbert.serve.app import create_app

        return create_app
    if name == "DynamicBatcher":
        from flair_modernbert.serve.batching import DynamicBatcher

        return DynamicBatcher
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
