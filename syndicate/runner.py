"""One syndication run: find what is new, check every channel, send each item exactly once.

The order of writes is what makes a crash harmless:

    prepare()  → ledger: state "pending", intent      (once per item)
    before each attempt → ledger: state "sending", attempts + 1, last_attempt
    send()     → ledger: state "sent", remote id/url  (or "failed" with the error)

After a crash the item is "pending" (nothing reached the service: send), or "sending"
(maybe it did: find_existing() first, send only if nothing is found). Idempotency keys,
deterministic record keys and campaign titles derived from the post ID close the gap
between the service accepting a send and the ledger recording it.

`dry_run()` and `run()` are the entry points for code (the CLI and the benchmark).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from syndicate import channels as registry
from syndicate.channels.base import Channel, Remote
from syndicate.config import Config
from syndicate.errors import (
    AuthError,
    ConfigError,
    SyndicateError,
    TransientError,
)
from syndicate.ledger import Ledger, now_iso
from syndicate.manifest import Entry, Manifest
from syndicate.post import Post

# Exit codes of a run.
OK, FAILED, NOT_STARTED = 0, 1, 2


# -- what is new -----------------------------------------------------------------------------
@dataclass
class Plan:
    """Per channel: the entries to send (oldest first), skips with reasons, refusals."""

    new: dict[str, list[Entry]] = field(default_factory=dict)
    skipped: dict[str, list[tuple[Entry, str]]] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)

    def count(self) -> int:
        return sum(len(v) for c, v in self.new.items() if c not in self.refused)


def skip_reason(entry: Entry, channel: str, email: bool) -> str:
    """Why this post never goes to this channel ("" = it does)."""
    if entry.channels is not None and not entry.channels:
        return "Syndicate: no"
    if entry.channels is not None and channel not in entry.channels:
        return "not in Syndicate:"
    if email and entry.newsletter == "no":
        return "Newsletter: no"
    if not email and entry.newsletter == "only":
        return "email-only post"
    return ""


def eligible_entries(
    manifest: Manifest, since: datetime | None, now: datetime | None = None
) -> list[Entry]:
    now = now or datetime.now(UTC)
    return [e for e in manifest.entries if e.date <= now and (since is None or e.date >= since)]


def plan(
    entries: Iterable[Entry],
    ledger: Ledger,
    channel_classes: Mapping[str, type[Channel]],
    max_new: int,
    *,
    only_post: str = "",
) -> Plan:
    """What is new for each channel. Reads only the index and the ledger: no post files."""
    result = Plan()
    entries = [e for e in entries if not only_post or e.slug == only_post]
    records = ledger.posts
    empty: dict[str, Any] = {}
    for name, cls in channel_classes.items():
        email = registry.is_email(cls)
        new, skipped = [], []
        for entry in entries:
            if records.get(entry.id, empty).get(name, empty).get("state") == "sent":
                continue
            reason = skip_reason(entry, name, email)
            if reason:
                skipped.append((entry, reason))
            else:
                new.append(entry)
        result.new[name] = new
        result.skipped[name] = skipped
        if len(new) > max_new and ledger.channel_is_empty(name) and not only_post:
            result.refused[name] = (
                f"{name}: {len(new)} posts would be sent but the ledger has nothing for this "
                f"channel yet (SYNDICATE_MAX_NEW = {max_new}). If these posts were published "
                "before, run `invoke syndicate --baseline` to mark them as sent without "
                "sending; otherwise raise SYNDICATE_MAX_NEW."
            )
    return result


# -- retries ---------------------------------------------------------------------------------
class SleepBudget:
    """Capped exponential backoff with a total sleep budget for the whole run."""

    def __init__(
        self,
        total: float,
        base: float,
        cap: float,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.left = float(total)
        self.base = float(base)
        self.cap = float(cap)
        self._sleep = sleep
        self.slept = 0.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        delay = min(self.cap, self.base * (2 ** (attempt - 1)))
        if retry_after is not None:
            delay = max(delay, float(retry_after))
        return max(0.0, delay)

    def take(self, seconds: float) -> bool:
        """Sleep `seconds` if the budget allows it; False (no sleep) if it does not."""
        if seconds > self.left:
            return False
        self.left -= seconds
        self.slept += seconds
        if seconds > 0:
            self._sleep(seconds)
        return True


# -- outcomes --------------------------------------------------------------------------------
@dataclass
class Outcome:
    slug: str
    channel: str
    state: str  # sent | found | failed | skipped | refused | dry-run | not sent
    detail: str = ""
    remote_url: str = ""
    remote_id: str = ""
    auth: bool = False  # failed on credentials: the channel stops for this run


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    exit_code: int = OK
    dry_run: bool = False
    outbox: Path | None = None

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.state in ("failed", "refused")]


# -- the run ---------------------------------------------------------------------------------
class Runner:
    """Holds the config, manifest, ledger and channel objects of one run."""

    def __init__(
        self,
        config: Config,
        *,
        manifest: Manifest | None = None,
        ledger: Ledger | None = None,
        sleep: Callable[[float], None] = time.sleep,
        progress: Any = None,
        say: Callable[[str], None] = print,
    ):
        self.config = config
        self.manifest = manifest or Manifest(config.manifest_path)
        self.ledger = ledger or config.open_ledger()
        s = config.settings
        self.budget = SleepBudget(
            s["SYNDICATE_MAX_SLEEP"], s["SYNDICATE_RETRY_BASE"], s["SYNDICATE_RETRY_CAP"], sleep
        )
        self.max_attempts = max(1, int(s["SYNDICATE_MAX_ATTEMPTS"]))
        self.progress = progress
        self.say = lambda text: say(config.redact(text))
        self._posts: dict[str, Post] = {}
        self.classes, self.unavailable = self._load_classes()

    # -- channels ----------------------------------------------------------------------------
    def _load_classes(self) -> tuple[dict[str, type[Channel]], dict[str, str]]:
        extra = self.config.settings.get("SYNDICATE_EXTRA_CHANNELS") or {}
        classes, unavailable = {}, {}
        for name in self.config.settings["SYNDICATE_CHANNELS"]:
            try:
                classes[name] = registry.load(name, extra)
            except registry.ChannelUnavailable as e:
                unavailable[name] = e.message
        return classes, unavailable

    def select(self, channel: str = "") -> dict[str, type[Channel]]:
        if not channel:
            return dict(self.classes)
        if channel in self.unavailable:
            raise ConfigError(self.unavailable[channel], channel=channel)
        if channel not in self.classes:
            raise ConfigError(
                f"channel {channel!r} is not in SYNDICATE_CHANNELS",
                hint=f"configured: {', '.join(self.config.settings['SYNDICATE_CHANNELS'])}",
            )
        return {channel: self.classes[channel]}

    def configured(self, classes: Mapping[str, type[Channel]]) -> dict[str, type[Channel]]:
        return {n: c for n, c in classes.items() if c.configured(self.config.env)}

    def instantiate(self, classes: Mapping[str, type[Channel]]) -> dict[str, Channel]:
        return {n: c(self.config.settings, self.config.env) for n, c in classes.items()}

    def missing_env(self, cls: type[Channel]) -> list[str]:
        return [v for v in cls.env_vars if not self.config.env.get(v)]

    # -- helpers ------------------------------------------------------------------------------
    def post(self, entry: Entry) -> Post:
        if entry.id not in self._posts:
            self._posts[entry.id] = self.manifest.post(entry)
        return self._posts[entry.id]

    def entries(self) -> list[Entry]:
        return eligible_entries(self.manifest, self.config.since)

    def plan(self, classes, *, only_post: str = "") -> Plan:
        return plan(
            self.entries(),
            self.ledger,
            classes,
            self.config.settings["SYNDICATE_MAX_NEW"],
            only_post=only_post,
        )

    def siteurl_problem(self) -> str:
        expected = str(self.config.settings.get("SITEURL", "")).rstrip("/")
        if expected and self.manifest.siteurl and expected != self.manifest.siteurl:
            return (
                f"the manifest was built with SITEURL {self.manifest.siteurl!r} but these "
                f"settings say {expected!r}: rebuild with the same settings file "
                "(`invoke publish` builds with publishconf.py) before syndicating"
            )
        return ""

    # -- pre-flight -----------------------------------------------------------------------------
    def preflight(self, channels: Mapping[str, Channel]) -> list[tuple[str, bool, str]]:
        """check() every channel (transient errors retried); (name, ok, line) each."""
        lines = []
        for name, channel in channels.items():
            attempt = 0
            while True:
                try:
                    result = channel.check()
                    lines.append((name, bool(result.ok), result.detail))
                    break
                except TransientError as e:
                    attempt += 1
                    delay = self.budget.delay(attempt, e.retry_after)
                    if attempt >= self.max_attempts or not self.budget.take(delay):
                        lines.append((name, False, self.config.redact(_describe(e))))
                        break
                except SyndicateError as e:
                    lines.append((name, False, self.config.redact(_describe(e))))
                    break
                except Exception as e:  # an adapter bug must not look like a pass
                    text = f"unexpected {type(e).__name__}: {e}"
                    lines.append((name, False, self.config.redact(text)))
                    break
        return lines

    # -- one item -----------------------------------------------------------------------------
    def post_for(self, entry: Entry, item: Mapping[str, Any]) -> Post:
        post = self.post(entry)
        generation = int(item.get("generation") or 0)
        if generation:
            post = dataclasses.replace(post, id=f"{post.id}#resend-{generation}")
        return post

    def deliver(
        self,
        entry: Entry,
        name: str,
        channel: Channel,
        *,
        resend: bool = False,
        digest: tuple[Post, Any] | None = None,
    ) -> Outcome:
        """Send one item unless the ledger or the service says it is already there.

        `digest` = (post, draft) of a digest (email channels' digest mode) sent in place of
        rendering `entry`'s post: its ledger item is keyed by the digest's own ID.
        """
        pid = entry.id
        item = self.ledger.get(pid, name)
        if item.get("state") == "sent" and not resend:
            return Outcome(entry.slug, name, "sent", "already in the ledger")
        if resend:
            history = list(item.get("history", []))
            if item.get("remote_id") or item.get("remote_url"):
                history.append(
                    {k: item.get(k) for k in ("remote_id", "remote_url", "sent_at") if k in item}
                )
            item = self.ledger.update(
                pid,
                name,
                generation=int(item.get("generation") or 0) + 1,
                history=history,
                state="pending",
                intent=None,
                remote_id=None,
                remote_url=None,
                sent_at=None,
                error=None,
                attempts=0,
                baseline=None,
            )
        may_exist = item.get("state") in ("sending", "failed")
        try:
            if digest is not None:
                post, draft = digest
            else:
                post = self.post_for(entry, item)
                draft = channel.render(post)
            if "intent" not in item:
                intent = channel.prepare(post, draft) or {}
                item = self.ledger.update(
                    pid,
                    name,
                    state="pending",
                    slug=entry.slug,
                    intent=intent,
                    content_hash=post.content_hash,
                    attempts=item.get("attempts", 0),
                    generation=item.get("generation", 0),
                )
        except SyndicateError as e:
            return self._fail(entry, name, e)
        except Exception as e:
            return self._fail(entry, name, e)
        attempt = 0
        while True:
            try:
                if may_exist:
                    remote = self._find(channel, post, item)
                    if remote is not None:
                        self._record_sent(pid, name, remote, found=True)
                        return Outcome(
                            entry.slug,
                            name,
                            "found",
                            "already on the service",
                            remote.url,
                            remote.id,
                        )
                item = self.ledger.update(
                    pid,
                    name,
                    state="sending",
                    attempts=int(item.get("attempts") or 0) + 1,
                    last_attempt=now_iso(),
                )
                may_exist = True
                remote = channel.send(post, draft, item)
                self._record_sent(pid, name, remote)
                return Outcome(entry.slug, name, "sent", "", remote.url, remote.id)
            except TransientError as e:
                attempt += 1
                delay = self.budget.delay(attempt, e.retry_after)
                if attempt >= self.max_attempts or not self.budget.take(delay):
                    why = (
                        "retries exhausted"
                        if attempt >= self.max_attempts
                        else f"would wait {delay:.0f} s, over the run's sleep budget"
                    )
                    return self._fail(entry, name, e, f"{why}; the next run tries again")
            except Exception as e:
                return self._fail(entry, name, e)

    def _find(self, channel: Channel, post: Post, item: Mapping[str, Any]) -> Remote | None:
        try:
            return channel.find_existing(post, item)
        except NotImplementedError:
            return None

    def _record_sent(self, pid: str, name: str, remote: Remote, found: bool = False) -> None:
        self.ledger.update(
            pid,
            name,
            state="sent",
            remote_id=str(remote.id) if remote.id else None,
            remote_url=remote.url or None,
            remote_state=remote.state if remote.state != "sent" else None,
            sent_at=now_iso(),
            found_after_crash=True if found else None,
            error=None,
        )

    def _fail(self, entry: Entry, name: str, error: Exception, note: str = "") -> Outcome:
        if isinstance(error, SyndicateError):
            if error.post is None:
                error.post = entry.slug
            if error.channel is None:
                error.channel = name
            text = _describe(error)
        else:
            text = f"[post {entry.slug!r}, channel {name}] unexpected {type(error).__name__}: "
            text += str(error)
        if note:
            text += f" ({note})"
        text = self.config.redact(text)
        self.ledger.update(
            entry.id, name, state="failed", slug=entry.slug, error=text, failed_at=now_iso()
        )
        return Outcome(entry.slug, name, "failed", text, auth=isinstance(error, AuthError))

    # -- whole runs -------------------------------------------------------------------------------
    def send_all(self, channels: Mapping[str, Channel], the_plan: Plan, report: Report) -> None:
        order = _interleave(the_plan, channels)
        task = None
        if self.progress is not None:
            task = self.progress.add_task("syndicating", total=len(order))
        stopped: dict[str, str] = {}
        digesting = {n for n, c in channels.items() if _digest_mode(c)}
        for name in digesting:
            if name in the_plan.refused or not the_plan.new.get(name):
                continue
            outcomes = self.deliver_digests(the_plan.new[name], name, channels[name])
            report.outcomes.extend(outcomes)
            for outcome in outcomes:
                if outcome.state == "failed":
                    self.say(f"failed: {outcome.detail}")
        order = [(e, n) for e, n in order if n not in digesting]
        for entry, name in order:
            if name in stopped:
                report.outcomes.append(Outcome(entry.slug, name, "not sent", stopped[name]))
            else:
                if self.progress is not None:
                    self.progress.update(task, description=f"{name}: {entry.slug}")
                outcome = self.deliver(entry, name, channels[name])
                report.outcomes.append(outcome)
                if outcome.state == "failed":
                    self.say(f"failed: {outcome.detail}")
                    if outcome.auth:
                        stopped[name] = "channel stopped after an authentication error"
            if self.progress is not None:
                self.progress.advance(task)

    # -- digest mode (email channels with `digest_mode`) ---------------------------------------
    def deliver_digests(self, entries: list[Entry], name: str, channel: Channel) -> list[Outcome]:
        """One campaign for the new posts; a digest begun by a crashed run is finished first.

        Before anything is sent, every member post's item records the digest's ID and
        members (state pending), so a re-run rebuilds the very same digest even if more
        posts were published meanwhile; then the digest is delivered like one post, and
        finally each member is marked sent with the digest's remote id.
        """
        outcomes: list[Outcome] = []
        by_id = {e.id: e for e in self.manifest.entries}
        remaining = list(entries)
        while remaining:
            members = remaining
            for entry in remaining:
                intent = self.ledger.get(entry.id, name).get("intent") or {}
                if intent.get("digest"):
                    ids = intent.get("members") or [entry.id]
                    members = [by_id[i] for i in ids if i in by_id]
                    break
            remaining = [e for e in remaining if e not in members]
            try:
                dpost, draft = channel.digest([self.post(e) for e in members])
            except Exception as e:
                outcomes += [self._fail(m, name, e) for m in members]
                continue
            ids = [m.id for m in members]
            for m in members:
                if not (self.ledger.get(m.id, name).get("intent") or {}).get("digest"):
                    self.ledger.update(
                        m.id,
                        name,
                        state="pending",
                        slug=m.slug,
                        intent={"digest": dpost.id, "members": ids},
                        content_hash=m.content_hash,
                    )
            pseudo = Entry(dpost.id, dpost.slug, dpost.date, "", "yes", None, "")
            outcome = self.deliver(pseudo, name, channel, digest=(dpost, draft))
            outcomes.append(outcome)
            if outcome.state in ("sent", "found"):
                done = self.ledger.get(dpost.id, name)
                for m in members:
                    self.ledger.update(
                        m.id,
                        name,
                        state="sent",
                        remote_id=done.get("remote_id"),
                        remote_url=done.get("remote_url"),
                        sent_at=done.get("sent_at") or now_iso(),
                        digest=dpost.id,
                    )
        return outcomes


def _digest_mode(channel: Channel) -> bool:
    return bool(getattr(channel, "digest_mode", False)) and hasattr(channel, "digest")


def _interleave(the_plan: Plan, channels: Mapping[str, Channel]) -> list[tuple[Entry, str]]:
    """Oldest post first, each to every channel, so a post goes out everywhere together."""
    pairs = []
    for name in channels:
        if name in the_plan.refused:
            continue
        for entry in the_plan.new.get(name, []):
            pairs.append((entry, name))
    order = {name: i for i, name in enumerate(channels)}
    pairs.sort(key=lambda p: (p[0].date, p[0].slug, order[p[1]]))
    return pairs


def _describe(error: BaseException) -> str:
    text = str(error)
    if isinstance(error, AuthError) and not getattr(error, "hint", None):
        text += " — check the credentials; `invoke syndicate --check` tests them"
    return text


def dry_run(
    settings: Mapping[str, Any],
    manifest_path: str | Path | None = None,
    *,
    outbox: str | Path | None = None,
    root: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Report:
    """Write the outbox for what is new, send nothing (the benchmark calls this)."""
    from syndicate import config as config_mod
    from syndicate.outbox import write_outbox

    config = config_mod.from_settings(
        settings, root=root, environ=environ or {}, manifest_path=manifest_path
    )
    if outbox is not None:
        config.outbox_path = Path(outbox)
    runner = Runner(config, say=lambda _text: None)
    return write_outbox(runner)
