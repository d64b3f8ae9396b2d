"""A Bluesky PDS stand-in (XRPC) for the real `atproto` SDK.

Requests are checked against the lexicons' rules: sessions with well-formed HS256 JWTs
(Bearer auth on every authenticated call, expiry honoured), `app.bsky.feed.post` records
(text ≤ 300 graphemes and ≤ 3000 UTF-8 bytes, RFC 3339 `createdAt`, at most 3 langs,
facets whose byte ranges lie inside the text on character boundaries and cover the very
link or hashtag they describe, an external embed whose thumbnail is a blob uploaded
before), TID record keys and the repo being the logged-in account. State is kept like a
PDS: records by (collection, rkey) with CIDs of their content, uploaded blobs. Errors are
XRPC documents `{"error": "...", "message": "..."}`; every answer carries the
`ratelimit-*` headers.

    with BlueskyStandIn() as bsky:
        env = bsky.env()          # BLUESKY_HANDLE, BLUESKY_APP_PASSWORD, BLUESKY_PDS_URL
        ...
        assert bsky.delivered("https://example.com/2024/01/post/") == 1

Replies and engagement, as an AppView answers through the PDS: `add_reply(parent_uri,
text, handle=...)` adds a reply by another account (or the writer's own, `own=True`),
checked against the same post lexicon; `block()`, `not_found()` and `hide()` (the
writer's threadgate) make a reply unviewable, `delete()` removes it, `like()`/`repost()`
count reactions. `app.bsky.feed.getPostThread` and `app.bsky.feed.getPosts` check their
parameters against the lexicons (at-uri, depth/parentHeight ranges, at most 25 uris) and
answer `threadViewPost` / `postView` shapes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import time
from typing import Any

import libipld
import regex

from .base import Invalid, Request, Response, StandIn

TID_RE = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
LANG_RE = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]+)*$")
POST = "app.bsky.feed.post"
AT_URI_RE = re.compile(
    r"^at://[a-zA-Z0-9._:%-]+(/[a-zA-Z0-9.-]+(/[a-zA-Z0-9._~:@!$&')(*+,;=-]+)?)?$"
)


class Refused(Exception):
    """A service answer that is no malformed request (bad or expired token): not a violation."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def record_cid(record: Any) -> str:
    """CIDv1 dag-cbor sha2-256 of a record, like a PDS computes it."""
    return libipld.encode_cid(
        b"\x01\x71\x12\x20" + hashlib.sha256(libipld.encode_dag_cbor(record)).digest()
    )


def blob_cid(data: bytes) -> str:
    return libipld.encode_cid(b"\x01\x55\x12\x20" + hashlib.sha256(data).digest())


