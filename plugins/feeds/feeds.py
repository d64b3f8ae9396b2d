"""feeds: site-wide Atom, RSS 2.0 and JSON Feed 1.1, plus Atom per category and per tag.

One pure function, `make_feeds(articles, settings)`, turns the build's articles into
`Feed` objects: a feedgen `FeedGenerator` and the plain entry data the JSON Feed is
written from, so every format says the same thing. A small generator runs it (as
`iter_feeds`, one feed at a time) once per build, after every other generator has filled
the context, and writes each feed as it comes:

    feeds/atom.xml  feeds/rss.xml  feeds/feed.json
    feeds/category/<slug>.atom.xml  feeds/tag/<slug>.atom.xml
    feeds/index.html   (a human-readable page listing every feed)

Entry IDs are `article.post_id` (plugins/post_ids), so they survive a new SITEURL,
scheme, slug or date. Links and image URLs inside the content are made absolute.
The context gets `feed_links` (title, type, url, path) for <link rel="alternate">
tags and the subscribe form, and `feeds_index` for the feeds page.
"""

from __future__ import annotations

import inspect
import json
import logging
import mimetypes
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator
from lxml import etree
from pelican import signals
from pelican.generators import Generator
from pelican.utils import truncate_html_words

from .freshness import FeedState

log = logging.getLogger(__name__)

DEFAULTS = {
    # Folder of every feed file, relative to the output folder.
    "FEEDS_PATH": "feeds",
    # Entries carry only the summary instead of the full post.
    "FEEDS_SUMMARY_ONLY": False,
    # Newest entries per feed (0: every post).
    "FEEDS_MAX_ITEMS": 20,
    # Write an Atom feed per category / per tag.
    "FEEDS_CATEGORIES": True,
    "FEEDS_TAGS": True,
    # Write feeds/feed.json (JSON Feed 1.1).
    "FEEDS_JSON": True,
    # Write the human-readable feeds page (feeds/index.html).
    "FEEDS_PAGE": True,
    # Rewrite only feeds whose inputs changed since the last build (CACHE_PATH/feeds-state.json).
    "FEEDS_CACHE": True,
}

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
ATOM_TYPE = "application/atom+xml"
RSS_TYPE = "application/rss+xml"
JSON_TYPE = "application/feed+json"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # `updated` of a feed with no entries
_APART_MIN_ENTRIES = 400  # feeds listing fewer entries in all are written in one process
_URL_ATTRS = ("href", "src", "poster", "cite", "action", "longdesc")
_HAS_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")  # already absolute (or mailto: etc.)


def get_settings(pelican_settings) -> dict:
    """The plugin's settings: DEFAULTS overlaid with the site's values, validated."""
    settings = {key: pelican_settings.get(key, value) for key, value in DEFAULTS.items()}
    limit = settings["FEEDS_MAX_ITEMS"]
    if limit is None:
        settings["FEEDS_MAX_ITEMS"] = 0
    elif isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(
            f"feeds: FEEDS_MAX_ITEMS must be a whole number >= 0 (0 = no limit); got {limit!r}"
        )
    path = str(settings["FEEDS_PATH"]).strip("/")
    if not path or ".." in path.split("/"):
        raise ValueError(f"feeds: FEEDS_PATH must be a folder inside the site; got {path!r}")
    settings["FEEDS_PATH"] = path
    return settings


# --- plain data --------------------------------------------------------------------


@dataclass
class Feed:
    """One feed: where it goes, what it is about, and its entries."""

    kind: str  # "site", "category" or "tag"
    name: str  # "" for the site feed, else the category or tag name
    title: str
    path: str  # Atom file, relative to the output folder
    page_url: str  # absolute URL of the HTML page the feed mirrors
    generator: FeedGenerator
    entries: list[dict] = field(default_factory=list)


def site_url(settings) -> str:
    return str(settings.get("SITEURL") or "").rstrip("/")


def absolute(settings, path: str) -> str:
    """Absolute URL of a path relative to the site root."""
    return f"{site_url(settings)}/{path.lstrip('/')}"


def feed_paths(settings) -> dict[str, str]:
    """Output paths of the site-wide feeds and the feeds page."""
    folder = get_settings(settings)["FEEDS_PATH"]
    page = (
        f"{folder}/" if str(settings.get("PAGE_URL", "")).endswith("/") else f"{folder}/index.html"
    )
    return {
        "atom": f"{folder}/atom.xml",
        "rss": f"{folder}/rss.xml",
        "json": f"{folder}/feed.json",
        "page_save_as": f"{folder}/index.html",
        "page_url": page,
    }


