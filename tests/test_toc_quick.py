"""FASTBUILD_QUICK_TOC: Markdown's toc pass searches for its "[TOC]" paragraph only in a
document that holds the marker, and the HTML stays exactly what Python-Markdown makes."""

from __future__ import annotations

import functools
import sys

import markdown
from markdown.extensions import toc

from tests import mdconvert
from tests.sitebuild import ROOT, build_site

sys.path.insert(0, str(ROOT / "plugins"))

from fastbuild import toc_quick

TEXTS = [
    "# Title\n\n[TOC]\n\n## One\n\nText.\n\n## Two\n\nMore text.",
    "[TOC]\n\n# First\n\n# First\n\nSame heading twice: two ids.",
    "## Heading [TOC]\n\n    [TOC]\n\n`[TOC]` in code, and text around [TOC] the marker.",
    "- [TOC]\n- item\n\n> [TOC]\n\n[TOC]  \nwith a line break after it",
    "No marker at all.\n\n# A heading\n\n*emphasis* and a [link](/x).",
    '<div markdown="1">\n[TOC]\n\n# Inside html\n</div>\n\n## After',
    "```\n[TOC]\n```\n\n# Code only",
    "[TOC\\]\n\n&#91;TOC]\n\n# Escaped markers are not markers",
]

# convert_all(texts, md_settings, quick=...): with this lever on or off
convert_all = functools.partial(mdconvert.convert_all, lever=toc_quick)


def test_same_html_as_markdown(md_settings):
    quick = convert_all(TEXTS, md_settings, quick=True)
    assert quick == convert_all(TEXTS, md_settings, quick=False)
    assert '<div class="toc">' in quick[0] and '<div class="toc">' in quick[1]
    assert quick[0].index('<div class="toc">') < quick[0].index('id="one"')
    assert '<div class="toc">' not in quick[4]


def searches(md_settings, text: str, quick: bool) -> tuple[int, str]:
    """How often Markdown's own marker search ran while converting `text`, and the table
    of contents Markdown kept (`md.toc`)."""
    calls = []
    original = toc_quick._ORIGINAL.replace_marker

    def counted(self, root, elem):
        calls.append(1)
        return original(self, root, elem)

    toc_quick._ORIGINAL.replace_marker = counted
    toc_quick.activate(quick)
    try:
        md = markdown.Markdown(**md_settings)
        md.convert(text)
        return len(calls), md.toc
    finally:
        toc_quick.activate(False)
        toc_quick._ORIGINAL.replace_marker = original


def test_search_only_when_the_marker_is_there(md_settings):
    plain, plain_toc = searches(md_settings, TEXTS[4], quick=False)
    quick, quick_toc = searches(md_settings, TEXTS[4], quick=True)
    assert (plain, quick) == (1, 0)
    assert quick_toc == plain_toc and 'href="#a-heading"' in quick_toc
    assert searches(md_settings, TEXTS[0], quick=True)[0] == 1


def test_markdown_objects_made_while_on_get_the_quick_pass(md_settings):
    toc_quick.activate(True)
    try:
        md = markdown.Markdown(**md_settings)
        assert type(md.treeprocessors["toc"]) is toc_quick.QuickTocTreeprocessor
    finally:
        toc_quick.activate(False)
    md = markdown.Markdown(**md_settings)
    assert type(md.treeprocessors["toc"]) is toc.TocTreeprocessor


def test_build_uses_the_setting(tmp_path):
    build_site(tmp_path / "on")
    assert toc.TocExtension.TreeProcessorClass is toc_quick.QuickTocTreeprocessor
    build_site(tmp_path / "off", FASTBUILD_QUICK_TOC=False)
    assert toc.TocExtension.TreeProcessorClass is toc.TocTreeprocessor
    toc_quick.activate(False)
