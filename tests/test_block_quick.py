"""FASTBUILD_QUICK_BLOCKS: Markdown's block parser does not ask processors that cannot
take a block, and the HTML stays exactly what Python-Markdown makes without it."""

from __future__ import annotations

import functools
import sys
from xml.etree import ElementTree

import markdown
from markdown import blockprocessors

from tests import mdconvert
from tests.sitebuild import ROOT, build_site

sys.path.insert(0, str(ROOT / "plugins"))

from fastbuild import block_quick, inline_quick

BLOCKS = [
    "# Hash heading #\n\nText with a # inside, and #not-a-heading.\n\n####### seven",
    "Setext one\n===\n\nSetext two\n---\n\nNot setext\n- item",
    "> quote\n> # heading in a quote\n>\n> > nested\n\nafter > sign",
    "1. one\n2. two\n    - nested *list*\n    - more\n\n3) not a list\n\n10. ten",
    "* star\n+ plus\n- minus\n\n    code block\n    > not a quote\n",
    "Term\n:   Definition\n\n:   not a definition (no term)\n\nOther: colon text",
    "| a | b |\n|---|---|\n| 1 | 2 |\n\n***\n\n- - -\n\n___",
    '<div markdown="1">\n# inside html\n\n> quoted\n</div>\n\n<p>raw</p>',
    "Footnote[^a].\n\n[^a]: The note\n    # still the note\n\n*[HTML]: abbr\n\n[ref]: /x",
    "```\nfenced # not a heading\n> not a quote\n```\n\nLast line\n=\n",
    'Text before\n[ref]: /x "T"\nText after [ref] - - - no rule\n* * *\nafter the rule',
    "Para *[X]: y\n*[ABBR]: Abbreviated\nABBR in text\n[^n]: in the middle\n    more [^n]",
    "Under_scores_ and dashes - and stars *, no rule\n\n[^1]: a\n[^2]: b\n\nx[^1][^2]",
    "\n\n\n   \n\nLeading blank blocks, then text.\n\n\n",
]


# convert_all(texts, md_settings, quick=...): with this lever on or off
convert_all = functools.partial(mdconvert.convert_all, lever=block_quick)


def test_blocks_convert_exactly_as_without_the_shortcut(md_settings):
    quick = convert_all(BLOCKS, md_settings, quick=True)
    assert quick == convert_all(BLOCKS, md_settings, quick=False)
    assert "<h1" in quick[0] and "<blockquote>" in quick[2] and "<dl>" in quick[5]


def test_markdown_objects_made_while_on_get_the_quick_parser(md_settings):
    block_quick.activate(True)
    try:
        assert type(markdown.Markdown(**md_settings).parser) is block_quick.QuickBlockParser
    finally:
        block_quick.activate(False)
    assert type(markdown.Markdown(**md_settings).parser) is block_quick._ORIGINAL


def test_needs_of_the_sites_processors(md_settings):
    md = markdown.Markdown(**md_settings)
    needs = {type(p).__name__: block_quick.need_of(p) for p in md.parser.blockprocessors}
    assert needs["HashHeaderProcessor"] == ("#",)
    assert needs["BlockQuoteProcessor"] == (">",)
    assert needs["DefListProcessor"] == (": ",)
    assert needs["HRProcessor"] == ("*", "-", "_")  # from the rule's lookahead
    # a test that always says yes, then a run that declines what its expression misses
    assert needs["ReferenceProcessor"] == ("]:",)
    assert needs["AbbrBlockprocessor"] == ("*[",)
    assert needs["FootnoteBlockProcessor"] == ("[^",)
    assert needs["ParagraphProcessor"] is None and needs["TableProcessor"] is None


def test_a_processor_with_its_own_run_is_always_asked(md_settings):
    class Greedy(blockprocessors.ReferenceProcessor):
        def run(self, parent, blocks):  # takes a block without any "]:"
            if not blocks[0].startswith("GREEDY"):
                return super().run(parent, blocks)
            blocks.pop(0)
            parent.append(parent.makeelement("hr", {}))
            return True

    class GreedyExtension(markdown.Extension):
        def extendMarkdown(self, md):
            md.parser.blockprocessors.register(Greedy(md.parser), "greedy", 75)

    settings = {
        **md_settings,
        "extensions": [*md_settings.get("extensions", []), GreedyExtension()],
    }
    greedy = markdown.Markdown(**settings).parser.blockprocessors["greedy"]
    assert block_quick.need_of(greedy) is None
    texts = ["GREEDY words\n\nquiet", "[r]: /x\n\n[a][r]"]
    quick = convert_all(texts, settings, quick=True)
    assert quick == convert_all(texts, settings, quick=False)
    assert quick[0].startswith("<hr")


