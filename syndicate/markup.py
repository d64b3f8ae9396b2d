"""A post's HTML as channels send it: links made absolute, and readable plain text.

The build writes each post's title, summary and body into the manifest as Pelican made
them (links to other posts and files already absolute, anything the writer typed as
is). The work of parsing them happens here, when a post is opened to be sent or
previewed, so a build of a 10,000-post archive does not parse 10,000 bodies that will
never be sent again.
"""

from __future__ import annotations

import re

import lxml.html

_BLOCKS = frozenset(
    "p div section article blockquote pre table ul ol dl figure h1 h2 h3 h4 h5 h6 hr".split()
)
_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_BLANK_LINES = re.compile(r"\n{3,}")
_SPACES = re.compile(r"\s+")


def absolute_html_and_text(html: str, base_url: str) -> tuple[str, str]:
    """`html` with every href/src made absolute against `base_url`, and its readable plain
    text (paragraphs apart, list items with "- ", links as "text (url)"), from one parse."""
    if not html or not html.strip():
        return "", ""
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    root.make_links_absolute(base_url, resolve_base_href=False)
    parts = [_escape(root.text or "")]
    parts += [lxml.html.tostring(child, encoding="unicode") for child in root]
    return "".join(parts), _tree_text(root)


def title_text(title_html: str) -> str:
    """A title as Pelican holds it (entities, maybe inline markup) as plain text."""
    return lxml.html.fromstring(f"<p>{title_html}</p>").text_content()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _tree_text(root) -> str:
    out: list[str] = []
    _walk(root, out)
    text = "".join(out)
    text = _TRAILING_SPACE.sub("\n", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def _walk(el, out: list[str]) -> None:
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag in ("script", "style"):
        if el.tail:
            out.append(_squash(el.tail))
        return
    if tag in _BLOCKS or tag == "li":
        out.append("\n\n" if tag != "li" else "\n- ")
    if tag == "br":
        out.append("\n")
    if tag == "img" and el.get("alt"):
        out.append(f"[{el.get('alt')}]")
    if tag == "pre":
        out.append(el.text_content())
    else:
        if el.text:
            out.append(_squash(el.text))
        for child in el:
            _walk(child, out)
        if tag == "a" and el.get("href"):
            label = el.text_content().strip()
            href = el.get("href")
            if href and href != label and not href.startswith("#"):
                out.append(f" ({href})")
    if tag in _BLOCKS:
        out.append("\n\n")
    if el.tail:
        out.append(_squash(el.tail))


def _squash(text: str) -> str:
    return _SPACES.sub(" ", text)
