"""Python-Markdown's inline passes, skipping the patterns that cannot match.

Markdown runs every inline pattern over every piece of text, one after the other: the
main inline pass has about fifteen patterns, and `smarty` adds a second pass with
eighteen more. Most of them can only match text that holds some fixed characters (an
ellipsis needs "...", a closing quote needs "'"), and most pieces of text hold few of
those. `QuickInlineProcessor` works out, once per pattern, a run of characters every
match must contain (from the pattern's own regular expression) and does not try the
pattern on text without it. Everything else is Python-Markdown's own code, so the
output is the same; conversion takes about half the time with `smarty`.
"""

from __future__ import annotations

import functools
import logging
import re

from markdown import treeprocessors, util
from markdown.extensions import smarty

try:  # the regular-expression parser moved in Python 3.11
    from re import _constants as _sre
    from re import _parser as _sre_parse
except ImportError:  # pragma: no cover
    import sre_constants as _sre
    import sre_parse as _sre_parse

log = logging.getLogger(__name__)

# Markdown's own class, also when this module is loaded a second time (under another
# name) while a QuickInlineProcessor of the first load is in place.
_ORIGINAL = getattr(treeprocessors.InlineProcessor, "markdowns", treeprocessors.InlineProcessor)
_ZERO_WIDTH = (_sre.ASSERT, _sre.ASSERT_NOT, _sre.AT)


@functools.cache
def required_text(compiled: re.Pattern) -> str | None:
    """The longest run of characters that every match of `compiled` contains, read from
    its top level (groups, alternatives and classes end a run); None if there is none
    or the expression ignores case."""
    try:
        parsed = _sre_parse.parse(compiled.pattern, compiled.flags)
    except Exception:  # an expression this parser does not know: never skipped
        return None
    if (compiled.flags | parsed.state.flags) & re.IGNORECASE:
        return None
    best, run = "", ""
    for op, arg in parsed:
        if op is _sre.LITERAL:
            run += chr(arg)
            continue
        if op in _ZERO_WIDTH:
            continue  # takes no characters: the run goes on after it
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
            low, high, item = arg
            if low >= 1 and len(item) == 1 and item[0][0] is _sre.LITERAL:
                run += chr(item[0][1]) * low
                if high == low:
                    continue
        best = max(best, run, key=len)
        run = ""
    best = max(best, run, key=len)
    return best or None


class QuickInlineProcessor(_ORIGINAL):
    """Markdown's InlineProcessor; a pattern is not tried on text it cannot match."""

    markdowns = _ORIGINAL  # the class this one stands in for

    def run(self, tree, ancestors=None):
        # The patterns as they are for this document, each with the text it needs.
        self._patterns = list(self.inlinePatterns)
        self._needs = [required_text(p.getCompiledRegExp()) for p in self._patterns]
        return super().run(tree, ancestors)

    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:
        # Markdown's loop (treeprocessors.InlineProcessor.__handleInline), plus the skip.
        if isinstance(data, util.AtomicString):
            return data
        patterns, needs = self._patterns, self._needs
        count = len(patterns)
        apply = self._InlineProcessor__applyPattern
        start = 0
        while patternIndex < count:
            need = needs[patternIndex]
            if need is not None and need not in data:
                patternIndex += 1
                start = 0  # what a failed attempt returns
                continue
            data, matched, start = apply(patterns[patternIndex], data, patternIndex, start)
            if not matched:
                patternIndex += 1
        return data


def _supported() -> bool:
    return all(
        hasattr(_ORIGINAL, name)
        for name in ("_InlineProcessor__handleInline", "_InlineProcessor__applyPattern")
    )


def activate(on: bool) -> None:
    """Make Markdown instances created from now on use QuickInlineProcessor (on) or
    Markdown's own InlineProcessor (off)."""
    cls = QuickInlineProcessor if on and _supported() else _ORIGINAL
    if on and cls is _ORIGINAL:
        log.debug("fastbuild: this Markdown version's inline loop is unknown; left as it is")
    treeprocessors.InlineProcessor = cls
    smarty.InlineProcessor = cls
