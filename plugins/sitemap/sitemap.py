"""sitemap: sitemap.xml with the absolute URL and lastmod of every public page.

Lists published articles, pages (not hidden ones), the index, and the category and
tag pages. Written by `SitemapGenerator` after the other generators have filled the
context; URLs come from settings["SITEURL"] (always absolute).
"""

from __future__ import annotations

import logging
import os
import xml.etree.ElementTree as ET

from pelican import signals
from pelican.generators import Generator

log = logging.getLogger(__name__)

NS = "http://www.sitemaps.org/schemas/sitemap/0.9"

DEFAULTS = {
    # File name of the sitemap, relative to the output folder.
    "SITEMAP_SAVE_AS": "sitemap.xml",
    # Also list category and tag pages.
    "SITEMAP_INCLUDE_TAXONOMIES": True,
    # Add a "Sitemap: <absolute URL>" line to the robots.txt in the output.
    "SITEMAP_ROBOTS": True,
}


def get_settings(pelican_settings) -> dict:
    """This plugin's settings with defaults."""
    return {key: pelican_settings.get(key, default) for key, default in DEFAULTS.items()}


def _absolute(siteurl: str, path: str) -> str:
    return f"{siteurl.rstrip('/')}/{path.lstrip('/')}"


def _lastmod(content) -> object:
    return getattr(content, "modified", None) or getattr(content, "date", None)


def _newest(articles) -> object:
    dates = [d for d in (_lastmod(a) for a in articles) if d is not None]
    return max(dates) if dates else None


def entries(context: dict, settings: dict) -> list[tuple[str, object]]:
    """(absolute URL, lastmod datetime or None) for every page in the sitemap."""
    conf = get_settings(settings)
    siteurl = settings["SITEURL"]
    articles = list(context.get("articles", []))
    found: list[tuple[str, object]] = []
    # the site's root: ".../index.html" where page URLs keep index.html (development)
    keeps_index = str(settings.get("ARTICLE_URL", "")).endswith("index.html")
    index_url = settings.get("INDEX_SAVE_AS", "index.html") if keeps_index else ""
    found.append((_absolute(siteurl, index_url), _newest(articles)))
    found.extend((_absolute(siteurl, a.url), _lastmod(a)) for a in articles)
    found.extend((_absolute(siteurl, p.url), _lastmod(p)) for p in context.get("pages", []))
    if conf["SITEMAP_INCLUDE_TAXONOMIES"]:
        for key in ("categories", "tags"):
            for taxonomy, posts in context.get(key, []):
                if taxonomy.save_as:
                    found.append((_absolute(siteurl, taxonomy.url), _newest(posts)))
    seen: set[str] = set()
    unique = []
    for url, lastmod in found:
        if url not in seen:
            seen.add(url)
            unique.append((url, lastmod))
    return unique


def to_xml(items: list[tuple[str, object]]) -> bytes:
    ET.register_namespace("", NS)
    urlset = ET.Element(f"{{{NS}}}urlset")
    for url, lastmod in items:
        node = ET.SubElement(urlset, f"{{{NS}}}url")
        ET.SubElement(node, f"{{{NS}}}loc").text = url
        if lastmod is not None:
            ET.SubElement(node, f"{{{NS}}}lastmod").text = lastmod.isoformat(timespec="seconds")
    ET.indent(urlset)
    return ET.tostring(urlset, encoding="utf-8", xml_declaration=True) + b"\n"


class SitemapGenerator(Generator):
    """Writes sitemap.xml from the context the other generators filled."""

    def generate_output(self, writer):
        conf = get_settings(self.settings)
        items = entries(self.context, self.settings)
        path = os.path.join(self.output_path, conf["SITEMAP_SAVE_AS"])
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(to_xml(items))
        log.debug("sitemap: wrote %d URLs to %s", len(items), path)


def point_robots_at_sitemap(pelican):
    """finalized: robots.txt (copied from content/extra) names the sitemap's absolute URL."""
    conf = get_settings(pelican.settings)
    robots = os.path.join(pelican.output_path, "robots.txt")
    if not conf["SITEMAP_ROBOTS"] or not os.path.isfile(robots):
        return
    with open(robots, encoding="utf-8") as handle:
        text = handle.read()
    if any(line.lower().startswith("sitemap:") for line in text.splitlines()):
        return
    line = f"Sitemap: {_absolute(pelican.settings['SITEURL'], conf['SITEMAP_SAVE_AS'])}\n"
    with open(robots, "w", encoding="utf-8") as handle:
        handle.write(text.rstrip("\n") + "\n" + line)


def get_generators(pelican):
    return SitemapGenerator


def register():
    signals.get_generators.connect(get_generators)
    signals.finalized.connect(point_robots_at_sitemap)
