"""X: one post per blog post through tweepy's v2 Client (OAuth 1.0a user context).

X has no idempotency key. Before any new attempt, find_existing() reads the account's
recent posts and matches the post URL against `entities.urls[].expanded_url` (X wraps
every link in t.co). A "duplicate content" refusal is answered the same way.

tweepy's API host is fixed; when X_API_URL is set (tests, proxies) a transport adapter
on the client's session sends every request there instead. The adapter also gives
every request the configured timeout (tweepy sets none).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import tweepy
from requests.adapters import HTTPAdapter

from syndicate import textfit
from syndicate.channels.base import Channel, CheckResult, Draft, Remote
from syndicate.channels.social import earlier_sends, social_draft
from syndicate.errors import AuthError, PermanentError, RateLimited, TransientError
from syndicate.post import Post

DEFAULTS: dict[str, Any] = {
    "SYNDICATE_X_TEMPLATE": "{title}\n\n{summary}\n\n{url}\n\n{hashtags}",
    "SYNDICATE_X_HASHTAGS": 2,
    "SYNDICATE_X_MAX_LENGTH": 280,
    "SYNDICATE_X_LOOKBACK": 20,
    "SYNDICATE_X_TIMEOUT": None,  # seconds; None = SYNDICATE_TIMEOUT
}
API_HOSTS = ("https://api.twitter.com", "https://api.x.com")
AUTH_HINT = (
    "the keys or tokens are wrong or revoked: regenerate the access token and secret in the "
    "X developer portal (app permissions Read and Write) and set X_ACCESS_TOKEN and "
    "X_ACCESS_TOKEN_SECRET"
)


def get_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    values = {key: settings.get(key, default) for key, default in DEFAULTS.items()}
    if values["SYNDICATE_X_TIMEOUT"] is None:
        values["SYNDICATE_X_TIMEOUT"] = settings.get("SYNDICATE_TIMEOUT", 20.0)
    lookback = int(values["SYNDICATE_X_LOOKBACK"])
    if not 5 <= lookback <= 100:
        raise ValueError("SYNDICATE_X_LOOKBACK must be between 5 and 100 (X's max_results)")
    return values


class ApiAdapter(HTTPAdapter):
    """Gives every request a timeout and, with `base_url`, sends it to that host instead."""

    def __init__(self, timeout: float, base_url: str = ""):
        super().__init__()
        self.timeout = timeout
        self.base = urlsplit(base_url.rstrip("/")) if base_url else None

    def send(self, request, **kwargs):
        if self.base is not None:
            url = urlsplit(request.url)
            path = self.base.path + url.path
            request.url = urlunsplit((self.base.scheme, self.base.netloc, path, url.query, ""))
        if not kwargs.get("timeout"):
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


class XChannel(Channel):
    name = "x"
    env_vars = ("X_CONSUMER_KEY", "X_CONSUMER_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET")

    def __init__(self, settings: Mapping[str, Any], env: Mapping[str, str]):
        super().__init__(settings, env)
        self.options = get_settings(settings)
        self._client: tweepy.Client | None = None
        self._me: tuple[str, str] | None = None  # (id, username)

    @property
    def client(self) -> tweepy.Client:
        if self._client is None:
            client = tweepy.Client(
                consumer_key=self.env.get("X_CONSUMER_KEY"),
                consumer_secret=self.env.get("X_CONSUMER_SECRET"),
                access_token=self.env.get("X_ACCESS_TOKEN"),
                access_token_secret=self.env.get("X_ACCESS_TOKEN_SECRET"),
            )
            adapter = ApiAdapter(
                float(self.options["SYNDICATE_X_TIMEOUT"]), self.env.get("X_API_URL", "")
            )
            for host in API_HOSTS:
                client.session.mount(host + "/", adapter)
            self._client = client
        return self._client

    def _where(self, post: Post | None) -> dict[str, Any]:
        return {"channel": self.name, "post": post.slug if post else None}

    def _call(self, what: str, func, *args, post: Post | None = None, **kwargs):
        """Run one tweepy call; map its errors onto syndicate.errors."""
        where = self._where(post)
        try:
            return func(*args, **kwargs)
        except tweepy.TooManyRequests as e:
            wait = None
            reset = e.response.headers.get("x-rate-limit-reset")
            retry = e.response.headers.get("retry-after")
            if retry and retry.isdigit():
                wait = float(retry)
            elif reset and reset.isdigit():
                wait = max(0.0, int(reset) - time.time())
            raise RateLimited(f"{what}: rate limited", retry_after=wait, **where) from e
        except (tweepy.Unauthorized, tweepy.Forbidden) as e:
            text = _service_text(e)
            if isinstance(e, tweepy.Forbidden) and "duplicate" in text.lower():
                raise DuplicateContent(
                    f"{what}: refused as a duplicate", service_text=text, **where
                ) from e
            raise AuthError(
                f"{what}: not authorized ({e.response.status_code})",
                service_text=text,
                hint=AUTH_HINT,
                **where,
            ) from e
        except tweepy.TwitterServerError as e:
            raise TransientError(
                f"{what}: server error {e.response.status_code}",
                service_text=_service_text(e),
                **where,
            ) from e
        except tweepy.HTTPException as e:
            raise PermanentError(
                f"{what}: refused ({e.response.status_code})",
                service_text=_service_text(e),
                **where,
            ) from e
        except requests.RequestException as e:
            raise TransientError(f"{what}: network error or timeout", **where) from e
        except tweepy.TweepyException as e:
            raise PermanentError(f"{what}: {e}", **where) from e

    def _whoami(self, post: Post | None = None) -> tuple[str, str]:
        if self._me is None:
            me = self._call("read the account", self.client.get_me, user_auth=True, post=post)
            self._me = (str(me.data.id), me.data.username)
        return self._me

    # -- the interface ----------------------------------------------------------------------
    def check(self) -> CheckResult:
        _, username = self._whoami()
        return CheckResult(
            self.name, True, f"@{username}: {self.options['SYNDICATE_X_MAX_LENGTH']} weighted"
        )

    def render(self, post: Post) -> Draft:
        return social_draft(
            self, post, textfit.x_counter(int(self.options["SYNDICATE_X_MAX_LENGTH"]))
        )

    def prepare(self, post: Post, draft: Draft) -> dict[str, Any]:
        # a re-run sends this same text even if the post was edited: X's duplicate check
        # then recognises it
        return {"text": draft.text}

    def _remote(self, tweet_id: str) -> Remote:
        username = self._me[1] if self._me else "i"
        return Remote(id=tweet_id, url=f"https://x.com/{username}/status/{tweet_id}")

    def find_existing(self, post: Post, item: Mapping[str, Any]) -> Remote | None:
        user_id, _ = self._whoami(post)
        try:
            response = self._call(
                "read recent posts",
                self.client.get_users_tweets,
                user_id,
                max_results=int(self.options["SYNDICATE_X_LOOKBACK"]),
                tweet_fields=["entities", "created_at"],
                user_auth=True,
                post=post,
            )
        except AuthError as e:
            if _access_level_refusal(e.service_text or ""):
                # the Free access level cannot read timelines: say "cannot tell"
                raise NotImplementedError("X: this access level cannot read posts") from e
            raise
        replaced = earlier_sends(item)
        for tweet in response.data or []:
            if str(tweet.id) in replaced:
                continue
            urls = (tweet.entities or {}).get("urls") or []
            expanded = {u.get("expanded_url") for u in urls} | {u.get("unwound_url") for u in urls}
            if post.url in expanded or post.url in (tweet.text or ""):
                return self._remote(str(tweet.id))
        return None

    def send(self, post: Post, draft: Draft, item: Mapping[str, Any]) -> Remote:
        self._whoami(post)
        text = (item.get("intent") or {}).get("text") or draft.text
        try:
            response = self._call(
                "create the post",
                self.client.create_tweet,
                text=text,
                user_auth=True,
                post=post,
            )
        except DuplicateContent:
            # X refuses only an identical text, and this text holds the post's URL: it is
            # already there, whether or not its id can be read back
            try:
                found = self.find_existing(post, item)
            except NotImplementedError:
                found = None
            return found or Remote(id="", url="", state="sent")
        return self._remote(str(response.data["id"]))


class DuplicateContent(PermanentError):
    """X refused the text as a duplicate of a recent post."""


def _access_level_refusal(text: str) -> bool:
    text = text.lower()
    return "subset of x api" in text or "client-not-enrolled" in text or "access level" in text


def _service_text(error: tweepy.HTTPException) -> str:
    messages = [str(m) for m in error.api_messages if m]
    if messages:
        return "; ".join(messages)
    try:
        body = error.response.json()
    except ValueError:
        return error.response.text[:300]
    return str(body.get("detail") or body.get("title") or body)[:300]
