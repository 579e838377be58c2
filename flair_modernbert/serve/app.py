"""The FastAPI application: ``/predict``, ``/redact``, ``/restore``, ``/health``, ``/ready`` (docs/serve.md).

Bodies are read and checked here, before anything is tagged: the size limit while the body streams in, UTF-8,
JSON, the schema (:mod:`~flair_modernbert.serve.schemas`), the per-text limits, the types and the placeholder. Any
of these failing is a 4xx answer ``{"error": ..., "field": ...}`` naming the field; only the checked documents
reach the :class:`~flair_modernbert.serve.batching.DynamicBatcher`. Texts are never logged, only sizes and times.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Iterable, Optional, Sequence, Union

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from flair_modernbert.inference import (Document, check_recall_bias, default_recall_bias, model_types, redact,
                                        resolve_types)
from flair_modernbert.redaction.patterns import PATTERN_TYPES
from flair_modernbert.redaction.pseudonyms import Pseudonyms
from flair_modernbert.redaction.restore import SpanMap, restore
from flair_modernbert.redaction.types import TypeSelection
from flair_modernbert.serve.batching import DynamicBatcher, NotRunning
from flair_modernbert.serve.schemas import (
    ErrorResponse,
    PredictRequest,
    PredictResult,
    PredictResults,
    RedactRequest,
    RedactResponse,
    RedactResponses,
    RestoreRequest,
    RestoreResult,
    RestoreResults,
    TextItem,
)

logger = logging.getLogger(__name__)

__all__ = ["ServeError", "ServeLimits", "create_app"]

#: texts longer than this (all of a request's together) are segmented off the event loop
_SEGMENT_INLINE_CHARS = 4096


class ServeError(Exception):
    """A request the service answers with an error: HTTP status, the field concerned, and the message."""

    def __init__(self, status: int, field: Optional[str], message: str) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.message = message


class ServeLimits(BaseModel):
    """Limits of one request, checked before anything is tagged.

    Attributes:
        max_text_chars: characters of one text.
        max_texts: texts in one request.
        max_body_bytes: bytes of a request body (default: enough for ``max_texts`` texts of ``max_text_chars``
            characters, at most 64 MiB).
    """

    max_text_chars: int = 100_000
    max_texts: int = 256
    max_body_bytes: Optional[int] = None

    def body_limit(self) -> int:
        """The body limit in bytes."""
        if self.max_body_bytes is not None:
            return self.max_body_bytes
        return min(64 << 20, max(1 << 20, 2 * self.max_texts * self.max_text_chars))


# ----------------------------------------------------------------------------------------------- reading
async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ServeError(400, "body", f"Content-Length {declared!r} is not a number")
        if int(declared) > limit:  # refused before the body is read
            raise ServeError(413, "body", f"the request body has {declared} bytes; this service takes at most {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ServeError(413, "body", f"the request body is over {limit} bytes, the most this service takes")
        chunks.append(chunk)
    return b"".join(chunks)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _lone_surrogate(value: Any) -> Optional[str]:
    """The path of the first string holding a lone surrogate (``"\\ud800"`` parses, but is no Unicode text)."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return path
        elif isinstance(item, dict):
            stack += [(f"{path}.{key}" if path else str(key), child) for key, child in item.items()]
            stack += [(path or "body", key) for key in item]
        elif isinstance(item, list):
            stack += [(f"{path}.{index}" if path else str(index), child) for index, child in enumerate(item)]
    return None


def _field_of(error: dict[str, Any]) -> str:
    # union members show up in the location (texts.0.str, texts.0.TextItem); they are no fields of the request
    parts = [str(part) for part in error["loc"] if part not in ("str", "TextItem", "list[str]")
             and not str(part).startswith(("dict[", "list[", "function-"))]
    return ".".join(parts) or "body"


