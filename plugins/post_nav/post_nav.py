"""post_nav: links between posts, read by the theme's article template.

Sets on every published article:
- `article.prev_article` / `article.next_article`: the older and the newer post
  (by date), or None at either end;
- `article.series_info` for posts with `Series:` metadata: a dict with `name`,
  `articles` (the parts in order: `SeriesPart:` if given, else date), `index`
  (1-based position of this post), `total`, `previous` and `next` (the
  neighbouring parts, or None).

Posts that exist only as emails (`Newsletter: only`) are never linked to.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from pelican import signals

log = logging.getLogger(__name__)

# Nothing to configure: the plugin follows Series/SeriesPart metadata.
DEFAULTS: dict = {}


def get_settings(pelican_settings) -> dict:
    """This plugin's settings (none yet; kept for the common plugin shape)."""
    return {key: pelican_settings.get(key, value) for key, value in DEFAULTS.items()}


def _on_site(article) -> bool:
    return str(getattr(article, "newsletter", "yes")).strip().lower() != "only"


def _part_number(article):
    raw = getattr(article, "seriespart", None)
    if raw in (None, ""):
        return None
    try:
        return int(str(raw).strip())
    except ValueError:
        log.warning(
            "post_nav: %s: SeriesPart %r is not a whole number; ordering the series by date",
            article.source_path,
            raw,
        )
        return None


def link_neighbours(articles) -> None:
    """Set prev_article/next_article on each article (chronological order)."""
    ordered = sorted(articles, key=lambda a: a.date)
    for i, article in enumerate(ordered):
        article.prev_article = ordered[i - 1] if i > 0 else None
        article.next_article = ordered[i + 1] if i + 1 < len(ordered) else None


def link_series(articles) -> None:
    """Set series_info on every article that names a Series."""
    groups = defaultdict(list)
    for article in articles:
        name = str(getattr(article, "series", "") or "").strip()
        if name:
            groups[name].append(article)
    for name, parts in groups.items():
        parts.sort(key=lambda a: (_part_number(a) is None, _part_number(a) or 0, a.date))
        for i, article in enumerate(parts):
            article.series_info = {
                "name": name,
                "articles": parts,
                "index": i + 1,
                "total": len(parts),
                "previous": parts[i - 1] if i > 0 else None,
                "next": parts[i + 1] if i + 1 < len(parts) else None,
            }


def add_navigation(generator) -> None:
    """article_generator_finalized receiver."""
    published = [a for a in generator.articles if _on_site(a)]
    link_neighbours(published)
    link_series(published)


def register():
    signals.article_generator_finalized.connect(add_navigation)