def test_a_processor_with_its_own_test_is_always_asked(md_settings):
    class Loud(blockprocessors.HashHeaderProcessor):
        def test(self, parent, block):  # takes blocks without any "#"
            return block.startswith("LOUD")

        def run(self, parent, blocks):
            blocks.pop(0)
            el = parent.makeelement("strong", {})
            el.text = "loud"
            parent.append(el)

    class LoudExtension(markdown.Extension):
        def extendMarkdown(self, md):
            md.parser.blockprocessors.register(Loud(md.parser), "loud", 75)

    settings = {**md_settings, "extensions": [*md_settings.get("extensions", []), LoudExtension()]}
    texts = ["LOUD words\n\nquiet", "# real heading"]
    quick = convert_all(texts, settings, quick=True)
    assert quick == convert_all(texts, settings, quick=False)
    assert quick[0].startswith("<strong>loud</strong>")


class CountingRE:
    """A compiled expression that counts its searches."""

    def __init__(self, compiled):
        self.compiled, self.pattern, self.flags, self.searches = (
            compiled,
            compiled.pattern,
            compiled.flags,
            0,
        )

    def search(self, *args):
        self.searches += 1
        return self.compiled.search(*args)

    def __getattr__(self, name):
        return getattr(self.compiled, name)


def searches_of_hash_heading_test(md_settings, quick: bool) -> int:
    block_quick.activate(quick)
    try:
        md = markdown.Markdown(**md_settings)
        heading = md.parser.blockprocessors["hashheader"]
        heading.RE = counting = CountingRE(heading.RE)
        for text in BLOCKS:
            md.reset()
            md.convert(text)
        return counting.searches
    finally:
        block_quick.activate(False)


def test_fewer_tests_are_asked(md_settings):
    plain = searches_of_hash_heading_test(md_settings, quick=False)
    quick = searches_of_hash_heading_test(md_settings, quick=True)
    assert 0 < quick < plain / 2


def test_parse_blocks_outside_a_document_uses_markdowns_loop(md_settings):
    block_quick.activate(True)
    try:
        md = markdown.Markdown(**md_settings)
        root = ElementTree.Element("div")
        md.parser.parseChunk(root, "> quoted\n\n# heading")
        assert [el.tag for el in root] == ["blockquote", "h1"]
    finally:
        block_quick.activate(False)


def test_build_uses_the_setting(tmp_path):
    build_site(tmp_path / "on")
    assert blockprocessors.BlockParser is block_quick.QuickBlockParser
    build_site(tmp_path / "off", FASTBUILD_QUICK_BLOCKS=False)
    assert blockprocessors.BlockParser is block_quick._ORIGINAL
    inline_quick.activate(False)


def test_block_level_answers_are_markdowns(md_settings):
    block_quick.activate(True)
    try:
        md = markdown.Markdown(**md_settings)
        md.convert("# first document")  # the quick test is in place from here on
    finally:
        block_quick.activate(False)
    assert "is_block_level" in vars(md)
    tags = ["p", "DIV", "hr/", "Section", "span", "", "x-custom", ElementTree.Comment, None]
    want = [markdown.Markdown.is_block_level(md, tag) for tag in tags]
    assert [md.is_block_level(tag) for tag in tags] == want
    assert all(want[:4]) and not any(want[4:])


def test_a_tag_made_block_level_later_is_honoured(md_settings):
    text = "<x-card>\n*not emphasis inside a block*\n</x-card>\n\nafter"
    outputs = []
    for quick in (True, False):
        block_quick.activate(quick)
        try:
            md = markdown.Markdown(**md_settings)
            before = md.convert(text)
            md.block_level_elements.append("x-card")
            md.reset()
            outputs.append((before, md.convert(text)))
        finally:
            block_quick.activate(False)
    assert outputs[0] == outputs[1]
    before, after = outputs[0]
    assert before != after and "<em>" in before and "<em>" not in after
