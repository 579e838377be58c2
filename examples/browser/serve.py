"""Serve the in-browser redaction page with one or more exported taggers, on this machine only.

    python examples/browser/serve.py OUT                                # then open http://127.0.0.1:8000/
    python examples/browser/serve.py teacher=OUT layers-3=STUDENT-OUT   # several exports: the page offers each

``OUT`` is a folder written by ``flair-modernbert export``. The page (this folder) is served at ``/``, the first
export at ``/model/``, further ones at ``/models/NAME/`` (``NAME``: the folder's name, or the one given as
``NAME=OUT``), Transformers.js at ``/vendor/transformers/`` and ONNX Runtime Web's WASM files at ``/vendor/ort/``
(both from ``OUT/node_modules`` or the installed JavaScript module's ``node_modules``). ``/models.json`` lists what is
served: per export its name, encoder layers, vocabulary, and per model file it holds (fp32, fp16, q8, q4) the exact
bytes the page downloads to load it (see :func:`listing`), so that the page shows the download size before it loads
anything.

Responses carry the cross-origin isolation headers, so ONNX Runtime can run WASM threads, and ``Cache-Control:
no-cache`` with an ``ETag``: the browser may keep the files but asks before it uses them again, and an unchanged
file costs a 304 without a body (the page itself keeps the model in Cache Storage and revalidates it the same way).
Nothing is fetched from other hosts, and text typed into the page never leaves the browser.
"""

from __future__ import annotations

import argparse
import io
import json
import mimetypes
import re
import sys
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional, Sequence
from urllib.parse import unquote, urlsplit

HERE = Path(__file__).resolve().parent

#: The listing's format name and version (``/models.json``).
LISTING_FORMAT = "flair-modernbert-page-models"
LISTING_VERSION = 1
#: Transformers.js dtypes in the order the page shows them, and the file an export without ``model_files`` has.
DTYPE_ORDER = ("fp32", "fp16", "q8", "q4")
FP32_FILE = "onnx/model.onnx"
#: Files of an export the page fetches whatever the dtype, besides the JavaScript module (tagger.mjs and what it
#: imports): crf.json and rules.json (tagger.mjs), the tokenizer's two files (Transformers.js' AutoTokenizer), the
#: model config (AutoModelForTokenClassification).
EXPORT_FILES = ("crf.json", "rules.json", "tokenizer_config.json", "tokenizer.json", "config.json")
#: Of those, the files Transformers.js keeps in Cache Storage (with the ONNX file): the page marks an entry as
#: "in this browser" when all of them are there, unchanged.
CACHE_STORAGE_FILES = ("tokenizer_config.json", "tokenizer.json", "config.json")
#: The runtime, fetched once whichever model is loaded: Transformers.js (index.html's import map) and ONNX Runtime
#: Web's WASM build (worker.mjs's wasmPaths), as URL path -> (route, file under it).
RUNTIME_FILES = {
    "/vendor/transformers/transformers.js": ("/vendor/transformers/", "transformers.js"),
    "/vendor/ort/ort-wasm-simd-threaded.asyncify.mjs": ("/vendor/ort/", "ort-wasm-simd-threaded.asyncify.mjs"),
    "/vendor/ort/ort-wasm-simd-threaded.asyncify.wasm": ("/vendor/ort/", "ort-wasm-simd-threaded.asyncify.wasm"),
}
#: The runtime files Transformers.js keeps in Cache Storage (transformers.js itself is an ordinary module import).
RUNTIME_CACHE_STORAGE = ("/vendor/ort/ort-wasm-simd-threaded.asyncify.mjs",
                         "/vendor/ort/ort-wasm-simd-threaded.asyncify.wasm")

#: Static ``import``/``export ... from`` specifiers of a module (several lines allowed), or a bare ``import "x"``.
_STATIC_IMPORT = re.compile(r"""^\s*(?:(?:import|export)\b[^;"'`]*?\bfrom\s*|import\s*)(["'])([^"'\n]+)\1""",
                            re.MULTILINE)


