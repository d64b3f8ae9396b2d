"""Mailchimp: one regular campaign per post, sent to the list (or to mapped segments).

Exactly once without an idempotency key: every campaign gets a deterministic title from
the post ID (`post:<hash>`, kept in the ledger's intent), and before creating one the
adapter lists the list's recent campaigns and looks for that title:
- `sending` / `sent`  → already delivered: nothing is sent again;
- `schedule`          → Mailchimp will send it: counted as delivered (state "scheduled");
- `save`              → an earlier run stopped before sending: settings and content are
                        updated and that same campaign is sent;
- `canceled`          → a person stopped it in Mailchimp: a permanent error (use --resend).

The SDK (`mailchimp-marketing` 3.0.80) never retries, returns empty-bodied error
responses instead of raising, and hands problem+json errors over as raw text: `_call`
turns all of that into the typed errors of `syndicate.errors`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from syndicate import email as email_render
from syndicate.channels.base import Channel, CheckResult, Draft, Remote
from syndicate.errors import (
    AuthError,
    ConfigError,
    PermanentError,
    RateLimited,
    SyndicateError,
    TransientError,
)
from syndicate.post import Post

DEFAULTS: dict[str, Any] = {
    # "From" name of every campaign; "" = the list's default from name.
    "MAILCHIMP_FROM_NAME": "",
    # Reply-to address; "" = the list's default from address. Replies are conversations.
    "MAILCHIMP_REPLY_TO": "",
    # Post tags/categories → Mailchimp interest groups or tags. Keys "tag:<post tag>" or
    # "category:<post category>"; values "interest:<group title>/<interest name>" or
    # "tag:<Mailchimp tag>" (a list of them for several). Posts matching none go to
    # the whole list.
    "MAILCHIMP_SEGMENTS": {},
    # Whether a subscriber needs "any" or "all" of a post's mapped segments.
    "MAILCHIMP_SEGMENT_MATCH": "any",
    # "post": one campaign per post. "digest": one campaign for several new posts
    # (MailchimpChannel.digest(); see README for what the runner does with it).
    "NEWSLETTER_MODE": "post",
    # How many days before a post's date to look back for an earlier campaign of it.
    "MAILCHIMP_LOOKBACK_DAYS": 30,
}

TITLE_PREFIX = "post:"
_DELIVERED = ("sending", "sent")
_PAGE = 200
_CAMPAIGN_FIELDS = [
    "campaigns.id",
    "campaigns.status",
    "campaigns.create_time",
    "campaigns.archive_url",
    "campaigns.long_archive_url",
    "campaigns.settings.title",
    "total_items",
]
_KEY_HINT = (
    "create a new API key in Mailchimp (Profile → Extras → API keys) and set "
    "MAILCHIMP_API_KEY; it ends with your data centre, e.g. -us21"
)


def get_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Mailchimp settings with defaults; ConfigError naming the valid values."""
    values = {key: settings.get(key, default) for key, default in DEFAULTS.items()}
    if values["NEWSLETTER_MODE"] not in ("post", "digest"):
        raise ConfigError(
            f"NEWSLETTER_MODE = {values['NEWSLETTER_MODE']!r} is not valid",
            channel="mailchimp",
            hint='use "post" or "digest"',
        )
    if values["MAILCHIMP_SEGMENT_MATCH"] not in ("any", "all"):
        raise ConfigError(
            f"MAILCHIMP_SEGMENT_MATCH = {values['MAILCHIMP_SEGMENT_MATCH']!r} is not valid",
            channel="mailchimp",
            hint='use "any" or "all"',
        )
    segments = values["MAILCHIMP_SEGMENTS"]
    if not isinstance(segments, Mapping):
        raise ConfigError("MAILCHIMP_SEGMENTS must be a dict", channel="mailchimp")
    for key, targets in segments.items():
        if not str(key).startswith(("tag:", "category:")):
            raise ConfigError(
                f"MAILCHIMP_SEGMENTS key {key!r} is not valid",
                channel="mailchimp",
                hint='keys are "tag:<post tag>" or "category:<post category>"',
            )
        for target in _as_list(targets):
            kind, _, name = str(target).partition(":")
            if (
                kind not in ("interest", "tag")
                or not name
                or (kind == "interest" and "/" not in name)
            ):
                raise ConfigError(
                    f"MAILCHIMP_SEGMENTS value {target!r} (for {key!r}) is not valid",
                    channel="mailchimp",
                    hint='values are "interest:<group title>/<interest name>" or "tag:<tag name>"',
                )
    return values


