"""Python-Markdown's inline passes, skipping the patterns that cannot match.

Markdown runs every inline pattern over every piece of text, one after the other: the
main inline pass has about fifteen patterns, and `smarty` adds a second pass with
eighteen more. Most of them can only match text that holds some fixed characters (an
ellipsis needs "...", a closing quote needs "'"), and most pieces of text hold few of
those. `QuickInlineProcessor` works out, once per pattern, what every match must
contain (a run of characters, or one of a few: `*` or `_` for emphasis; read from the
pattern's own regular expression) and tries each piece of text only against the
patterns whose needs it holds, and passes over text that holds no need at all (and no
placeholder) without Markdown's per-node work, since Markdown's loop would give it back
unchanged. A document that defines no link reference does not try the reference
patterns at all: for an undefined id they make nothing. Everything else is
Python-Markdown's own code, so the output is the same; conversion takes less than half
the time with `smarty`. Python-Markdown's own test suite runs with this on
(tests/test_markdown_suite.py).
"""

from __future__ import annotations

import collections
import functools
import logging
import re
import xml.etree.ElementTree as etree

from markdown import inlinepatterns, treeprocessors, util
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
_ZERO_WIDTH = (_sre.ASSERT_NOT, _sre.AT)


@functools.cache
def required_text(compiled: re.Pattern) -> tuple[str, ...] | None:
    """Runs of characters of which every match of `compiled` contains (or, for a lookahead
    or lookbehind, looks at) at least one, read from its structure: a run of literals, a
    group, an alternation whose branches all need something, a class of a few plain
    characters, what a positive lookaround needs. The most telling need is kept (one
    run before several, a longer one before a shorter one). None if nothing is certain
    or the expression ignores case (a group that ignores case needs nothing certain)."""
    try:
        parsed = _sre_parse.parse(compiled.pattern, compiled.flags)
    except Exception:  # an expression this parser does not know: never skipped
        return None
    if (compiled.flags | parsed.state.flags) & re.IGNORECASE:
        return None
    return _needs(parsed)


def _needs(items) -> tuple[str, ...] | None:
    best, run, around = None, "", None
    for op, arg in items:
        if op is _sre.LITERAL:
            run += chr(arg)
            continue
        if op is _sre.ASSERT:  # (?=...) or (?<=...): what it looks at must be there too,
            around = _better(around, _needs(arg[1]))  # a last resort (it may be a letter)
            continue  # but it takes no characters: the run goes on after it
        if op in _ZERO_WIDTH:
            continue
        found = None
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
            low, high, item = arg
            if low >= 1 and len(item) == 1 and item[0][0] is _sre.LITERAL:
                run += chr(item[0][1]) * low
                if high == low:
                    continue
            elif low >= 1:
                found = _needs(item)
        elif op is _sre.SUBPATTERN:
            _, add_flags, _, group = arg
            if not add_flags & re.IGNORECASE:  # `(?i:...)` matches other cases too
                found = _needs(group)
        elif op is _sre.BRANCH:
            branches = [_needs(branch) for branch in arg[1]]
            if all(branches):
                found = tuple(sorted({text for need in branches for text in need}))
        elif op is _sre.IN and all(kind is _sre.LITERAL for kind, _ in arg):
            found = tuple(sorted({chr(code) for _, code in arg}))
        best = _better(_better(best, (run,) if run else None), found)
        run = ""
    return _better(best, (run,) if run else None) or around


@functools.cache
def _any_of(texts: tuple[str, ...]):
    """A function telling whether a string holds any of `texts`."""
    return re.compile("|".join(map(re.escape, texts))).search


def _better(a, b):
    if a is None or b is None:
        return a or b
    return min(a, b, key=lambda need: (len(need), -min(map(len, need))))