_HINTS = {
    "text": 'a string, or an object with a string field "text"',
    "texts": 'a list of texts (each a string, or an object with a string field "text")',
    "types": 'a list of type names or a comma-separated string, e.g. "person,email" or "all"',
    "placeholder": "a string with {type} and {n}, e.g. [{type}_{n}]",
    "join_partial": "true or false",
    "mapping": "the span or entity records /redact returned (a list of objects), or an object placeholder -> text",
    "line": "an integer",
    "recall_bias": "a number (0: the model's own decoding; higher hides more)",
}


def _validation_message(errors: list[dict[str, Any]]) -> tuple[str, str]:
    first = errors[0]
    field = _field_of(first)
    if first["type"] == "extra_forbidden":
        return field, f"unknown field {field!r}"
    if first["type"] == "missing":
        return field, f"{field}: required"
    if first["type"] == "value_error":  # a model validator's message
        return field, str(first["ctx"]["error"]) if "ctx" in first else first["msg"]
    top = field.split(".")[0]
    hint = _HINTS.get("text" if top == "texts" and field != "texts" else top)
    return field, f"{field}: expected {hint}" if hint else f"{field}: {first['msg']}"


def _parse(raw: bytes, schema: type[BaseModel]) -> Any:
    if not raw.strip():
        raise ServeError(400, "body", "the request has no body; send a JSON object such as {\"text\": \"...\"}")
    try:
        source = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ServeError(400, "body", f"not valid UTF-8 ({error.reason} at byte {error.start})") from None
    try:
        value = json.loads(source, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise ServeError(400, "body", f"not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})") from None
    except (ValueError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise ServeError(400, "body", f"not valid JSON ({reason})") from None
    if not isinstance(value, dict):
        raise ServeError(422, "body", f"expected a JSON object, got {type(value).__name__}")
    bad = _lone_surrogate(value)
    if bad is not None:
        raise ServeError(422, bad, f"{bad}: not valid Unicode (a lone surrogate)")
    try:
        return schema.model_validate(value)
    except ValidationError as error:
        field, message = _validation_message(error.errors(include_url=False, include_input=False))
        raise ServeError(422, field, message) from None


# ----------------------------------------------------------------------------------------------- the app
def _texts_field(body: Any, index: int) -> str:
    return "text" if body.texts is None else f"texts.{index}"


def _documents(body: Any, limits: ServeLimits) -> list[Document]:
    items = body.items()
    if not items:
        raise ServeError(422, "texts", "texts: an empty list (send at least one text)")
    if len(items) > limits.max_texts:
        raise ServeError(413, "texts", f"texts: {len(items)} texts; this service takes at most {limits.max_texts} per "
                                       "request (--max-texts)")
    documents = []
    for index, item in enumerate(items):
        where = _texts_field(body, index)
        if isinstance(item, TextItem):
            text, extra, where = item.text, {k: v for k, v in (item.model_extra or {}).items() if k != "spans"}, \
                f"{where}.text"
        else:
            text, extra = item, {}
        if len(text) > limits.max_text_chars:
            raise ServeError(413, where, f"{where}: {len(text)} characters; this service takes at most "
                                         f"{limits.max_text_chars} per text (--max-text-chars)")
        if not text.strip():
            raise ServeError(422, where, f"{where}: empty text")
        documents.append(Document(text, extra=extra, json=isinstance(item, TextItem)))
    return documents


def _requested(types: Union[str, list[str], None]) -> Optional[list[str]]:
    if types is None:
        return None
    names = types.split(",") if isinstance(types, str) else types
    names = [name.strip() for name in names if name.strip()]
    if not names:
        raise ServeError(422, "types", "types: no type named (leave it out for the default)")
    return names


class _App:
    """What the endpoints share: the tagger, its batcher, the limits and a cache of resolved type choices."""

    def __init__(self, tagger: Any, batcher: DynamicBatcher, limits: ServeLimits, types: Optional[Sequence[str]],
                 recall_bias: float = 0.0) -> None:
        self.tagger = tagger
        self.recall_bias = recall_bias
        self.batcher = batcher
        self.limits = limits
        self.default_types = list(types) if types else None
        self.model_types = model_types(tagger)
        self._selections: dict[tuple[Optional[tuple[str, ...]], str], TypeSelection] = {}
        if self.default_types:
            self.selection(None, "model")  # a wrong --types fails at start

    def selection(self, types: Union[str, list[str], None], default: str) -> TypeSelection:
        names = _requested(types) if types is not None else self.default_types
        key = (tuple(names) if names else None, default)
        found = self._selections.get(key)
        if found is None:
            try:
                found = resolve_types(self.tagger, names, default=default)
            except ValueError as error:
                field = "types" if types is not None else "--types"
                raise ServeError(422, field, str(error).replace("--types:", "types:", 1)) from None
            if len(self._selections) < 1024:  # bounded: type names come from clients
                self._selections[key] = found
        return found

    async def prepare(self, body: Any) -> list[Document]:
        documents = _documents(body, self.limits)

        def segment() -> list[Document]:
            for document in documents:
                document.segment(self.batcher.unit)
            return documents

        if sum(len(document.text) for document in documents) > _SEGMENT_INLINE_CHARS:
            return await run_in_threadpool(segment)
        return segment()

    def bias(self, body: Any) -> float:
        """The request's recall bias, else the service's default."""
        return self.recall_bias if body.recall_bias is None else body.recall_bias

    async def tag(self, request: Request, documents: list[Document], selection: TypeSelection,
                  recall_bias: float) -> None:
        try:
            job = asyncio.wrap_future(self.batcher.submit(documents, selection, recall_bias))
        except NotRunning as error:
            raise ServeError(503, None, str(error)) from None
        gone = asyncio.ensure_future(_disconnected(request))
        try:
            await asyncio.wait({job, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not job.done():  # the client left (or this task was cancelled): drop the job if not started yet
                job.cancel()
            gone.cancel()
        if job.cancelled():
            raise ServeError(499, None, "the client closed the connection")
        error = job.exception()
        if error is not None:
            if isinstance(error, ValueError):  # e.g. a sentence the encoder cannot take
                raise ServeError(422, "texts", f"cannot tag this text: {error}")
            raise error


async def _disconnected(request: Request) -> None:
    """Returns when the client disconnects (the body has been read: the next message is the disconnect)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


def _answer(payload: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(payload, status_code=status)


def _error(status: int, field: Optional[str], message: str) -> JSONResponse:
    return _answer({"error": message, "field": field}, status)


#: the fields of requests; any other name a client sends is its own text and is not logged
_FIELDS = frozenset({"body", "text", "texts", "types", "placeholder", "join_partial", "mapping", "line",
                     "recall_bias"})


def _loggable(field: Optional[str]) -> str:
    if field is None:
        return "-"
    parts = field.split(".")
    return field if parts[0] in _FIELDS and all(p.isdigit() or p == "text" for p in parts[1:]) else "(unknown field)"


#: set while a request's own values go through library code that logs them (a placeholder without {n} is
#: warned about with the template, which comes from the client)
_QUIET: contextvars.ContextVar[bool] = contextvars.ContextVar("flair_modernbert_serve_quiet", default=False)


class _QuietFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _QUIET.get()


_quiet_filter = _QuietFilter()
logging.getLogger("flair_modernbert.redaction.pseudonyms").addFilter(_quiet_filter)


def _log(endpoint: str, documents: Iterable[Document], started: float, status: int = 200) -> None:
    texts = list(documents)
    logger.info("%s %d: %d text(s), %d chars, %d sentences, %.1f ms", endpoint, status, len(texts),
                sum(len(d.text) for d in texts), sum(len(d.units or ()) for d in texts),
                1000 * (time.perf_counter() - started))


_ERRORS = {status: {"model": ErrorResponse} for status in (400, 413, 422, 503)}


def create_app(
    tagger: Any,
    *,
    types: Optional[Sequence[str]] = None,
    max_batch: int = 32,
    max_wait_ms: float = 10.0,
    max_text_chars: int = 100_000,
    max_texts: int = 256,
    max_body_bytes: Optional[int] = None,
    unit: str = "sentence",
    recall_bias: Optional[float] = None,
) -> FastAPI:
    """The service for one loaded tagger.

    The tagger's worker thread (:class:`~flair_modernbert.serve.batching.DynamicBatcher`) starts with the app's
    lifespan and stops after the last request in flight has been answered. ``app.state.batcher`` is the batcher.

    Args:
        tagger: a loaded tagger (:func:`flair_modernbert.inference.load_tagger`).
        types: the types used when a request names none (default: the model's for ``/predict``, all for
            ``/redact``).
        max_batch: sentences tagged together at most (one packed forward).
        max_wait_ms: how long a request waits for others to share its forward.
        max_text_chars: characters of one text at most.
        max_texts: texts of one request at most.
        max_body_bytes: bytes of one request body at most (see :class:`ServeLimits`).
        unit: ``sentence`` or ``document`` (see :func:`~flair_modernbert.inference.tag_documents`).
        recall_bias: the recall bias of requests that set none (docs/recall.md); ``None``: the model's default
            (:func:`~flair_modernbert.inference.default_recall_bias`). ``/ready`` shows it.

    Raises:
        ValueError: a type in ``types`` that is neither the model's nor a pattern type, a bad limit or bias.
    """
    for name, value in (("max_text_chars", max_text_chars), ("max_texts", max_texts)):
        if value < 1:
            raise ValueError(f"{name}: expected a number >= 1, got {value}")
    limits = ServeLimits(max_text_chars=max_text_chars, max_texts=max_texts, max_body_bytes=max_body_bytes)
    bias = default_recall_bias(tagger) if recall_bias is None else check_recall_bias(recall_bias, "--recall-bias")
    batcher = DynamicBatcher(tagger, max_batch=max_batch, max_wait_ms=max_wait_ms, unit=unit)
    try:
        shared = _App(tagger, batcher, limits, types, bias)
    except ServeError as error:
        raise ValueError(error.message.replace("types:", "--types:", 1)) from None
    body_limit = limits.body_limit()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        batcher.start()
        logger.info("tagger thread started (max batch %d sentences, max wait %.1f ms)", max_batch, max_wait_ms)
        try:
            yield
        finally:  # the server has answered every request in flight by now (or given up on them)
            await run_in_threadpool(batcher.stop, 60.0)
            logger.info("tagger thread stopped: %s", batcher.stats.to_dict())

    app = FastAPI(
        title="flair-modernbert",
        summary="Named-entity tagging, redaction and restore with a flair-modernbert tagger.",
        lifespan=lifespan,
    )
    app.state.batcher = batcher
    app.state.limits = limits

    @app.exception_handler(ServeError)
    async def _serve_error(request: Request, error: ServeError) -> JSONResponse:
        return _error(error.status, error.field, error.message)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return _error(error.status_code, None, str(error.detail))

    def guarded(endpoint: str, run: Any) -> Any:
        """Answer unexpected errors with a 500 that names only the error's class (its message may hold text)."""

        async def call(request: Request) -> JSONResponse:
            started = time.perf_counter()
            try:
                return await run(request, started)
            except ServeError as error:
                if error.status >= 500 and error.status != 503:
                    logger.error("%s %d: %s", endpoint, error.status, error.message)
                else:
                    logger.info("%s %d (field %s), %.1f ms", endpoint, error.status, _loggable(error.field),
                                1000 * (time.perf_counter() - started))
                raise
            except Exception as error:  # noqa: BLE001 - never let a message with text reach the log
                logger.error("%s 500: %s", endpoint, type(error).__name__)
                raise ServeError(500, None, f"internal error ({type(error).__name__})") from None

        call.__name__ = endpoint.strip("/")
        return call

    async def predict(request: Request, started: float) -> JSONResponse:
        body = _parse(await _read_body(request, body_limit), PredictRequest)
        selection = shared.selection(body.types, "model")
        documents = await shared.prepare(body)
        await shared.tag(request, documents, selection, shared.bias(body))
        results = [document.to_json() for document in documents]
        _log("/predict", documents, started)
        return _answer(results[0] if body.texts is None else {"results": results})

    async def redact_texts(request: Request, started: float) -> JSONResponse:
        body = _parse(await _read_body(request, body_limit), RedactRequest)
        selection = shared.selection(body.types, "all")
        try:
            token = _QUIET.set(True)
            try:
                pseudonyms = Pseudonyms(body.placeholder, join_partial=body.join_partial)
            finally:
                _QUIET.reset(token)
        except ValueError as error:
            raise ServeError(422, "placeholder", str(error).replace("--placeholder", "placeholder", 1)) from None
        documents = await shared.prepare(body)
        bias = shared.bias(body)
        await shared.tag(request, documents, selection, bias)
        results = []
        for document in documents:  # one Pseudonyms: one numbering across the texts of the request
            text, spans = redact(document, pseudonyms=pseudonyms)
            results.append({**document.extra, "text": text, "spans": spans})
        info = {"entities": pseudonyms.take_new(), "placeholder": pseudonyms.placeholder,
                "types": selection.names(shared.model_types), "recall_bias": bias}
        _log("/redact", documents, started)
        return _answer({**results[0], **info} if body.texts is None else {"results": results, **info})

    async def restore_texts(request: Request, started: float) -> JSONResponse:
        body = _parse(await _read_body(request, body_limit), RestoreRequest)
        documents = _documents(body, shared.limits)

        def run() -> list[dict[str, Any]]:
            try:
                mapping = SpanMap.from_records(body.mapping) if isinstance(body.mapping, list) else body.mapping
                restored = [restore(document.text, mapping, line=body.line) for document in documents]
            except (ValueError, KeyError, TypeError, AttributeError) as error:
                raise ServeError(422, "mapping", f"mapping: {error}") from None
            return [{**document.extra, "text": r.text, "unknown": list(r.unknown)}
                    for document, r in zip(documents, restored)]

        results = await run_in_threadpool(run)
        _log("/restore", documents, started)
        return _answer(results[0] if body.texts is None else {"results": results})

    def body_of(schema: type[BaseModel]) -> dict[str, Any]:
        # the body is read by hand (any content type, precise errors), so its schema is declared here
        return {"requestBody": {"required": True, "content": {"application/json": {"schema": {
            "$ref": f"#/components/schemas/{schema.__name__}"}}}}}

    routes = (
        ("/predict", predict, PredictRequest, Union[PredictResult, PredictResults],
         "Tag texts: entity spans with character offsets (what `flair-modernbert predict` prints)."),
        ("/redact", redact_texts, RedactRequest, Union[RedactResponse, RedactResponses],
         "Replace entities with numbered placeholders; returns the span records /restore takes."),
        ("/restore", restore_texts, RestoreRequest, Union[RestoreResult, RestoreResults],
         "Put the original text back where placeholders appear (in any form an LLM may return them)."),
    )
    for path, run, schema, response, summary in routes:
        app.add_api_route(path, guarded(path, run), methods=["POST"], response_model=response, summary=summary,
                          responses=_ERRORS, openapi_extra=body_of(schema))

    @app.get("/health", summary="The process is up (and the tagger thread's counters).")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "batches": batcher.stats.to_dict()}

    @app.get("/ready", summary="The model is loaded and warmed up, and requests are taken.",
             responses={503: {"model": ErrorResponse}})
    async def ready() -> JSONResponse:
        if not batcher.ready:
            return _error(503, None, "not ready: the model is warming up or the service is stopping")
        return _answer({"ready": True, "model_types": shared.model_types, "pattern_types": list(PATTERN_TYPES),
                        "recall_bias": shared.recall_bias,
                        "max_batch": batcher.max_batch, "max_wait_ms": 1000 * batcher.max_wait,
                        "max_text_chars": limits.max_text_chars, "max_texts": limits.max_texts,
                        "max_body_bytes": body_limit})

    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            components = default_openapi().setdefault("components", {}).setdefault("schemas", {})
            for model in (PredictRequest, RedactRequest, RestoreRequest):
                found = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(found.pop("$defs", {}))
                components[model.__name__] = found
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
