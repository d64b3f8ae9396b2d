"""LinkedIn: one post with an article card per blog post, through the versioned Posts API.

POST {LINKEDIN_API_URL}/rest/posts with `LinkedIn-Version` and Rest.li protocol 2.0.0
headers; the new post's URN comes back in the `x-restli-id` header. LinkedIn has no
idempotency key: before any new attempt find_existing() lists the author's recent posts
(GET /rest/posts?q=author) and looks for the article's source URL. check() reads the
member behind the token from the OpenID Connect userinfo endpoint (GET /v2/userinfo).

The commentary is "little text": its reserved characters are escaped with a backslash,
and hashtags become `{hashtag|\\#|Name}` templates so LinkedIn shows them as hashtags.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import regex
import requests

from syndicate import textfit
from syndicate.channels.base import Channel, CheckResult, Draft, Remote
from syndicate.channels.social import earlier_sends, social_draft
from syndicate.errors import AuthError, PermanentError, RateLimited, TransientError
from syndicate.post import Post

DEFAULTS: dict[str, Any] = {
    "SYNDICATE_LINKEDIN_TEMPLATE": "{title}\n\n{summary}\n\n{hashtags}",
    "SYNDICATE_LINKEDIN_HASHTAGS": 3,
    "SYNDICATE_LINKEDIN_VERSION": "202610",
    "SYNDICATE_LINKEDIN_VISIBILITY": "PUBLIC",
    "SYNDICATE_LINKEDIN_MAX_LENGTH": 3000,
    "SYNDICATE_LINKEDIN_LOOKBACK": 20,
    "SYNDICATE_LINKEDIN_TIMEOUT": None,  # seconds; None = SYNDICATE_TIMEOUT
}
DEFAULT_API = "https://api.linkedin.com"
VISIBILITIES = ("PUBLIC", "CONNECTIONS", "LOGGED_IN")
RESERVED = set("|{}@[]()<>#\\*_~")
HASHTAG_RE = regex.compile(r"(?:^|(?<=\s))#([\p{L}\p{M}\p{N}_]+)")
AUTH_HINT = (
    "the access token is invalid or expired (they last 60 days): create a new one with the "
    "w_member_social scope and set LINKEDIN_ACCESS_TOKEN"
)


def get_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    values = {key: settings.get(key, default) for key, default in DEFAULTS.items()}
    if values["SYNDICATE_LINKEDIN_TIMEOUT"] is None:
        values["SYNDICATE_LINKEDIN_TIMEOUT"] = settings.get("SYNDICATE_TIMEOUT", 20.0)
    if values["SYNDICATE_LINKEDIN_VISIBILITY"] not in VISIBILITIES:
        raise ValueError(
            f"SYNDICATE_LINKEDIN_VISIBILITY must be one of {', '.join(VISIBILITIES)}, "
            f"not {values['SYNDICATE_LINKEDIN_VISIBILITY']!r}"
        )
    if not regex.fullmatch(r"\d{6}", str(values["SYNDICATE_LINKEDIN_VERSION"])):
        raise ValueError("SYNDICATE_LINKEDIN_VERSION must be YYYYMM, e.g. '202610'")
    return values


def escape_little_text(text: str) -> str:
    """Escape LinkedIn's reserved characters; `#Tag` words become hashtag templates."""

    def plain(piece: str) -> str:
        return "".join("\\" + ch if ch in RESERVED else ch for ch in piece)

    out, pos = [], 0
    for m in HASHTAG_RE.finditer(text):
        out.append(plain(text[pos : m.start()]))
        out.append("{hashtag|\\#|" + plain(m.group(1)) + "}")
        pos = m.end()
    out.append(plain(text[pos:]))
    return "".join(out)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from Retry-After (seconds or HTTP date) or a reset timestamp."""
    value = headers.get("Retry-After") or headers.get("retry-after")
    if value:
        if value.strip().isdigit():
            return float(value)
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            pass
    for name in ("x-ratelimit-reset", "ratelimit-reset", "x-rate-limit-reset"):
        reset = headers.get(name)
        if reset and reset.strip().isdigit():
            number = int(reset)
            # an epoch timestamp, or seconds from now
            return max(0.0, number - time.time()) if number > 1_000_000_000 else float(number)
    return None


class LinkedInChannel(Channel):
    name = "linkedin"
    env_vars = ("LINKEDIN_ACCESS_TOKEN", "LINKEDIN_AUTHOR_URN")

    def __init__(self, settings: Mapping[str, Any], env: Mapping[str, str]):
        super().__init__(settings, env)
        self.options = get_settings(settings)
        self.base = (self.env.get("LINKEDIN_API_URL") or DEFAULT_API).rstrip("/")
        self.author = self.env.get("LINKEDIN_AUTHOR_URN", "")
        self.session = requests.Session()

    # -- HTTP --------------------------------------------------------------------------------
    def _headers(self, versioned: bool = True) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.env.get('LINKEDIN_ACCESS_TOKEN', '')}"}
        if versioned:
            headers["LinkedIn-Version"] = str(self.options["SYNDICATE_LINKEDIN_VERSION"])
            headers["X-Restli-Protocol-Version"] = "2.0.0"
        return headers

    def _request(
        self,
        what: str,
        method: str,
        path: str,
        *,
        post: Post | None = None,
        versioned: bool = True,
        **kwargs,
    ) -> requests.Response:
        where = {"channel": self.name, "post": post.slug if post else None}
        try:
            response = self.session.request(
                method,
                self.base + path,
                headers=self._headers(versioned),
                timeout=float(self.options["SYNDICATE_LINKEDIN_TIMEOUT"]),
                **kwargs,
            )
        except requests.RequestException as e:
            raise TransientError(f"{what}: network error or timeout", **where) from e
        status = response.status_code
        if 200 <= status < 300:
            return response
        text = _service_text(response)
        if status in (401, 403):
            raise AuthError(
                f"{what}: not authorized ({status})", service_text=text, hint=AUTH_HINT, **where
            )
        if status == 429:
            raise RateLimited(
                f"{what}: rate limited",
                service_text=text,
                retry_after=retry_after(response.headers),
                **where,
            )
        if status >= 500:
            raise TransientError(
                f"{what}: server error {status}",
                service_text=text,
                retry_after=retry_after(response.headers),
                **where,
            )
        hint = None
        if status == 426:
            hint = "LinkedIn-Version is no longer served: raise SYNDICATE_LINKEDIN_VERSION"
        raise PermanentError(f"{what}: refused ({status})", service_text=text, hint=hint, **where)

    # -- the interface ---------------------------------------------------------------------------
    def check(self) -> CheckResult:
        info = self._request("read the member", "GET", "/v2/userinfo", versioned=False).json()
        sub = info.get("sub", "")
        who = info.get("name") or sub
        if self.author.startswith("urn:li:person:") and self.author != f"urn:li:person:{sub}":
            raise AuthError(
                f"the token belongs to urn:li:person:{sub}, not to LINKEDIN_AUTHOR_URN",
                channel=self.name,
                hint="set LINKEDIN_AUTHOR_URN to the member's URN or use that member's token",
            )
        return CheckResult(self.name, True, f"{who}, posting as {self.author}")

    def render(self, post: Post) -> Draft:
        max_length = int(self.options["SYNDICATE_LINKEDIN_MAX_LENGTH"])
        return social_draft(
            self,
            post,
            textfit.Counter(self.name, max_length),
            # what LinkedIn receives
            lambda text: {"commentary": escape_little_text(text)},
        )

    def body(self, post: Post, draft: Draft) -> dict[str, Any]:
        """The Posts API request body for this draft."""
        article = {"source": post.url, "title": post.title[:400]}
        if post.summary_text:
            article["description"] = post.summary_text[:4000]
        return {
            "author": self.author,
            "commentary": escape_little_text(draft.text),
            "visibility": self.options["SYNDICATE_LINKEDIN_VISIBILITY"],
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "content": {"article": article},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }

    def prepare(self, post: Post, draft: Draft) -> dict[str, Any]:
        return {"text": draft.text}  # a re-run sends what the first attempt sent

    def _remote(self, urn: str) -> Remote:
        return Remote(id=urn, url=f"https://www.linkedin.com/feed/update/{urn}/")

    def find_existing(self, post: Post, item: Mapping[str, Any]) -> Remote | None:
        count = int(self.options["SYNDICATE_LINKEDIN_LOOKBACK"])
        # Rest.li 2.0: URNs in query parameters are percent-encoded, colons included
        query = f"?q=author&author={quote(self.author, safe='')}&count={count}"
        response = self._request("read recent posts", "GET", "/rest/posts" + query, post=post)
        replaced = earlier_sends(item)
        for element in response.json().get("elements") or []:
            article = (element.get("content") or {}).get("article") or {}
            if article.get("source") == post.url and element.get("id") not in replaced:
                return self._remote(element["id"])
        return None

    def send(self, post: Post, draft: Draft, item: Mapping[str, Any]) -> Remote:
        text = (item.get("intent") or {}).get("text")
        if text and text != draft.text:
            draft = dataclasses.replace(draft, text=text)
        response = self._request(
            "create the post", "POST", "/rest/posts", json=self.body(post, draft), post=post
        )
        urn = response.headers.get("x-restli-id") or response.headers.get("x-linkedin-id")
        if not urn:
            raise PermanentError(
                "create the post: LinkedIn answered without the post's id (x-restli-id)",
                channel=self.name,
                post=post.slug,
            )
        return self._remote(urn)


def _service_text(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error_description") or body)[:300]
    return str(body)[:300]