def _as_list(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def campaign_title(post_id: str) -> str:
    """The deterministic campaign title of a post (its ID may be a long tag: URI)."""
    return TITLE_PREFIX + hashlib.sha256(post_id.encode("utf-8")).hexdigest()[:24]


def segments_for(post: Post, mapping: Mapping[str, Any]) -> list[str]:
    """The mapped targets ("interest:Group/Name", "tag:Name") of a post, in order."""
    keys = [f"tag:{t}".casefold() for t in post.tags]
    if post.category:
        keys.append(f"category:{post.category}".casefold())
    found: list[str] = []
    for key, targets in mapping.items():
        if str(key).casefold() in keys:
            for target in _as_list(targets):
                if target not in found:
                    found.append(target)
    return found


def _service_text(raw: Any) -> str:
    """The human part of a Mailchimp error (problem+json as dict or raw JSON text)."""
    doc = raw
    if isinstance(raw, (bytes, str)):
        try:
            doc = json.loads(raw)
        except ValueError:
            return str(raw)[:300]
    if isinstance(doc, Mapping):
        title, detail = doc.get("title", ""), doc.get("detail", "")
        text = f"{title}: {detail}" if title and detail else (detail or title)
        errors = doc.get("errors")
        if isinstance(errors, list) and errors:
            text += " " + "; ".join(
                f"{e.get('field', '')} {e.get('message', '')}".strip()
                for e in errors
                if isinstance(e, Mapping)
            )
        return text[:500]
    return str(doc)[:300]


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    if not headers:
        return None
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class MailchimpChannel(Channel):
    name: ClassVar[str] = "mailchimp"
    env_vars: ClassVar[tuple[str, ...]] = ("MAILCHIMP_API_KEY", "MAILCHIMP_LIST_ID")
    email: ClassVar[bool] = True

    def __init__(self, settings: Mapping[str, Any], env: Mapping[str, str]):
        super().__init__(settings, env)
        self.options = get_settings(settings)
        self.list_id = env.get("MAILCHIMP_LIST_ID", "")
        self._client = None
        self._last_response = None
        self._list: dict[str, Any] | None = None
        self._segment_ids: dict[str, tuple[str, str]] | None = None  # target → (kind, id)

    # -- the SDK, wrapped ---------------------------------------------------------
    @property
    def client(self):
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def _make_client(self):
        import mailchimp_marketing

        key = self.env.get("MAILCHIMP_API_KEY", "")
        if not key or not self.list_id:
            raise ConfigError(
                "MAILCHIMP_API_KEY and MAILCHIMP_LIST_ID must be set",
                channel=self.name,
                hint="put them in the environment or .env",
            )
        base = self.env.get("MAILCHIMP_API_URL", "").rstrip("/")
        _, dash, dc = key.rpartition("-")
        dc = dc if dash else ""
        if not base and not dc:
            raise ConfigError(
                "the API key has no data centre suffix",
                channel=self.name,
                hint=_KEY_HINT,
            )
        timeout = float(self.settings.get("SYNDICATE_TIMEOUT", 20.0))
        client = mailchimp_marketing.Client()
        client.set_config({"api_key": key, "server": dc or "us1", "timeout": timeout})
        if base:
            # The SDK replaces "server" anywhere in this URL with the data centre.
            client.api_client.host = base
        # Keep the last raw response: the SDK drops headers (Retry-After) from its errors.
        send = client.api_client.request

        def request(*args, **kwargs):
            self._last_response = None
            response = send(*args, **kwargs)
            self._last_response = response
            return response

        client.api_client.request = request
        return client

    def _call(self, what: str, fn: Callable, *args, post: Post | None = None, **kwargs):
        """Run one SDK call; return its data or raise a typed SyndicateError."""
        from mailchimp_marketing.api_client import ApiClientError

        where = {"channel": self.name, "post": post.slug if post else None}
        try:
            result = fn(*args, **kwargs)
        except ApiClientError as e:
            if e.status_code is None:  # requests raised: connection, timeout, DNS
                cause = e.text
                raise TransientError(
                    f"{what}: network error ({type(cause).__name__})",
                    hint="Mailchimp did not answer; the run can be repeated safely",
                    **where,
                ) from e
            headers = getattr(self._last_response, "headers", None)
            raise self._http_error(what, e.status_code, e.text, headers, where) from e
        # Error responses with an empty body come back as requests.Response objects.
        if hasattr(result, "status_code") and hasattr(result, "ok"):
            if not result.ok:
                raise self._http_error(what, result.status_code, result.text, result.headers, where)
            return None
        return result

    def _http_error(self, what: str, status: int, raw: Any, headers, where: dict) -> SyndicateError:
        text = _service_text(raw) or f"HTTP {status}"
        if status in (401, 403):
            return AuthError(
                f"{what}: Mailchimp refused the API key (HTTP {status})",
                service_text=text,
                hint=_KEY_HINT,
                **where,
            )
        if status == 429:
            return RateLimited(
                f"{what}: rate limited (HTTP 429)",
                retry_after=_retry_after(headers),
                service_text=text,
                hint="Mailchimp allows 10 simultaneous connections per key; try again later",
                **where,
            )
        if status >= 500 or status == 408:
            return TransientError(
                f"{what}: Mailchimp failed (HTTP {status})",
                retry_after=_retry_after(headers),
                service_text=text,
                **where,
            )
        return PermanentError(f"{what}: refused (HTTP {status})", service_text=text, **where)

    # -- list, defaults and segments ------------------------------------------------
    def _audience(self) -> dict[str, Any]:
        if self._list is None:
            try:
                self._list = self._call(
                    "read the list",
                    self.client.lists.get_list,
                    self.list_id,
                    fields=["id", "name", "campaign_defaults", "stats.member_count"],
                )
            except PermanentError as e:
                if isinstance(e, AuthError):
                    raise
                raise ConfigError(
                    f"list {self.list_id!r} not found",
                    channel=self.name,
                    service_text=e.service_text,
                    hint="MAILCHIMP_LIST_ID is the Audience ID "
                    "(Audience → Settings → Audience name and defaults)",
                ) from e
        return self._list

    def _sender(self, *, online: bool) -> tuple[str, str]:
        """(from name, reply-to): settings first, then the list's campaign defaults."""
        from_name = self.options["MAILCHIMP_FROM_NAME"]
        reply_to = self.options["MAILCHIMP_REPLY_TO"]
        if online and (not from_name or not reply_to):
            defaults = self._audience().get("campaign_defaults") or {}
            from_name = from_name or defaults.get("from_name", "")
            reply_to = reply_to or defaults.get("from_email", "")
        if not online:
            from_name = from_name or self.settings.get("AUTHOR", "") or "(list default)"
            reply_to = reply_to or "(list default)"
        return from_name, reply_to

    def _resolve_segments(self) -> dict[str, tuple[str, str]]:
        """Every mapped target → ("interest", "<category id>:<interest id>") or
        ("tag", "<segment id>"); targets that do not exist are left out."""
        if self._segment_ids is not None:
            return self._segment_ids
        wanted = {
            t for targets in self.options["MAILCHIMP_SEGMENTS"].values() for t in _as_list(targets)
        }
        resolved: dict[str, tuple[str, str]] = {}
        if any(t.startswith("interest:") for t in wanted):
            cats = self._call(
                "read interest groups",
                self.client.lists.get_list_interest_categories,
                self.list_id,
                count=1000,
            )
            for cat in cats.get("categories", []):
                interests = self._call(
                    "read interests",
                    self.client.lists.list_interest_category_interests,
                    self.list_id,
                    cat["id"],
                    count=1000,
                )
                for interest in interests.get("interests", []):
                    key = f"interest:{cat['title']}/{interest['name']}".casefold()
                    resolved[key] = ("interest", f"{cat['id']}:{interest['id']}")
        if any(t.startswith("tag:") for t in wanted):
            segments = self._call(
                "read tags",
                self.client.lists.list_segments,
                self.list_id,
                type="static",
                count=1000,
            )
            for seg in segments.get("segments", []):
                resolved[f"tag:{seg['name']}".casefold()] = ("tag", str(seg["id"]))
        self._segment_ids = {t: resolved[t.casefold()] for t in wanted if t.casefold() in resolved}
        return self._segment_ids

    def segment_opts(self, targets: list[str], post: Post | None = None) -> dict[str, Any] | None:
        """Mailchimp `recipients.segment_opts` for these targets (None: the whole list)."""
        if not targets:
            return None
        ids = self._resolve_segments()
        missing = [t for t in targets if t not in ids]
        if missing:
            raise PermanentError(
                f"segment {missing[0]!r} does not exist in the list",
                channel=self.name,
                post=post.slug if post else None,
                hint="create it in Mailchimp or fix MAILCHIMP_SEGMENTS",
            )
        by_category: dict[str, list[str]] = {}
        conditions: list[dict[str, Any]] = []
        for target in targets:
            kind, ident = ids[target]
            if kind == "interest":
                category, interest = ident.split(":", 1)
                by_category.setdefault(category, []).append(interest)
            else:
                conditions.append(
                    {
                        "condition_type": "StaticSegment",
                        "field": "static_segment",
                        "op": "static_is",
                        "value": int(ident),
                    }
                )
        for category, interests in by_category.items():
            conditions.insert(
                0,
                {
                    "condition_type": "Interests",
                    "field": f"interests-{category}",
                    "op": "interestcontains",
                    "value": interests,
                },
            )
        return {"match": self.options["MAILCHIMP_SEGMENT_MATCH"], "conditions": conditions}

    # -- the Channel interface ---------------------------------------------------------
    def check(self) -> CheckResult:
        self._call("ping", self.client.ping.get)
        audience = self._audience()
        from_name, reply_to = self._sender(online=True)
        if not from_name or not reply_to:
            raise ConfigError(
                "no from name or reply-to address",
                channel=self.name,
                hint="set MAILCHIMP_FROM_NAME and MAILCHIMP_REPLY_TO, or the list's defaults",
            )
        wanted = [
            t for targets in self.options["MAILCHIMP_SEGMENTS"].values() for t in _as_list(targets)
        ]
        found = self._resolve_segments()
        missing = sorted({t for t in wanted if t not in found})
        if missing:
            raise ConfigError(
                f"mapped segment(s) missing in list {audience.get('name', self.list_id)!r}: "
                + ", ".join(missing),
                channel=self.name,
                hint="create them in Mailchimp (interest groups or tags) or fix MAILCHIMP_SEGMENTS",
            )
        members = (audience.get("stats") or {}).get("member_count")
        detail = f"list {audience.get('name', self.list_id)!r}"
        if members is not None:
            detail += f" ({members} subscribers)"
        detail += f", from {from_name} <{reply_to}>"
        if found:
            detail += f", {len(found)} segment(s) mapped"
        return CheckResult(self.name, True, detail)

    def render(self, post: Post) -> Draft:
        message = email_render.render(post, self.settings)
        from_name, reply_to = self._sender(online=False)
        return Draft(
            channel=self.name,
            text=message.text,
            html=message.html,
            subject=message.subject,
            extra={
                "preview_text": message.preheader,
                "title": campaign_title(post.id),
                "segments": segments_for(post, self.options["MAILCHIMP_SEGMENTS"]),
                "from_name": from_name,
                "reply_to": reply_to,
            },
        )

    # -- digest mode: one campaign for several posts -----------------------------------------
    @property
    def digest_mode(self) -> bool:
        return self.options["NEWSLETTER_MODE"] == "digest"

    def digest(self, posts: Sequence[Post]) -> tuple[Post, Draft]:
        """One synthetic post standing for a digest of `posts`, and its draft.

        The digest's ID (so its campaign title) is derived from the IDs of the posts it
        holds, so a re-run after a crash finds the same campaign; its tags are the union
        of theirs, so segments still apply. prepare/find_existing/send take it like any
        post; the runner then records every post of the digest as sent with its Remote.
        """
        if not posts:
            raise ValueError("mailchimp: a digest needs at least one post")
        ordered = sorted(posts, key=lambda p: p.date, reverse=True)
        ids = "\n".join(sorted(p.id for p in posts))
        key = hashlib.sha256(ids.encode("utf-8")).hexdigest()[:16]
        message = email_render.render_digest(ordered, self.settings)
        tags: list[str] = []
        for p in ordered:
            tags += [t for t in (*p.tags, *([p.category] if p.category else ())) if t not in tags]
        siteurl = str(self.settings.get("SITEURL", "")).rstrip("/") + "/"
        post = Post(
            id=f"digest:{key}",
            slug=f"digest-{ordered[0].date:%Y-%m-%d}",
            title=message.subject,
            url=siteurl,
            date=ordered[0].date,
            summary_text=message.preheader,
            tags=tuple(tags),
            email_subject=message.subject,
        )
        from_name, reply_to = self._sender(online=False)
        # Segments of the digest: the union of its posts' ones, unless one of its posts
        # goes to the whole list (then the digest does too).
        targets: list[str] = []
        for p in ordered:
            own = segments_for(p, self.options["MAILCHIMP_SEGMENTS"])
            if not own:
                targets = []
                break
            targets += [t for t in own if t not in targets]
        draft = Draft(
            channel=self.name,
            text=message.text,
            html=message.html,
            subject=message.subject,
            extra={
                "preview_text": message.preheader,
                "title": campaign_title(post.id),
                "segments": targets,
                "from_name": from_name,
                "reply_to": reply_to,
                "posts": [p.id for p in ordered],
            },
        )
        return post, draft

    def prepare(self, post: Post, draft: Draft) -> dict[str, Any]:
        return {"title": campaign_title(post.id), "list_id": self.list_id}

    def _title(self, post: Post, item: Mapping[str, Any]) -> str:
        intent = item.get("intent") or {}
        return intent.get("title") or campaign_title(post.id)

    def _lookup(self, post: Post, title: str) -> list[dict[str, Any]]:
        """Campaigns of the list with this exact title (newest first)."""
        since = min(post.date, datetime.now(UTC)) - timedelta(
            days=self.options["MAILCHIMP_LOOKBACK_DAYS"]
        )
        matches: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = self._call(
                "look for an earlier campaign",
                self.client.campaigns.list,
                post=post,
                list_id=self.list_id,
                since_create_time=since.astimezone(UTC).isoformat(timespec="seconds"),
                sort_field="create_time",
                sort_dir="DESC",
                count=_PAGE,
                offset=offset,
                fields=_CAMPAIGN_FIELDS,
            )
            campaigns = page.get("campaigns", [])
            matches += [c for c in campaigns if (c.get("settings") or {}).get("title") == title]
            offset += len(campaigns)
            if not campaigns or offset >= page.get("total_items", 0):
                return matches

    @staticmethod
    def _remote(campaign: Mapping[str, Any], state: str = "sent") -> Remote:
        url = campaign.get("archive_url") or campaign.get("long_archive_url") or ""
        return Remote(id=campaign["id"], url=url, state=state)

    def _existing(self, post: Post, title: str) -> tuple[Remote | None, dict | None]:
        """(delivered Remote or None, resumable campaign in `save` state or None)."""
        found = self._lookup(post, title)
        for campaign in found:
            if campaign.get("status") in _DELIVERED:
                return self._remote(campaign), None
        for campaign in found:
            if campaign.get("status") in ("schedule", "paused"):
                return self._remote(campaign, "scheduled"), None
        for campaign in found:
            if campaign.get("status") == "save":
                return None, campaign
        for campaign in found:
            if campaign.get("status") in ("canceled", "canceling"):
                raise PermanentError(
                    f"campaign {campaign['id']} was cancelled in Mailchimp",
                    channel=self.name,
                    post=post.slug,
                    hint="to send it after all: invoke syndicate --post SLUG "
                    "--channel mailchimp --resend",
                )
        return None, None

    def find_existing(self, post: Post, item: Mapping[str, Any]) -> Remote | None:
        remote, _ = self._existing(post, self._title(post, item))
        return remote

    def _campaign_body(self, post: Post, draft: Draft, title: str) -> dict[str, Any]:
        from_name, reply_to = self._sender(online=True)
        recipients: dict[str, Any] = {"list_id": self.list_id}
        opts = self.segment_opts(list(draft.extra.get("segments", [])), post)
        if opts:
            recipients["segment_opts"] = opts
        return {
            "type": "regular",
            "recipients": recipients,
            "settings": {
                "title": title,
                "subject_line": draft.subject,
                "preview_text": str(draft.extra.get("preview_text", "")),
                "from_name": from_name,
                "reply_to": reply_to,
                "auto_footer": False,  # the template has its own footer and merge tags
                "inline_css": False,  # already inlined
            },
        }

    def _ready_campaign(self, post: Post, draft: Draft, item: Mapping[str, Any]):
        """(delivered Remote, None) or (None, campaign in `save` state with content)."""
        title = self._title(post, item)
        delivered, campaign = self._existing(post, title)
        if delivered:
            return delivered, None
        body = self._campaign_body(post, draft, title)
        if campaign is None:
            campaign = self._call(
                "create the campaign", self.client.campaigns.create, body, post=post
            )
        else:
            patch = {"settings": body["settings"], "recipients": body["recipients"]}
            campaign = self._call(
                "update the campaign",
                self.client.campaigns.update,
                campaign["id"],
                patch,
                post=post,
            )
        self._call(
            "set the content",
            self.client.campaigns.set_content,
            campaign["id"],
            {"html": draft.html, "plain_text": draft.text},
            post=post,
        )
        return None, campaign

    def send(self, post: Post, draft: Draft, item: Mapping[str, Any]) -> Remote:
        delivered, campaign = self._ready_campaign(post, draft, item)
        if delivered:
            return delivered
        try:
            self._call("send the campaign", self.client.campaigns.send, campaign["id"], post=post)
        except PermanentError as e:
            if isinstance(e, AuthError):
                raise
            # Another run may have sent it between our lookup and this call.
            current = self._call(
                "read the campaign", self.client.campaigns.get, campaign["id"], post=post
            )
            if current.get("status") in _DELIVERED:
                return self._remote(current)
            raise
        return self._remote(campaign)

    def send_test(
        self, post: Post, draft: Draft, item: Mapping[str, Any], emails: list[str]
    ) -> None:
        delivered, campaign = self._ready_campaign(post, draft, item)
        target = campaign or {"id": delivered.id}
        self._call(
            "send the test email",
            self.client.campaigns.send_test_email,
            target["id"],
            {"test_emails": list(emails), "send_type": "html"},
            post=post,
        )
