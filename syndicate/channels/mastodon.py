"""Mastodon: one status per post through Mastodon.py.

Exactly once: the status is posted with an `Idempotency-Key` derived from the post ID
(the server remembers it for an hour), and before any new attempt the account's recent
statuses are searched for the post URL (which also covers a retry after that hour).
"""

from __future__ import annotations

import hashlib
import html
import logging
import mimetypes
import time
from collections.abc import Mapping
from typing import Any

from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonError,
    MastodonIllegalArgumentError,
    MastodonIOError,
    MastodonNetworkError,
    MastodonRatelimitError,
)

from syndicate import textfit
from syndicate.channels.base import Channel, CheckResult, Draft, Remote
from syndicate.channels.social import earlier_sends, site_file, social_draft
from syndicate.errors import AuthError, PermanentError, RateLimited, TransientError
from syndicate.post import Post

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "SYNDICATE_MASTODON_TEMPLATE": "{title}\n\n{summary}\n\n{url}\n\n{hashtags}",
    "SYNDICATE_MASTODON_VISIBILITY": "public",
    "SYNDICATE_MASTODON_LANGUAGE": "",  # "" = DEFAULT_LANG
    "SYNDICATE_MASTODON_MAX_CHARACTERS": 500,
    "SYNDICATE_MASTODON_URL_LENGTH": 23,
    "SYNDICATE_MASTODON_HASHTAGS": 4,
    "SYNDICATE_MASTODON_TIMEOUT": None,  # seconds; None = SYNDICATE_TIMEOUT
    "SYNDICATE_MASTODON_LOOKBACK": 40,
    "SYNDICATE_MASTODON_MEDIA_WAIT": 15,
}
VISIBILITIES = ("public", "unlisted", "private", "direct")
AUTH_HINT = (
    "the access token is invalid or expired: create a new one under Preferences → "
    "Development (scopes read and write) and set MASTODON_ACCESS_TOKEN"
)


def get_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    values = {key: settings.get(key, default) for key, default in DEFAULTS.items()}
    if values["SYNDICATE_MASTODON_VISIBILITY"] not in VISIBILITIES:
        raise ValueError(
            f"SYNDICATE_MASTODON_VISIBILITY must be one of {', '.join(VISIBILITIES)}, "
            f"not {values['SYNDICATE_MASTODON_VISIBILITY']!r}"
        )
    if values["SYNDICATE_MASTODON_TIMEOUT"] is None:
        values["SYNDICATE_MASTODON_TIMEOUT"] = settings.get("SYNDICATE_TIMEOUT", 20.0)
    if not values["SYNDICATE_MASTODON_LANGUAGE"]:
        values["SYNDICATE_MASTODON_LANGUAGE"] = settings.get("DEFAULT_LANG", "") or ""
    return values


def idempotency_key(post_id: str, channel: str = "mastodon", generation: int = 0) -> str:
    """Derived from the post ID and channel; a deliberate re-send (generation n) gets its own."""
    seed = f"{post_id}\n{channel}" + (f"\n{generation}" if generation else "")
    return hashlib.sha256(seed.encode()).hexdigest()[:40]


