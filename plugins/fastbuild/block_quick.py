"""Python-Markdown's block parser, asking only the processors that can take a block.

For every block of a post, Markdown asks each of its seventeen block processors in turn
whether it takes the block (`test`), rebuilding the sorted list of processors each time.
Several of those tests are a single regular expression that needs some fixed characters
(a heading needs "#", a blockquote ">", a definition ": "), and most blocks hold none of
them. `QuickBlockParser` lists the processors once per document, with the need of each
test it knows to be such a search (its code is Markdown's own, compared by identity),
and does not ask a processor whose need is missing from the block: its test would say
no. The same holds for the processors whose test always says yes and whose run declines a
block its expression does not find (link references, abbreviations, footnotes). Every
other processor is asked as before, in the same order, so the tree is the same. Whether
a tag is block-level is looked up in a set instead of Markdown's list.
"""

from __future__ import annotations

import functools

from markdown import blockparser, blockprocessors
from markdown.extensions import abbr, def_list, footnotes

from .inline_quick import required_text

_ORIGINAL = getattr(blockparser.BlockParser, "markdowns", blockparser.BlockParser)

# Tests that are exactly `bool(self.<regex>.search(block))` / `.match(block)` (plus, for
# the blockquote, a recursion guard that only ever adds a "no"; the rule remembers its
# match, but only when there is one), with the attribute that holds the expression.
_REGEX_TESTS = {
    blockprocessors.HashHeaderProcessor.test.__code__: "RE",
    blockprocessors.SetextHeaderProcessor.test.__code__: "RE",
    blockprocessors.OListProcessor.test.__code__: "RE",
    blockprocessors.BlockQuoteProcessor.test.__code__: "RE",
    blockprocessors.HRProcessor.test.__code__: "SEARCH_RE",
    def_list.DefListProcessor.test.__code__: "RE",
}
# Processors whose test always says yes and whose run starts with `self.RE.search(block)`
# and, when that finds nothing, puts the block back and returns False: the parser then
# asks the next processor, exactly as when the test says no. (test, run) code pairs.
_DECLINING_RUNS = {
    (proc.test.__code__, proc.run.__code__)
    for proc in (
        blockprocessors.ReferenceProcessor,
        abbr.AbbrBlockprocessor,
        footnotes.FootnoteBlockProcessor,
    )
}


def need_of(processor) -> tuple[str, ...] | None:
    """What a block must contain for `processor` to take it; None if unknown."""
    attribute = _regex_attribute(type(processor))
    regex = getattr(processor, attribute, None) if attribute else None
    return required_text(regex) if hasattr(regex, "pattern") else None


@functools.cache
def _regex_attribute(cls) -> str | None:
    """The attribute holding the expression a processor class's test (or declining run)
    searches for; None if its test is not known to be such a search."""
    test = getattr(getattr(cls, "test", None), "__code__", None)
    run = getattr(getattr(cls, "run", None), "__code__", None)
    attribute = _REGEX_TESTS.get(test)
    if attribute is None and (test, run) in _DECLINING_RUNS:
        attribute = "RE"
    return attribute


class QuickBlockParser(_ORIGINAL):
    """Markdown's BlockParser; a processor is not asked about a block it cannot take."""

    markdowns = _ORIGINAL  # the class this one stands in for

    def parseDocument(self, lines):
        # The processors as they are for this document, each with what its test needs.
        self._quick = [(p, need_of(p)) for p in self.blockprocessors]
        if "is_block_level" not in vars(self.md):
            self.md.is_block_level = _block_level_test(self.md)
        try:
            return super().parseDocument(lines)
        finally:
            del self._quick

    def parseBlocks(self, parent, blocks) -> None:
        # Markdown's loop (blockparser.BlockParser.parseBlocks), plus the skip.
        plan = getattr(self, "_quick", None)
        if plan is None:  # called outside a document: no list made, Markdown's own loop
            return super().parseBlocks(parent, blocks)
        while blocks:
            for processor, need in plan:
                block = blocks[0]  # as Markdown's loop: a declining run may change it
                if need is not None:
                    for text in need:
                        if text in block:
                            break
                    else:
                        continue
                if processor.test(parent, block):
                    if processor.run(parent, blocks) is not False:
                        break


def _block_level_test(md):
    """`md.is_block_level` with the same answers, from a set rather than a search of
    Markdown's list of tens of names (asked about every element several times over). The
    set is made again whenever the list is replaced or grows or shrinks, which is how
    extensions change it (they append names when they are loaded)."""
    state = {"list": None, "size": -1, "answers": {}}

    def is_block_level(tag) -> bool:
        if not isinstance(tag, str):
            return False  # as Markdown's: ElementTree's comment and PI "tags" are functions
        names = md.block_level_elements
        if names is not state["list"] or len(names) != state["size"]:
            state.update(list=names, size=len(names), answers={}, set=frozenset(names))
        answers = state["answers"]
        known = answers.get(tag)
        if known is None:
            known = answers[tag] = tag.lower().rstrip("/") in state["set"]
        return known

    return is_block_level


def activate(on: bool) -> None:
    """Make Markdown instances created from now on use QuickBlockParser (on) or
    Markdown's own BlockParser (off)."""
    blockprocessors.BlockParser = QuickBlockParser if on else _ORIGINAL
