"""Running the service: load the model once, bind, and hand the app to uvicorn (``flair-modernbert serve``).

SIGTERM and Ctrl-C stop the server gracefully: no new connections are taken, every request in flight is answered
(for up to ``graceful_timeout`` seconds), then the tagger thread ends and :func:`serve` returns.
"""

from __future__ import annotations

import ipaddress
import logging
import signal
import socket
import threading
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union

logger = logging.getLogger(__name__)

__all__ = ["check_serve_dependencies", "open_socket", "serve"]


def check_serve_dependencies() -> None:
    """Raises ``ValueError`` (with the install command) when FastAPI or uvicorn is missing."""
    import importlib.util

    missing = [name for name in ("fastapi", "uvicorn") if importlib.util.find_spec(name) is None]
    if missing:
        raise ValueError(f"serve needs {' and '.join(missing)}: pip install 'flair-modernbert[serve]'")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def open_socket(host: str = "127.0.0.1", port: int = 8000) -> socket.socket:
    """A listening TCP socket (``port=0``: any free port; ``sock.getsockname()[1]`` says which).

    Raises:
        OSError: the address cannot be bound (the message names it).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say so, and without it every answer
    # waits ~40 ms for the client's delayed ACK (Nagle); uvicorn's own sockets are made this way too
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as error:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    sock.setblocking(False)
    return sock


def serve(
    model: Union[str, Path],
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    types: Optional[Sequence[str]] = None,
    max_batch: int = 32,
    max_wait_ms: float = 10.0,
    max_text_chars: int = 100_000,
    max_texts: int = 256,
    max_body_bytes: Optional[int] = None,
    unit: str = "sentence",
    recall_bias: Optional[float] = None,
    trust: bool = False,
    graceful_timeout: float = 30.0,
    announce: Optional[Callable[[str], None]] = None,
) -> None:
    """Serve a tagger over HTTP until SIGTERM or Ctrl-C.

    Args:
        model: ``final-model.pt`` or a training output folder (loaded once, before the first request).
        host: address to listen on; the default takes connections from this machine only.
        port: TCP port; 0 picks a free one (``announce`` says which).
        types: the types used when a request names none (see :func:`~flair_modernbert.serve.app.create_app`).
        max_batch: sentences tagged together at most.
        max_wait_ms: how long a request waits for others to share its forward.
        max_text_chars: characters of one text at most.
        max_texts: texts of one request at most.
        max_body_bytes: bytes of one request body at most.
        unit: ``sentence`` or ``document``.
        recall_bias: the recall bias of requests that set none (docs/recall.md); ``None``: the model's default
            (its run folder's ``recipe.yaml``), else 0.
        trust: load a model file this library did not write (runs code from the file).
        graceful_timeout: seconds to finish requests in flight after SIGTERM.
        announce: called with the address once the model is loaded.

    Raises:
        ValueError: FastAPI/uvicorn missing, a bad option or type name, or a bad model file.
        OSError: the address cannot be bound, or the model file cannot be read.
    """
    check_serve_dependencies()
    import uvicorn

    from flair_modernbert.inference import load_tagger
    from flair_modernbert.serve.app import create_app

    if not _is_loopback(host):
        logger.warning("listening on %s: anyone who can reach this address can send texts to the model; the service "
                       "has no authentication and no TLS (put it behind a proxy that has)", host)
    sock = open_socket(host, port)
    try:
        tagger = load_tagger(model, trust=trust)
        app = create_app(tagger, types=types, max_batch=max_batch, max_wait_ms=max_wait_ms,
                         max_text_chars=max_text_chars, max_texts=max_texts, max_body_bytes=max_body_bytes, unit=unit,
                         recall_bias=recall_bias)
        # log_config=None: uvicorn logs through the root logger the CLI set up; no access log (the app logs sizes
        # and timings of each request itself)
        config = uvicorn.Config(app, log_config=None, log_level=logging.INFO, access_log=False, lifespan="on",
                                timeout_graceful_shutdown=graceful_timeout)
        # the request log (sizes and timings) is INFO: shown where the handlers let INFO through (the CLI's -v)
        service_logger = logging.getLogger("flair_modernbert.serve")
        if service_logger.level == logging.NOTSET:
            service_logger.setLevel(logging.INFO)
        server = uvicorn.Server(config)
        bound = sock.getsockname()
        shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        if announce is not None:
            announce(f"serving {model} on http://{shown}:{bound[1]} (API docs: /docs; SIGTERM or Ctrl-C stops)")
        _run(server, sock)
    finally:
        sock.close()


def _run(server: Any, sock: socket.socket) -> None:
    """Run uvicorn; a stop signal ends the run normally (uvicorn re-raises it after its graceful shutdown)."""
    if threading.current_thread() is not threading.main_thread():
        server.run(sockets=[sock])
        return
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    logger.info("stopped")
