"""Post bodies kept compressed in memory (`FASTBUILD_PACK_CONTENT`).

A post's converted HTML (`Content._content`) is the largest thing a build holds, and it
is read a handful of times: for the post's own page, its feed entries, its fingerprint.
A packed document keeps the body as zlib bytes (about a third of the size) in
`_content_packed`; every read of `_content` unpacks it. Reads and writes of `_content`
go through a descriptor on Pelican's `Content` class, so Pelican and the plugins see the
same text as before; writing `_content` replaces the packed body.

`get_static_links()` of a packed document answers from the links found when it was
packed. Pelican memoises `get_content(siteurl)` per document, which would keep an unpacked copy
of every body alive: for a packed document the memo is skipped (the body is unpacked
and its links resolved on each call, a few times per post and build). Most bodies link
to no other document or file in Pelican's `{filename}` way; packing notes that, and for
them `get_content` is the unpacked body as it is, without Pelican's search of the whole
body for such links on every call (the search would have replaced nothing).

The descriptor and the memo wrapper are installed by every build and are transparent for
any document that is not packed; `pack` does nothing unless the lever is on for this build.
"""

from __future__ import annotations

import functools
import zlib

from pelican import contents
from pelican.utils import memoized

PACKED = "_content_packed"
STATIC_LINKS = "_content_static_links"  # get_static_links() of a packed body, or None
NO_LINKS = ()  # STATIC_LINKS of a body with no intrasite link at all
_BODY = "_content"
_MIN_SIZE = 512  # shorter bodies are not worth packing
_MISSING = object()
_active = False


class _Body:
    """`Content._content`: the text Pelican set, or the packed text unpacked."""

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        state = obj.__dict__
        text = state.get(_BODY, _MISSING)
        if text is not _MISSING:
            return text
        packed = state.get(PACKED)
        if packed is None:
            raise AttributeError(_BODY)
        return zlib.decompress(packed).decode("utf-8", "surrogatepass")

    def __set__(self, obj, value) -> None:
        state = obj.__dict__
        state.pop(PACKED, None)
        state.pop(STATIC_LINKS, None)
        state[_BODY] = value

    def __delete__(self, obj) -> None:
        state = obj.__dict__
        state.pop(STATIC_LINKS, None)
        if state.pop(_BODY, _MISSING) is _MISSING and state.pop(PACKED, None) is None:
            raise AttributeError(_BODY)


class _UnlessUnlinked:
    """Pelican's own `get_content` function (`raw`), except that a packed body with no
    link to resolve is given as it is. What `_MemoUnlessPacked.func` is, so callers that
    go around Pelican's memo through `.func` (the feeds plugin does) get it too."""

    def __init__(self, raw):
        self.raw = raw
        functools.update_wrapper(self, raw)

    def __call__(self, document, *args):
        state = getattr(document, "__dict__", ())
        if PACKED in state and state.get(STATIC_LINKS) == NO_LINKS and _links_as_pelicans(document):
            return document._content  # no link to resolve
        return self.raw(document, *args)


class _MemoUnlessPacked(memoized):
    """Pelican's `memoized`, sharing its cache, that does not remember packed bodies."""

    def __init__(self, original: memoized):
        super().__init__(_UnlessUnlinked(original.func))
        self.cache = original.cache
        self.pelicans = original

    def __call__(self, *args):
        if args and PACKED in getattr(args[0], "__dict__", ()):
            return self.func(*args)
        return super().__call__(*args)


def _links_as_pelicans(document) -> bool:
    """Whether `document` finds and resolves links as Pelican's Content does (no
    subclass reads its body or resolves its links another way)."""
    cls = type(document)
    return (
        cls._update_content is _original_update_content
        and cls._get_intrasite_link_regex is _original_link_regex
        and not hasattr(document, "_get_content")
    )


def _static_links(self) -> set[str]:
    """Content.get_static_links, answered for a packed body from what `pack` found."""
    state = self.__dict__
    if PACKED in state and STATIC_LINKS in state:
        return set(state[STATIC_LINKS] or ())
    return _original_static_links(self)


_original_update_content = contents.Content._update_content
_original_link_regex = contents.Content._get_intrasite_link_regex
_original_static_links = getattr(
    contents.Content.get_static_links, "pelicans", contents.Content.get_static_links
)
_static_links.pelicans = _original_static_links


def _install() -> None:
    if not isinstance(contents.Content.__dict__.get(_BODY), _Body):
        contents.Content._content = _Body()
    contents.Content.get_static_links = _static_links
    current = contents.Content.__dict__["get_content"]
    if not isinstance(current, _MemoUnlessPacked):
        contents.Content.get_content = _MemoUnlessPacked(current)


def activate(on: bool) -> None:
    """Pack bodies in this build (on), or leave every document as Pelican made it. The
    descriptor is installed either way: articles stored by a build that packed them
    (the article store is shared by every value of this setting) are read all the same."""
    global _active
    _active = on
    _install()


def pack(document) -> None:
    """Keep `document`'s body compressed (when the lever is on and the body is long)."""
    if not _active:
        return
    state = document.__dict__
    text = state.get(_BODY)
    if isinstance(text, str) and len(text) >= _MIN_SIZE:
        # Pelican reads every post's static links on every build; found here once, they
        # are stored with the article and the body is not unpacked for them
        if document._get_intrasite_link_regex().search(text) is None:
            found = NO_LINKS  # no link of any kind: get_content is the body itself
        else:
            links = _original_static_links(document)
            found = frozenset(links) if links else None
        state[PACKED] = zlib.compress(text.encode("utf-8", "surrogatepass"), 1)
        state[STATIC_LINKS] = found
        del state[_BODY]


def pack_all(documents) -> None:
    for document in documents:
        pack(document)
