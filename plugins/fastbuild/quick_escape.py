"""Autoescaped output without a `Markup` object per value.

With `autoescape`, Jinja compiles every `{{ value }}` into a call of markupsafe's
`escape(value)`, which returns the escaped text wrapped in a new `Markup` string. In
that position the result is only ever joined into the page (yielded, or appended to a
buffer that becomes one string), so the wrapper is made and dropped at once: our theme
outputs about 250 values per page.

`QuickEscapeTemplate` gives every compiled template a module-level `escape` that returns
the same characters as a plain `str`. Jinja's code generator writes `escape(` only
around output (`CodeGenerator._output_child_pre`, Jinja 3.1, pinned); filters such as
`|e` and `|safe`, and macros, keep using markupsafe. The byte-for-byte tests compare
pages rendered with and without it.
"""

from __future__ import annotations

import jinja2
from markupsafe import _escape_inner  # markupsafe's own escaping, C when available


def quick_escape(value) -> str:
    """markupsafe.escape(value), as a `str` rather than `Markup`."""
    if type(value) is str:
        return _escape_inner(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return _escape_inner(str(value))


class QuickEscapeTemplate(jinja2.Template):
    @classmethod
    def _from_namespace(cls, environment, namespace, globals):
        if "escape" in namespace:
            namespace["escape"] = quick_escape
        return super()._from_namespace(environment, namespace, globals)