def find_node_modules(export: Path) -> Path:
    """``node_modules`` with ``@huggingface/transformers`` and ``onnxruntime-web``: the export's, else the package's."""
    candidates = [export / "node_modules"]
    try:
        from flair_modernbert.export.folder import JS_DIR

        candidates.append(JS_DIR / "node_modules")
    except ImportError:
        pass
    for candidate in candidates:
        if (candidate / "@huggingface" / "transformers" / "dist").is_dir():
            return candidate.resolve()
    raise FileNotFoundError(
        f"no node_modules with @huggingface/transformers in {export} or the installed package: run `npm ci` in {export}"
    )


def etag_of(path: Path) -> str:
    """The ETag the server sends with ``path``: from its modification time and size, so a file exported again gets
    a new one whatever its time."""
    stat = path.stat()
    return f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'


@dataclass(frozen=True)
class Served:
    """One export folder as the server offers it.

    Attributes:
        name: what the page calls it: the folder's name (``-2``, ``-3`` ... added where two folders share one).
        path: its URL path, ``/model/`` for the first export, ``/models/NAME/`` for the others.
        folder: the export folder.
    """

    name: str
    path: str
    folder: Path


#: A name the page may give an export: one URL segment.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def served_exports(folders: Sequence[Path], names: Sequence[Optional[str]] = ()) -> list[Served]:
    """The exports in the order given, each checked to be an export folder, with unique names and URL paths.

    Args:
        folders: export folders; the first is served at ``/model/``, the others at ``/models/NAME/``.
        names: the names to show, one per folder (``None`` or missing: the folder's name, with ``-2``, ``-3`` ...
            added where two folders share one).

    Raises:
        FileNotFoundError: a folder without ``crf.json``.
        ValueError: the same folder or name given twice, or a name that is not letters, digits, ``.``, ``_``, ``-``.
    """
    served: list[Served] = []
    seen: dict[Path, int] = {}
    given_names = [name for name in names if name is not None]
    for number, given in enumerate(folders, 1):
        folder = Path(given).resolve()
        if not (folder / "crf.json").is_file():
            raise FileNotFoundError(
                f"{given} is not an export folder (no crf.json): run flair-modernbert export first")
        if folder in seen:
            raise ValueError(f"export {number} ({given}) is export {seen[folder]} again: give each folder once")
        seen[folder] = number
        name = names[number - 1] if number <= len(names) else None
        if name is not None:
            if not _NAME.fullmatch(name):
                raise ValueError(f"export name {name!r} ({given}): use letters, digits, '.', '_' and '-'")
            if any(other.name == name for other in served):
                raise ValueError(f"export name {name!r} is given twice")
        else:
            # the folder's name as one URL segment, unique among the served exports (and the names given)
            base = re.sub(r"[^A-Za-z0-9._-]+", "-", folder.name).strip("-._") or "export"
            name, count = base, 1
            while name in given_names or any(other.name == name for other in served):
                count += 1
                name = f"{base}-{count}"
        served.append(Served(name, "/model/" if not served else f"/models/{name}/", folder))
    return served


def module_files(folder: Path, entry: str = "tagger.mjs") -> list[str]:
    """``entry`` and the modules it imports by relative specifier, transitively (the files the page's worker
    loads), relative to ``folder``, in the order found."""
    found: list[str] = []
    pending = [entry]
    while pending:
        name = pending.pop(0)
        if name in found or not (folder / name).is_file():
            continue
        found.append(name)
        for _, specifier in _STATIC_IMPORT.findall((folder / name).read_text(encoding="utf-8")):
            if specifier.startswith(("./", "../")):
                target = (folder / name).parent.joinpath(specifier).resolve()
                if folder.resolve() in target.parents:
                    pending.append(target.relative_to(folder.resolve()).as_posix())
    return found


def _file_record(url: str, path: Path, cache_storage: bool) -> dict[str, Any]:
    return {"url": url, "bytes": path.stat().st_size, "etag": etag_of(path), "cache_storage": cache_storage}


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: cannot read it ({error})") from error


