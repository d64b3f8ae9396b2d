"""comments: one comment section per post, from a provider chosen by setting.

Providers: "isso" (self-hosted, the default), "giscus", "utterances", "disqus",
"remark42" and "none". The plugin only computes plain data on each article,
`article.comments`; `theme/templates/partials/comments.html` renders it, and
`partials/comment_count.html` renders the count link on listing pages.

    article.comments = {
        "provider": "isso",            # "none" when off or unconfigured
        "enabled": True,               # False with `Comments: off`
        "thread_id": article.post_id,  # stable: threads survive URL changes
        "url": ..., "title": ...,      # absolute URL of the post, plain-text title
        "config": {...},               # what the provider's embed needs
        "counts": True,                # the provider can show counts on the index
        "static": [...],               # imported comments, sanitised, threaded
        "static_count": 3,
        "static_source": "...",        # where they were imported from
    }

Static comments come from DATA_PATH/comments/<slug>.json (imported from an old blog)
and are rendered above the live thread. Their text is sanitised with nh3; a malformed
file stops the build with a message naming it.
"""

from __future__ import annotations

import html
import json
import logging
import os
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import nh3
from pelican import signals

log = logging.getLogger(__name__)

PROVIDERS = ("isso", "giscus", "utterances", "disqus", "remark42", "none")

DEFAULTS = {
    # One of PROVIDERS.
    "COMMENTS_PROVIDER": "isso",
    # Base URL of the Isso server (it serves /js/embed.min.js and the API).
    "COMMENTS_ISSO_URL": "http://localhost:8080/",
    # Extra Isso client options, rendered as data-isso-<name> attributes.
    "COMMENTS_ISSO_OPTIONS": {},
    # giscus client options (data-<name>): repo, repo-id, category, category-id, ...
    "COMMENTS_GISCUS": {},
    # utterances client options: repo (required), label, theme, ...
    "COMMENTS_UTTERANCES": {},
    # Disqus site shortname (required for the "disqus" provider).
    "COMMENTS_DISQUS_SHORTNAME": "",
    # Remark42: host (required), site_id, and other remark_config values.
    "COMMENTS_REMARK42": {},
    # Show comment counts on listing pages where the provider supports them.
    "COMMENTS_COUNTS": True,
    # Folder under DATA_PATH with imported comments, one <slug>.json per post.
    "COMMENTS_STATIC_DIR": "comments",
}

# What an imported comment may contain after sanitising.
STATIC_TAGS = {
    "p", "br", "a", "em", "strong", "i", "b", "blockquote", "code", "pre", "ul", "ol", "li",
}  # fmt: skip
STATIC_ATTRIBUTES = {"a": {"href", "title"}}
STATIC_URL_SCHEMES = {"http", "https", "mailto"}

_REQUIRED = {
    "giscus": ("COMMENTS_GISCUS", ("repo", "repo-id", "category", "category-id")),
    "utterances": ("COMMENTS_UTTERANCES", ("repo",)),
    "remark42": ("COMMENTS_REMARK42", ("host",)),
}
_COUNTS = {"isso", "disqus", "remark42"}


class CommentsError(ValueError):
    """Misconfigured provider or malformed static comments file."""


def get_settings(pelican_settings) -> dict:
    """The plugin's settings: DEFAULTS overlaid with the site's values, validated.

    An unknown provider is fatal. A known provider missing its required options is
    returned with `problem` set; `effective_provider` is then "none".
    """
    conf = {key: pelican_settings.get(key, value) for key, value in DEFAULTS.items()}
    provider = str(conf["COMMENTS_PROVIDER"] or "none").strip().lower()
    if provider not in PROVIDERS:
        raise CommentsError(
            f"comments: unknown COMMENTS_PROVIDER {conf['COMMENTS_PROVIDER']!r}; "
            f"valid names: {', '.join(PROVIDERS)}"
        )
    conf["COMMENTS_PROVIDER"] = provider
    conf["COMMENTS_ISSO_URL"] = isso_base_url(conf["COMMENTS_ISSO_URL"])
    problem = ""
    if provider == "isso" and not conf["COMMENTS_ISSO_URL"]:
        problem = "COMMENTS_ISSO_URL is empty"
    elif provider == "disqus" and not str(conf["COMMENTS_DISQUS_SHORTNAME"]).strip():
        problem = "COMMENTS_DISQUS_SHORTNAME is empty"
    elif provider in _REQUIRED:
        name, keys = _REQUIRED[provider]
        options = conf[name] or {}
        missing = [k for k in keys if not str(options.get(k, "")).strip()]
        if missing:
            problem = f"{name} lacks {', '.join(missing)}"
    conf["problem"] = problem
    conf["effective_provider"] = "none" if problem else provider
    return conf


