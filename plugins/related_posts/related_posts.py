"""related_posts: up to RELATED_POSTS_MAX related articles under each article.

Relatedness = tag score + text score, both computed through inverted indexes:
- tags weighted by rarity (IDF): sharing a rare tag counts more than a common one;
- text: TF-IDF cosine similarity over the terms of title and summary.
Scores are accumulated by walking the postings lists of a post's own tags and terms,
so only posts that share a tag or a term are ever touched. Features carried by more
than RELATED_POSTS_MAX_POSTINGS posts are skipped (too common to tell posts apart),
which bounds the work per post: the whole run stays near-linear in the number of
posts, never all-pairs. Ties break by date (newest first), then slug.

Sets `article.related_posts` (a list of articles) once per build. The ranking depends
only on each post's title, summary, tags, date and slug (and the settings): it is kept in
CACHE_PATH/related_posts.json with a digest of those, so a rebuild after an edit to a
post's body (or no edit) reuses it instead of ranking again.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import logging
import math
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from pelican import signals

log = logging.getLogger(__name__)
_CACHE_VERSION = "1"  # bump when the ranking changes

DEFAULTS = {
    # How many related posts to show under each article (0 turns the list off).
    "RELATED_POSTS_MAX": 3,
    # Weight of shared tags (IDF-weighted) in the score.
    "RELATED_POSTS_TAG_WEIGHT": 1.0,
    # Weight of text similarity (TF-IDF cosine of title + summary) in the score.
    "RELATED_POSTS_TEXT_WEIGHT": 1.0,
    # Tags or terms used by more posts than this are ignored (bounds the work per post).
    "RELATED_POSTS_MAX_POSTINGS": 200,
    # Posts scoring below this are not shown.
    "RELATED_POSTS_MIN_SCORE": 0.05,
    # Keep the ranking in CACHE_PATH/related_posts.json while its inputs do not change.
    "RELATED_POSTS_CACHE": True,
}

_WORD = re.compile(r"[^\W\d_][\w'’-]*[^\W_]|[^\W\d_]", re.UNICODE)
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    few for from further get gets got had has have having he her here hers herself him
    himself his how i if in into is it its itself just let like me more most my myself
    no nor not now of off on once only or other our ours ourselves out over own same she
    should so some such than that the their theirs them themselves then there these they
    this those through to too under until up very was we were what when where which while
    who whom why will with would you your yours yourself yourselves one two new use way
    make many much""".split()
)


def get_settings(pelican_settings) -> dict:
    """This plugin's settings with defaults; ValueError on an invalid value."""
    conf = {key: pelican_settings.get(key, default) for key, default in DEFAULTS.items()}
    if not isinstance(conf["RELATED_POSTS_MAX"], int) or conf["RELATED_POSTS_MAX"] < 0:
        raise ValueError("related_posts: RELATED_POSTS_MAX must be an integer >= 0")
    if conf["RELATED_POSTS_MAX_POSTINGS"] < 2:
        raise ValueError("related_posts: RELATED_POSTS_MAX_POSTINGS must be >= 2")
    return conf


class _TextParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)


def html_text(html: str | None) -> str:
    if not html:
        return ""
    parser = _TextParser()
    parser.feed(str(html))
    parser.close()
    return " ".join(parser.parts)


def terms(text: str) -> list[str]:
    """Lower-cased words of 3+ letters, minus stop words."""
    words = (w.lower().replace("’", "'") for w in _WORD.findall(text))
    return [w for w in words if len(w) >= 3 and w not in STOPWORDS]


@dataclass
class Doc:
    """What the scorer needs from one post."""

    key: int
    tags: frozenset[str]
    text: str
    date: object
    slug: str


@dataclass
class Stats:
    """Work counters: scoring touches only posts sharing a tag or term."""

    postings_visited: int = 0
    candidates: int = 0
    skipped_features: set = field(default_factory=set)


def _postings(features_by_doc: dict[int, dict[str, float]]):
    index: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for key, features in features_by_doc.items():
        for feature, weight in features.items():
            index[feature].append((key, weight))
    return index


def _normalise(vector: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in vector.values()))
    return {t: w / norm for t, w in vector.items()} if norm else {}


