"""related_posts: IDF-weighted tags + TF-IDF text, through inverted indexes (no all-pairs)."""

from __future__ import annotations

import itertools
import json
import math
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from plugins.related_posts import related_posts as rp
from tests.engagement_site import article_file, build, parse
from tests.sitebuild import build_site

DAY = timedelta(days=1)
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def doc(key, tags="", text="", day=0, slug=None):
    return rp.Doc(
        key=key,
        tags=frozenset(t for t in tags.split() if t),
        text=text,
        date=T0 + day * DAY,
        slug=slug or f"post-{key}",
    )


def test_built_site_lists_related_posts(tmp_path):
    output = build(tmp_path, RELATED_POSTS_MAX=2)
    page = article_file(output, "say-hi")
    doc_ = parse(page)
    links = doc_.xpath('//nav[contains(@class,"related-posts")]//a')
    titles = [a.text_content() for a in links]
    # both other posts share a tag with it; never itself
    assert sorted(titles) == ["Answering complaints in public", "Segmenting the email list"]
    for a in links:
        assert (page.parent / a.get("href")).resolve().is_file()
    dates = doc_.xpath('//nav[contains(@class,"related-posts")]//time/@datetime')
    assert all(d.endswith("+00:00") for d in dates)
    # the email post relates most to the other email post (shared tag and words)
    seg = parse(article_file(output, "segmenting"))
    first = seg.xpath('//nav[contains(@class,"related-posts")]//a')[0].text_content()
    assert first.startswith("Say")


def test_max_zero_turns_the_list_off(tmp_path):
    output = build(tmp_path, RELATED_POSTS_MAX=0)
    doc_ = parse(article_file(output, "say-hi"))
    assert doc_.xpath('//nav[contains(@class,"related-posts")]') == []


def test_rare_tag_outweighs_common_tag():
    docs = [doc(0, "common rare")]
    docs += [doc(1, "rare"), doc(2, "common")]
    docs += [doc(10 + i, "common") for i in range(20)]
    ranked = rp.related(docs, limit=3)
    assert ranked[0][0] == 1


def test_text_similarity_relates_untagged_posts():
    docs = [
        doc(0, text="Sourdough starter feeding schedule for bakeries"),
        doc(1, text="Keeping a sourdough starter alive"),
        doc(2, text="Quarterly tax filing for freelancers"),
    ]
    ranked = rp.related(docs, limit=3)
    assert ranked[0] == [1]
    assert ranked[2] == []  # shares nothing: no filler


def test_ties_break_by_date_then_slug():
    docs = [
        doc(0, "x", "anchor", day=0, slug="anchor"),
        doc(1, "x", day=5, slug="older-b"),
        doc(2, "x", day=5, slug="older-a"),
        doc(3, "x", day=9, slug="newest"),
        doc(4, "x", day=1, slug="oldest"),
    ]
    expected = [3, 2, 1]
    assert rp.related(docs, limit=3)[0] == expected
    # same answer whatever order the posts come in
    for seed in range(5):
        shuffled = docs[:]
        random.Random(seed).shuffle(shuffled)
        assert rp.related(shuffled, limit=3)[0] == expected


def brute_force(docs, limit):
    """All-pairs reference implementation of the same score (small inputs only)."""
    n = len(docs)
    tag_df = Counter(t for d in docs for t in d.tags)
    counts = {d.key: Counter(rp.terms(d.text)) for d in docs}
    term_df = Counter(t for c in counts.values() for t in c)

    def idf(df):
        return math.log((n + 1) / df)

    def norm(v):
        length = math.sqrt(sum(x * x for x in v.values()))
        return {k: x / length for k, x in v.items()} if length else {}

    tags = {d.key: norm({t: idf(tag_df[t]) for t in d.tags}) for d in docs}
    text = {
        k: norm({t: (1 + math.log(c)) * idf(term_df[t]) for t, c in cs.items()})
        for k, cs in counts.items()
    }
    out = {}
    for a in docs:
        scored = []
        for b in docs:
            if a.key == b.key:
                continue
            s = sum(w * tags[b.key].get(t, 0) for t, w in tags[a.key].items())
            s += sum(w * text[b.key].get(t, 0) for t, w in text[a.key].items())
            if s > 0:
                scored.append((-round(s, 9), -b.date.timestamp(), b.slug, b.key))
        out[a.key] = [key for *_, key in sorted(scored)[:limit]]
    return out


