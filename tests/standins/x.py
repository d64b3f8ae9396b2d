"""An X API v2 stand-in for the real `tweepy` Client (OAuth 1.0a user context).

Checked like the service: the OAuth 1.0a `Authorization` header (its shape, the known
consumer key and token, and the HMAC-SHA1 signature, computed over the URL tweepy
signed: https://api.twitter.com + path), the create-post body (known fields, `text` a
string of weighted length ≤ 280 by twitter-text v3 rules) and duplicate content. Posts
are kept per account, links wrapped in t.co with `entities.urls[].expanded_url` as X
does. Errors are v2 problem documents; answers carry `x-rate-limit-*` headers.

    with XStandIn() as x:
        env = x.env()     # X_CONSUMER_KEY, X_CONSUMER_SECRET, X_ACCESS_TOKEN(_SECRET), X_API_URL
        ...
        assert x.delivered("https://example.com/2024/01/post/") == 1
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import re
import time
import unicodedata
from typing import Any
from urllib.parse import quote, unquote

import regex

from .base import Invalid, Request, Response, StandIn

SIGNED_HOST = "https://api.twitter.com"
URL_RE = re.compile(r"https?://[^\s<>\"]+")
OAUTH_PARAM_RE = re.compile(r'(\w+)="([^"]*)"')
OAUTH_REQUIRED = (
    "oauth_consumer_key",
    "oauth_nonce",
    "oauth_signature",
    "oauth_signature_method",
    "oauth_timestamp",
    "oauth_token",
    "oauth_version",
)
CREATE_FIELDS = {
    "text",
    "media",
    "reply",
    "quote_tweet_id",
    "poll",
    "reply_settings",
    "for_super_followers_only",
    "direct_message_deep_link",
    "geo",
    "nullcast",
    "card_uri",
    "community_id",
}
LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))


def weighted_length(text: str) -> int:
    """twitter-text v3: URLs 23, emoji sequences 2, light code points 1, the rest 2."""
    text = unicodedata.normalize("NFC", text)
    total = 0
    pos = 0
    for m in URL_RE.finditer(text):
        total += _plain(text[pos : m.start()]) + 23
        pos = m.end()
    return total + _plain(text[pos:])


def _plain(text: str) -> int:
    total = 0
    for cluster in regex.findall(r"\X", text):
        if regex.match(r"\p{Emoji_Presentation}|\p{Extended_Pictographic}\uFE0F", cluster):
            total += 2
            continue
        for ch in cluster:
            cp = ord(ch)
            total += 1 if any(lo <= cp <= hi for lo, hi in LIGHT) else 2
    return total


def _pct(value: str) -> str:
    return quote(value, safe="~-._")


class XStandIn(StandIn):
    name = "x"

    def __init__(
        self,
        *,
        consumer_key: str = "x-consumer-key",
        consumer_secret: str = "x-consumer-secret",  # noqa: S107
        access_token: str = "1234-x-access-token",  # noqa: S107
        access_token_secret: str = "x-access-token-secret",  # noqa: S107 (fixed test secret)
        username: str = "frontporch",
        read_access: bool = True,
    ):
        super().__init__()
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.access_token = access_token
        self.access_token_secret = access_token_secret
        self.username = username
        self.read_access = read_access  # False: the Free level, which cannot read timelines
        self.user_id = "1400000000000000001"
        self.tweets: list[dict[str, Any]] = []  # newest first
        self._ids = itertools.count(1860000000000000000)
        self.rate_remaining = 100

    # -- helpers for tests ------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        return {
            "X_CONSUMER_KEY": self.consumer_key,
            "X_CONSUMER_SECRET": self.consumer_secret,
            "X_ACCESS_TOKEN": self.access_token,
            "X_ACCESS_TOKEN_SECRET": self.access_token_secret,
            "X_API_URL": self.url,
        }

    def delivered(self, post_url: str) -> int:
        """Posts whose links expand to `post_url`."""
        with self.lock:
            return sum(
                1
                for t in self.tweets
                if any(u["expanded_url"] == post_url for u in t["entities"]["urls"])
            )

    # -- the service -------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        return {
            "x-rate-limit-limit": "100",
            "x-rate-limit-remaining": str(max(self.rate_remaining, 0)),
            "x-rate-limit-reset": str(int(time.time()) + 900),
        }

    def error(self, status: int, message: str) -> Response:
        if status == 400:
            body: dict[str, Any] = {
                "errors": [{"message": message}],
                "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
                "type": "https://api.twitter.com/2/problems/invalid-request",
            }
        else:
            titles = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}
            body = {
                "title": titles.get(status, "Error"),
                "type": "about:blank",
                "status": status,
                "detail": message,
            }
        return Response(status, body, self._headers())

    def route(self, req: Request) -> Response:
        problem = self._check_oauth(req)
        if problem:
            return self.error(401, problem)
        self.rate_remaining -= 1
        if req.method == "POST" and req.path == "/2/tweets":
            return self._create(req)
        if req.method == "GET" and req.path == "/2/users/me":
            user = {"id": self.user_id, "name": "Front Porch Notes", "username": self.username}
            return Response(200, {"data": user}, self._headers())
        m = re.fullmatch(r"/2/users/(\d+)/tweets", req.path)
        if req.method == "GET" and m:
            return self._timeline(req, m.group(1))
        return self.error(404, f"Could not find {req.method} {req.path}")

    def _check_oauth(self, req: Request) -> str:
        """'' when the OAuth 1.0a header is well-formed, known and correctly signed."""
        header = req.headers.get("authorization", "")
        if not header.startswith("OAuth "):
            raise Invalid("Authorization must be an OAuth 1.0a header (user context)", 401)
        params = {k: unquote(v) for k, v in OAUTH_PARAM_RE.findall(header)}
        missing = [k for k in OAUTH_REQUIRED if k not in params]
        if missing:
            raise Invalid(f"OAuth header lacks {', '.join(missing)}", 401)
        if params["oauth_signature_method"] != "HMAC-SHA1" or params["oauth_version"] != "1.0":
            raise Invalid("OAuth signature method must be HMAC-SHA1, version 1.0", 401)
        if not params["oauth_timestamp"].isdigit():
            raise Invalid("oauth_timestamp must be seconds since the epoch", 401)
        if abs(int(params["oauth_timestamp"]) - time.time()) > 300:
            return "Timestamp out of bounds"
        if (
            params["oauth_consumer_key"] != self.consumer_key
            or params["oauth_token"] != self.access_token
        ):
            return "Unauthorized"
        signed = [
            (k, v) for k, v in params.items() if k.startswith("oauth_") and k != "oauth_signature"
        ]
        signed += [(k, v) for k, vs in req.query.items() for v in vs]
        pairs = sorted((_pct(k), _pct(v)) for k, v in signed)
        normalized = "&".join(f"{k}={v}" for k, v in pairs)
        base = "&".join([req.method.upper(), _pct(SIGNED_HOST + req.path), _pct(normalized)])
        key = f"{_pct(self.consumer_secret)}&{_pct(self.access_token_secret)}"
        digest = hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()
        if not hmac.compare_digest(base64.b64encode(digest).decode(), params["oauth_signature"]):
            return "Unauthorized"
        return ""

    def _create(self, req: Request) -> Response:
        if not req.content_type.startswith("application/json"):
            raise Invalid("The request body must be JSON")
        body = req.json()
        if not isinstance(body, dict):
            raise Invalid("The request body must be a JSON object")
        unknown = set(body) - CREATE_FIELDS
        if unknown:
            raise Invalid(f"The query parameters [{', '.join(sorted(unknown))}] are not valid")
        text = body.get("text")
        if not isinstance(text, str) or (not text.strip() and "media" not in body):
            raise Invalid("text must be a non-empty string")
        if weighted_length(text) > 280:
            raise Invalid(f"Your post is too long: weighted length {weighted_length(text)} > 280")
        if any(t["_source"] == text for t in self.tweets):
            return self.error(403, "You are not allowed to create a Tweet with duplicate content.")
        tweet_id = str(next(self._ids))
        urls, shown = [], text
        for n, m in enumerate(URL_RE.finditer(text)):
            short = f"https://t.co/standin{tweet_id[-6:]}{n}"
            urls.append({"expanded_url": m.group(0), "url": short, "display_url": m.group(0)[8:38]})
            shown = shown.replace(m.group(0), short, 1)
        for url in urls:
            start = shown.index(url["url"])
            url.update(start=start, end=start + len(url["url"]))
        tweet = {
            "id": tweet_id,
            "text": shown,
            "_source": text,
            "entities": {"urls": urls},
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "edit_history_tweet_ids": [tweet_id],
        }
        self.tweets.insert(0, tweet)
        data = {"id": tweet_id, "text": shown, "edit_history_tweet_ids": [tweet_id]}
        return Response(201, {"data": data}, self._headers())

    def _timeline(self, req: Request, user_id: str) -> Response:
        if not self.read_access:
            body = {
                "title": "Client Forbidden",
                "detail": "You currently have access to a subset of X API V2 endpoints and "
                "limited v1.1 endpoints (e.g. media post, oauth) only. If you need access to "
                "this endpoint, you may need a different access level.",
                "reason": "client-not-enrolled",
                "type": "https://api.twitter.com/2/problems/client-forbidden",
            }
            return Response(403, body, self._headers())
        if user_id != self.user_id:
            return self.error(404, f"Could not find user with id: [{user_id}].")
        max_results = int(req.arg("max_results", "10") or 10)
        if not 5 <= max_results <= 100:
            raise Invalid("The `max_results` query parameter value must be between 5 and 100")
        fields = set((req.arg("tweet.fields") or "").split(",")) - {""}
        page = self.tweets[:max_results]
        data = []
        for t in page:
            item = {"id": t["id"], "text": t["text"], "edit_history_tweet_ids": [t["id"]]}
            for name in fields & {"entities", "created_at"}:
                item[name] = t[name]
            data.append(item)
        meta: dict[str, Any] = {"result_count": len(data)}
        if data:
            meta.update(newest_id=data[0]["id"], oldest_id=data[-1]["id"])
        body: dict[str, Any] = {"meta": meta}
        if data:
            body["data"] = data
        return Response(200, body, self._headers())
