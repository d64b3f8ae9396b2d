"""The interface every channel adapter implements.

A run of `invoke syndicate` does, per configured channel:
    check()                   pre-flight; raises ConfigError/AuthError/TransientError
and per (post, channel) that the ledger says is not done:
    render(post)   -> Draft   pure, no network: the exact email or social text
    find_existing(post, item) look for an earlier send (crash recovery); Remote or None
    send(post, draft, item)   deliver once; returns Remote; raises TransientError or
                              PermanentError (subclasses in syndicate.errors)
`item` is the ledger entry for (post, channel): a dict the adapter may read and
whose `intent` dict the runner persists *before* send() is called (prepare()).

How the runner (syndicate/runner.py) drives an adapter — what adapters can rely on:
- `self.settings` is the Pelican settings dict with every `SYNDICATE_*` default filled in;
  use `settings["SYNDICATE_TIMEOUT"]` (seconds) as the client timeout of every call.
  `self.env` is the environment (process + `.env`); never print or store its values.
- check() is called once per run before anything is sent; it may keep what it read
  (limits, account id) on `self` for render()/send(). A dry run never calls check(), so
  render() must work with documented defaults.
- prepare() is called once per item, its result stored as `item["intent"]` before the
  first attempt; after a crash the same intent comes back in `item` (reuse it: record,
  idempotency key, campaign title), even if the post was edited meanwhile.
- find_existing() is called before a send whenever an earlier attempt may have reached
  the service (a crash, a timeout, a failed run), never before the first attempt.
  Raising NotImplementedError means "cannot tell" (treated as not found).
- send() raising TransientError is retried (capped backoff, `retry_after` honoured, at
  most SYNDICATE_MAX_SLEEP seconds of sleep per run), each retry preceded by
  find_existing(). PermanentError is not retried; AuthError also stops the channel for
  the rest of the run. Any other exception is recorded as a failure of that item.
- `item` keys: state, attempts, last_attempt, intent, remote_id, remote_url,
  content_hash, generation. A deliberate `--resend` passes a post whose `id` is
  "<id>#resend-<generation>", so keys derived from `post.id` differ from the first send.
- Email channels set `email = True` (the `Newsletter:` metadata applies to them; social
  channels never get `Newsletter: only` posts, whose `url` is not on the public site).
- Optional: send_test(post, draft, item, emails) for `--test-email ADDR`.
- Optional digest: a channel with a true `digest_mode` and `digest(posts) -> (post, draft)`
  gets all its new posts as one item: the runner first records the digest's ID and
  members on every member's item (so a re-run rebuilds the same digest), delivers the
  digest post like any other (prepare/find_existing/send, ledger item under its own ID),
  then marks each member sent with the digest's remote id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from syndicate.post import Post


@dataclass(frozen=True)
class Draft:
    """What would be sent: the outbox shows it, send() sends exactly it."""

    channel: str
    text: str = ""  # social post text, or the email's plain-text part
    html: str = ""  # email HTML (empty for social posts)
    subject: str = ""
    length: int = 0  # length as the network counts it
    limit: int = 0  # the network's limit (0 = none)
    # link card: url, title, description, image
    card: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Remote:
    """Where a sent item lives on the service."""

    id: str
    url: str = ""
    state: str = "sent"  # "sent" or e.g. "scheduled" for services that queue


@dataclass(frozen=True)
class CheckResult:
    channel: str
    ok: bool
    detail: str  # one human line: account, list name, limits read


class Channel:
    """Base class for adapters. Subclasses set `name` and `env_vars`."""

    name: ClassVar[str] = ""
    env_vars: ClassVar[tuple[str, ...]] = ()  # required environment variables
    email: ClassVar[bool] = False  # True for newsletter channels (Mailchimp)

    def __init__(self, settings: Mapping[str, Any], env: Mapping[str, str]):
        self.settings = settings
        self.env = env

    @classmethod
    def configured(cls, env: Mapping[str, str]) -> bool:
        return all(env.get(name) for name in cls.env_vars)

    def check(self) -> CheckResult:
        raise NotImplementedError

    def render(self, post: Post) -> Draft:
        raise NotImplementedError

    def prepare(self, post: Post, draft: Draft) -> dict[str, Any]:
        """Intent recorded in the ledger before the first attempt (keys, record, title)."""
        return {}

    def find_existing(self, post: Post, item: Mapping[str, Any]) -> Remote | None:
        raise NotImplementedError

    def send(self, post: Post, draft: Draft, item: Mapping[str, Any]) -> Remote:
        raise NotImplementedError

    def send_test(
        self, post: Post, draft: Draft, item: Mapping[str, Any], emails: list[str]
    ) -> None:
        """Email channels: send the service's test email of this post to `emails`."""
        raise NotImplementedError
