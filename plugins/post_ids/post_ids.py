"""post_ids: a stable ID for every post (feed entry ID, ledger key, comment thread key).

An explicit `ID:` in a post's metadata wins. Otherwise the ID is a `tag:` URI
(RFC 4151) minted from POST_IDS_AUTHORITY, the post's date and its slug:

    tag:frontporch.example,2010-03-04:/conversation-first

The ID never depends on SITEURL or the URL scheme. Because the date and the slug can
still be edited, every published ID is recorded in a registry kept in git
(DATA_PATH/post-ids.json, keyed by the source path relative to PATH). A build that
would change a recorded post's ID stops with a message that names the file, the old
and the new ID, and the fix.

IDs are assigned at `content_object_init` (email-only posts get theirs there too);
the registry is checked and updated once per build at `article_generator_finalized`,
where email-only posts are found on `generator.email_only_articles`.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from urllib.parse import quote

from pelican import signals
from pelican.contents import Article

log = logging.getLogger(__name__)

DEFAULTS = {
    # Domain (or email address) that owns the tag: URIs. Fixed for the life of the
    # site: never derived from SITEURL, so moving the site keeps every ID.
    "POST_IDS_AUTHORITY": "",
    # Registry of published IDs; "" means DATA_PATH/post-ids.json.
    "POST_IDS_REGISTRY": "",
    # Record newly published IDs in the registry (False: only check against it).
    "POST_IDS_UPDATE_REGISTRY": True,
}

_DNS_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DNS_NAME = rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})+"
_AUTHORITY_RE = re.compile(rf"^(?:[^\s@]+@)?{_DNS_NAME}$")
_URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


class PostIdError(ValueError):
    """A post's ID is missing, invalid, duplicated, or would change."""


def get_settings(pelican_settings) -> dict:
    """The plugin's settings: DEFAULTS overlaid with the site's values, validated."""
    settings = {key: pelican_settings.get(key, value) for key, value in DEFAULTS.items()}
    authority = str(settings["POST_IDS_AUTHORITY"] or "").strip()
    if not _AUTHORITY_RE.match(authority):
        raise PostIdError(
            f"post_ids: POST_IDS_AUTHORITY must be a domain name you own (or an email "
            f"address), such as 'example.com'; got {authority!r}. It is fixed for the "
            f"life of the site and never taken from SITEURL."
        )
    settings["POST_IDS_AUTHORITY"] = authority
    settings["POST_IDS_REGISTRY"] = registry_path(pelican_settings, settings)
    return settings


def registry_path(pelican_settings, settings: dict | None = None) -> Path:
    """Where the registry lives: POST_IDS_REGISTRY or DATA_PATH/post-ids.json."""
    explicit = (settings or {}).get("POST_IDS_REGISTRY") or pelican_settings.get(
        "POST_IDS_REGISTRY", ""
    )
    if explicit:
        return Path(explicit)
    return Path(pelican_settings.get("DATA_PATH") or "data") / "post-ids.json"


def tag_uri(authority: str, date, slug: str) -> str:
    """RFC 4151 tag URI for a post first published on `date` with `slug`."""
    return f"tag:{authority},{date:%Y-%m-%d}:/{quote(slug, safe='')}"


def compute_post_id(article, settings: dict) -> str:
    """The ID this build gives `article` (explicit `ID:` metadata wins)."""
    explicit = article.metadata.get("id")
    if explicit is not None:
        return str(explicit).strip()
    return tag_uri(settings["POST_IDS_AUTHORITY"], article.date, article.slug)


def assign_post_id(content) -> None:
    """content_object_init: set `post_id` on every article (pages have none).

    Never raises: Pelican skips a file whose init fails, so problems are reported
    by `check_and_record` once per build instead.
    """
    if not isinstance(content, Article):
        return
    try:
        settings = get_settings(content.settings)
    except PostIdError:
        return  # reported at `initialized`
    content.post_id = compute_post_id(content, settings)


def validate_settings(pelican) -> None:
    """initialized: fail early on a missing or malformed authority."""
    get_settings(pelican.settings)


