"""Python-Markdown's table-of-contents pass, without searching for a marker that is absent.

The toc extension puts its table in place of a paragraph that is exactly its marker
("[TOC]"). To find that paragraph, `replace_marker` joins the text of each element's
whole subtree, for every element of the document, and so it was a quarter of the
extension's time on the posts of a blog, which have no marker. `QuickTocTreeprocessor`
first looks whether the text of any element holds the marker, as that paragraph's text
must, and does not search when none does: the search would have replaced nothing.
Everything else (heading ids, the table, `md.toc` and `md.toc_tokens`) is Markdown's.
"""

from __future__ import annotations

from markdown.extensions import toc

_ORIGINAL = getattr(toc.TocTreeprocessor, "markdowns", toc.TocTreeprocessor)


class QuickTocTreeprocessor(_ORIGINAL):
    """Markdown's TocTreeprocessor; the marker is searched for only when it is there."""

    markdowns = _ORIGINAL  # the class this one stands in for

    def replace_marker(self, root, elem) -> None:
        marker = self.marker
        for element in root.iter():
            text = element.text
            if text and marker in text:
                super().replace_marker(root, elem)
                return


def activate(on: bool) -> None:
    """Make Markdown instances created from now on use QuickTocTreeprocessor (on) or
    Markdown's own TocTreeprocessor (off)."""
    toc.TocExtension.TreeProcessorClass = QuickTocTreeprocessor if on else _ORIGINAL