def related(
    docs: list[Doc],
    *,
    limit: int,
    tag_weight: float = 1.0,
    text_weight: float = 1.0,
    max_postings: int = 200,
    min_score: float = 0.0,
    stats: Stats | None = None,
) -> dict[int, list[int]]:
    """For each doc key, the keys of up to `limit` related docs, best first."""
    stats = stats if stats is not None else Stats()
    n = len(docs)
    if n < 2 or limit <= 0:
        return {d.key: [] for d in docs}
    by_key = {d.key: d for d in docs}
    date_keys = {d.key: _date_key(d.date) for d in docs}

    # document frequencies
    tag_df = Counter(t for d in docs for t in d.tags)
    doc_terms = {d.key: Counter(terms(d.text)) for d in docs}
    term_df = Counter(t for counts in doc_terms.values() for t in counts)

    def usable(df: int, name: str) -> bool:
        if df > max_postings:
            stats.skipped_features.add(name)
            return False
        return True

    def idf(df: int) -> float:
        return math.log((n + 1) / df)

    # per-doc weighted, normalised vectors; tags and terms in separate spaces
    tag_vecs = {
        d.key: _normalise({t: idf(tag_df[t]) for t in d.tags if usable(tag_df[t], "#" + t)})
        for d in docs
    }
    text_vecs = {
        key: _normalise(
            {
                t: (1 + math.log(c)) * idf(term_df[t])
                for t, c in counts.items()
                if usable(term_df[t], t)
            }
        )
        for key, counts in doc_terms.items()
    }
    tag_index = _postings(tag_vecs)
    text_index = _postings(text_vecs)

    result: dict[int, list[int]] = {}
    for doc in docs:
        scores: dict[int, float] = defaultdict(float)
        for space, vecs, weight in (
            (tag_index, tag_vecs, tag_weight),
            (text_index, text_vecs, text_weight),
        ):
            if not weight:
                continue
            for feature, mine in vecs[doc.key].items():
                for other, theirs in space[feature]:
                    stats.postings_visited += 1
                    if other != doc.key:
                        scores[other] += weight * mine * theirs
        stats.candidates += len(scores)
        floor = max(min_score, 1e-12)
        if len(scores) > limit:
            # only posts scoring at least the limit-th best score (ties included) can
            # make the list: sort those few, not every candidate
            floor = max(floor, heapq.nlargest(limit, scores.values())[-1] - 1e-9)
        best = [key for key, score in scores.items() if score >= floor]
        best.sort(key=lambda key: (-round(scores[key], 9), date_keys[key], by_key[key].slug))
        result[doc.key] = best[:limit]
    return result


def _date_key(date) -> float:
    """Newest first: the negated timestamp (0 for a post without a date)."""
    try:
        return -date.timestamp()
    except AttributeError:
        return 0.0


def _inputs_digest(articles, conf) -> str:
    """Digest of everything the ranking reads, in the order of `articles`."""
    h = hashlib.sha1(_CACHE_VERSION.encode())  # noqa: S324 (not security)
    h.update(Path(__file__).read_bytes())
    h.update(json.dumps(conf, sort_keys=True).encode())
    for a in articles:
        tags = sorted(str(t).lower() for t in (getattr(a, "tags", None) or []))
        text = f"{a.title}\x1f{getattr(a, 'summary', '')}"
        h.update(repr((tags, text, _date_key(a.date), a.slug)).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _load(path: str | None, digest: str, count: int) -> list[list[int]] | None:
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    ranked = data.get("ranked") if isinstance(data, dict) else None
    if data.get("digest") != digest or not isinstance(ranked, list) or len(ranked) != count:
        return None
    return ranked


def _save(path: str | None, digest: str, ranked: list[list[int]]) -> None:
    if not path:
        return
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        text = json.dumps({"digest": digest, "ranked": ranked})  # dumps: the C encoder
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as e:
        log.warning("related_posts: cannot save %s: %s", path, e)


def add_related_posts(generator):
    """Attach `related_posts` to every published article."""
    conf = get_settings(generator.settings)
    articles = list(generator.articles)
    cache = (
        os.path.join(generator.settings.get("CACHE_PATH") or "cache", "related_posts.json")
        if conf["RELATED_POSTS_CACHE"]
        else None
    )
    digest = _inputs_digest(articles, conf)
    ranked = _load(cache, digest, len(articles))
    if ranked is None:
        docs = [
            Doc(
                key=i,
                tags=frozenset(str(t).lower() for t in (getattr(a, "tags", None) or [])),
                text=f"{a.title} {html_text(getattr(a, 'summary', ''))}",
                date=a.date,
                slug=a.slug,
            )
            for i, a in enumerate(articles)
        ]
        by_key = related(
            docs,
            limit=conf["RELATED_POSTS_MAX"],
            tag_weight=conf["RELATED_POSTS_TAG_WEIGHT"],
            text_weight=conf["RELATED_POSTS_TEXT_WEIGHT"],
            max_postings=conf["RELATED_POSTS_MAX_POSTINGS"],
            min_score=conf["RELATED_POSTS_MIN_SCORE"],
        )
        ranked = [by_key[i] for i in range(len(articles))]
        _save(cache, digest, ranked)
    for article, picks in zip(articles, ranked, strict=True):
        article.related_posts = [articles[j] for j in picks]


def register():
    signals.article_generator_finalized.connect(add_related_posts)
