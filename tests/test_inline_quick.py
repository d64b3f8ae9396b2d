"""FASTBUILD_QUICK_INLINE: Markdown's inline passes skip patterns that cannot match,
and the HTML stays exactly what Python-Markdown makes without the shortcut."""

from __future__ import annotations

import functools
import re
import sys
from pathlib import Path
from xml.etree import ElementTree

import markdown
import pytest
from markdown import treeprocessors

from tests import mdconvert
from tests.sitebuild import ROOT, build_site

sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "plugins"))

import gen_corpus
from fastbuild import inline_quick

# Text that exercises every inline pattern of the site's Markdown settings, smarty's
# quote rules above all (placeholders next to quotes, nesting, decades, contractions).
TRICKY = [
    "\"Quoted\" and 'single' and \"'nested'\" and '\"other\"' words.",
    "It's the '80s, rock 'n' roll; don't stop -- or --- ever... or....",
    '"*Emphasis* in quotes" and *"quotes in emphasis"* and **"bold"**.',
    'A `"code span"` and ``double `ticks` "inside"`` stay as they are.',
    '[A "link"](https://example.org/a "a \\"title\\"") and ![an "image"](/i.png "t").',
    '<b>"html"</b> &quot;entities&quot; &amp; &mdash; -- <<angled>> >> <<.',
    'Escaped \\"quotes\\" and \\*stars\\* and \\_under\\_; <https://example.org/"x">.',
    "Line break  \nafter two spaces; mail <someone@example.org>; 'tis 'em.",
    "A footnote[^1] and an ABBR.\n\n[^1]: The \"note\" -- with 'quotes'.\n\n"
    '*[ABBR]: An "abbreviation"',
    "# A \"heading\" with 'quotes' -- and dashes\n\n## Another... one",
    "| a \"cell\" | 'b' |\n|---|---|\n| -- | ... |",
    "    \"indented code\" -- stays...\n\nAfter 'code'.",
    '```python\nprint("fenced") -- \'x\' ...\n```\n\n"After" the fence.',
    "> A \"quote\" in a 'blockquote' -- said someone...",
    '- "item" one\n- \'item\' two -- with *"emphasis"*',
    "__Strong 'under'__ and _\"em\"_ and ***'both'***.",
    "Trailing quote at the end of a paragraph\"\n\n'Leading one",
]


# convert_all(texts, md_settings, quick=...): with this lever on or off
convert_all = functools.partial(mdconvert.convert_all, lever=inline_quick)


@pytest.mark.parametrize(
    ("regex", "want"),
    [
        (r"(?<!-)---(?!-)", ("---",)),
        (r"(?<!\.)\.{3}(?!\.)", ("...",)),
        (r"^'(?=[!\"#]\B)", ("'",)),
        (r"\!\[", ("![",)),
        (r"(a|b)cd[ef]g", ("cd",)),
        (r"x{2,5}y", ("xx",)),
        (r"<([a-z]+)>", ("<",)),
        (r"(a|b)", ("a", "b")),
        (r"\*|_", ("*", "_")),
        (r"(?:ab|(cd)+)e?", ("ab", "cd")),
        (r"[*_]x?", ("*", "_")),
        (r"(x|y)z", ("z",)),
        (r"(xy|z)w{2}", ("ww",)),
        (r"(ab|c*)", None),
        (r"[abc]+", ("a", "b", "c")),
        (r"[^abc]", None),
        (r"[a-z]", None),
        (r"a*", None),
        (r"(?i)abc", None),
        (r"(?i:abc)", None),
        (r"x(?i:abc)y", ("x",)),
        (r"(?i:ab)|cd", None),
        (r"(?=x)", ("x",)),  # a lookaround's need is used when nothing else is certain
        (r"(?<=q)r?", ("q",)),
        (r"'(?=s\b)", ("'",)),  # ... and only then: "s" would be a poor need
        (r"(?!x)y", ("y",)),  # a negative one needs nothing
        (r"(?!x)", None),
        (r"^[ ]*(?=(?P<g>(-+ ?){3,}|(_+ ?){3,}))(?P=g)$", ("-", "_")),
    ],
)
def test_required_text(regex, want):
    assert inline_quick.required_text(re.compile(regex)) == want


def test_ignore_case_flag_is_never_trusted():
    assert inline_quick.required_text(re.compile("abc", re.IGNORECASE)) is None


def test_tricky_text_converts_exactly_as_without_the_shortcut(md_settings):
    assert convert_all(TRICKY, md_settings, quick=True) == convert_all(
        TRICKY, md_settings, quick=False
    )


def _inline_pass_on_tree(md_settings, quick: bool) -> str:
    """The inline pass run on a tree a block processor could have made: elements whose
    tails hold inline markup of every kind, next to quiet text that needs no pattern."""
    inline_quick.activate(quick)
    try:
        md = markdown.Markdown(**md_settings)
    finally:
        inline_quick.activate(False)
    root = ElementTree.Element("div")
    para = ElementTree.SubElement(root, "p")
    para.text = "Plain words only"
    for n, tail in enumerate(
        [
            " then <b>raw</b> &amp; [a link](/u) and `code` *em*",
            " nothing special here",
            "'quoted' -- and \\*escaped\\* ![img](/i.png)",
        ]
    ):
        span = ElementTree.SubElement(para, "span")
        span.text = f"inner *{n}*"
        span.tail = tail
    ElementTree.SubElement(root, "hr").tail = "after a rule, **strong** <i>x</i>"
    for name in ("inline", "smarty"):
        md.treeprocessors[name].run(root)
    return md.serializer(root) + repr(md.htmlStash.rawHtmlBlocks)