def isso_base_url(value) -> str:
    """Isso's base URL with one trailing slash (a trailing index.html is dropped)."""
    url = str(value or "").strip()
    if url.endswith("index.html"):
        url = url[: -len("index.html")]
    return url.rstrip("/") + "/" if url else ""


def validate_settings(pelican) -> None:
    """initialized: fail on an unknown provider; warn once on a half-configured one."""
    conf = get_settings(pelican.settings)
    if conf["problem"]:
        log.warning(
            "comments: provider %r is not configured (%s); posts get no live comment "
            "thread (static comments still show)",
            conf["COMMENTS_PROVIDER"],
            conf["problem"],
        )


def _site_url(settings) -> str:
    return str(settings.get("SITEURL") or "").rstrip("/")


def thread_id(article) -> str:
    """The thread key: the post's stable ID (its URL path if post_ids is not loaded)."""
    return getattr(article, "post_id", None) or "/" + article.url


def provider_config(provider: str, conf: dict, article, url: str, title: str) -> dict:
    """What the provider's embed snippet needs for one post (plain data)."""
    thread = thread_id(article)
    if provider == "isso":
        options = {str(k): str(v) for k, v in (conf["COMMENTS_ISSO_OPTIONS"] or {}).items()}
        return {
            "base": conf["COMMENTS_ISSO_URL"],
            "embed_js": conf["COMMENTS_ISSO_URL"] + "js/embed.min.js",
            "count_js": conf["COMMENTS_ISSO_URL"] + "js/count.min.js",
            "options": dict(sorted(options.items())),
        }
    if provider == "giscus":
        options = {
            "mapping": "specific",
            "term": thread,
            "strict": "1",
            "reactions-enabled": "1",
            "emit-metadata": "0",
            "input-position": "bottom",
            "theme": "preferred_color_scheme",
            "lang": article.settings.get("DEFAULT_LANG", "en"),
            "loading": "lazy",
        }
        options.update({str(k): str(v) for k, v in conf["COMMENTS_GISCUS"].items()})
        return {"script": "https://giscus.app/client.js", "options": dict(sorted(options.items()))}
    if provider == "utterances":
        options = {"issue-term": thread, "theme": "preferred-color-scheme"}
        options.update({str(k): str(v) for k, v in conf["COMMENTS_UTTERANCES"].items()})
        return {"script": "https://utteranc.es/client.js", "options": dict(sorted(options.items()))}
    if provider == "disqus":
        shortname = str(conf["COMMENTS_DISQUS_SHORTNAME"]).strip()
        return {
            "shortname": shortname,
            "embed_js": f"https://{shortname}.disqus.com/embed.js",
            "count_js": f"https://{shortname}.disqus.com/count.js",
            "page": {"url": url, "identifier": thread, "title": title},
        }
    if provider == "remark42":
        options = dict(conf["COMMENTS_REMARK42"])
        host = str(options.pop("host")).rstrip("/")
        remark = {"host": host, "site_id": "remark", "url": url, "page_title": title}
        remark.update(options)
        return {
            "remark_config": remark,
            "embed_js": f"{host}/web/embed.js",
            "count_js": f"{host}/web/counter.js",
        }
    return {}


# --- static (imported) comments -----------------------------------------------------


def _parse_date(value, where: str, tz: ZoneInfo) -> datetime:
    try:
        date = datetime.fromisoformat(str(value))
    except (TypeError, ValueError) as e:
        raise CommentsError(f"comments: {where}: 'date' {value!r} is not an ISO 8601 date") from e
    return date if date.tzinfo else date.replace(tzinfo=tz)


def _safe_url(value) -> str:
    url = str(value or "").strip()
    return url if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc else ""


def sanitise(raw_html: str) -> str:
    """Imported comment HTML, reduced to a few harmless tags; links get rel=nofollow ugc."""
    return nh3.clean(
        raw_html,
        tags=STATIC_TAGS,
        attributes=STATIC_ATTRIBUTES,
        url_schemes=STATIC_URL_SCHEMES,
        link_rel="nofollow ugc noopener",
    ).strip()


def text_to_html(text: str) -> str:
    """Plain text to paragraphs, every character escaped."""
    paragraphs = [p.strip() for p in str(text).replace("\r\n", "\n").split("\n\n")]
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs
        if p
    )


