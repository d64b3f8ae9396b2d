"""Template rendering without throwaway objects: the same pages, less work per value.

Two things Jinja does for every value a page shows, and what this module does instead:

* With `autoescape`, every `{{ value }}` is compiled into a call of markupsafe's
  `escape(value)`, which wraps the escaped text in a new `Markup` string. In that
  position the result is only ever joined into the page (yielded, or appended to a
  buffer that becomes one string), so the wrapper is made and dropped at once; our theme
  outputs about 250 values per page. `QuickTemplate` gives every compiled template a
  module-level `escape` that returns the same characters as a plain `str`. Jinja's code
  generator writes `escape(` only around output (`CodeGenerator._output_child_pre`,
  Jinja 3.1, pinned); filters such as `|e` and `|safe`, and macros, keep markupsafe's.
* `{{ link.url }}` is compiled into `environment.getattr(link, "url")`, which tries the
  attribute first and the item second. The plugins hand the theme plain dicts, so more
  than half of those lookups raised and caught an AttributeError before finding the key.
  `quick_getattr` looks a plain dict's key up first when the name is not one of `dict`'s
  own attributes, which is exactly when the attribute lookup would have failed.
* Every `{% include %}` and `{% extends %}` asks the environment's template cache, an
  LRU cache that takes a lock and reorders itself on each hit. A site has a few dozen
  templates, so a plain dict (what Jinja itself uses for `cache_size=-1`) holds them.

The byte-for-byte tests compare whole sites built with and without these.
"""

from __future__ import annotations

import types

import jinja2
from jinja2.utils import LRUCache
from markupsafe import _escape_inner  # markupsafe's own escaping, C when available

_DICT_ATTRIBUTES = frozenset(dir(dict))


def quick_escape(value) -> str:
    """markupsafe.escape(value), as a `str` rather than `Markup`."""
    if type(value) is str:
        return _escape_inner(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return _escape_inner(str(value))


class QuickTemplate(jinja2.Template):
    @classmethod
    def _from_namespace(cls, environment, namespace, globals):
        if "escape" in namespace:
            namespace["escape"] = quick_escape
        return super()._from_namespace(environment, namespace, globals)


def quick_getattr(self, obj, attribute):
    """Environment.getattr(obj, attribute): a plain dict's key first when `attribute`
    cannot be an attribute of a dict (a dict instance has no attributes of its own)."""
    if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
        try:
            return obj[attribute]
        except KeyError:
            pass
    return jinja2.Environment.getattr(self, obj, attribute)


def install(env: jinja2.Environment) -> None:
    """Make `env` load templates as QuickTemplate, look attributes up quickly, and keep
    its loaded templates in a plain dict."""
    if env.template_class is jinja2.Template:
        env.template_class = QuickTemplate
    if type(env).getattr is jinja2.Environment.getattr:
        env.getattr = types.MethodType(quick_getattr, env)
    if isinstance(env.cache, LRUCache):
        env.cache = dict(env.cache.items())
