"""Validate stand-in requests against an OpenAPI document with openapi-core.

Specs are big (Mailchimp's loads in seconds): load each once per test session
through `load_spec`, which caches by path.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from .base import Invalid, Request

SPECS = Path(__file__).resolve().parents[2].parent / "shared" / "specs"


def specs_dir() -> Path:
    return SPECS


def require_spec(relative: str) -> Path:
    """Path of ../shared/specs/<relative>; skips the calling test when it is absent.

    A clone without ../shared beside it cannot validate requests, so a test that needs
    a stand-in is skipped rather than run against an unchecked one.
    """
    path = SPECS / relative
    if not path.is_file():
        pytest.skip(f"API specification not found: {path} (../shared/specs is absent)")
    return path


@functools.cache
def load_spec(relative: str, server_url: str = "http://127.0.0.1", strict: bool = True) -> OpenAPI:
    """Load ../shared/specs/<relative> once. `server_url` is added to `servers`.

    The stand-ins add a server entry whose path prefix matches what the client sends
    (e.g. "/3.0" for Mailchimp); host and port are matched loosely by openapi-core's
    path finder, which compares the path part against the server's path.
    """
    spec = json.loads(require_spec(relative).read_text(encoding="utf-8"))
    spec["servers"] = [{"url": server_url}]
    config = None if strict else Config(spec_validator_cls=None)
    if config is None:
        return OpenAPI.from_dict(spec)
    return OpenAPI.from_dict(spec, config=config)


class _OpenAPIRequest:
    """Adapts a stand-in Request to openapi-core's Request protocol."""

    def __init__(
        self,
        req: Request,
        host_url: str,
        body: bytes | None = None,
        content_type: str | None = None,
    ):
        self.host_url = host_url
        self.path = req.path
        self.method = req.method.lower()
        self.full_url_pattern = host_url + req.path
        query = ImmutableMultiDict([(k, v) for k, vs in req.query.items() for v in vs])
        self.parameters = RequestParameters(query=query, header=Headers(list(req.headers.items())))
        self.body = req.body if body is None else body
        ct = req.content_type if content_type is None else content_type
        self.content_type = (ct or "").lower()


def validate(
    spec: OpenAPI,
    req: Request,
    host_url: str,
    *,
    body: bytes | None = None,
    content_type: str | None = None,
) -> None:
    """Raise Invalid (400) naming the first problem, if `req` does not match the spec."""
    try:
        spec.validate_request(_OpenAPIRequest(req, host_url, body, content_type))
    except Exception as e:  # openapi-core raises a tree of errors; keep the readable ones
        details = []
        cause = e
        while cause is not None and len(details) < 4:
            details.append(str(cause))
            nested = getattr(cause, "schema_errors", None)
            if nested:
                details.extend(str(se.message) for se in list(nested)[:3])
                break
            cause = cause.__cause__
        raise Invalid("; ".join(d for d in details if d)) from e
