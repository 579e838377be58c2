"""Serve the in-browser redaction page with an exported tagger, on this machine only.

    python examples/browser/serve.py OUT            # then open http://127.0.0.1:8000/

``OUT`` is a folder written by ``flair-modernbert export``. The page (this folder) is served at ``/``, the export at
``/model/``, Transformers.js at ``/vendor/transformers/`` and ONNX Runtime Web's WASM files at ``/vendor/ort/``
(both from ``OUT/node_modules`` or the installed JavaScript module's ``node_modules``). Responses carry the
cross-origin isolation headers, so ONNX Runtime can run WASM threads, and ``Cache-Control: no-cache`` with an
``ETag``: the browser may keep the files but asks before it uses them again, and an unchanged file costs a 304
without a body (the page itself keeps the model in Cache Storage and revalidates it the same way). Nothing is
fetched from other hosts, and text typed into the page never leaves the browser.
"""

from __future__ import annotations

import argparse
import mimetypes
import sys
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional
from urllib.parse import unquote, urlsplit

HERE = Path(__file__).resolve().parent


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


class Handler(SimpleHTTPRequestHandler):
    """Static files from a few folders by URL prefix, with isolation headers and revalidated caching."""

    routes: dict[str, Path] = {}
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
        # an ETag from the file's modification time and size: a file exported again gets a new one, whatever its time
        path = Path(self.translate_path(self.path))
        self.etag = None
        if path.is_file():
            stat = path.stat()
            self.etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
            if self.etag in (tag.strip() for tag in self.headers.get("If-None-Match", "").split(",")):
                self.send_response(HTTPStatus.NOT_MODIFIED)
                self.end_headers()
                return None
        return super().send_head()

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


def make_server(export: Path, port: int = 8000, host: str = "127.0.0.1",
                node_modules: Optional[Path] = None) -> ThreadingHTTPServer:
    """A server for the page and ``export`` (port 0 picks a free port: ``server.server_address[1]``)."""
    export = Path(export).resolve()
    if not (export / "crf.json").is_file():
        raise FileNotFoundError(f"{export} is not an export folder (no crf.json): run flair-modernbert export first")
    modules = Path(node_modules).resolve() if node_modules else find_node_modules(export)
    routes = {
        "/model/": export,
        "/vendor/transformers/": modules / "@huggingface" / "transformers" / "dist",
        "/vendor/ort/": modules / "onnxruntime-web" / "dist",
        "/": HERE,
    }
    handler = type("RoutedHandler", (Handler,), {"routes": routes})
    return ThreadingHTTPServer((host, port), partial(handler))


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the in-browser redaction page with an exported tagger.")
    parser.add_argument("export", type=Path, help="folder written by flair-modernbert export")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    parser.add_argument("--node-modules", type=Path, default=None, help="node_modules with @huggingface/transformers")
    args = parser.parse_args(argv)
    try:
        server = make_server(args.export, args.port, args.host, args.node_modules)
    except (FileNotFoundError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)  # noqa: T201 - command line script
        return 2
    print(f"serving {args.export} on http://{args.host}:{server.server_address[1]}/ (Ctrl+C stops)")  # noqa: T201
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
