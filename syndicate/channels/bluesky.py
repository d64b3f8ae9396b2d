"""Bluesky: one `app.bsky.feed.post` record per post through the atproto SDK.

Exactly once: prepare() builds the whole record (text, facets, createdAt, link card,
langs) and a record key (a TID derived from the post's date and ID), and the runner
stores both in the ledger before the first attempt. send() writes that exact record
with `com.atproto.repo.putRecord` under that key, so a repeat rewrites the same record
instead of adding a post; find_existing() asks for the record by its key.

The card's thumbnail is the post's image from the build output; its blob reference
(a CID of the file's bytes) is computed locally, so the record is known before any
network call, and uploadBlob is checked to return that same CID.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import mimetypes
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
import libipld
from atproto import Client, models
from atproto_client.exceptions import (
    AtProtocolError,
    BadRequestError,
    NetworkError,
    RateLimitExceededError,
    RequestException,
    UnauthorizedError,
)
from atproto_client.models.utils import get_model_as_json, get_or_create
from atproto_client.request import Request

from syndicate import textfit
from syndicate.channels.base import Channel, CheckResult, Draft, Remote
from syndicate.channels.social import earlier_sends, site_file, social_draft
from syndicate.errors import AuthError, PermanentError, RateLimited, TransientError
from syndicate.post import Post

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "SYNDICATE_BLUESKY_TEMPLATE": "{title}\n\n{summary}\n\n{url}\n\n{hashtags}",
    "SYNDICATE_BLUESKY_HASHTAGS": 3,
    "SYNDICATE_BLUESKY_LANGS": [],  # [] = [DEFAULT_LANG]
    "SYNDICATE_BLUESKY_CARD": True,
    "SYNDICATE_BLUESKY_TIMEOUT": None,  # seconds; None = SYNDICATE_TIMEOUT
}
COLLECTION = "app.bsky.feed.post"
MAX_GRAPHEMES = 300
MAX_BYTES = 3000
THUMB_MAX_BYTES = 1_000_000
DEFAULT_PDS = "https://bsky.social"
B32_SORTABLE = "234567abcdefghijklmnopqrstuvwxyz"
AUTH_HINT = (
    "token expired or app password revoked: create a new app password (Settings → "
    "Privacy and security → App passwords) and set BLUESKY_APP_PASSWORD"
)


def get_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    values = {key: settings.get(key, default) for key, default in DEFAULTS.items()}
    if values["SYNDICATE_BLUESKY_TIMEOUT"] is None:
        values["SYNDICATE_BLUESKY_TIMEOUT"] = settings.get("SYNDICATE_TIMEOUT", 20.0)
    langs = values["SYNDICATE_BLUESKY_LANGS"] or [settings.get("DEFAULT_LANG") or "en"]
    if isinstance(langs, str):
        langs = [langs]
    if len(langs) > 3:
        raise ValueError("SYNDICATE_BLUESKY_LANGS takes at most 3 languages")
    values["SYNDICATE_BLUESKY_LANGS"] = list(langs)
    return values


def tid(micros: int, clock_id: int) -> str:
    """A TID: 64 bits (top bit 0, 53 bits of microseconds, 10 bits of clock id), 13 chars."""
    value = ((micros & ((1 << 53) - 1)) << 10) | (clock_id & 0x3FF)
    chars = []
    for _ in range(13):
        chars.append(B32_SORTABLE[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def record_key(post_id: str, date: datetime, generation: int = 0) -> str:
    """Deterministic TID for a post: its date, plus up to a second and a clock id from
    a hash of its ID (and re-send generation), so posts of the same minute differ."""
    seed = f"{post_id}\n{generation}" if generation else post_id
    digest = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big")
    micros = int(date.timestamp()) * 1_000_000 + digest % 1_000_000
    return tid(micros, (digest >> 20) & 0x3FF)


def blob_cid(data: bytes) -> str:
    """The CID a PDS gives a blob: CIDv1, raw codec, sha2-256."""
    return libipld.encode_cid(b"\x01\x55\x12\x20" + hashlib.sha256(data).digest())


def shrink_image(data: bytes, max_bytes: int = THUMB_MAX_BYTES) -> bytes | None:
    """A JPEG of at most `max_bytes` (at most 2000 px wide), or None if it cannot be read.

    Deterministic for the same input, so a re-run computes the same blob CID."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError):
        return None
    image = image.convert("RGB")
    size = 2000
    for quality in (85, 75, 65, 55, 45):
        copy = image.copy()
        copy.thumbnail((size, size))
        out = io.BytesIO()
        copy.save(out, "JPEG", quality=quality, optimize=True)
        if out.tell() <= max_bytes:
            return out.getvalue()
        size = int(size * 0.75)
    return None


