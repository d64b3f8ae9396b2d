"""share_links: plain share links under each article, no third-party scripts.

Each article gets `article.share_links`, a list of dicts (network, label, url) in the
order of SHARE_LINKS_NETWORKS; the theme's `partials/share_links.html` renders them.
The list is made when the attribute is read (only the article's own page does), not
stored on every post: a site of thousands of posts would otherwise keep a dozen URLs
per post in memory for the whole build.
Every value put into a URL is percent-encoded here (`quote(..., safe="")`); the template
HTML-escapes the URL. Mastodon has no central share endpoint: its link goes to a small
share page on this site (`share/mastodon/index.html`, written by `MastodonShareGenerator`)
where the reader types their own instance.
"""

from __future__ import annotations

import functools
import logging
import string
from urllib.parse import quote

from pelican import signals
from pelican.contents import Article
from pelican.generators import Generator

log = logging.getLogger(__name__)

DEFAULTS = {
    # Networks shown, in this order. Valid names: see NETWORKS below.
    "SHARE_LINKS_NETWORKS": [
        "mastodon",
        "bluesky",
        "linkedin",
        "x",
        "facebook",
        "threads",
        "reddit",
        "hackernews",
        "whatsapp",
        "telegram",
        "email",
        "copy",
    ],
    # Share text; placeholders: {title}, {author}, {sitename}.
    "SHARE_LINKS_TEXT": "{title}",
    # Optional handle per network, credited in the shared text ("via @handle").
    "SHARE_LINKS_VIA": {},
    # Where the Mastodon share page is written (relative to the output folder).
    "SHARE_LINKS_MASTODON_PAGE": "share/mastodon/index.html",
}

# network name -> label shown to readers
NETWORKS = {
    "x": "X",
    "facebook": "Facebook",
    "linkedin": "LinkedIn",
    "bluesky": "Bluesky",
    "mastodon": "Mastodon",
    "reddit": "Reddit",
    "hackernews": "Hacker News",
    "threads": "Threads",
    "whatsapp": "WhatsApp",
    "telegram": "Telegram",
    "email": "Email",
    "copy": "Copy link",
}
# networks whose share text can credit a handle
VIA_NETWORKS = ("x", "bluesky", "mastodon", "threads")
TEXT_FIELDS = ("title", "author", "sitename")


@functools.lru_cache(maxsize=1024)
def _q(value: str) -> str:
    return quote(value, safe="")


def _query(**params: str) -> str:
    return "&".join(f"{key}={_q(value)}" for key, value in params.items())


def get_settings(pelican_settings) -> dict:
    """This plugin's settings with defaults; ValueError on an invalid value."""
    conf = {key: pelican_settings.get(key, default) for key, default in DEFAULTS.items()}
    networks = conf["SHARE_LINKS_NETWORKS"]
    if isinstance(networks, str):  # "x, mastodon" from an environment variable
        networks = networks.replace(",", " ").split()
    networks = list(dict.fromkeys(str(n).strip().lower() for n in networks))
    unknown = [n for n in networks if n not in NETWORKS]
    if unknown:
        raise ValueError(
            f"share_links: unknown network(s) {', '.join(map(repr, unknown))} in "
            f"SHARE_LINKS_NETWORKS; valid names: {', '.join(NETWORKS)}"
        )
    conf["SHARE_LINKS_NETWORKS"] = networks
    via = dict(conf["SHARE_LINKS_VIA"] or {})
    bad_via = [n for n in via if n not in VIA_NETWORKS]
    if bad_via:
        raise ValueError(
            f"share_links: SHARE_LINKS_VIA has no use for {', '.join(map(repr, bad_via))}; "
            f"valid names: {', '.join(VIA_NETWORKS)}"
        )
    conf["SHARE_LINKS_VIA"] = via
    fields = {f for _, f, _, _ in string.Formatter().parse(conf["SHARE_LINKS_TEXT"]) if f}
    if fields - set(TEXT_FIELDS):
        raise ValueError(
            f"share_links: SHARE_LINKS_TEXT uses unknown field(s) "
            f"{', '.join(sorted(fields - set(TEXT_FIELDS)))}; valid fields: "
            f"{', '.join(TEXT_FIELDS)}"
        )
    return conf


def absolute_url(siteurl: str, path: str) -> str:
    """Join the absolute SITEURL and a site-relative path."""
    return f"{siteurl.rstrip('/')}/{path.lstrip('/')}"


def share_text(conf: dict, title: str, author: str, sitename: str) -> str:
    return conf["SHARE_LINKS_TEXT"].format(title=title, author=author, sitename=sitename)