def synthetic(n, seed=7, vocabulary=20_000, tag_count=400):
    rng = random.Random(seed)
    words = [f"w{i:05d}x" for i in range(vocabulary)]
    # Zipf-like word and tag use (cumulative weights, computed once)
    word_cum = list(itertools.accumulate(1 / (i + 1) for i in range(vocabulary)))
    tags = [f"tag{i}" for i in range(tag_count)]
    tag_cum = list(itertools.accumulate(1 / (i + 1) ** 0.7 for i in range(tag_count)))
    return [
        rp.Doc(
            key=i,
            tags=frozenset(rng.choices(tags, cum_weights=tag_cum, k=2)),
            text=" ".join(rng.choices(words, cum_weights=word_cum, k=10)),
            date=T0 + rng.randrange(3000) * DAY,
            slug=f"post-{i:05d}",
        )
        for i in range(n)
    ]


def test_inverted_index_matches_all_pairs_reference():
    docs = synthetic(150, seed=3, vocabulary=300, tag_count=12)
    assert rp.related(docs, limit=4, max_postings=10_000) == brute_force(docs, 4)


def test_work_grows_linearly_not_quadratically():
    """Counts postings visited (no timing): bounded per post, so linear in posts."""
    cap = 200
    counts = {}
    for n in (2_500, 10_000):
        stats = rp.Stats()
        result = rp.related(synthetic(n), limit=5, max_postings=cap, stats=stats)
        assert len(result) == n and all(len(r) <= 5 for r in result.values())
        features_per_post = 2 + 10
        # structural bound: each post walks at most `cap` postings per feature it has
        assert stats.postings_visited <= n * features_per_post * cap
        counts[n] = stats.postings_visited
    # far below all pairs at 10,000 posts (about 3 % of n² here)
    assert counts[10_000] < 10_000**2 / 20
    # 4x the posts costs about 4x the work, never 16x (all pairs)
    assert counts[10_000] / counts[2_500] < 6


def test_terms_drop_stopwords_and_short_words():
    assert rp.terms("The café & the “Bakery’s” list: 42 ideas, I do") == [
        "café",
        "bakery's",
        "list",
        "ideas",
    ]


@pytest.mark.parametrize("value", [-1, "3"])
def test_bad_max_is_rejected(value):
    with pytest.raises(ValueError, match="RELATED_POSTS_MAX"):
        rp.get_settings({"RELATED_POSTS_MAX": value})


def test_ranking_is_reused_until_its_inputs_change(tmp_path):
    build(tmp_path, RELATED_POSTS_MAX=2)
    cache = tmp_path / "cache" / "related_posts.json"
    first = json.loads(cache.read_text())
    assert len(first["ranked"]) == 3
    stamp = cache.stat().st_mtime_ns

    # A body edit changes none of the inputs: the saved ranking is used, not rewritten.
    post = next(
        p for p in sorted((tmp_path / "content").rglob("*.md")) if "Tags: " in p.read_text()
    )
    post.write_text(post.read_text() + "\nOne more paragraph.\n")
    rebuild = {"content": tmp_path / "content", "RELATED_POSTS_MAX": 2}
    build_site(tmp_path, **rebuild)
    assert cache.stat().st_mtime_ns == stamp

    # A new tag changes the inputs: ranked again.
    post.write_text(post.read_text().replace("Tags: ", "Tags: brand-new, ", 1))
    build_site(tmp_path, **rebuild)
    assert json.loads(cache.read_text())["digest"] != first["digest"]

    # The pages say what a build without the cache says.
    clean = tmp_path / "clean"
    build_site(clean, **rebuild, RELATED_POSTS_CACHE=False)
    assert not (clean / "cache" / "related_posts.json").exists()
    pages = sorted((clean / "output").glob("*/*/*/index.html"))
    assert len(pages) == 3
    for page in pages:
        mine = tmp_path / "output" / page.relative_to(clean / "output")
        want = parse(page).xpath('//nav[contains(@class,"related-posts")]//a/@href')
        assert parse(mine).xpath('//nav[contains(@class,"related-posts")]//a/@href') == want