def taxonomy_feed_path(settings, kind: str, slug: str) -> str:
    return f"{get_settings(settings)['FEEDS_PATH']}/{kind}/{slug}.atom.xml"


def _fragment(html: str):
    """Parse an HTML fragment into a <body> element (plain lxml elements: fast)."""
    doc = etree.fromstring(f"<html><body>{html}</body></html>", etree.HTMLParser())
    return doc.find("body")


def absolutize_html(html: str, base: str) -> str:
    """Make every relative link and image URL in an HTML fragment absolute."""
    if not html or not html.strip():
        return html or ""
    body = _fragment(html)
    if body is None:
        return html
    for el in body.iter(etree.Element):
        for attr in _URL_ATTRS:
            value = el.get(attr)
            if value is not None and not _HAS_SCHEME.match(value):
                el.set(attr, urljoin(base, value.strip()))
        srcset = el.get("srcset")
        if srcset:
            candidates = []
            for candidate in srcset.split(","):
                parts = candidate.strip().split(None, 1)
                if parts:
                    parts[0] = urljoin(base, parts[0])
                    candidates.append(" ".join(parts))
            el.set("srcset", ", ".join(candidates))
    text = etree.tostring(body, method="html", encoding="unicode")
    return text[len("<body>") : -len("</body>")]


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment, whitespace collapsed."""
    if not html or not html.strip():
        return ""
    body = _fragment(html)
    return " ".join("".join(body.itertext()).split()) if body is not None else ""


def aware(value, settings) -> datetime:
    """A timezone-aware datetime (naive ones are read in the site's TIMEZONE)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=ZoneInfo(settings.get("TIMEZONE") or "UTC"))
    return value


def media(settings, value) -> dict | None:
    """url, mime type and size of an `Image`/`Audio` metadata value, or None."""
    if not value:
        return None
    value = str(value).strip()
    for prefix in ("{static}", "{attach}", "{filename}"):
        if value.startswith(prefix):
            value = value[len(prefix) :]
    if value.startswith(("http://", "https://")):
        url, local = value, None
    else:
        rel = value.lstrip("/")
        url = absolute(settings, rel)
        local = Path(settings.get("PATH", "")) / rel
    mime = mimetypes.guess_type(url.split("?", 1)[0])[0] or "application/octet-stream"
    size = 0
    if local is not None:
        try:
            size = local.stat().st_size
        except OSError:
            size = 0
    return {"url": url, "mime_type": mime, "size_in_bytes": size}


def fresh_content(article, siteurl: str) -> str:
    """`article.get_content(siteurl)`, computed now rather than taken from Pelican's memo.

    Pelican memoises content per site URL; if anything read `article.content` while the
    generators were still collecting (when the page URL is SITEURL), the memo holds
    `{static}` links that could not be resolved yet.
    """
    raw = getattr(inspect.getattr_static(type(article), "get_content", None), "func", None)
    return raw(article, siteurl) if raw else article.get_content(siteurl)


def entry_data(article, settings, conf) -> dict:
    """Everything a feed says about one article, as plain data."""
    url = absolute(settings, article.url)
    content = absolutize_html(fresh_content(article, site_url(settings)), url)
    if "summary" in article.metadata:
        summary = absolutize_html(article.metadata["summary"], url)
    elif settings.get("SUMMARY_MAX_LENGTH") is None:
        summary = content
    else:
        summary = truncate_html_words(
            content, settings["SUMMARY_MAX_LENGTH"], settings.get("SUMMARY_END_SUFFIX", "…")
        )
    published = aware(article.date, settings)
    modified = getattr(article, "modified", None)
    updated = aware(modified, settings) if modified else published
    authors = [
        {"name": str(a), "url": absolute(settings, a.url)} for a in getattr(article, "authors", [])
    ]
    category = getattr(article, "category", None)
    tags = [str(t) for t in getattr(article, "tags", []) or []]
    image = media(settings, article.metadata.get("image"))
    audio = media(settings, article.metadata.get("audio"))
    return {
        "id": article.post_id,
        "url": url,
        "title": str(article.title),
        "content_html": summary if conf["FEEDS_SUMMARY_ONLY"] else content,
        "summary_html": summary,
        "summary_text": html_to_text(summary),
        "published": published,
        "updated": max(updated, published),
        "authors": authors,
        "categories": ([str(category)] if category else []) + tags,
        "image": image,
        "image_alt": str(article.metadata.get("imagealt", "") or ""),
        "audio": audio,
        "language": getattr(article, "lang", None) or settings.get("DEFAULT_LANG"),
    }


class _Entry(FeedEntry):
    """feedgen 1.0 drops rel/type/length of an entry's Atom links (a shadowed variable
    in FeedEntry.atom_entry), which would turn an enclosure into a second alternate
    link. Put the attributes back from the entry's own link data."""

    def atom_entry(self, extensions=True):
        entry = super().atom_entry(extensions)
        elements = [el for el in entry if etree.QName(el).localname == "link"]
        for el, data in zip(elements, self.link() or [], strict=True):
            for attr in ("rel", "type", "hreflang", "title", "length"):
                if data.get(attr):
                    el.set(attr, str(data[attr]))
        return entry


def feed_entry(data: dict, conf) -> FeedEntry:
    """A feedgen entry built from `entry_data`."""
    fe = _Entry()
    fe.id(data["id"])
    fe.title(data["title"])
    fe.link(href=data["url"], rel="alternate", type="text/html")
    fe.published(data["published"])
    fe.updated(data["updated"])
    for author in data["authors"]:
        fe.author({"name": author["name"], "uri": author["url"]})
    for term in data["categories"]:
        fe.category(term=term, label=term)
    fe.summary(data["summary_html"], type="html")
    if not conf["FEEDS_SUMMARY_ONLY"]:
        fe.content(data["content_html"], type="html")
    # RSS carries one enclosure: the last one set, so audio wins over the image.
    for item in (data["image"], data["audio"]):
        if item:
            fe.enclosure(item["url"], str(item["size_in_bytes"]), item["mime_type"])
    return fe


def feed_self_links(self_url: str, self_type: str, page_url: str, others=()) -> list[dict]:
    """Links of a feed: itself, other formats of it, then its HTML page.

    feedgen uses the last link as RSS's <link>, so the HTML page comes last.
    """
    links = [{"href": self_url, "rel": "self", "type": self_type}]
    links += [{"href": href, "rel": "alternate", "type": mime} for href, mime in others]
    links.append({"href": page_url, "rel": "alternate", "type": "text/html"})
    return links


def new_generator(settings, *, title: str, feed_url: str, page_url: str, others=()):
    fg = FeedGenerator()
    fg.id(feed_url)
    fg.title(title)
    fg.subtitle(settings.get("SITE_DESCRIPTION") or settings.get("SITESUBTITLE") or title)
    fg.link(feed_self_links(feed_url, ATOM_TYPE, page_url, others), replace=True)
    fg.language(settings.get("DEFAULT_LANG") or "en")
    if settings.get("AUTHOR"):
        fg.author({"name": settings["AUTHOR"], "uri": site_url(settings) + "/"})
    return fg


def feed_groups(articles, settings) -> list[tuple]:
    """(kind, wrapper, title, path, members) of every feed of the site, site feed first.

    Linear in the number of articles apart from one sort."""
    conf = get_settings(settings)
    limit = conf["FEEDS_MAX_ITEMS"] or None
    ordered = sorted(articles, key=lambda a: (a.date, a.post_id), reverse=True)
    paths = feed_paths(settings)
    sitename = str(settings.get("SITENAME") or "")

    site_members: list = []
    groups: list[tuple[str, object, str, str, list]] = [
        ("site", None, sitename, paths["atom"], site_members)
    ]
    by_category: dict[str, list] = defaultdict(list)
    by_tag: dict[str, list] = defaultdict(list)
    names: dict[tuple[str, str], object] = {}
    for article in ordered:
        if len(site_members) != limit:
            site_members.append(article)
        category = getattr(article, "category", None)
        if conf["FEEDS_CATEGORIES"] and category:
            bucket = by_category[category.slug]
            names.setdefault(("category", category.slug), category)
            if len(bucket) != limit:
                bucket.append(article)
        if conf["FEEDS_TAGS"]:
            for tag in getattr(article, "tags", []) or []:
                bucket = by_tag[tag.slug]
                names.setdefault(("tag", tag.slug), tag)
                if len(bucket) != limit:
                    bucket.append(article)
    for kind, buckets in (("category", by_category), ("tag", by_tag)):
        for slug in sorted(buckets):
            wrapper = names[(kind, slug)]
            groups.append(
                (
                    kind,
                    wrapper,
                    f"{sitename} · {wrapper}",
                    taxonomy_feed_path(settings, kind, slug),
                    buckets[slug],
                )
            )
    return groups


def make_feeds(articles, settings, groups=None) -> list[Feed]:
    """Build every feed of the site (or only `groups`, from feed_groups) from its
    published articles. Pure: writes nothing."""
    return list(iter_feeds(articles, settings, groups))


def iter_feeds(articles, settings, groups=None):
    """make_feeds, one feed at a time, so that a caller writing each feed as it comes
    never holds them all.

    Each article's entry data (the costly part: absolute links) is computed once, and
    only for articles that make it into at least one feed; it is let go after the last
    feed that lists the article.
    """
    conf = get_settings(settings)
    home = site_url(settings) + "/"
    paths = feed_paths(settings)
    if groups is None:
        groups = feed_groups(articles, settings)
    last_use = {}
    for index, group in enumerate(groups):
        for article in group[4]:
            last_use[id(article)] = index
    cache: dict[int, tuple[dict, FeedEntry]] = {}

    def entry_for(article):
        key = id(article)
        if key not in cache:
            data = entry_data(article, settings, conf)
            cache[key] = (data, feed_entry(data, conf))
        return cache[key]

    for index, (kind, wrapper, title, path, members) in enumerate(groups):
        page_url = home if wrapper is None else absolute(settings, wrapper.url)
        others = [(absolute(settings, paths["rss"]), RSS_TYPE)] if kind == "site" else []
        fg = new_generator(
            settings,
            title=title,
            feed_url=absolute(settings, path),
            page_url=page_url,
            others=others,
        )
        if kind == "site":
            fg.load_extension("dc", atom=False, rss=True)
        entries = []
        for article in members:
            data, fe = entry_for(article)
            fg.add_entry(fe, order="append")
            if kind == "site":
                for author in data["authors"]:
                    fe.dc.dc_creator(author["name"])
            entries.append(data)
            if last_use[id(article)] == index:
                del cache[id(article)]
        fg.updated(max((e["updated"] for e in entries), default=_EPOCH))
        name = "" if wrapper is None else str(wrapper)
        yield Feed(kind, name, title, path, page_url, fg, entries)


def json_feed(feed: Feed, settings) -> dict:
    """JSON Feed 1.1 document for a feed, from the same entry data as its Atom twin."""
    paths = feed_paths(settings)
    items = []
    for e in feed.entries:
        item = {
            "id": e["id"],
            "url": e["url"],
            "title": e["title"],
            "content_html": e["content_html"],
            "summary": e["summary_text"],
            "date_published": e["published"].isoformat(),
            "date_modified": e["updated"].isoformat(),
            "authors": e["authors"],
            "tags": e["categories"],
            "language": e["language"],
        }
        if e["image"]:
            item["image"] = e["image"]["url"]
        attachments = [dict(m) for m in (e["audio"],) if m]
        if attachments:
            item["attachments"] = attachments
        items.append(item)
    doc = {
        "version": JSON_FEED_VERSION,
        "title": feed.title,
        "home_page_url": feed.page_url,
        "feed_url": absolute(settings, paths["json"]),
        "description": settings.get("SITE_DESCRIPTION") or "",
        "language": settings.get("DEFAULT_LANG") or "en",
        "items": items,
    }
    if settings.get("AUTHOR"):
        doc["authors"] = [{"name": settings["AUTHOR"], "url": site_url(settings) + "/"}]
    return doc


def feed_links(settings, categories=(), tags=()) -> dict:
    """Context data: site-wide `feed_links` and the `feeds_index` of every feed."""
    conf = get_settings(settings)
    paths = feed_paths(settings)
    sitename = str(settings.get("SITENAME") or "")

    def link(title, mime, path):
        return {"title": title, "type": mime, "url": absolute(settings, path), "path": path}

    site = [
        link(f"{sitename} (Atom)", ATOM_TYPE, paths["atom"]),
        link(f"{sitename} (RSS)", RSS_TYPE, paths["rss"]),
    ]
    if conf["FEEDS_JSON"]:
        site.append(link(f"{sitename} (JSON Feed)", JSON_TYPE, paths["json"]))

    def taxonomy(kind, wrappers):
        rows = []
        for wrapper in wrappers:
            path = taxonomy_feed_path(settings, kind, wrapper.slug)
            rows.append(
                {
                    "name": str(wrapper),
                    "slug": wrapper.slug,
                    "page_path": wrapper.url,
                    **link(f"{sitename} · {wrapper}", ATOM_TYPE, path),
                }
            )
        return sorted(rows, key=lambda r: r["slug"])

    index = {
        "site": site,
        "categories": taxonomy("category", categories) if conf["FEEDS_CATEGORIES"] else [],
        "tags": taxonomy("tag", tags) if conf["FEEDS_TAGS"] else [],
        "page_path": paths["page_url"],
        "page_url": absolute(settings, paths["page_url"]),
    }
    index["by_category"] = {row["slug"]: row for row in index["categories"]}
    index["by_tag"] = {row["slug"]: row for row in index["tags"]}
    return {"feed_links": site, "feeds_index": index}


def rss_bytes(feed: Feed, settings) -> bytes:
    """RSS 2.0 rendering of a feed (its self link pointing at the RSS file)."""
    paths = feed_paths(settings)
    fg = feed.generator
    atom_links = fg.link()
    fg.link(
        feed_self_links(
            absolute(settings, paths["rss"]),
            RSS_TYPE,
            feed.page_url,
            [(absolute(settings, feed.path), ATOM_TYPE)],
        ),
        replace=True,
    )
    try:
        return fg.rss_str(pretty=True)
    finally:
        fg.link(atom_links, replace=True)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


class FeedsGenerator(Generator):
    """Adds `feed_links` to the context, then writes every feed and the feeds page."""

    def generate_context(self):
        conf = get_settings(self.settings)
        categories = [c for c, _ in self.context.get("categories", [])]
        tags = [t for t, _ in self.context.get("tags", []) or []]
        data = feed_links(self.settings, categories, tags)
        self.conf = conf
        self.context.update(data)

    def generate_output(self, writer):
        settings = self.settings
        articles = self.context.get("articles", [])
        paths = feed_paths(settings)
        state = FeedState(
            settings.get("CACHE_PATH") if self.conf["FEEDS_CACHE"] else None,
            self.output_path,
            settings,
            self.context,
        )
        stale = []
        for group in feed_groups(articles, settings):
            files = [group[3]]
            if group[0] == "site":
                files += [paths["rss"]] + ([paths["json"]] if self.conf["FEEDS_JSON"] else [])
            if not state.fresh(group, files):
                stale.append(group)
        out = Path(self.output_path)

        def write_feeds(groups) -> list[list[str]]:
            """Write the feeds of `groups`; [feed path, file] for each file written."""
            done = []
            for feed in iter_feeds(articles, settings, groups=groups):
                files = [(feed.path, feed.generator.atom_str(pretty=True))]
                if feed.kind == "site":
                    files.append((paths["rss"], rss_bytes(feed, settings)))
                    if self.conf["FEEDS_JSON"]:
                        text = json.dumps(json_feed(feed, settings), ensure_ascii=False, indent=2)
                        files.append((paths["json"], (text + "\n").encode("utf-8")))
                for file, data in files:
                    _write(out / file, data)
                    done.append([feed.path, file])
            return done

        # The feeds dealt out to other processes when the writer offers that (fastbuild's)
        # and they list enough entries to be worth a fork. A post listed by feeds of two
        # shares has its entry made in each process.
        map_shares = getattr(writer, "map_shares", None)
        if map_shares is not None and sum(len(g[4]) for g in stale) >= _APART_MIN_ENTRIES:
            reports = map_shares(write_feeds, stale, at_least=1)
        else:
            reports = [write_feeds(stale)]
        written = set()
        for feed_path, file in (item for report in reports for item in report):
            state.wrote(feed_path, file)
            written.add(feed_path)
        state.save()
        log.debug("feeds: wrote %d feed(s) into %s", len(written), out / self.conf["FEEDS_PATH"])
        if self.conf["FEEDS_PAGE"]:
            writer.write_file(
                paths["page_save_as"],
                self.get_template("feeds"),
                self.context,
                relative_urls=settings.get("RELATIVE_URLS", False),
                url=paths["page_url"],
                page_name=os.path.splitext(paths["page_save_as"])[0],
            )


def get_generators(pelican):
    return FeedsGenerator


def register():
    signals.get_generators.connect(get_generators)
