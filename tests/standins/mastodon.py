"""A Mastodon API stand-in for the real `Mastodon.py` client.

Every request is validated against ../shared/specs/mastodon/schema.json (Mastodon 4.x
as OpenAPI 3.1). Mastodon.py posts statuses form-encoded while the spec declares JSON,
so form bodies are converted to JSON before validation. Bearer auth is required.
State is kept like the service's: one account, its statuses (newest first), uploaded
media, idempotency keys remembered for one hour, rate-limit headers on every answer.
Errors are Mastodon's `{"error": "..."}` documents.

    with MastodonStandIn() as masto:
        env = masto.env()                 # MASTODON_API_BASE_URL, MASTODON_ACCESS_TOKEN
        ...
        assert masto.delivered("https://example.com/2024/01/post/") == 1
        masto.advance(3601)               # let idempotency keys expire

Replies and engagement: `add_reply(status_id, text, username=..., visibility=...)` posts
a reply from another account (or the writer's own follow-up with `own=True`),
`delete_status()` removes one, `boost()`/`favourite()` count reactions; the answers of
`GET /api/v1/statuses/:id` (counts) and `GET /api/v1/statuses/:id/context` (every
descendant the token may see, whatever its visibility, as the service shows them to the
author) follow that state.
"""

from __future__ import annotations

import email
import email.policy
import functools
import html
import itertools
import json
import re
import time
import warnings
import zlib
from datetime import UTC, datetime
from typing import Any

import regex
from openapi_core import Config, OpenAPI

from .base import Invalid, Request, Response, StandIn
from .openapi import require_spec, validate