def _comment(item, where: str, settings, tz: ZoneInfo, anchor: str) -> dict:
    if not isinstance(item, dict):
        raise CommentsError(f"comments: {where}: each comment must be an object")
    author = str(item.get("author") or "").strip()
    if not author:
        raise CommentsError(f"comments: {where}: 'author' is missing")
    if item.get("html") is not None:
        body = sanitise(str(item["html"]))
    elif item.get("text") is not None:
        body = text_to_html(item["text"])
    else:
        raise CommentsError(f"comments: {where}: needs 'text' or 'html'")
    date = _parse_date(item.get("date"), where, tz)
    replies = item.get("replies") or []
    if not isinstance(replies, list):
        raise CommentsError(f"comments: {where}: 'replies' must be a list")
    children = [
        _comment(child, f"{where}.replies[{i}]", settings, tz, f"{anchor}-{i + 1}")
        for i, child in enumerate(replies)
    ]
    children.sort(key=lambda c: c["date"])
    return {
        "author": author,
        "url": _safe_url(item.get("url")),
        "date": date,
        "date_iso": date.isoformat(),
        "date_text": date.strftime(settings.get("DEFAULT_DATE_FORMAT") or "%Y-%m-%d"),
        "html": body,
        "anchor": anchor,
        "replies": children,
    }


def load_static_comments(path: Path, settings) -> tuple[list[dict], str]:
    """Imported comments of one post: (threaded list oldest first, source note)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [], ""
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CommentsError(f"comments: {path} is not readable JSON: {e}") from e
    source = ""
    if isinstance(data, dict):
        source = str(data.get("source") or "")
        data = data.get("comments")
    if not isinstance(data, list):
        raise CommentsError(
            f"comments: {path} must hold a list of comments or {{'comments': [...]}}"
        )
    tz = ZoneInfo(settings.get("TIMEZONE") or "UTC")
    comments = [
        _comment(item, f"{path} comments[{i}]", settings, tz, f"imported-comment-{i + 1}")
        for i, item in enumerate(data)
    ]
    comments.sort(key=lambda c: c["date"])
    return comments, source


def _count(comments: list[dict]) -> int:
    return sum(1 + _count(c["replies"]) for c in comments)


def _json_files(folder: Path) -> set[str]:
    """Names of the JSON files in folder (none if it does not exist)."""
    try:
        return {entry.name for entry in os.scandir(folder) if entry.name.endswith(".json")}
    except OSError:
        return set()


def comments_for(article, conf: dict, static_dir: Path, present: set[str] | None = None) -> dict:
    """`article.comments` for one post; `present` (names of the JSON files in
    static_dir, listed once per build) saves looking for files that are not there."""
    settings = article.settings
    switch = str(article.metadata.get("comments", "on")).strip().lower()
    enabled = switch not in ("off", "no", "false", "closed", "0")
    url = f"{_site_url(settings)}/{article.url}"
    title = str(article.title)
    name = f"{article.slug}.json"
    if present is None or name in present:
        static, source = load_static_comments(static_dir / name, settings)
    else:
        static, source = [], ""
    provider = conf["effective_provider"] if enabled else "none"
    return {
        "provider": provider,
        "enabled": enabled and provider != "none",
        "closed": not enabled,
        "thread_id": thread_id(article),
        "url": url,
        "title": title,
        "config": provider_config(provider, conf, article, url, title),
        "counts": bool(conf["COMMENTS_COUNTS"]) and provider in _COUNTS,
        "static": static,
        "static_count": _count(static),
        "static_source": source,
    }


def attach_comments(generator) -> None:
    """article_generator_finalized: set `article.comments` on every post of the build."""
    conf = get_settings(generator.settings)
    static_dir = Path(generator.settings.get("DATA_PATH") or "data") / conf["COMMENTS_STATIC_DIR"]
    articles = (
        list(generator.articles)
        + list(generator.translations)
        + list(generator.hidden_articles)
        + list(generator.hidden_translations)
        + list(generator.drafts)
        + list(generator.drafts_translations)
    )
    present = _json_files(static_dir)
    for article in articles:
        article.comments = comments_for(article, conf, static_dir, present)
    slugs = {a.slug for a in articles} | {
        a.slug for a in getattr(generator, "email_only_articles", []) or []
    }
    orphans = sorted(p.name for p in static_dir.glob("*.json") if p.stem not in slugs)
    if orphans:
        log.warning(
            "comments: %s in %s match no post's slug; those comments are not shown",
            ", ".join(orphans),
            static_dir,
        )


def register():
    signals.initialized.connect(validate_settings)
    signals.article_generator_finalized.connect(attach_comments)