def describe_export(served: Served) -> dict[str, Any]:
    """What the page shows of one export and what each of its model files costs to download.

    Returns:
        ``name``, ``path``, ``model_type``, ``layers`` (encoder layers, config.json's ``num_hidden_layers``),
        ``hidden_size``, ``vocab_size`` (rows of the exported embedding matrix), ``vocabulary`` (``null``, or for
        a trimmed one (``export --vocab``) ``rows_kept``, ``rows_total``, ``corpus_kind``, ``agreement``),
        ``types`` (the tags' entity types), ``dtypes`` (dtype -> ``file``, ``bytes``: the sum of ``files``, each
        ``url``, ``bytes``, ``etag``, ``cache_storage``: whether Transformers.js keeps it in Cache Storage), and
        ``missing`` (dtypes crf.json names whose file is not there).
    """
    folder = served.folder
    crf = _read_json(folder / "crf.json")
    config = _read_json(folder / "config.json") if (folder / "config.json").is_file() else {}
    encoder = crf.get("encoder") or {}
    common = [name for name in (*module_files(folder), *EXPORT_FILES) if (folder / name).is_file()]
    records = [_file_record(served.path + name, folder / name, name in CACHE_STORAGE_FILES) for name in common]
    model_files = crf.get("model_files") or {"fp32": FP32_FILE}
    dtypes: dict[str, Any] = {}
    missing: list[str] = []
    for dtype in sorted(model_files, key=lambda d: DTYPE_ORDER.index(d) if d in DTYPE_ORDER else len(DTYPE_ORDER)):
        file = model_files[dtype]
        if not (folder / file).is_file():
            missing.append(dtype)
            continue
        files = [*records, _file_record(served.path + file, folder / file, True)]
        dtypes[dtype] = {"file": file, "bytes": sum(record["bytes"] for record in files), "files": files}
    vocabulary = crf.get("vocabulary")
    types = list(dict.fromkeys(tag.split("-", 1)[1] for tag in crf.get("tags", []) if "-" in tag))
    return {
        "name": served.name,
        "path": served.path,
        "model_type": config.get("model_type", encoder.get("model_type")),
        "layers": config.get("num_hidden_layers", encoder.get("num_layers")),
        "hidden_size": config.get("hidden_size", encoder.get("hidden_size")),
        "vocab_size": config.get("vocab_size"),
        "vocabulary": None if vocabulary is None else {
            key: vocabulary.get(key) for key in ("rows_kept", "rows_total", "corpus_kind", "agreement")},
        "types": types,
        "dtypes": dtypes,
        "missing": missing,
    }


def listing(exports: Sequence[Served], routes: dict[str, Path]) -> dict[str, Any]:
    """``/models.json``: the served exports (:func:`describe_export`) and the runtime every model needs once.

    Args:
        exports: from :func:`served_exports`.
        routes: the server's URL prefix -> folder map (for the runtime's files under ``/vendor/``).
    """
    runtime = [_file_record(url, routes[prefix] / name, url in RUNTIME_CACHE_STORAGE)
               for url, (prefix, name) in RUNTIME_FILES.items() if (routes[prefix] / name).is_file()]
    return {
        "format": LISTING_FORMAT,
        "version": LISTING_VERSION,
        "models": [describe_export(served) for served in exports],
        "runtime": {"bytes": sum(record["bytes"] for record in runtime), "files": runtime},
    }