SPEC = "mastodon/schema.json"
SPEC_SERVER = "http://127.0.0.1"
IDEMPOTENCY_SECONDS = 3600
URL_RE = re.compile(r"https?://[^\s<>\"]+")
FORM_BOOLEANS = {"sensitive"}


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _binary_as_any(node: Any) -> Any:
    """OpenAPI 3.1 says a file part is `contentMediaType`, not `type: string, format: binary`:
    openapi-core hands the part over as bytes, which a `string` schema rejects."""
    if isinstance(node, dict):
        if node.get("type") == "string" and node.get("format") == "binary":
            rest = {k: v for k, v in node.items() if k not in ("type", "format")}
            return {**rest, "contentMediaType": "application/octet-stream"}
        return {k: _binary_as_any(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_binary_as_any(v) for v in node]
    return node


@functools.cache
def mastodon_spec() -> OpenAPI:
    """The Mastodon spec, loaded once, with file parts typed the OpenAPI 3.1 way."""
    spec = json.loads(require_spec(SPEC).read_text(encoding="utf-8"))
    spec["servers"] = [{"url": SPEC_SERVER}]
    spec = _binary_as_any(spec)
    # Text with media is both a TextStatus and a MediaStatus: Mastodon takes either, so the
    # spec's `oneOf` (exactly one) is read as `anyOf`.
    body = spec["paths"]["/api/v1/statuses"]["post"]["requestBody"]["content"]["application/json"]
    body["schema"] = {"anyOf": body["schema"]["oneOf"]}
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


def form_to_json(form: dict[str, list[str]]) -> dict[str, Any]:
    """Mastodon's own reading of a form body: `a[]` is a list, '0'/'1' booleans."""
    data: dict[str, Any] = {}
    for key, values in form.items():
        if key.endswith("[]"):
            data[key[:-2]] = list(values)
        elif key in FORM_BOOLEANS:
            data[key] = values[-1] in ("1", "true", "True")
        else:
            data[key] = values[-1]
    return data


class MastodonStandIn(StandIn):
    name = "mastodon"

    def __init__(
        self,
        *,
        token: str = "masto-token-0123456789",  # noqa: S107 (a stand-in's fixed token)
        username: str = "frontporch",
        domain: str = "mastodon.example",
        max_characters: int = 500,
        characters_reserved_per_url: int = 23,
        media_processing_polls: int = 0,
    ):
        super().__init__()
        mastodon_spec()  # load (or skip the test) now, not in a server thread
        self.token = token
        self.username = username
        self.domain = domain
        self.max_characters = max_characters
        self.url_length = characters_reserved_per_url
        # > 0: uploads answer 202 with `url: null` (processing, as for big files) and
        # GET /api/v1/media/:id answers 206 this many times before the media is ready
        self.media_processing_polls = media_processing_polls
        self.account_id = "109000000000000001"
        self.statuses: list[dict[str, Any]] = []  # newest first, like the API
        self.media: dict[str, dict[str, Any]] = {}
        self.idempotency: dict[str, tuple[float, str]] = {}  # key -> (time, status id)
        self.offset = 0.0  # added to the clock by advance()
        self.ratelimit_remaining = 300
        self._ids = itertools.count(110000000000000000)

    # -- helpers for tests ----------------------------------------------------------
    def env(self) -> dict[str, str]:
        return {"MASTODON_API_BASE_URL": self.url, "MASTODON_ACCESS_TOKEN": self.token}

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Move the stand-in's clock forward (idempotency keys expire after an hour)."""
        self.offset += seconds

    def delivered(self, post_url: str) -> int:
        """Statuses on the account whose text contains `post_url`."""
        with self.lock:
            return sum(1 for s in self.own_statuses() if post_url in s["_text"])

    def own_statuses(self) -> list[dict[str, Any]]:
        """The account's own statuses (replies from other accounts left out), newest first."""
        with self.lock:
            return [s for s in self.statuses if not s.get("_account")]

    def status_texts(self) -> list[str]:
        with self.lock:
            return [s["_text"] for s in self.own_statuses()]

    def add_reply(
        self,
        in_reply_to_id: str,
        text: str,
        *,
        username: str = "reader",
        domain: str = "elsewhere.example",
        display_name: str = "",
        visibility: str = "public",
        own: bool = False,
        noindex: bool = False,
        content: str | None = None,
    ) -> str:
        """A reply to `in_reply_to_id` by someone else (or the writer, `own=True`); its id.

        `content` replaces the HTML the stand-in would render from `text` (hostile HTML)."""
        with self.lock:
            status_id = str(next(self._ids))
            account = None
            if not own:
                account = {
                    **self._account(),
                    "id": str(zlib.crc32(f"{username}@{domain}".encode()) + 10**17),
                    "username": username,
                    "acct": f"{username}@{domain}",
                    "display_name": display_name or username.title(),
                    "url": f"https://{domain}/@{username}",
                    "avatar": f"https://{domain}/avatars/{username}.png",
                    "noindex": noindex,
                }
            self.statuses.insert(
                0,
                {
                    "id": status_id,
                    "_text": text,
                    "_content": content,
                    "_account": account,
                    "created_at": _iso(self.now()),
                    "visibility": visibility,
                    "language": "en",
                    "in_reply_to_id": in_reply_to_id,
                    "media_attachments": [],
                },
            )
            return status_id

    def delete_status(self, status_id: str) -> None:
        with self.lock:
            self.statuses = [s for s in self.statuses if s["id"] != status_id]

    def boost(self, status_id: str, times: int = 1) -> None:
        with self.lock:
            status = next(s for s in self.statuses if s["id"] == status_id)
            status["_reblogs"] = status.get("_reblogs", 0) + times

    def favourite(self, status_id: str, times: int = 1) -> None:
        with self.lock:
            status = next(s for s in self.statuses if s["id"] == status_id)
            status["_favourites"] = status.get("_favourites", 0) + times

    def _descendants(self, status_id: str) -> list[dict[str, Any]]:
        """Replies to `status_id`, their replies and so on, in tree order (oldest first)."""
        found: list[dict[str, Any]] = []
        for child in sorted(
            (s for s in self.statuses if s["in_reply_to_id"] == status_id),
            key=lambda s: int(s["id"]),
        ):
            found.append(child)
            found.extend(self._descendants(child["id"]))
        return found

    # -- the service -----------------------------------------------------------------
    def error(self, status: int, message: str) -> Response:
        return Response(status, {"error": message}, self._ratelimit_headers())

    def _ratelimit_headers(self) -> dict[str, str]:
        reset = _iso(self.now() + 300)
        return {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": str(max(self.ratelimit_remaining, 0)),
            "X-RateLimit-Reset": reset,
        }

    def _answer(self, body: Any, status: int = 200) -> Response:
        return Response(status, body, self._ratelimit_headers())

    def route(self, req: Request) -> Response:
        path = req.path.rstrip("/") or "/"
        self._validate(req, path)
        if path in ("/api/v1/instance", "/api/v2/instance"):
            return self._answer(self._instance(v2=path.endswith("v2/instance")))
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return self.error(401, "The access token is invalid")
        self.ratelimit_remaining -= 1
        if path == "/api/v1/accounts/verify_credentials" and req.method == "GET":
            return self._answer({**self._account(), "source": {"privacy": "public", "note": ""}})
        m = re.fullmatch(r"/api/v1/accounts/([^/]+)/statuses", path)
        if m and req.method == "GET":
            return self._account_statuses(req, m.group(1))
        if path == "/api/v1/statuses" and req.method == "POST":
            return self._post_status(req)
        if path == "/api/v2/media" and req.method == "POST":
            return self._post_media(req)
        m = re.fullmatch(r"/api/v1/media/([^/]+)", path)
        if m and req.method == "GET":
            media = self.media.get(m.group(1))
            if media is None:
                return self.error(404, "Record not found")
            if media["_polls_left"] > 0:
                media["_polls_left"] -= 1
                return self._answer(self._media_public(media, ready=False), 206)
            return self._answer(self._media_public(media))
        m = re.fullmatch(r"/api/v1/statuses/([^/]+)/context", path)
        if m and req.method == "GET":
            found = [s for s in self.statuses if s["id"] == m.group(1)]
            if not found:
                return self.error(404, "Record not found")
            ancestors = []
            parent = found[0]["in_reply_to_id"]
            while parent:
                above = next((s for s in self.statuses if s["id"] == parent), None)
                if above is None:
                    break
                ancestors.insert(0, above)
                parent = above["in_reply_to_id"]
            return self._answer(
                {
                    "ancestors": [self._public(s) for s in ancestors],
                    "descendants": [self._public(s) for s in self._descendants(m.group(1))],
                }
            )
        m = re.fullmatch(r"/api/v1/statuses/([^/]+)", path)
        if m and req.method == "GET":
            found = [s for s in self.statuses if s["id"] == m.group(1)]
            if not found:
                return self.error(404, "Record not found")
            return self._answer(self._public(found[0]))
        return self.error(404, "Record not found")

    def _validate(self, req: Request, path: str) -> None:
        spec = mastodon_spec()
        body = content_type = None
        if req.method == "POST" and path == "/api/v1/statuses":
            if req.content_type.startswith("application/x-www-form-urlencoded"):
                body = json.dumps(form_to_json(req.form())).encode()
                content_type = "application/json"
            key = req.headers.get("idempotency-key")
            if key is not None and not key.strip():
                raise Invalid("Idempotency-Key must not be empty")
        # The spec types the Idempotency-Key header as an object; Mastodon takes any string.
        saved = dict(req.headers)
        req.headers = {k: v for k, v in saved.items() if k != "idempotency-key"}
        original_path = req.path
        req.path = path
        try:
            with warnings.catch_warnings():  # openapi-core cannot check OAuth2 itself
                warnings.simplefilter("ignore", UserWarning)
                validate(spec, req, SPEC_SERVER, body=body, content_type=content_type)
        finally:
            req.headers = saved
            req.path = original_path

    @staticmethod
    def _parts(req: Request) -> dict[str, tuple[dict[str, str], bytes]]:
        """Multipart form fields: name -> (part headers, content)."""
        raw = b"Content-Type: " + req.content_type.encode() + b"\r\n\r\n" + req.body
        message = email.message_from_bytes(raw, policy=email.policy.HTTP)
        if not message.is_multipart():
            raise Invalid("Validation failed: expected multipart/form-data", 422)
        parts = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name:
                headers = {k.lower(): str(v) for k, v in part.items()}
                parts[name] = (headers, part.get_payload(decode=True) or b"")
        return parts

    def _instance(self, v2: bool) -> dict[str, Any]:
        statuses = {
            "max_characters": self.max_characters,
            "max_media_attachments": 4,
            "characters_reserved_per_url": self.url_length,
        }
        if not v2:
            return {
                "uri": self.domain,
                "title": "Mastodon stand-in",
                "version": "4.3.0",
                "configuration": {"statuses": statuses},
            }
        return {
            "domain": self.domain,
            "title": "Mastodon stand-in",
            "version": "4.3.0",
            "source_url": "https://github.com/mastodon/mastodon",
            "description": "A local stand-in",
            "api_versions": {"mastodon": 6},
            "configuration": {
                "urls": {"streaming": ""},
                "statuses": statuses,
                "media_attachments": {
                    "supported_mime_types": ["image/png", "image/jpeg", "image/webp", "image/gif"],
                    "image_size_limit": 16777216,
                    "description_limit": 1500,
                },
            },
        }

    def _account(self) -> dict[str, Any]:
        return {
            "id": self.account_id,
            "username": self.username,
            "acct": self.username,
            "display_name": "Front Porch Notes",
            "url": f"https://{self.domain}/@{self.username}",
            "created_at": "2023-01-01T00:00:00.000Z",
            "locked": False,
            "bot": False,
            "note": "",
            "followers_count": 12,
            "following_count": 3,
            "statuses_count": len(self.own_statuses()),
        }

    def _length(self, text: str) -> int:
        """Mastodon's count: URLs as the reserved length, the rest in grapheme clusters."""
        placeholder = "x" * self.url_length
        return len(regex.findall(r"\X", URL_RE.sub(placeholder, text)))

    def _post_status(self, req: Request) -> Response:
        data = form_to_json(req.form()) if "form" in req.content_type else req.json()
        key = req.headers.get("idempotency-key")
        now = self.now()
        if key:
            seen = self.idempotency.get(key)
            if seen and now - seen[0] < IDEMPOTENCY_SECONDS:
                existing = next(s for s in self.statuses if s["id"] == seen[1])
                return self._answer(self._public(existing))
        text = data.get("status", "")
        media_ids = data.get("media_ids") or []
        if not text and not media_ids:
            return self.error(422, "Validation failed: Text can't be blank")
        if self._length(text) > self.max_characters:
            raise Invalid(
                f"Validation failed: Text character limit of {self.max_characters} exceeded", 422
            )
        unknown = [m for m in media_ids if m not in self.media]
        if unknown:
            return self.error(422, "Validation failed: media not found")
        if any(self.media[m]["_polls_left"] > 0 for m in media_ids):
            return self.error(
                422, "Cannot attach files that have not finished processing. Try again in a moment!"
            )
        visibility = data.get("visibility", "public")
        if visibility not in ("public", "unlisted", "private", "direct"):
            raise Invalid("Validation failed: Visibility is not included in the list", 422)
        status_id = str(next(self._ids))
        status = {
            "id": status_id,
            "_text": text,
            "created_at": _iso(now),
            "visibility": visibility,
            "language": data.get("language"),
            "in_reply_to_id": data.get("in_reply_to_id"),
            "media_attachments": [self._media_public(self.media[m]) for m in media_ids],
        }
        self.statuses.insert(0, status)
        if key:
            self.idempotency[key] = (now, status_id)
        return self._answer(self._public(status))

    def _public(self, status: dict[str, Any]) -> dict[str, Any]:
        text = status["_text"]
        parts = []
        pos = 0
        for m in URL_RE.finditer(text):
            parts.append(html.escape(text[pos : m.start()]))
            href = html.escape(m.group(0))
            parts.append(f'<a href="{href}" rel="nofollow noopener" target="_blank">{href}</a>')
            pos = m.end()
        parts.append(html.escape(text[pos:]))
        paragraphs = "".join(parts).split("\n\n")
        content = "".join(f"<p>{p.replace(chr(10), '<br />')}</p>" for p in paragraphs)
        if status.get("_content") is not None:
            content = status["_content"]
        parent = next((s for s in self.statuses if s["id"] == status["in_reply_to_id"]), None)
        account = status.get("_account") or self._account()
        links = URL_RE.findall(text)
        home = account["url"].rsplit("/@", 1)[0]
        url = f"{home}/@{account['username']}/{status['id']}"
        return {
            "id": status["id"],
            "uri": f"{home}/users/{account['username']}/statuses/{status['id']}",
            "url": url,
            "created_at": status["created_at"],
            "account": account,
            "content": content,
            "visibility": status["visibility"],
            "sensitive": False,
            "spoiler_text": "",
            "language": status["language"],
            "in_reply_to_id": status["in_reply_to_id"],
            "in_reply_to_account_id": ((parent.get("_account") or self._account())["id"])
            if parent
            else None,
            "reblog": None,
            "media_attachments": status["media_attachments"],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "card": {"url": links[0], "title": "", "description": "", "type": "link"}
            if links
            else None,
            "replies_count": sum(1 for s in self.statuses if s["in_reply_to_id"] == status["id"]),
            "reblogs_count": status.get("_reblogs", 0),
            "favourites_count": status.get("_favourites", 0),
        }

    def _account_statuses(self, req: Request, account_id: str) -> Response:
        if account_id != self.account_id:
            return self.error(404, "Record not found")
        limit = min(int(req.arg("limit", "20") or 20), 40)
        items = self.own_statuses()
        max_id = req.arg("max_id")
        if max_id:
            items = [s for s in items if int(s["id"]) < int(max_id)]
        page = items[:limit]
        headers = self._ratelimit_headers()
        if len(items) > limit:
            nxt = f"{self.url}/api/v1/accounts/{account_id}/statuses?max_id={page[-1]['id']}"
            headers["Link"] = f'<{nxt}>; rel="next"'
        return Response(200, [self._public(s) for s in page], headers)

    def _post_media(self, req: Request) -> Response:
        parts = self._parts(req)
        if "file" not in parts or not parts["file"][1]:
            raise Invalid("Validation failed: File can't be blank", 422)
        description = parts.get("description", ({}, b""))[1].decode("utf-8")
        if len(description) > 1500:
            raise Invalid("Validation failed: Description is too long (maximum is 1500)", 422)
        media_id = str(next(self._ids))
        media = {
            "id": media_id,
            "type": "image",
            "url": f"https://files.{self.domain}/media/{media_id}.png",
            "preview_url": f"https://files.{self.domain}/media/{media_id}-small.png",
            "description": description,
            "blurhash": None,
            "meta": {},
            "_size": len(parts["file"][1]),
            "_polls_left": self.media_processing_polls,
        }
        self.media[media_id] = media
        if self.media_processing_polls:
            return self._answer(self._media_public(media, ready=False), 202)
        return self._answer(self._media_public(media))

    @staticmethod
    def _media_public(media: dict[str, Any], ready: bool = True) -> dict[str, Any]:
        public = {k: v for k, v in media.items() if not k.startswith("_")}
        if not ready:
            public["url"] = None
        return public