def load_registry(path: Path) -> dict[str, str]:
    """Read the registry; a missing file is an empty registry."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise PostIdError(f"post_ids: {path} is not valid JSON: {e}") from e
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise PostIdError(f"post_ids: {path} must map source paths to ID strings")
    return data


def dump_registry(registry: dict[str, str]) -> str:
    """Canonical text of the registry: sorted keys, one entry a line."""
    return json.dumps(dict(sorted(registry.items())), indent=2, ensure_ascii=False) + "\n"


def save_registry(path: Path, registry: dict[str, str]) -> bool:
    """Write the registry if its text changed; return whether it was written."""
    text = dump_registry(registry)
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return True


def reconcile(
    registry: dict[str, str],
    current: list[tuple[str, str, bool, bool]],
    registry_name: str = "post-ids.json",
) -> tuple[dict[str, str], list[str]]:
    """Check this build's IDs against the registry; return (new registry, errors).

    `current` holds (source path, post_id, explicit, recordable) per post; drafts are
    checked but not recorded. Pure function: the same input gives the same output.
    """
    errors: list[str] = []
    by_id: dict[str, str] = {}
    for path, post_id, explicit, _ in current:
        if explicit and not _URI_RE.match(post_id):
            errors.append(
                f"{path}: `ID: {post_id}` is not a URI; use a tag: URI such as "
                f"'tag:example.com,2010-03-04:/my-post' or a URL-like ID with a scheme"
            )
        other = by_id.setdefault(post_id, path)
        if other != path:
            errors.append(
                f"{path} and {other} have the same ID {post_id}; give one of them "
                f"its own `ID:` (or a different slug or date)"
            )
    claimed = set(by_id)
    for path, post_id, explicit, _ in current:
        old = registry.get(path)
        if old is None or old == post_id or old in claimed:
            continue
        how = "its `ID:` metadata" if explicit else "its date or slug"
        errors.append(
            f"{path}: the ID of this published post would change from {old} to "
            f"{post_id} ({how} changed; feed readers would see it as a new post). "
            f"Fix: add `ID: {old}` to its metadata. If the post was never published, "
            f"delete its line from {registry_name} instead."
        )
    if errors:
        return registry, errors
    recorded = {post_id: path for path, post_id, _, recordable in current if recordable}
    new = {
        path: post_id
        for path, post_id in registry.items()
        if recorded.get(post_id, path) == path  # drop the old path of a moved post
    }
    for post_id, path in recorded.items():
        new[path] = post_id
    return new, []


def _all_articles(generator) -> list[tuple[Article, bool]]:
    """Every article of the build with whether it is published (recordable)."""
    published = (
        list(generator.articles)
        + list(generator.translations)
        + list(generator.hidden_articles)
        + list(generator.hidden_translations)
        + list(getattr(generator, "email_only_articles", []) or [])
    )
    drafts = list(generator.drafts) + list(generator.drafts_translations)
    seen: set[int] = set()
    result = []
    for article, recordable in [(a, True) for a in published] + [(a, False) for a in drafts]:
        if id(article) not in seen:
            seen.add(id(article))
            result.append((article, recordable))
    return result


def check_and_record(generator) -> None:
    """article_generator_finalized: check every ID against the registry, record new ones."""
    settings = get_settings(generator.settings)
    current = []
    for article, recordable in _all_articles(generator):
        if not getattr(article, "post_id", None):
            article.post_id = compute_post_id(article, settings)
        explicit = article.metadata.get("id") is not None
        path = article.relative_source_path or article.get_relative_source_path()
        current.append((path, article.post_id, explicit, recordable))
    current.sort()
    path = settings["POST_IDS_REGISTRY"]
    registry = load_registry(path)
    new, errors = reconcile(registry, current, str(path))
    if errors:
        raise PostIdError("post_ids: " + "\n  ".join(["stable IDs check failed:", *errors]))
    if settings["POST_IDS_UPDATE_REGISTRY"] and save_registry(path, new):
        added = len(set(new.items()) - set(registry.items()))
        log.info("post_ids: recorded %d ID(s) in %s", added, path)


def register():
    signals.initialized.connect(validate_settings)
    signals.content_object_init.connect(assign_post_id)
    signals.article_generator_finalized.connect(check_and_record)
