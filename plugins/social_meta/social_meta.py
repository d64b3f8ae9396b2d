"""social_meta: Open Graph, Twitter card, fediverse:creator, canonical and JSON-LD.

Computes plain data; `partials/social_meta.html` renders it (escaping every value):
- `article.social_meta` and `page.social_meta`: dict with `meta` (list of dicts with
  `property` or `name` plus `content`), `canonical` (absolute URL) and `jsonld` (a JSON
  string already made safe to sit inside `<script>`).
- context `social_meta_site`: the same shape for the index and other site-level pages.
All URLs are absolute, built from settings["SITEURL"]. The per-post dicts are made when
the attribute is read (only the post's own page does), not stored on every post.
"""

from __future__ import annotations

import json
import logging
import re
from html.parser import HTMLParser

from pelican import signals
from pelican.contents import Article, Page

log = logging.getLogger(__name__)

DEFAULTS = {
    # Site image (path under the output folder, or an absolute URL) for posts without `Image`.
    "SOCIAL_META_DEFAULT_IMAGE": "",
    # Alt text of the default image.
    "SOCIAL_META_DEFAULT_IMAGE_ALT": "",
    # `twitter:site` handle, e.g. "@frontporch".
    "SOCIAL_META_TWITTER_SITE": "",
    # `fediverse:creator` handle, e.g. "@frontporch@mastodon.social".
    "SOCIAL_META_FEDIVERSE_CREATOR": "",
    # og:locale, e.g. "en_GB"; empty leaves it out.
    "SOCIAL_META_LOCALE": "",
}

_LINK_PREFIX = re.compile(r"^\{(static|attach|filename)\}")
_SPACE = re.compile(r"\s+")


class _TextParser(HTMLParser):
    """Collects the text of an HTML fragment (entities decoded)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)


def get_settings(pelican_settings) -> dict:
    """This plugin's settings with defaults."""
    return {key: pelican_settings.get(key, default) for key, default in DEFAULTS.items()}


def absolute(siteurl: str, path: str) -> str:
    """Absolute URL for a site path, `{static}` link or an already absolute URL."""
    path = _LINK_PREFIX.sub("", str(path).strip())
    if re.match(r"^[a-z][a-z0-9+.-]*://", path, re.IGNORECASE):
        return path
    return f"{siteurl.rstrip('/')}/{path.lstrip('/')}"


def plain_text(html: str | None) -> str:
    """Text of an HTML fragment (tags dropped, entities decoded, spaces collapsed)."""
    if not html:
        return ""
    parser = _TextParser()
    parser.feed(str(html))
    parser.close()
    return _SPACE.sub(" ", "".join(parser.parts)).strip()


def script_safe_json(data) -> str:
    """JSON for a `<script type="application/ld+json">` element.

    `<`, `>` and `&` become \\u escapes so no value can close the element or open a
    comment; U+2028/2029 too, for old JavaScript parsers.
    """
    text = json.dumps(data, ensure_ascii=False, sort_keys=False, indent=None)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


def _image(content, settings, conf) -> tuple[str, str]:
    meta = getattr(content, "metadata", {})
    image = meta.get("image")
    alt = meta.get("imagealt", "")
    if image:
        return absolute(settings["SITEURL"], image), str(alt)
    if conf["SOCIAL_META_DEFAULT_IMAGE"]:
        return (
            absolute(settings["SITEURL"], conf["SOCIAL_META_DEFAULT_IMAGE"]),
            conf["SOCIAL_META_DEFAULT_IMAGE_ALT"],
        )
    return "", ""


def _common(conf, settings, *, title, description, url, og_type, image, image_alt):
    meta = [
        {"property": "og:type", "content": og_type},
        {"property": "og:title", "content": title},
        {"property": "og:url", "content": url},
        {"property": "og:site_name", "content": settings.get("SITENAME", "")},
    ]
    if description:
        meta.append({"property": "og:description", "content": description})
    if conf["SOCIAL_META_LOCALE"]:
        meta.append({"property": "og:locale", "content": conf["SOCIAL_META_LOCALE"]})
    if image:
        meta.append({"property": "og:image", "content": image})
        if image_alt:
            meta.append({"property": "og:image:alt", "content": image_alt})
    meta.append({"name": "twitter:card", "content": "summary_large_image" if image else "summary"})
    if conf["SOCIAL_META_TWITTER_SITE"]:
        meta.append({"name": "twitter:site", "content": conf["SOCIAL_META_TWITTER_SITE"]})
    meta.append({"name": "twitter:title", "content": title})
    if description:
        meta.append({"name": "twitter:description", "content": description})
    if image:
        meta.append({"name": "twitter:image", "content": image})
        if image_alt:
            meta.append({"name": "twitter:image:alt", "content": image_alt})
    if conf["SOCIAL_META_FEDIVERSE_CREATOR"]:
        meta.append({"name": "fediverse:creator", "content": conf["SOCIAL_META_FEDIVERSE_CREATOR"]})
    return meta