class QuickInlineProcessor(_ORIGINAL):
    """Markdown's InlineProcessor; a pattern is not tried on text it cannot match."""

    markdowns = _ORIGINAL  # the class this one stands in for

    def run(self, tree, ancestors=None):
        # The patterns as they are for this document, each with what it needs; worked out
        # again only when they (or their expressions) are not those of the last document.
        # A document that defines no link reference gets nothing from the reference
        # patterns ("[text][id]", "[id]", and their image forms): they are not tried.
        patterns = tuple(self.inlinePatterns)
        regexes = tuple(p.getCompiledRegExp() for p in patterns)
        no_references = not getattr(self.md, "references", None)
        known = getattr(self, "_known", None)
        if known is None or known[:3] != (patterns, regexes, no_references):
            needs = [required_text(regex) for regex in regexes]
            idle = frozenset(
                index
                for index, pattern in enumerate(patterns)
                if no_references and _reference_pattern(pattern)
            )
            texts = sorted(
                {text for i, need in enumerate(needs) if need and i not in idle for text in need}
            )
            known = self._known = (patterns, regexes, no_references, needs, idle, texts, {})
        self._patterns = patterns
        self._needs, self._idle, self._texts, self._plans = known[3:]
        if not self._texts or None in self._needs:
            return super().run(tree, ancestors)
        # Text holding none of the needed runs and no placeholder comes out of Markdown's
        # loop as it went in, with nothing inserted: such text is passed over. The rest
        # is Markdown's own walk (InlineProcessor.run): breadth first, the nodes a pattern
        # made queued behind the others, a tail's nodes inserted after its element (and
        # visited by the same loop).
        busy = _any_of((util.INLINE_PLACEHOLDER_PREFIX, *self._texts))
        handle = self._InlineProcessor__handleInline
        place = self._InlineProcessor__processPlaceholders
        self.stashed_nodes = {}
        parents = [] if ancestors is None else list(ancestors)
        parent_map = self.parent_map = {c: p for p in tree.iter() for c in p}
        self._InlineProcessor__build_ancestors(tree, parents)
        queue = collections.deque([(tree, parents)])
        while queue:
            element, parents = queue.popleft()
            self.ancestors = parents
            if element is not tree:
                parents.append(element.tag.lower())
            inserts = []
            for child in element:
                text = child.text
                if text and not isinstance(text, util.AtomicString) and busy(text):
                    parents.append(child.tag.lower())
                    child.text = None
                    made = place(handle(text), child)
                    for node, _ in made:
                        parent_map[node] = child
                    queue.extend(made)
                    inserts.append((child, made))
                    parents.pop()
                tail = child.tail
                if tail and busy(tail):
                    holder = etree.Element("d")
                    child.tail = None
                    made = place(handle(tail), holder, False)
                    if holder.tail:
                        child.tail = holder.tail
                    at = list(element).index(child) + 1
                    for node, _ in reversed(made):
                        parent_map[node] = element
                        element.insert(at, node)
                if len(child):
                    parent_map[child] = element
                    queue.append((child, parents[:]))
            for child, made in inserts:
                for at, (node, _) in enumerate(made):
                    child.insert(at, node)
        return tree

    def _plan(self, data: str) -> tuple[int, ...]:
        """The patterns worth trying on `data`, by index. Trying a pattern only ever puts
        a placeholder in place of what it matched, so a needed run absent now stays
        absent; each pattern's need is still checked against the text of the moment."""
        present = frozenset(filter(data.__contains__, self._texts))
        plan = self._plans.get(present)
        if plan is None:
            idle = self._idle
            plan = self._plans[present] = tuple(
                index
                for index, need in enumerate(self._needs)
                if index not in idle and (need is None or not present.isdisjoint(need))
            )
        return plan

    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:
        # Markdown's loop (treeprocessors.InlineProcessor.__handleInline), over the
        # patterns the text can match: each is tried until it fails, then the next one.
        if isinstance(data, util.AtomicString):
            return data
        patterns, needs = self._patterns, self._needs
        apply = self._InlineProcessor__applyPattern
        for index in self._plan(data):
            if index < patternIndex:
                continue
            need = needs[index]
            start, matched = 0, True
            while matched:
                if need is not None:
                    for text in need:
                        if text in data:
                            break
                    else:
                        break
                data, matched, start = apply(patterns[index], data, index, start)
        return data


def _reference_pattern(pattern) -> bool:
    """Whether `pattern` is one of Markdown's reference patterns (its own match handler):
    for an id the document does not define, the handler makes nothing and changes
    nothing (`ReferenceInlineProcessor.handleMatch`), so without any reference the
    pattern leaves every text as it is."""
    return (
        isinstance(pattern, inlinepatterns.ReferenceInlineProcessor)
        and type(pattern).handleMatch is _REFERENCE_MATCH
    )


_REFERENCE_MATCH = inlinepatterns.ReferenceInlineProcessor.handleMatch


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
