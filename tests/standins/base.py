"""A threaded HTTP server on 127.0.0.1 that subclasses turn into a service stand-in.

Subclasses implement `route(req) -> Response`; the base parses requests, records them,
injects faults and runs hooks (used by crash tests to SIGKILL a client at a chosen request).
A request the stand-in rejects as invalid is answered with the service's error shape
and also recorded in `self.violations`, so a test can assert none happened.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    host_url: str

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list → JSON; bytes/str sent as is
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def payload(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body).encode("utf-8")


class Invalid(Exception):
    """Raised by a stand-in's validation; becomes an error response of the service's shape."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass
class Fault:
    kind: str  # "reset" | "timeout" | "status"
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    match: str = ""  # substring of "METHOD /path"; "" matches any request
    delay: float = 0.0


class StandIn:
    """Base class. Use as a context manager or call start()/stop()."""

    name = "standin"

    def __init__(self):
        self.requests: list[Request] = []
        self.violations: list[str] = []
        self.faults: deque[Fault] = deque()
        self.hooks: list = []  # callables hook(req, phase) with phase "before"/"after"
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> str:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def _any(self):
                standin._serve(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "stand-in not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- faults ----------------------------------------------------------------
    def inject(
        self,
        kind: str,
        *,
        times: int = 1,
        match: str = "",
        status: int = 0,
        headers: dict[str, str] | None = None,
        body: Any = None,
        delay: float = 0.0,
    ):
        """Queue `times` faults for the next matching requests.

        kind: "reset" (connection reset, no answer), "timeout" (answer after `delay`
        seconds, longer than the client waits), or "status" (answer `status` with
        `headers`/`body`, e.g. 429 with a reset header, 500, 401).
        """
        with self.lock:
            for _ in range(times):
                self.faults.append(Fault(kind, status, dict(headers or {}), body, match, delay))

    def _take_fault(self, req: Request) -> Fault | None:
        key = f"{req.method} {req.path}"
        with self.lock:
            for fault in list(self.faults):
                if fault.match in key:
                    self.faults.remove(fault)
                    return fault
        return None

    # -- serving ---------------------------------------------------------------
    def _serve(self, handler: BaseHTTPRequestHandler):
        split = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        req = Request(
            method=handler.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
            host_url=self.url,
        )
        with self.lock:
            self.requests.append(req)
        for hook in list(self.hooks):
            hook(req, "before")
        fault = self._take_fault(req)
        if fault and fault.kind == "reset":
            sock = handler.connection
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            handler.close_connection = True
            sock.close()
            return
        if fault and fault.kind == "timeout":
            time.sleep(fault.delay or 5.0)
        if fault and fault.kind == "status":
            resp = Response(fault.status, fault.body, fault.headers)
        else:
            try:
                with self.lock:
                    resp = self.route(req)
            except Invalid as e:
                with self.lock:
                    self.violations.append(f"{req.method} {req.path}: {e}")
                resp = self.error(e.status, str(e))
        payload = resp.payload() if req.method != "HEAD" else b""
        try:
            handler.send_response(resp.status)
            if payload or resp.body is not None:
                handler.send_header("Content-Type", resp.content_type)
            for name, value in resp.headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return
        for hook in list(self.hooks):
            hook(req, "after")

    # -- for subclasses ----------------------------------------------------------
    def route(self, req: Request) -> Response:
        raise NotImplementedError

    def error(self, status: int, message: str) -> Response:
        """The service's error shape; subclasses override."""
        return Response(status, {"error": message})

    def calls(self, method: str, path_part: str) -> list[Request]:
        """Recorded requests with this method whose path contains `path_part`."""
        with self.lock:
            return [r for r in self.requests if r.method == method and path_part in r.path]