def article_meta(article, settings, conf) -> dict:
    """social_meta dict for one article."""
    siteurl = settings["SITEURL"]
    url = absolute(siteurl, article.url)
    title = str(article.title)
    description = plain_text(getattr(article, "summary", ""))
    image, image_alt = _image(article, settings, conf)
    meta = _common(
        conf,
        settings,
        title=title,
        description=description,
        url=url,
        og_type="article",
        image=image,
        image_alt=image_alt,
    )
    published = article.date.isoformat()
    modified = getattr(article, "modified", None)
    meta.append({"property": "article:published_time", "content": published})
    if modified:
        meta.append({"property": "article:modified_time", "content": modified.isoformat()})
    author = getattr(article, "author", None)
    author_name = str(author) if author else settings.get("AUTHOR", "")
    if author_name:
        meta.append({"property": "article:author", "content": author_name})
    category = getattr(article, "category", None)
    if category:
        meta.append({"property": "article:section", "content": str(category)})
    tags = [str(tag) for tag in getattr(article, "tags", []) or []]
    meta.extend({"property": "article:tag", "content": tag} for tag in tags)

    jsonld = {
        "@context": "https://schema.org",
        "@type": "BlogPosting",
        "headline": title,
        "url": url,
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "datePublished": published,
        "dateModified": modified.isoformat() if modified else published,
        "publisher": {
            "@type": "Organization",
            "name": settings.get("SITENAME", ""),
            "url": siteurl,
        },
    }
    if description:
        jsonld["description"] = description
    if author_name:
        jsonld["author"] = {"@type": "Person", "name": author_name}
    if image:
        jsonld["image"] = image
    if tags:
        jsonld["keywords"] = tags
    return {"meta": meta, "canonical": url, "jsonld": script_safe_json(jsonld)}


def page_meta(page, settings, conf) -> dict:
    """social_meta dict for a static page (og:type website)."""
    siteurl = settings["SITEURL"]
    url = absolute(siteurl, page.url)
    description = plain_text(getattr(page, "summary", "")) or settings.get("SITE_DESCRIPTION", "")
    image, image_alt = _image(page, settings, conf)
    meta = _common(
        conf,
        settings,
        title=str(page.title),
        description=description,
        url=url,
        og_type="website",
        image=image,
        image_alt=image_alt,
    )
    jsonld = {
        "@context": "https://schema.org",
        "@type": "WebPage",
        "name": str(page.title),
        "url": url,
    }
    if description:
        jsonld["description"] = description
    return {"meta": meta, "canonical": url, "jsonld": script_safe_json(jsonld)}


def site_meta(settings, conf) -> dict:
    """Site-level social_meta for the index and the listing pages."""
    siteurl = settings["SITEURL"]
    description = settings.get("SITE_DESCRIPTION") or settings.get("SITESUBTITLE") or ""
    image = ""
    image_alt = ""
    if conf["SOCIAL_META_DEFAULT_IMAGE"]:
        image = absolute(siteurl, conf["SOCIAL_META_DEFAULT_IMAGE"])
        image_alt = conf["SOCIAL_META_DEFAULT_IMAGE_ALT"]
    meta = _common(
        conf,
        settings,
        title=settings.get("SITENAME", ""),
        description=description,
        url="",
        og_type="website",
        image=image,
        image_alt=image_alt,
    )
    # og:url and canonical depend on the page being written: the partial adds them
    # from `siteurl` and the template's `output_file`.
    meta = [m for m in meta if m.get("property") != "og:url"]
    jsonld = {
        "@context": "https://schema.org",
        "@type": "WebSite",
        "name": settings.get("SITENAME", ""),
        "url": siteurl,
    }
    if description:
        jsonld["description"] = description
    return {
        "meta": meta,
        "canonical": None,
        "siteurl": siteurl.rstrip("/"),
        # production URLs drop the trailing index.html (publishconf.py)
        "clean_urls": not str(settings.get("ARTICLE_URL", "")).endswith("index.html"),
        "jsonld": script_safe_json(jsonld),
    }


class _SocialMeta:
    """`social_meta` of Article and Page: computed from the post each time it is read
    (drafts have none)."""

    def __init__(self, make):
        self.make = make

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        if getattr(obj, "status", "published") == "draft":
            raise AttributeError("social_meta")
        return self.make(obj, obj.settings, get_settings(obj.settings))


def add_per_post_meta(pelican_obj):
    """initialized receiver: give every Article and Page a `social_meta` attribute."""
    Article.social_meta = _SocialMeta(article_meta)
    Page.social_meta = _SocialMeta(page_meta)


def add_site_meta(generator):
    """Put the site-level dict in the context."""
    settings = generator.settings
    generator.context["social_meta_site"] = site_meta(settings, get_settings(settings))


def register():
    signals.initialized.connect(add_per_post_meta)
    signals.article_generator_finalized.connect(add_site_meta)
