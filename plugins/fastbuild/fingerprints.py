"""Fingerprints: what a page's output depends on, digested to decide whether the page
must be rendered again."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import jinja2
import markdown
import pelican
from jinja2 import meta as jinja_meta
from jinja2 import nodes as jinja_nodes
from pelican.contents import Content
from pelican.paginator import Page, Paginator
from pelican.urlwrappers import URLWrapper

from .config import VERSION, _config_digest
from .packed import PACKED, STATIC_LINKS

_SCALARS = (str, int, float, bool, type(None))
# Context names whose Content objects are rendered in full (body, summary, extras);
# everything else (site-wide lists such as `articles` or `tags`) is fingerprinted
# by what a listing shows: metadata, URL and the plugins' scalar attributes.
_FULL_NAMES = frozenset({"article", "page", "articles_page", "dates_page"})
_SKIP_ATTRS = frozenset({"_context", "settings", "_content", "_summary", PACKED, STATIC_LINKS})


def _holds_content(value) -> bool:
    if isinstance(value, Content):
        return True
    if isinstance(value, list | tuple):
        return any(isinstance(x, Content) for x in value)
    if isinstance(value, dict):
        return any(isinstance(x, Content) for x in value.values())
    return False


class _Unstable(Exception):
    """A value has no reliable fingerprint: the page is rendered every time."""


class Fingerprints:
    """Digests of template inputs, memoised for one write phase.

    A post listed on a page (not the page's own post) is digested by its URL, its
    metadata, its body when a listing can show it (no explicit Summary), and those
    attributes whose names some template of the theme reads (`x.reading_time`,
    `x.comments`), except attributes that hold other posts. The page's own post is
    digested with every attribute, and with the listed digests of the posts it points
    to (neighbours, related posts). Subscripts with computed keys (`x[name]`) are not
    followed: a theme that reads post attributes that way needs
    FASTBUILD_INCREMENTAL = False.
    """

    def __init__(self):
        self._memo = {}  # (id, ...) -> (object kept alive, digest)
        self._base = {}  # id(content) -> (object, digest of URL, metadata, body)
        self._templates = {}
        self.listed_attrs: frozenset = frozenset()  # see theme_attributes
        self.parsed: dict = {}  # sha1 of a template's source -> _parse_source result
        self.parsed_used: dict = {}  # the same, for the templates this build parsed

    def _content_base(self, obj: Content) -> tuple[str, str]:
        hit = self._base.get(id(obj))
        if hit is None:
            h = hashlib.sha1(type(obj).__name__.encode())  # noqa: S324 (not security)
            h.update(repr((obj.source_path, obj.url, obj.save_as)).encode())
            h.update(self._plain(getattr(obj, "metadata", {}), False).encode())
            listed = h.hexdigest()
            # a packed body is digested as it is held: no need to unpack it
            body = vars(obj).get(PACKED) or b"t" + (obj._content or "").encode()
            h.update(hashlib.sha1(body).digest())  # noqa: S324
            hit = self._base[id(obj)] = (obj, listed, h.hexdigest())
        return hit[1], hit[2]

    def _content_own(self, obj: Content) -> tuple[str, str, list[str]]:
        """Digests of every attribute that holds no other post and of those a listing
        may show, and the names of the attributes that hold posts."""
        hit = self._memo.get((id(obj), "own"))
        if hit is None:
            plain, refs = {}, []
            for name, value in vars(obj).items():
                if name in _SKIP_ATTRS or name == "metadata":
                    continue
                if _holds_content(value):
                    refs.append(name)
                else:
                    plain[name] = value
            shown = {name: plain[name] for name in self.listed_attrs.intersection(plain)}
            digests = (self._plain(plain, False), self._plain(shown, False), sorted(refs))
            hit = self._memo[(id(obj), "own")] = (obj, digests)
        return hit[1]

    def own_digests(self, obj: Content) -> list | None:
        """What `prime` takes for one document: its base and own digests (JSON-able), or
        None when it has no reliable fingerprint (then it is digested, and found
        unstable, where a page needs it)."""
        try:
            return [*self._content_base(obj), *self._content_own(obj)]
        except _Unstable:
            return None

    def prime(self, objs: list, digests: list) -> None:
        """Take `own_digests` of `objs` worked out elsewhere (in another process)."""
        for obj, found in zip(objs, digests, strict=True):
            if found is not None:
                listed, full, own, shown, refs = found
                self._base.setdefault(id(obj), (obj, listed, full))
                self._memo.setdefault((id(obj), "own"), (obj, (own, shown, refs)))

    def content(self, obj: Content, full: bool) -> str:
        key = (id(obj), full)
        hit = self._memo.get(key)
        if hit is not None:
            return hit[1]
        listed_base, full_base = self._content_base(obj)
        explicit_summary = "summary" in getattr(obj, "metadata", {})
        base = full_base if full or not explicit_summary else listed_base
        own, shown, refs = self._content_own(obj)
        h = hashlib.sha1(base.encode())  # noqa: S324
        if full:
            h.update(own.encode())
            for name in refs:  # other posts it points to (neighbours, related posts)
                h.update(name.encode())
                h.update(self.value(getattr(obj, name), False).encode())
        else:
            h.update(shown.encode())
        digest = h.hexdigest()
        self._memo[key] = (obj, digest)
        return digest

    def _plain(self, v, full: bool, depth: int = 0) -> str:
        """Digest of a list, tuple or dict (not memoised)."""
        d = depth + 1
        try:
            # The C encoder walks plain data fast; anything else it meets (posts,
            # dates, tags, sets) is digested by `value` through `default`.
            text = json.dumps(v, sort_keys=True, default=lambda x: self.value(x, full, d))
        except (TypeError, ValueError, RecursionError):
            # mixed or non-string keys, or too deep for the encoder
            if isinstance(v, dict):
                parts = sorted(
                    f"{self.value(k, full, d)}={self.value(x, full, d)}" for k, x in v.items()
                )
            else:
                parts = [self.value(x, full, d) for x in v]
            text = "\x1f".join(parts)
        return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()  # noqa: S324

    def value(self, v, full: bool, depth: int = 0) -> str:
        if isinstance(v, _SCALARS):
            return repr(v)
        if depth > 8:
            raise _Unstable("too deep")
        if isinstance(v, Content):
            return "C" + self.content(v, full)
        if isinstance(v, URLWrapper):
            return f"U{type(v).__name__}:{v.name!r}:{v.slug!r}"
        if isinstance(v, dt.datetime | dt.date):
            return f"D{v.isoformat()}{getattr(v, 'tzinfo', None)}"
        if isinstance(v, list | tuple | dict | set | frozenset):
            key = (id(v), full)
            hit = self._memo.get(key)
            if hit is None:
                if isinstance(v, set | frozenset):
                    parts = sorted(self.value(x, full, depth + 1) for x in v)
                    digest = hashlib.sha1("\x1f".join(parts).encode()).hexdigest()  # noqa: S324
                else:
                    digest = self._plain(v, full, depth)
                hit = self._memo[key] = (v, f"{type(v).__name__}:{digest}")
            return hit[1]
        if isinstance(v, Page):
            # not memoised: a Page and its slice of posts are made for one page only
            objects = self._plain(list(v.object_list), full, depth + 1)
            return f"P{v.number}/{v.paginator.num_pages}:{v.save_as}:{objects}"
        if isinstance(v, Paginator):
            return f"G{v.name}:{v.num_pages}:{v.count}:{v.per_page}"
        if callable(v) and hasattr(v, "__qualname__"):
            return f"F{getattr(v, '__module__', '')}.{v.__qualname__}"
        if type(v).__repr__ is not object.__repr__:
            text = repr(v)
            if " at 0x" in text:
                raise _Unstable(text)
            return f"R{type(v).__qualname__}:{text}"
        if hasattr(v, "__dict__"):
            return f"O{type(v).__qualname__}:" + self.value(vars(v), full, depth + 1)
        raise _Unstable(type(v).__qualname__)

    def _parse(self, env, name: str):
        """(variables, referenced templates, attribute names) of one template file;
        None if it cannot be read or pulls in a template chosen at render time.
        Results are kept across builds in `parsed`, keyed by a hash of the source."""
        key = ("parse", name)
        if key not in self._templates:
            try:
                source = env.loader.get_source(env, name)[0]
            except jinja2.TemplateError:
                source = None
            result = None
            if source is not None:
                h = hashlib.sha1(_env_signature(env).encode())  # noqa: S324
                h.update(source.encode("utf-8", "surrogatepass"))
                digest = h.hexdigest()
                if digest in self.parsed:
                    result = self.parsed[digest]
                else:
                    result = _parse_source(env, source)
                self.parsed_used[digest] = result
            if result is not None:
                result = (frozenset(result[0]), list(result[1]), frozenset(result[2]))
            self._templates[key] = result
        return self._templates[key]

    def _reachable(self, env, roots, strict: bool = True) -> list | None:
        """Parsed (variables, references, attributes) of `roots` and every template they
        pull in. A template that cannot be read or picks another at render time makes
        the answer None (strict) or is left out."""
        seen, found, todo = set(), [], list(roots)
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            parsed = self._parse(env, current)
            if parsed is None:
                if strict:
                    return None
                continue
            found.append(parsed)
            todo.extend(parsed[1])
        return found

    def template_variables(self, template) -> frozenset | None:
        """Variables a template and everything it pulls in reads; None when a template
        is chosen at render time (the page then depends on every variable)."""
        name = template.name
        if name not in self._templates:
            parsed = self._reachable(template.environment, [name])
            self._templates[name] = (
                None if parsed is None else frozenset().union(*(p[0] for p in parsed))
            )
        return self._templates[name]

    def theme_attributes(self, env) -> frozenset:
        """Every attribute name (and constant subscript) any template of the theme, or
        a template it pulls in, reads."""
        roots = [name for name in env.list_templates() if not name.startswith("!")]
        parsed = self._reachable(env, roots, strict=False)
        return frozenset().union(*(p[2] for p in parsed))


def _env_signature(env) -> str:
    """What, besides the source, decides how Jinja parses a template."""
    return repr(
        (
            env.block_start_string, env.block_end_string, env.variable_start_string,
            env.variable_end_string, env.comment_start_string, env.comment_end_string,
            env.line_statement_prefix, env.line_comment_prefix, sorted(env.extensions),
            jinja2.__version__,
        )
    )  # fmt: skip


def _parse_source(env, source: str):
    """[variables, referenced templates, attribute names] of a template's source, as
    plain lists; None if it does not parse or pulls in a template chosen at render time."""
    try:
        ast = env.parse(source)
    except jinja2.TemplateError:
        return None
    refs = list(jinja_meta.find_referenced_templates(ast))
    if not all(r is not None for r in refs):
        return None
    attrs = set()
    for node in ast.find_all((jinja_nodes.Getattr, jinja_nodes.Getitem)):
        if isinstance(node, jinja_nodes.Getattr):
            attrs.add(node.attr)
        elif isinstance(node.arg, jinja_nodes.Const) and isinstance(node.arg.value, str):
            attrs.add(node.arg.value)
    return [sorted(jinja_meta.find_undeclared_variables(ast)), refs, sorted(attrs)]


def _site_fingerprint(settings, context, env) -> str:
    """Everything every page depends on: code, theme, settings, URLs of all content."""
    h = hashlib.sha1(VERSION.encode())  # noqa: S324
    h.update(f"{pelican.__version__} {jinja2.__version__} {markdown.__version__}".encode())
    for name in sorted(env.list_templates()):
        try:
            h.update(name.encode() + env.loader.get_source(env, name)[0].encode())
        except jinja2.TemplateError:
            h.update(name.encode())
    h.update(_config_digest(settings).encode())
    for key in ("generated_content", "static_content"):
        for path, obj in sorted((context.get(key) or {}).items()):
            url = getattr(obj, "url", None)
            h.update(f"{path}\x1f{url}\x1f{getattr(obj, 'save_as', None)}\n".encode())
    return h.hexdigest()
