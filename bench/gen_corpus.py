"""Write N realistic Markdown posts for benchmarks and tests, the same ones every time.

    python bench/gen_corpus.py 5000 bench/corpus-5000

Each post has 600-1,200 words: headings, lists, links, emphasis, inline code and a
blockquote; some have a fenced code block, a table or an image. 20 categories and 200
tags with a Zipf-like spread, dates over 15 years, and a `Summary`. The output folder is
a Pelican content folder: posts under `posts/`, one shared image under `images/`.
Everything comes from a seeded `random.Random`, so the same N and seed give the same
bytes on any machine.
"""

from __future__ import annotations

import argparse
import random
import shutil
from datetime import datetime, timedelta
from pathlib import Path

CATEGORIES = [
    "Conversation", "Email", "Social Media", "Newsletters", "Customer Care", "Loyalty",
    "Community", "Content", "Analytics", "Segmentation", "Retention", "Feedback",
    "Events", "Partnerships", "Local Business", "Pricing", "Support", "Branding",
    "Websites", "Tools",
]  # fmt: skip

_WORDS = (
    "customer reply thread inbox newsletter subscriber list segment campaign audience "
    "question answer complaint praise loyalty visit store order offer coupon launch "
    "update story photo video quote poll survey feedback review rating comment share "
    "follow mention message channel website blog archive feed schedule calendar week "
    "month morning evening team owner shop bakery studio workshop market neighbour "
    "friend regular newcomer habit routine promise trust care patience detail effort "
    "small simple honest clear warm quick steady useful careful friendly personal local "
    "weekly monthly seasonal open early late often rarely always gently plainly"
).split()
_TAG_STEMS = (
    "email social mastodon bluesky linkedin newsletter retention loyalty feedback "
    "community events local pricing support branding analytics segments surveys "
    "reviews content"
).split()
_TAG_KINDS = (
    "tips basics habits mistakes checklists stories tools metrics ideas experiments"
).split()
TAGS = [f"{stem}-{kind}" for stem in _TAG_STEMS for kind in _TAG_KINDS]  # 200 tags
_LANGS = ("python", "javascript", "bash", "yaml", "html")


def _zipf_weights(n: int, s: float = 1.07) -> list[float]:
    return [1.0 / (rank**s) for rank in range(1, n + 1)]


class _Writer:
    """One post's worth of prose from a seeded generator."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def words(self, lo: int, hi: int) -> list[str]:
        return [self.rng.choice(_WORDS) for _ in range(self.rng.randint(lo, hi))]

    def sentence(self) -> str:
        words = self.words(7, 18)
        r = self.rng.random()
        i = self.rng.randrange(len(words))
        if r < 0.18:
            words[i] = f"*{words[i]}*"
        elif r < 0.30:
            words[i] = f"**{words[i]}**"
        elif r < 0.42:
            words[i] = f"`{words[i]}()`"
        elif r < 0.55:
            words[i] = f"[{words[i]}](https://example.com/{words[i]}/{self.rng.randint(1, 999)})"
        text = " ".join(words)
        return text[0].upper() + text[1:] + self.rng.choice([".", ".", ".", "?", "!"])

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(3, 6)))

    def title(self) -> str:
        text = " ".join(self.words(3, 7))
        return text[0].upper() + text[1:]


def _post(index: int, rng: random.Random, start: datetime, span_days: int) -> tuple[str, str]:
    w = _Writer(rng)
    title = f"{w.title()} {index}"
    slug = f"post-{index:05d}"
    date = start + timedelta(
        days=rng.randrange(span_days), hours=rng.randrange(7, 20), minutes=rng.randrange(60)
    )
    category = rng.choices(CATEGORIES, weights=_zipf_weights(len(CATEGORIES), 0.8))[0]
    tags = sorted(set(rng.choices(TAGS, weights=_TAG_WEIGHTS, k=rng.randint(1, 4))))
    summary = w.sentence()
    target = rng.randint(600, 1200)
    blocks: list[str] = []
    count = 0
    extras = ["quote", "list"]
    if rng.random() < 0.35:
        extras.append("code")
    if rng.random() < 0.25:
        extras.append("table")
    if rng.random() < 0.20:
        extras.append("image")
    rng.shuffle(extras)
    while count < target:
        if count > 0 and rng.random() < 0.3:
            blocks.append(f"## {w.title()}")
        para = w.paragraph()
        blocks.append(para)
        count += len(para.split())
        if extras and rng.random() < 0.45:
            kind = extras.pop()
            if kind == "quote":
                blocks.append("> " + w.sentence() + "\n> " + w.sentence())
            elif kind == "list":
                marker = "-" if rng.random() < 0.6 else "1."
                items = [f"{marker} {w.sentence()}" for _ in range(rng.randint(3, 6))]
                blocks.append("\n".join(items))
                count += sum(len(i.split()) for i in items)
            elif kind == "code":
                lang = rng.choice(_LANGS)
                lines = [f"{rng.choice(_WORDS)} = {rng.randint(0, 99)}" for _ in range(4)]
                blocks.append(f"```{lang}\n" + "\n".join(lines) + "\n```")
            elif kind == "table":
                rows = ["| Channel | Replies | Notes |", "| --- | ---: | --- |"]
                for _ in range(rng.randint(3, 6)):
                    rows.append(
                        f"| {rng.choice(_WORDS)} | {rng.randint(0, 500)} | "
                        f"{' '.join(w.words(2, 5))} |"
                    )
                blocks.append("\n".join(rows))
            elif kind == "image":
                blocks.append(f"![{' '.join(w.words(3, 6))}]({{static}}/images/porch.svg)")
    head = [
        f"Title: {title}",
        f"Date: {date:%Y-%m-%d %H:%M}",
        f"Category: {category}",
        f"Tags: {', '.join(tags)}",
        f"Slug: {slug}",
        f"Summary: {summary}",
    ]
    return f"{slug}.md", "\n".join(head) + "\n\n" + "\n\n".join(blocks) + "\n"


_TAG_WEIGHTS = _zipf_weights(len(TAGS))
_IMAGE = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80" viewBox="0 0 120 80">'
    '<rect width="120" height="80" fill="#e8dcc8"/><path d="M10 70h100L60 15z" fill="#8a5a3c"/>'
    "</svg>\n"
)


def generate(count: int, dest: Path, seed: int = 20100304) -> Path:
    """Write `count` posts into dest/posts (removing older ones); return dest."""
    rng = random.Random(f"{seed}:{count}")
    posts = dest / "posts"
    if posts.exists():
        shutil.rmtree(posts)
    posts.mkdir(parents=True)
    images = dest / "images"
    images.mkdir(exist_ok=True)
    (images / "porch.svg").write_text(_IMAGE, encoding="utf-8")
    start = datetime(2010, 1, 1)
    span = 15 * 365
    for index in range(1, count + 1):
        name, text = _post(index, rng, start, span)
        (posts / name).write_text(text, encoding="utf-8")
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, help="number of posts")
    parser.add_argument("dest", type=Path, help="content folder to (re)create")
    parser.add_argument("--seed", type=int, default=20100304)
    args = parser.parse_args(argv)
    generate(args.count, args.dest, args.seed)
    print(f"wrote {args.count} posts to {args.dest / 'posts'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