def test_tails_on_the_tree_are_processed_exactly_as_without_the_shortcut(md_settings):
    quick = _inline_pass_on_tree(md_settings, quick=True)
    assert "<b>raw</b>" not in quick  # the raw HTML went to the stash, not escaped text
    assert quick == _inline_pass_on_tree(md_settings, quick=False)


@pytest.mark.slow  # converts the sample site and 150 generated posts twice
def test_real_posts_convert_exactly_as_without_the_shortcut(md_settings, tmp_path):
    gen_corpus.generate(150, tmp_path / "corpus")
    paths = sorted((ROOT / "content").rglob("*.md")) + sorted((tmp_path / "corpus").rglob("*.md"))
    texts = [Path(p).read_text(encoding="utf-8") for p in paths]
    assert len(texts) > 150
    assert convert_all(texts, md_settings, quick=True) == convert_all(
        texts, md_settings, quick=False
    )


def test_fewer_patterns_are_tried(md_settings, monkeypatch):
    tried = {"n": 0}
    original = treeprocessors.InlineProcessor._InlineProcessor__applyPattern

    def counting(self, *args, **kwargs):
        tried["n"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(
        inline_quick._ORIGINAL, "_InlineProcessor__applyPattern", counting, raising=True
    )
    convert_all(TRICKY, md_settings, quick=False)
    plain, tried["n"] = tried["n"], 0
    convert_all(TRICKY, md_settings, quick=True)
    assert 0 < tried["n"] < plain * 0.7


def test_build_uses_the_setting(tmp_path):
    build_site(tmp_path / "on")
    assert treeprocessors.InlineProcessor is inline_quick.QuickInlineProcessor
    build_site(tmp_path / "off", FASTBUILD_QUICK_INLINE=False)
    assert treeprocessors.InlineProcessor is inline_quick._ORIGINAL


def test_a_second_load_of_the_module_still_finds_markdowns_class():
    import importlib.util

    inline_quick.activate(True)
    try:
        spec = importlib.util.spec_from_file_location(
            "inline_quick_again", ROOT / "plugins" / "fastbuild" / "inline_quick.py"
        )
        again = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(again)
        assert again._ORIGINAL is inline_quick._ORIGINAL
        again.activate(False)
        assert treeprocessors.InlineProcessor is inline_quick._ORIGINAL
    finally:
        inline_quick.activate(False)


class _Caps(markdown.inlinepatterns.InlineProcessor):
    """A pattern with nothing certain to look for: capitals become <abbr>."""

    def handleMatch(self, m, data):
        el = ElementTree.Element("abbr")
        el.text = markdown.util.AtomicString(m.group(0))
        return el, m.start(0), m.end(0)


class _CapsExtension(markdown.Extension):
    def extendMarkdown(self, md):
        md.inlinePatterns.register(_Caps(r"\b[A-Z]{2,}\b", md), "caps", 5)


def test_patterns_without_a_need_are_always_tried(md_settings):
    settings = {**md_settings, "extensions": [*md_settings.get("extensions", []), _CapsExtension()]}
    texts = [*TRICKY, "The API and *the CLI* -- 'HTTP' [a URL](/u) `NOPE`."]
    quick = convert_all(texts, settings, quick=True)
    assert quick == convert_all(texts, settings, quick=False)
    assert "<abbr>API</abbr>" in quick[-1] and "<em>the <abbr>CLI</abbr></em>" in quick[-1]


def test_patterns_changed_between_documents_are_honoured(md_settings):
    """What each pattern needs is worked out once for a run of documents, and again when
    the patterns, or the expression of one of them, are not those of the last document."""
    inline_quick.activate(True)
    try:
        md = markdown.Markdown(**md_settings)
        assert isinstance(md.treeprocessors["inline"], inline_quick.QuickInlineProcessor)
        text = "The API and *the CLI* [a URL](/u)."
        first = md.convert(text)
        md.reset()
        md.inlinePatterns.register(_Caps(r"\bAPI\b", md), "caps", 5)
        added = md.convert(text)
        md.reset()
        md.inlinePatterns["caps"].compiled_re = re.compile(r"\bCLI\b")
        swapped = md.convert("Only the CLI here.")
    finally:
        inline_quick.activate(False)
    assert "<abbr>" not in first
    assert "<abbr>API</abbr>" in added and "<abbr>CLI</abbr>" not in added
    assert "<abbr>CLI</abbr>" in swapped


def test_reference_patterns_wait_for_a_document_with_references(md_settings, monkeypatch):
    """Without a link reference defined, "[text][id]" and "[id]" make nothing, and the
    reference patterns are not tried; with one, they are, and link as Markdown does."""
    from markdown import inlinepatterns

    tried = []
    apply = treeprocessors.InlineProcessor._InlineProcessor__applyPattern

    def counted(self, pattern, *args):
        if isinstance(pattern, inlinepatterns.ReferenceInlineProcessor):
            tried.append(type(pattern).__name__)
        return apply(self, pattern, *args)

    without = "A [link](/a) and [undefined][x], [short] and ![image][y] -- [x]: not a ref."
    with_refs = 'A [link][x], [x] and ![image][x]; [missing][z].\n\n[x]: /to "Title"'
    quick = convert_all([without, with_refs], md_settings, quick=True)
    monkeypatch.setattr(treeprocessors.InlineProcessor, "_InlineProcessor__applyPattern", counted)
    convert_all([without], md_settings, quick=True)
    assert tried == []  # the reference patterns were left out
    convert_all([with_refs], md_settings, quick=True)
    assert "ReferenceInlineProcessor" in tried and "ImageReferenceInlineProcessor" in tried
    monkeypatch.undo()
    assert quick == convert_all([without, with_refs], md_settings, quick=False)
    assert '<a href="/to" title="Title">link</a>' in quick[1] and "[missing][z]" in quick[1]