class MastodonChannel(Channel):
    name = "mastodon"
    env_vars = ("MASTODON_API_BASE_URL", "MASTODON_ACCESS_TOKEN")

    def __init__(self, settings: Mapping[str, Any], env: Mapping[str, str]):
        super().__init__(settings, env)
        self.options = get_settings(settings)
        self.max_characters = int(self.options["SYNDICATE_MASTODON_MAX_CHARACTERS"])
        self.url_length = int(self.options["SYNDICATE_MASTODON_URL_LENGTH"])
        self._api: Mastodon | None = None
        self._account_id: str | None = None

    # -- the client ---------------------------------------------------------------------
    @property
    def api(self) -> Mastodon:
        if self._api is None:
            self._api = Mastodon(
                access_token=self.env.get("MASTODON_ACCESS_TOKEN"),
                api_base_url=self.env.get("MASTODON_API_BASE_URL"),
                ratelimit_method="throw",
                request_timeout=float(self.options["SYNDICATE_MASTODON_TIMEOUT"]),
                version_check_mode="none",
            )
        return self._api

    def _call(self, what: str, func, *args, post: Post | None = None, **kwargs):
        """Run one API call; map Mastodon.py's errors onto syndicate.errors."""
        where = {"channel": self.name, "post": post.slug if post else None}
        try:
            return func(*args, **kwargs)
        except MastodonRatelimitError as e:
            reset = getattr(self._api, "ratelimit_reset", None)
            wait = max(0.0, reset - time.time()) if reset else None
            raise RateLimited(f"{what}: rate limited", retry_after=wait, **where) from e
        except MastodonNetworkError as e:
            raise TransientError(f"{what}: network error or timeout", **where) from e
        except MastodonAPIError as e:
            status = e.args[1] if len(e.args) > 1 and isinstance(e.args[1], int) else 0
            text = str(e.args[3]) if len(e.args) > 3 and e.args[3] else str(e)
            if status in (401, 403):
                raise AuthError(
                    f"{what}: not authorized ({status})", service_text=text, hint=AUTH_HINT, **where
                ) from e
            if status == 429:
                raise RateLimited(f"{what}: rate limited", **where) from e
            if status == 422 and "processing" in text:
                raise TransientError(
                    f"{what}: media still processing", service_text=text, retry_after=5, **where
                ) from e
            if status >= 500 or status == 0:
                raise TransientError(
                    f"{what}: server error {status}", service_text=text, **where
                ) from e
            raise PermanentError(
                f"{what}: refused ({status})",
                service_text=text,
                hint="fix the post or the settings; retrying will not help",
                **where,
            ) from e
        except (MastodonIllegalArgumentError, MastodonIOError, MastodonError) as e:
            raise PermanentError(f"{what}: {e}", **where) from e

    def _where(self, post: Post | None) -> dict[str, Any]:
        return {"channel": self.name, "post": post.slug if post else None}

    # -- the interface ---------------------------------------------------------------------
    def check(self) -> CheckResult:
        account = self._call("verify credentials", self.api.account_verify_credentials)
        self._account_id = str(account["id"])
        instance = self._call("read instance limits", self.api.instance_v2)
        statuses = (instance.get("configuration") or {}).get("statuses") or {}
        self.max_characters = int(statuses.get("max_characters") or self.max_characters)
        self.url_length = int(statuses.get("characters_reserved_per_url") or self.url_length)
        domain = instance.get("domain") or self.env.get("MASTODON_API_BASE_URL", "")
        return CheckResult(
            self.name,
            True,
            f"@{account['acct']} on {domain}: {self.max_characters} characters, "
            f"URLs count {self.url_length}",
        )

    def counter(self) -> textfit.Counter:
        return textfit.mastodon_counter(self.max_characters, self.url_length)

    def render(self, post: Post) -> Draft:
        return social_draft(
            self,
            post,
            self.counter(),
            lambda text: {
                "visibility": self.options["SYNDICATE_MASTODON_VISIBILITY"],
                "language": self.options["SYNDICATE_MASTODON_LANGUAGE"],
                "image_alt": post.image_alt,
            },
        )

    def prepare(self, post: Post, draft: Draft) -> dict[str, Any]:
        # the text too: a re-run after a crash sends what the first attempt sent
        return {"idempotency_key": idempotency_key(post.id, self.name), "text": draft.text}

    def _my_account_id(self, post: Post | None = None) -> str:
        if self._account_id is None:
            account = self._call(
                "verify credentials", self.api.account_verify_credentials, post=post
            )
            self._account_id = str(account["id"])
        return self._account_id

    def find_existing(self, post: Post, item: Mapping[str, Any]) -> Remote | None:
        account_id = self._my_account_id(post)
        statuses = self._call(
            "read recent statuses",
            self.api.account_statuses,
            account_id,
            exclude_reblogs=True,
            limit=int(self.options["SYNDICATE_MASTODON_LOOKBACK"]),
            post=post,
        )
        wanted = {post.url, html.escape(post.url)}
        replaced = earlier_sends(item)
        for status in statuses or []:
            if str(status["id"]) in replaced:
                continue
            content = status.get("content") or ""
            card = status.get("card") or {}
            if any(u in content for u in wanted) or card.get("url") == post.url:
                return Remote(id=str(status["id"]), url=status.get("url") or "")
        return None

    def _upload_image(self, post: Post) -> list[Any]:
        if not post.image:
            return []
        path = site_file(self.settings, post.image)
        if path is None:
            log.warning(
                "mastodon: image %s of %r is not in the build output under SITEURL; "
                "posting without it",
                post.image,
                post.slug,
            )
            return []
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        media = self._call(
            "upload image",
            self.api.media_post,
            str(path),
            mime_type=mime,
            description=(post.image_alt or "")[:1500] or None,
            post=post,
        )
        deadline = time.monotonic() + float(self.options["SYNDICATE_MASTODON_MEDIA_WAIT"])
        while media.get("url") is None:  # big files are processed after the upload
            if time.monotonic() >= deadline:
                raise TransientError(
                    "upload image: still processing", retry_after=5, **self._where(post)
                )
            time.sleep(0.5)
            media = self._call("wait for the image", self.api.media, media["id"], post=post)
        return [media["id"]]

    def send(self, post: Post, draft: Draft, item: Mapping[str, Any]) -> Remote:
        intent = item.get("intent") or {}
        generation = int(item.get("generation") or 0)
        key = intent.get("idempotency_key") or idempotency_key(post.id, self.name, generation)
        media_ids = self._upload_image(post)
        status = self._call(
            "post status",
            self.api.status_post,
            intent.get("text") or draft.text,
            media_ids=media_ids or None,
            visibility=draft.extra.get("visibility") or None,
            language=draft.extra.get("language") or None,
            idempotency_key=key,
            post=post,
        )
        return Remote(id=str(status["id"]), url=status.get("url") or "")