class BlueskyStandIn(StandIn):
    name = "bluesky"

    def __init__(
        self,
        *,
        handle: str = "frontporch.example",
        app_password: str = "abcd-efgh-ijkl-mnop",  # noqa: S107 (a stand-in's fixed password)
        did: str = "did:plc:frontporchstandin0000",
        access_seconds: int = 7200,
    ):
        super().__init__()
        self.handle = handle
        self.app_password = app_password
        self.did = did
        self.access_seconds = access_seconds
        self.secret = b"stand-in signing key"
        self.records: dict[tuple[str, str], dict[str, Any]] = {}  # (collection, rkey) -> entry
        self.blobs: dict[str, dict[str, Any]] = {}  # cid -> {mimeType, size}
        self.writes: list[tuple[str, str]] = []  # every (collection, rkey) written, in order
        self.revoked = False
        self.ratelimit_remaining = 5000
        # replies by any account, and counts: uri -> entry (author, record, flags)
        self.others: dict[str, dict[str, Any]] = {}
        self.counts: dict[str, dict[str, int]] = {}  # uri -> {"likes": n, "reposts": n}
        self.hidden: set[str] = set()  # reply uris hidden by the writer's threadgate
        self._reply_seq = itertools.count(1)
        self._jti = itertools.count(1)

    # -- helpers for tests ----------------------------------------------------------------
    def env(self) -> dict[str, str]:
        return {
            "BLUESKY_HANDLE": self.handle,
            "BLUESKY_APP_PASSWORD": self.app_password,
            "BLUESKY_PDS_URL": self.url,
        }

    def posts(self) -> list[dict[str, Any]]:
        with self.lock:
            return [e["value"] for (c, _), e in self.records.items() if c == POST]

    def delivered(self, post_url: str) -> int:
        """Post records whose text or link card contains `post_url`."""
        count = 0
        for value in self.posts():
            external = (value.get("embed") or {}).get("external") or {}
            if post_url in value.get("text", "") or post_url in external.get("uri", ""):
                count += 1
        return count

    def own_uri(self, rkey: str) -> str:
        return f"at://{self.did}/{POST}/{rkey}"

    def add_post(self, text: str) -> str:
        """A top-level post of the writer, as a run of the channel would have made it."""
        with self.lock:
            record = {
                "$type": POST,
                "text": text,
                "createdAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "langs": ["en"],
            }
            self.validate_post(record)
            rkey = "3m" + "".join(
                "234567abcdefghijklmnopqrstuvwxyz"[(len(self.records) >> (5 * i)) & 31]
                for i in range(10, -1, -1)
            )
            self.records[(POST, rkey)] = {"cid": record_cid(record), "value": record}
            return self.own_uri(rkey)

    def add_reply(
        self,
        parent_uri: str,
        text: str,
        *,
        handle: str = "reader.bsky.example",
        display_name: str = "",
        own: bool = False,
        labels: tuple[str, ...] = (),
        extra: dict[str, Any] | None = None,
    ) -> str:
        """A reply to `parent_uri` by `handle` (or the writer); returns its at:// uri."""
        with self.lock:
            parent = self._view_entry(parent_uri)
            if parent is None:
                raise KeyError(parent_uri)
            root = (parent["value"].get("reply") or {}).get("root") or {
                "uri": parent_uri,
                "cid": parent["cid"],
            }
            did = self.did if own else "did:plc:" + hashlib.sha256(handle.encode()).hexdigest()[:24]
            seq = next(self._reply_seq)
            rkey = "3m" + "".join(
                "234567abcdefghijklmnopqrstuvwxyz"[(seq >> (5 * i)) & 31] for i in range(10, -1, -1)
            )
            record = {
                "$type": POST,
                "text": text,
                "createdAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "langs": ["en"],
                "reply": {"root": root, "parent": {"uri": parent_uri, "cid": parent["cid"]}},
                **(extra or {}),
            }
            self.validate_post(record)
            uri = f"at://{did}/{POST}/{rkey}"
            author = {
                "did": did,
                "handle": self.handle if own else handle,
                "displayName": "Front Porch Notes" if own else (display_name or handle),
                "avatar": f"https://cdn.bsky.example/avatar/{did}.jpg",
                "labels": [
                    {
                        "src": did,
                        "uri": f"at://{did}/app.bsky.actor.profile/self",
                        "val": value,
                        "cts": record["createdAt"],
                    }
                    for value in labels
                ],
            }
            self.others[uri] = {"cid": record_cid(record), "value": record, "author": author}
            return uri

    def delete(self, uri: str) -> None:
        with self.lock:
            self.others.pop(uri, None)

    def block(self, uri: str) -> None:
        """The reply's author blocks the writer (or the other way round): #blockedPost."""
        with self.lock:
            self.others[uri]["blocked"] = True

    def not_found(self, uri: str) -> None:
        """The AppView cannot show the reply (taken down, deactivated): #notFoundPost."""
        with self.lock:
            self.others[uri]["missing"] = True

    def detach(self, uri: str) -> None:
        """The reply quotes a post whose author detached it (postgate): #viewDetached."""
        with self.lock:
            self.others[uri]["detached"] = True

    def hide(self, uri: str) -> None:
        """The writer hides a reply with a threadgate on the thread's root."""
        with self.lock:
            self.hidden.add(uri)

    def like(self, uri: str, times: int = 1) -> None:
        with self.lock:
            self.counts.setdefault(uri, {}).setdefault("likes", 0)
            self.counts[uri]["likes"] += times

    def repost(self, uri: str, times: int = 1) -> None:
        with self.lock:
            self.counts.setdefault(uri, {}).setdefault("reposts", 0)
            self.counts[uri]["reposts"] += times

    # -- tokens ------------------------------------------------------------------------------
    def _jwt(self, scope: str, typ: str, seconds: int) -> str:
        now = int(time.time())
        header = {"typ": typ, "alg": "HS256"}
        payload = {
            "scope": scope,
            "sub": self.did,
            "aud": "did:web:127.0.0.1",
            "iat": now,
            "exp": now + seconds,
            "jti": f"standin-{next(self._jti)}",
        }
        signing = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(payload).encode())
        signature = hmac.new(self.secret, signing.encode(), hashlib.sha256).digest()
        return signing + "." + _b64(signature)

    def _verify(self, req: Request, scope: str) -> None:
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            raise Refused("AuthenticationRequired: Authentication Required", 401)
        token = auth[len("Bearer ") :]
        parts = token.split(".")
        if len(parts) != 3:
            raise Invalid("InvalidToken: Malformed token", 400)
        expected = hmac.new(self.secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256)
        if not hmac.compare_digest(_b64(expected.digest()), parts[2]):
            raise Invalid("InvalidToken: Token could not be verified", 400)
        payload = json.loads(_unb64(parts[1]))
        if payload.get("scope") != scope:
            raise Invalid("InvalidToken: Bad token scope", 400)
        if self.revoked:
            raise Refused("AuthenticationRequired: Token has been revoked", 401)
        if payload["exp"] <= time.time():
            raise Refused("ExpiredToken: Token has expired", 400)

    # -- the service ---------------------------------------------------------------------------
    def error(self, status: int, message: str) -> Response:
        code, _, text = message.partition(": ")
        if not text:
            code, text = "InvalidRequest", message
        return Response(status, {"error": code, "message": text}, self._headers())

    def _headers(self) -> dict[str, str]:
        return {
            "ratelimit-limit": "5000",
            "ratelimit-remaining": str(max(self.ratelimit_remaining, 0)),
            "ratelimit-reset": str(int(time.time()) + 3600),
            "ratelimit-policy": "5000;w=3600",
        }

    def _ok(self, body: Any) -> Response:
        return Response(200, body, self._headers())

    def route(self, req: Request) -> Response:
        if not req.path.startswith("/xrpc/"):
            return self.error(404, "NotFound: Not Found")
        nsid = req.path[len("/xrpc/") :]
        handler = {
            ("POST", "com.atproto.server.createSession"): self._create_session,
            ("POST", "com.atproto.server.refreshSession"): self._refresh_session,
            ("GET", "com.atproto.server.getSession"): self._get_session,
            ("POST", "com.atproto.repo.uploadBlob"): self._upload_blob,
            ("POST", "com.atproto.repo.putRecord"): self._put_record,
            ("GET", "com.atproto.repo.getRecord"): self._get_record,
            ("GET", "app.bsky.feed.getPostThread"): self._get_post_thread,
            ("GET", "app.bsky.feed.getPosts"): self._get_posts,
        }.get((req.method, nsid))
        if handler is None:
            raise Invalid(f"MethodNotImplemented: Method Not Implemented: {nsid}", 501)
        self.ratelimit_remaining -= 1
        try:
            return handler(req)
        except Refused as e:
            return self.error(e.status, str(e))

    def _session_body(self) -> dict[str, Any]:
        return {
            "accessJwt": self._jwt("com.atproto.access", "at+jwt", self.access_seconds),
            "refreshJwt": self._jwt("com.atproto.refresh", "refresh+jwt", 90 * 86400),
            "handle": self.handle,
            "did": self.did,
            "active": True,
        }

    def _create_session(self, req: Request) -> Response:
        body = req.json()
        if not isinstance(body, dict) or not isinstance(body.get("identifier"), str):
            raise Invalid('InvalidRequest: Input must have the property "identifier"')
        if not isinstance(body.get("password"), str):
            raise Invalid('InvalidRequest: Input must have the property "password"')
        if body["identifier"] not in (self.handle, self.did) or (
            body["password"] != self.app_password or self.revoked
        ):
            return self.error(401, "AuthenticationRequired: Invalid identifier or password")
        return self._ok(self._session_body())

    def _refresh_session(self, req: Request) -> Response:
        self._verify(req, "com.atproto.refresh")
        return self._ok(self._session_body())

    def _get_session(self, req: Request) -> Response:
        self._verify(req, "com.atproto.access")
        return self._ok({"handle": self.handle, "did": self.did, "active": True})

    def _upload_blob(self, req: Request) -> Response:
        self._verify(req, "com.atproto.access")
        mime = req.content_type.split(";")[0].strip()
        if not mime or mime == "*/*":
            raise Invalid("InvalidRequest: blob needs a Content-Type")
        if not req.body:
            raise Invalid("InvalidRequest: empty blob")
        cid = blob_cid(req.body)
        self.blobs[cid] = {"mimeType": mime, "size": len(req.body)}
        ref = {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": len(req.body)}
        return self._ok({"blob": ref})

    def _check_repo(self, repo: Any) -> None:
        if repo not in (self.did, self.handle):
            raise Invalid(f"InvalidRequest: Could not find repo: {repo}")

    def _put_record(self, req: Request) -> Response:
        self._verify(req, "com.atproto.access")
        body = req.json()
        if not isinstance(body, dict):
            raise Invalid("InvalidRequest: Input must be an object")
        self._check_repo(body.get("repo"))
        collection, rkey, record = body.get("collection"), body.get("rkey"), body.get("record")
        if collection != POST:
            raise Invalid(f"InvalidRequest: this stand-in only keeps {POST} records")
        if not isinstance(rkey, str) or not TID_RE.match(rkey):
            raise Invalid(f"InvalidRequest: Invalid record key for {POST}: must be a TID")
        self.validate_post(record)
        cid = record_cid(record)
        key = (collection, rkey)
        existing = self.records.get(key)
        if not existing or existing["cid"] != cid:
            self.records[key] = {"cid": cid, "value": record}
            self.writes.append(key)
        uri = f"at://{self.did}/{collection}/{rkey}"
        return self._ok({"uri": uri, "cid": cid, "validationStatus": "valid"})

    def _get_record(self, req: Request) -> Response:
        self._check_repo(req.arg("repo"))
        collection, rkey = req.arg("collection"), req.arg("rkey")
        uri = f"at://{self.did}/{collection}/{rkey}"
        entry = self.records.get((collection, rkey))
        if entry is None:
            return self.error(400, f"RecordNotFound: Could not locate record: {uri}")
        return self._ok({"uri": uri, "cid": entry["cid"], "value": entry["value"]})

    # -- the AppView's reading of threads (through the PDS, like the real proxy) ----------------
    def _view_entry(self, uri: str) -> dict[str, Any] | None:
        """The stored post behind an at:// uri: the writer's record or someone's reply."""
        if uri in self.others:
            return self.others[uri]
        m = re.fullmatch(r"at://([^/]+)/([^/]+)/([^/]+)", uri)
        if m and m.group(1) in (self.did, self.handle):
            return self.records.get((m.group(2), m.group(3)))
        return None

    @staticmethod
    def _at_uri(value: Any, name: str) -> str:
        if not isinstance(value, str) or not AT_URI_RE.match(value):
            raise Invalid(f"InvalidRequest: {name} must be a valid at-uri")
        return value

    @staticmethod
    def _int_param(req: Request, name: str, default: int, maximum: int) -> int:
        raw = req.arg(name)
        if raw is None:
            return default
        if not re.fullmatch(r"\d+", raw) or int(raw) > maximum:
            raise Invalid(f"InvalidRequest: {name} must be an integer from 0 to {maximum}")
        return int(raw)

    def _post_view(self, uri: str, entry: dict[str, Any]) -> dict[str, Any]:
        own = uri not in self.others
        author = entry.get("author") or {
            "did": self.did,
            "handle": self.handle,
            "displayName": "Front Porch Notes",
            "labels": [],
        }
        counts = self.counts.get(uri, {})
        replies = [
            u
            for u, e in self.others.items()
            if ((e["value"].get("reply") or {}).get("parent") or {}).get("uri") == uri
        ]
        view = {
            "$type": "app.bsky.feed.defs#postView",
            "uri": uri,
            "cid": entry["cid"],
            "author": {"$type": "app.bsky.actor.defs#profileViewBasic", **author},
            "record": entry["value"],
            "indexedAt": entry["value"]["createdAt"],
            "replyCount": len(replies),
            "repostCount": counts.get("reposts", 0),
            "likeCount": counts.get("likes", 0),
            "quoteCount": 0,
            "labels": [],
        }
        if entry.get("detached"):
            parent = ((entry["value"].get("reply") or {}).get("parent") or {}).get("uri", "")
            view["embed"] = {
                "$type": "app.bsky.embed.record#view",
                "record": {
                    "$type": "app.bsky.embed.record#viewDetached",
                    "uri": parent,
                    "detached": True,
                },
            }
        if own and not entry["value"].get("reply") and self.hidden:
            view["threadgate"] = self._threadgate(uri)
        return view

    def _threadgate(self, root_uri: str) -> dict[str, Any]:
        rkey = root_uri.rsplit("/", 1)[1]
        record = {
            "$type": "app.bsky.feed.threadgate",
            "post": root_uri,
            "createdAt": "2026-01-01T00:00:00.000Z",
            "hiddenReplies": sorted(self.hidden),
        }
        return {
            "uri": f"at://{self.did}/app.bsky.feed.threadgate/{rkey}",
            "cid": record_cid(record),
            "record": record,
            "lists": [],
        }

    def _thread_node(self, uri: str, depth: int) -> dict[str, Any]:
        entry = self._view_entry(uri)
        if entry is None or entry.get("missing"):
            return {"$type": "app.bsky.feed.defs#notFoundPost", "uri": uri, "notFound": True}
        if entry.get("blocked"):
            return {
                "$type": "app.bsky.feed.defs#blockedPost",
                "uri": uri,
                "blocked": True,
                "author": {"did": entry["author"]["did"], "viewer": {"blockedBy": True}},
            }
        node: dict[str, Any] = {
            "$type": "app.bsky.feed.defs#threadViewPost",
            "post": self._post_view(uri, entry),
        }
        if depth > 0:
            children = sorted(
                (
                    (e["value"]["createdAt"], u)
                    for u, e in self.others.items()
                    if ((e["value"].get("reply") or {}).get("parent") or {}).get("uri") == uri
                ),
            )
            node["replies"] = [self._thread_node(u, depth - 1) for _, u in children]
        return node

    def _get_post_thread(self, req: Request) -> Response:
        self._verify(req, "com.atproto.access")
        uri = self._at_uri(req.arg("uri"), "uri")
        depth = self._int_param(req, "depth", 6, 1000)
        self._int_param(req, "parentHeight", 80, 1000)
        if self._view_entry(uri) is None:
            return self.error(400, f"NotFound: Post not found: {uri}")
        return self._ok({"thread": self._thread_node(uri, depth)})

    def _get_posts(self, req: Request) -> Response:
        self._verify(req, "com.atproto.access")
        uris = req.query.get("uris") or []
        if not uris or len(uris) > 25:
            raise Invalid("InvalidRequest: uris must have 1 to 25 elements")
        posts = []
        for uri in uris:
            entry = self._view_entry(self._at_uri(uri, "uris"))
            if entry is not None and not entry.get("missing") and not entry.get("blocked"):
                posts.append(self._post_view(uri, entry))
        return self._ok({"posts": posts})

    # -- lexicon rules for app.bsky.feed.post ---------------------------------------------------
    def validate_post(self, record: Any) -> None:
        def bad(message: str) -> Invalid:
            return Invalid(f"InvalidRequest: Invalid app.bsky.feed.post record: {message}")

        if not isinstance(record, dict) or record.get("$type") != POST:
            raise bad("Record/$type must be app.bsky.feed.post")
        text = record.get("text")
        if not isinstance(text, str):
            raise bad('Record must have the property "text"')
        if len(regex.findall(r"\X", text)) > 300:
            raise bad("Record/text must not be longer than 300 graphemes")
        raw = text.encode("utf-8")
        if len(raw) > 3000:
            raise bad("Record/text must not be longer than 3000 characters")
        created = record.get("createdAt")
        if not isinstance(created, str) or not DATETIME_RE.match(created):
            raise bad("Record/createdAt must be an valid atproto datetime")
        langs = record.get("langs", [])
        if not isinstance(langs, list) or len(langs) > 3:
            raise bad("Record/langs must not have more than 3 elements")
        if not all(isinstance(lang, str) and LANG_RE.match(lang) for lang in langs):
            raise bad("Record/langs must be valid language tags")
        for n, facet in enumerate(record.get("facets") or []):
            self._validate_facet(raw, facet, bad, n)
        embed = record.get("embed")
        if embed is not None:
            self._validate_embed(embed, bad)

    def _validate_facet(self, raw: bytes, facet: Any, bad, n: int) -> None:
        index = facet.get("index") if isinstance(facet, dict) else None
        if not isinstance(index, dict):
            raise bad(f"Record/facets/{n}/index is required")
        start, end = index.get("byteStart"), index.get("byteEnd")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(raw)):
            raise bad(f"Record/facets/{n}/index is outside the text")
        try:
            piece = raw[start:end].decode("utf-8")
        except UnicodeDecodeError as e:
            raise bad(f"Record/facets/{n}/index splits a character") from e
        features = facet.get("features")
        if not isinstance(features, list) or not features:
            raise bad(f"Record/facets/{n}/features must not be empty")
        for feature in features:
            kind = feature.get("$type") if isinstance(feature, dict) else None
            if kind == "app.bsky.richtext.facet#link":
                uri = feature.get("uri")
                if not isinstance(uri, str) or not re.match(r"^[a-z][a-z0-9+.-]*:\S+$", uri):
                    raise bad(f"Record/facets/{n}/features/uri must be a valid uri")
                if piece != uri:
                    raise bad(f"Record/facets/{n} covers {piece!r}, not its link {uri!r}")
            elif kind == "app.bsky.richtext.facet#tag":
                tag = feature.get("tag")
                if not isinstance(tag, str) or not tag:
                    raise bad(f"Record/facets/{n}/features/tag is required")
                if len(regex.findall(r"\X", tag)) > 64 or len(tag.encode()) > 640:
                    raise bad(f"Record/facets/{n}/features/tag is too long")
                if piece not in ("#" + tag, "＃" + tag):
                    raise bad(f"Record/facets/{n} covers {piece!r}, not the tag #{tag}")
            elif kind != "app.bsky.richtext.facet#mention":
                raise bad(f"Record/facets/{n}/features has unknown type {kind!r}")

    def _validate_embed(self, embed: Any, bad) -> None:
        if not isinstance(embed, dict) or embed.get("$type") != "app.bsky.embed.external":
            raise bad("Record/embed: this stand-in takes app.bsky.embed.external cards")
        external = embed.get("external")
        if not isinstance(external, dict):
            raise bad('Record/embed must have the property "external"')
        for key in ("uri", "title", "description"):
            if not isinstance(external.get(key), str):
                raise bad(f'Record/embed/external must have the property "{key}"')
        if not re.match(r"^https?://\S+$", external["uri"]):
            raise bad("Record/embed/external/uri must be a valid uri")
        thumb = external.get("thumb")
        if thumb is None:
            return
        link = (thumb.get("ref") or {}).get("$link") if isinstance(thumb, dict) else None
        if thumb.get("$type") != "blob" or not isinstance(link, str):
            raise bad("Record/embed/external/thumb should be a blob ref")
        blob = self.blobs.get(link)
        if blob is None:
            raise Invalid(f"BlobNotFound: Could not find blob: {link}")
        if not blob["mimeType"].startswith("image/") or blob["size"] > 1_000_000:
            raise bad("Record/embed/external/thumb must be an image of at most 1000000 bytes")
        if thumb.get("mimeType") != blob["mimeType"] or thumb.get("size") != blob["size"]:
            raise bad("Record/embed/external/thumb does not match the uploaded blob")
