"""Development settings: `invoke build` and `make build` use this file.

Every plugin reads its own UPPER_CASE settings (prefixed with its name) with
defaults in one place; the values here are the ones this site changes.
Secrets never belong here: they come from the environment (see README).
"""

AUTHOR = "Maren Holt"
SITENAME = "Front Porch Notes"
SITESUBTITLE = "Talking with customers, not at them"
SITE_DESCRIPTION = (
    "Notes for small businesses on keeping a real conversation with customers: "
    "email, social media and a website that ties them together."
)
# Absolute URL used for feeds, cards and email links. RELATIVE_URLS keeps the
# pages themselves browsable straight from output/ (file://) or `make serve`.
SITEURL = "http://localhost:8000"
RELATIVE_URLS = True

PATH = "content"
ARTICLE_PATHS = ["posts"]
PAGE_PATHS = ["pages"]
STATIC_PATHS = ["images", "extra"]
EXTRA_PATH_METADATA = {
    "extra/robots.txt": {"path": "robots.txt"},
    "extra/favicon.svg": {"path": "favicon.svg"},
}
THEME = "theme"
# Autoescape: every value is escaped unless a template marks trusted HTML |safe
# (post content and summaries, sanitised replies and comments, JSON-LD).
JINJA_ENVIRONMENT = {"trim_blocks": True, "lstrip_blocks": True, "autoescape": True}
# Data files kept in git next to the content: ledger, comments, replies, post IDs.
DATA_PATH = "data"
TIMEZONE = "Europe/London"
DEFAULT_LANG = "en"
DEFAULT_DATE_FORMAT = "%-d %B %Y"
DEFAULT_PAGINATION = 5
PAGINATION_PATTERNS = (
    (1, "{url}", "{save_as}"),
    (2, "{base_name}/page/{number}/index.html", "{base_name}/page/{number}/index.html"),
)
SUMMARY_MAX_LENGTH = 50
WITH_FUTURE_DATES = False  # future-dated posts are scheduled, not published
DRAFT_SAVE_AS = ""  # drafts (and scheduled posts) are never written
DRAFT_PAGE_SAVE_AS = ""
DRAFT_LANG_SAVE_AS = ""
DRAFT_PAGE_LANG_SAVE_AS = ""

# URLs: a folder per page. Here links end in index.html so output/ browses from
# file:// too; publishconf.py drops the index.html for clean production URLs.
ARTICLE_URL = "{date:%Y}/{date:%m}/{slug}/index.html"
ARTICLE_SAVE_AS = "{date:%Y}/{date:%m}/{slug}/index.html"
PAGE_URL = "{slug}/index.html"
PAGE_SAVE_AS = "{slug}/index.html"
CATEGORY_URL = "category/{slug}/index.html"
CATEGORY_SAVE_AS = "category/{slug}/index.html"
TAG_URL = "tag/{slug}/index.html"
TAG_SAVE_AS = "tag/{slug}/index.html"
AUTHOR_URL = "author/{slug}/index.html"
AUTHOR_SAVE_AS = "author/{slug}/index.html"
ARCHIVES_URL = "archives/index.html"
ARCHIVES_SAVE_AS = "archives/index.html"
YEAR_ARCHIVE_URL = "{date:%Y}/index.html"
YEAR_ARCHIVE_SAVE_AS = "{date:%Y}/index.html"
MONTH_ARCHIVE_URL = "{date:%Y}/{date:%m}/index.html"
MONTH_ARCHIVE_SAVE_AS = "{date:%Y}/{date:%m}/index.html"
TAGS_URL = "tags/index.html"
TAGS_SAVE_AS = "tags/index.html"
CATEGORIES_URL = "categories/index.html"
CATEGORIES_SAVE_AS = "categories/index.html"
AUTHORS_URL = "authors/index.html"
AUTHORS_SAVE_AS = "authors/index.html"
INDEX_SAVE_AS = "index.html"
DIRECT_TEMPLATES = ["index", "tags", "categories", "authors", "archives"]

MARKDOWN = {
    "extension_configs": {
        "markdown.extensions.codehilite": {"css_class": "highlight", "guess_lang": False},
        "markdown.extensions.extra": {},
        "markdown.extensions.meta": {},
        "markdown.extensions.toc": {"permalink": False},
        "markdown.extensions.smarty": {},
    },
    "output_format": "html5",
}

# Pelican's own feeds are off: the `feeds` plugin (feedgen) is the one feed path.
FEED_ALL_ATOM = None
FEED_ALL_RSS = None
FEED_ATOM = None
FEED_RSS = None
CATEGORY_FEED_ATOM = None
CATEGORY_FEED_RSS = None
TAG_FEED_ATOM = None
TAG_FEED_RSS = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
TRANSLATION_FEED_ATOM = None
TRANSLATION_FEED_RSS = None

# Where the author can be found; every channel links back to these.
SOCIAL_PROFILES = [
    ("Mastodon", "https://mastodon.social/@frontporch"),
    ("Bluesky", "https://bsky.app/profile/frontporch.example"),
    ("LinkedIn", "https://www.linkedin.com/in/maren-holt-example"),
]

PLUGIN_PATHS = ["plugins"]
PLUGINS = [
    "content_checks",
    "post_ids",
    "reading_time",
    "post_nav",
    "share_links",
    "social_meta",
    "feeds",
    "comments",
    "subscribe",
    "related_posts",
    "sitemap",
    "replies",
    "manifest",
    "fastbuild",  # last: renders the queued pages after every other plugin has run
]

# --- post_ids: stable entry IDs (feeds, ledger, comment threads) -------------
POST_IDS_AUTHORITY = "frontporch.example"

# --- share_links ---------------------------------------------------------------
SHARE_LINKS_VIA = {"x": "frontporch", "mastodon": "@frontporch@mastodon.social"}

# --- social_meta -----------------------------------------------------------------
SOCIAL_META_DEFAULT_IMAGE = "images/default-card.png"
SOCIAL_META_FEDIVERSE_CREATOR = "@frontporch@mastodon.social"
SOCIAL_META_TWITTER_SITE = "@frontporch"

# --- comments (Isso runs next to the site: `make serve`) -----------------------
COMMENTS_PROVIDER = "isso"
COMMENTS_ISSO_URL = "http://localhost:8080/"

# --- subscribe (Mailchimp hosted form; leave empty for the feed-links fallback) --
# The sample values below are placeholders: paste the action URL of your own
# Mailchimp embedded form. Empty shows feed links instead (and the build warns).
SUBSCRIBE_MAILCHIMP_ACTION = (
    "https://frontporch.us21.list-manage.com/subscribe/post"
    "?u=4f1c0a2b9d8e7f6a5b4c3d2e1&id=7a9b3c5d1e"
)

# --- manifest: what the build hands to `invoke syndicate` (never deployed) ------
MANIFEST_PATH = "var/manifest"