def mastodon_page_path(settings, conf: dict | None = None) -> str:
    """Site path of the Mastodon share page, without index.html where URLs are clean."""
    page = (conf or get_settings(settings))["SHARE_LINKS_MASTODON_PAGE"]
    clean_urls = not str(settings.get("ARTICLE_URL", "")).endswith("index.html")
    if clean_urls and page.endswith("/index.html"):
        return page[: -len("index.html")]
    return page


def build_links(
    conf: dict,
    *,
    title: str,
    url: str,
    text: str,
    siteurl: str,
    mastodon_page: str = DEFAULTS["SHARE_LINKS_MASTODON_PAGE"],
) -> list[dict]:
    """Share links for one post: a list of dicts (network, label, url)."""
    via = conf["SHARE_LINKS_VIA"]

    def credited(network: str) -> str:
        handle = via.get(network)
        if not handle:
            return text
        return f"{text} via {handle if handle.startswith('@') else '@' + handle}"

    def with_url(network: str) -> str:
        return f"{credited(network)} {url}"

    builders = {
        "x": lambda: (
            "https://x.com/intent/tweet?"
            + _query(text=text, url=url, **({"via": via["x"].lstrip("@")} if via.get("x") else {}))
        ),
        "facebook": lambda: "https://www.facebook.com/sharer/sharer.php?" + _query(u=url),
        "linkedin": lambda: "https://www.linkedin.com/sharing/share-offsite/?" + _query(url=url),
        "bluesky": lambda: "https://bsky.app/intent/compose?" + _query(text=with_url("bluesky")),
        "mastodon": lambda: (
            absolute_url(siteurl, mastodon_page) + "?" + _query(text=with_url("mastodon"))
        ),
        "reddit": lambda: "https://www.reddit.com/submit?" + _query(url=url, title=title),
        "hackernews": lambda: "https://news.ycombinator.com/submitlink?" + _query(u=url, t=title),
        "threads": lambda: (
            "https://www.threads.net/intent/post?" + _query(text=with_url("threads"))
        ),
        "whatsapp": lambda: "https://wa.me/?" + _query(text=f"{text} {url}"),
        "telegram": lambda: "https://t.me/share/url?" + _query(url=url, text=text),
        "email": lambda: "mailto:?" + _query(subject=title, body=f"{text}\n\n{url}"),
        "copy": lambda: url,
    }
    return [
        {"network": name, "label": NETWORKS[name], "url": builders[name]()}
        for name in conf["SHARE_LINKS_NETWORKS"]
    ]


def check_settings(pelican):
    """Fail the build early (before any content is read) on invalid settings."""
    get_settings(pelican.settings)


def links_for(article) -> list[dict]:
    """The share links of one article (published or hidden, not a draft)."""
    settings = article.settings
    conf = _conf(settings)
    siteurl = settings.get("SITEURL", "")
    title = str(article.title)
    author = str(getattr(article, "author", "") or settings.get("AUTHOR", ""))
    text = share_text(conf, title, author, settings.get("SITENAME", ""))
    return build_links(
        conf,
        title=title,
        url=absolute_url(siteurl, article.url),
        text=text,
        siteurl=siteurl,
        mastodon_page=mastodon_page_path(settings, conf),
    )


_confs: dict[int, tuple[object, dict]] = {}  # id(settings) -> (settings, conf)


def _conf(settings) -> dict:
    hit = _confs.get(id(settings))
    if hit is None or hit[0] is not settings:
        hit = _confs[id(settings)] = (settings, get_settings(settings))
    return hit[1]


class _ShareLinks:
    """`Article.share_links`: computed from the article each time it is read."""

    def __get__(self, article, owner=None):
        if article is None:
            return self
        if getattr(article, "status", "published") == "draft":
            raise AttributeError("share_links")  # drafts are never shared
        return links_for(article)


def add_share_links(pelican_obj):
    """initialized receiver: give every Article a `share_links` attribute."""
    check_settings(pelican_obj)
    _confs.clear()
    Article.share_links = _ShareLinks()


class MastodonShareGenerator(Generator):
    """Writes the Mastodon share page (theme template `share_mastodon.html`)."""

    def generate_output(self, writer):
        conf = get_settings(self.settings)
        if "mastodon" not in conf["SHARE_LINKS_NETWORKS"]:
            return
        writer.write_file(
            conf["SHARE_LINKS_MASTODON_PAGE"],
            self.get_template("share_mastodon"),
            self.context,
            relative_urls=self.settings.get("RELATIVE_URLS", False),
            override_output=True,
            mastodon_share_page=mastodon_page_path(self.settings),
        )


def get_generators(pelican):
    return MastodonShareGenerator


def register():
    signals.initialized.connect(add_share_links)
    signals.get_generators.connect(get_generators)