def normalize_record(record: dict[str, Any]) -> dict[str, Any]:
    """The record as the SDK serializes it (nested `$type`s added), so the ledger holds
    byte for byte what putRecord sends."""
    model = get_or_create(record, models.AppBskyFeedPost.Record)
    return json.loads(get_model_as_json(model))


def iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class BlueskyChannel(Channel):
    name = "bluesky"
    env_vars = ("BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD")

    def __init__(self, settings: Mapping[str, Any], env: Mapping[str, str]):
        super().__init__(settings, env)
        self.options = get_settings(settings)
        self._client: Client | None = None
        self._did: str | None = None
        self._handle: str | None = None

    # -- the client -----------------------------------------------------------------------
    @property
    def pds(self) -> str:
        return self.env.get("BLUESKY_PDS_URL") or DEFAULT_PDS

    def _where(self, post: Post | None) -> dict[str, Any]:
        return {"channel": self.name, "post": post.slug if post else None}

    def _call(self, what: str, func, *args, post: Post | None = None, **kwargs):
        """Run one SDK call; map atproto's errors onto syndicate.errors."""
        where = self._where(post)
        try:
            return func(*args, **kwargs)
        except RateLimitExceededError as e:
            raise RateLimited(f"{what}: rate limited", retry_after=_retry_after(e), **where) from e
        except UnauthorizedError as e:
            raise AuthError(
                f"{what}: not authorized", service_text=_service_text(e), hint=AUTH_HINT, **where
            ) from e
        except BadRequestError as e:
            text = _service_text(e)
            if text.startswith(("ExpiredToken", "InvalidToken", "AuthenticationRequired")):
                raise AuthError(
                    f"{what}: session refused", service_text=text, hint=AUTH_HINT, **where
                ) from e
            raise PermanentError(f"{what}: refused (400)", service_text=text, **where) from e
        except NetworkError as e:
            status = e.response.status_code if e.response is not None else 0
            if status == 413:
                raise PermanentError(
                    f"{what}: too large", service_text=_service_text(e), **where
                ) from e
            raise TransientError(f"{what}: network error or timeout", **where) from e
        except RequestException as e:
            status = e.response.status_code if e.response is not None else 0
            text = _service_text(e)
            if status >= 500 or status == 0:
                raise TransientError(
                    f"{what}: server error {status}", service_text=text, **where
                ) from e
            raise PermanentError(f"{what}: refused ({status})", service_text=text, **where) from e
        except (httpx.HTTPError, OSError) as e:
            raise TransientError(f"{what}: network error", **where) from e
        except AtProtocolError as e:
            raise PermanentError(f"{what}: {type(e).__name__}: {e}", **where) from e

    @property
    def client(self) -> Client:
        if self._client is None:
            timeout = float(self.options["SYNDICATE_BLUESKY_TIMEOUT"])
            client = Client(base_url=self.pds, request=Request(timeout=httpx.Timeout(timeout)))
            self._call(
                "log in",
                client.login,
                self.env.get("BLUESKY_HANDLE"),
                self.env.get("BLUESKY_APP_PASSWORD"),
                fetch_bsky_profile=False,
            )
            session = self._call("read the session", client.com.atproto.server.get_session)
            self._did, self._handle = session.did, session.handle
            self._client = client
        return self._client

    # -- the interface ----------------------------------------------------------------------
    def check(self) -> CheckResult:
        self.client  # noqa: B018 (logging in is the check)
        return CheckResult(
            self.name,
            True,
            f"@{self._handle} ({self._did}) on {self.pds}: {MAX_GRAPHEMES} graphemes",
        )

    def render(self, post: Post) -> Draft:
        return social_draft(
            self,
            post,
            textfit.bluesky_counter(MAX_GRAPHEMES, MAX_BYTES),
            lambda text: {
                "facets": textfit.facets(text),
                "langs": self.options["SYNDICATE_BLUESKY_LANGS"],
            },
        )

    def _thumb(self, post: Post) -> tuple[dict[str, Any], bytes] | None:
        if not post.image:
            return None
        path = site_file(self.settings, post.image)
        if path is None:
            log.warning(
                "bluesky: image %s of %r is not in the build output under SITEURL; "
                "the card has no thumbnail",
                post.image,
                post.slug,
            )
            return None
        data = path.read_bytes()
        mime = mimetypes.guess_type(path.name)[0] or "image/jpeg"
        if len(data) > THUMB_MAX_BYTES:
            data = shrink_image(data)
            mime = "image/jpeg"
            if data is None:
                log.warning(
                    "bluesky: image %s cannot be made smaller than 1 MB; the card has no thumbnail",
                    post.image,
                )
                return None
        ref = {
            "$type": "blob",
            "ref": {"$link": blob_cid(data)},
            "mimeType": mime,
            "size": len(data),
        }
        return ref, data

    def build_record(self, post: Post, draft: Draft, created_at: str) -> dict[str, Any]:
        """The exact record that will be written (pure: no network)."""
        record: dict[str, Any] = {
            "$type": COLLECTION,
            "text": draft.text,
            "createdAt": created_at,
            "langs": list(draft.extra.get("langs") or []),
        }
        facets = draft.extra.get("facets") or textfit.facets(draft.text)
        if facets:
            record["facets"] = facets
        if self.options["SYNDICATE_BLUESKY_CARD"]:
            external: dict[str, Any] = {
                "uri": post.url,
                "title": post.title,
                "description": post.summary_text,
            }
            thumb = self._thumb(post)
            if thumb:
                external["thumb"] = thumb[0]
            record["embed"] = {"$type": "app.bsky.embed.external", "external": external}
        return normalize_record(record)

    def prepare(self, post: Post, draft: Draft) -> dict[str, Any]:
        return {
            "rkey": record_key(post.id, post.date),
            "record": self.build_record(post, draft, iso_now()),
        }

    def _intent(self, post: Post, draft: Draft | None, item: Mapping[str, Any]) -> dict[str, Any]:
        intent = dict(item.get("intent") or {})
        generation = int(item.get("generation") or 0)
        if not intent.get("record") and draft is not None:
            intent.update(self.prepare(post, draft))
        intent.setdefault("rkey", record_key(post.id, post.date, generation))
        return intent

    def _remote(self, uri: str, rkey: str) -> Remote:
        return Remote(id=uri, url=f"https://bsky.app/profile/{self._handle}/post/{rkey}")

    def find_existing(self, post: Post, item: Mapping[str, Any]) -> Remote | None:
        rkey = self._intent(post, None, item)["rkey"]
        client = self.client
        try:
            found = self._call(
                "look up the record",
                client.com.atproto.repo.get_record,
                {"repo": self._did, "collection": COLLECTION, "rkey": rkey},
                post=post,
            )
        except PermanentError as e:
            if "RecordNotFound" in (e.service_text or "") or "not found" in str(e).lower():
                return None
            raise
        if found.uri in earlier_sends(item):
            return None
        return self._remote(found.uri, rkey)

    def send(self, post: Post, draft: Draft, item: Mapping[str, Any]) -> Remote:
        intent = self._intent(post, draft, item)
        record = intent["record"]
        client = self.client
        thumb = ((record.get("embed") or {}).get("external") or {}).get("thumb")
        if thumb:
            data = self._thumb(post)
            if data is None or data[0]["ref"]["$link"] != thumb["ref"]["$link"]:
                raise PermanentError(
                    "the card image changed since the record was prepared",
                    hint="restore the image, or re-send the post with --resend",
                    **self._where(post),
                )
            uploaded = self._call(
                "upload the card image",
                client.com.atproto.repo.upload_blob,
                data[1],
                headers={"Content-Type": thumb["mimeType"]},
                post=post,
            )
            if str(uploaded.blob.ref.link) != thumb["ref"]["$link"]:
                raise PermanentError("the PDS gave the card image another CID", **self._where(post))
        written = self._call(
            "write the post record",
            client.com.atproto.repo.put_record,
            {"repo": self._did, "collection": COLLECTION, "rkey": intent["rkey"], "record": record},
            post=post,
        )
        return self._remote(written.uri, intent["rkey"])


def _service_text(error: Exception) -> str:
    response = getattr(error, "response", None)
    content = getattr(response, "content", None)
    if content is None:
        return str(error)
    code = getattr(content, "error", None)
    message = getattr(content, "message", None)
    if code:
        return f"{code}: {message}" if message else str(code)
    if isinstance(content, bytes):
        return content.decode("utf-8", "replace")[:300]
    return str(content)[:300]


def _retry_after(error: Exception) -> float | None:
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None) or {}
    if headers.get("retry-after"):
        try:
            return max(0.0, float(headers["retry-after"]))
        except ValueError:
            pass
    reset = headers.get("ratelimit-reset")
    if reset:
        try:
            return max(0.0, float(reset) - datetime.now(UTC).timestamp())
        except ValueError:
            return None
    return None