class Handler(SimpleHTTPRequestHandler):
    """Static files from a few folders by URL prefix, with isolation headers and revalidated caching; the listing
    of the served exports at ``/models.json``."""

    routes: dict[str, Path] = {}
    exports: list[Served] = []
    etag: Optional[str] = None

    def translate_path(self, path: str) -> str:
        url = unquote(urlsplit(path).path)
        for prefix, folder in sorted(self.routes.items(), key=lambda item: -len(item[0])):
            if url.startswith(prefix):
                target = (folder / url[len(prefix):]).resolve()
                # stay inside the routed folder (node_modules may be a link, so compare resolved paths)
                if target == folder.resolve() or folder.resolve() in target.parents:
                    return str(target)
                return str(folder / "__outside__")
        return str(HERE / "__missing__")

    def send_head(self) -> Any:
        self.etag = None
        if urlsplit(self.path).path == "/models.json":
            return self._send_listing()
        path = Path(self.translate_path(self.path))
        if path.is_file():
            self.etag = etag_of(path)
            if self.etag in (tag.strip() for tag in self.headers.get("If-None-Match", "").split(",")):
                self.send_response(HTTPStatus.NOT_MODIFIED)
                self.end_headers()
                return None
        return super().send_head()

    def _send_listing(self) -> Any:
        # computed per request: an export written again is listed with its new sizes
        try:
            body = json.dumps(listing(self.exports, self.routes), indent=1).encode("utf-8")
        except (OSError, ValueError) as error:
            self.send_error(HTTPStatus.INTERNAL_SERVER_ERROR, f"cannot list the exports: {error}")
            return None
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def end_headers(self) -> None:
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        # the browser may keep a file, but must ask (If-None-Match -> 304) before using it again
        self.send_header("Cache-Control", "no-cache")
        if self.etag:
            self.send_header("ETag", self.etag)
        super().end_headers()

    def guess_type(self, path: str) -> str:
        if path.endswith((".mjs", ".js")):
            return "text/javascript"
        if path.endswith(".wasm"):
            return "application/wasm"
        return mimetypes.guess_type(path)[0] or "application/octet-stream"

    def log_message(self, format: str, *args: object) -> None:  # quiet unless an error
        if args and str(args[1] if len(args) > 1 else "").startswith(("4", "5")):
            super().log_message(format, *args)


def make_server(export: Path, port: int = 8000, host: str = "127.0.0.1", node_modules: Optional[Path] = None,
                more: Sequence[Path] = (), names: Sequence[Optional[str]] = ()) -> ThreadingHTTPServer:
    """A server for the page, ``export`` (at ``/model/``) and the exports in ``more`` (at ``/models/NAME/``).

    Port 0 picks a free port: ``server.server_address[1]``. ``names``: what the page calls the exports, ``export``
    first (see :func:`served_exports`).

    Raises:
        FileNotFoundError: a folder that is not an export, or no ``node_modules`` with Transformers.js.
        ValueError: a folder or name given twice, or a name that cannot be a URL segment.
    """
    exports = served_exports([Path(export), *(Path(folder) for folder in more)], names)
    modules = Path(node_modules).resolve() if node_modules else find_node_modules(exports[0].folder)
    routes = {
        **{served.path: served.folder for served in exports},
        "/vendor/transformers/": modules / "@huggingface" / "transformers" / "dist",
        "/vendor/ort/": modules / "onnxruntime-web" / "dist",
        "/": HERE,
    }
    handler = type("RoutedHandler", (Handler,), {"routes": routes, "exports": exports})
    return ThreadingHTTPServer((host, port), partial(handler))


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the in-browser redaction page with exported taggers.")
    parser.add_argument("exports", nargs="+", metavar="[NAME=]OUT",
                        help="folders written by flair-modernbert export (the first at /model/, the others at "
                             "/models/NAME/; NAME: the folder's name unless given); the page offers each of their "
                             "model files")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    parser.add_argument("--node-modules", type=Path, default=None, help="node_modules with @huggingface/transformers")
    args = parser.parse_args(argv)
    folders, names = [], []
    for given in args.exports:
        # NAME=OUT, unless the whole argument is a path that exists
        name, sep, path = given.partition("=")
        named = sep and not Path(given).exists()
        folders.append(Path(path if named else given))
        names.append(name if named else None)
    try:
        server = make_server(folders[0], args.port, args.host, args.node_modules, more=folders[1:], names=names)
    except (FileNotFoundError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)  # noqa: T201 - command line script
        return 2
    address = f"http://{args.host}:{server.server_address[1]}"
    for served in server.RequestHandlerClass.func.exports:
        print(f"serving {served.folder} at {address}{served.path} as {served.name}")  # noqa: T201
    print(f"open {address}/ (Ctrl+C stops)")  # noqa: T201
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
