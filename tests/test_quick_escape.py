"""FASTBUILD_QUICK_ESCAPE: autoescaped output as plain strings gives the same pages."""

from __future__ import annotations

import sys

import jinja2
import pytest
from markupsafe import Markup

from tests.sitebuild import ROOT

sys.path.insert(0, str(ROOT / "plugins"))

from fastbuild.quick_escape import QuickEscapeTemplate, quick_escape


class Wrapped:
    """Not a string; knows its own HTML."""

    def __html__(self):
        return "<i>own html</i>"


class Plain:
    def __str__(self):
        return 'a <plain> "object" & more'


TEMPLATES = {
    "macros.html": (
        "{% macro card(x) %}<b>{{ x }}</b>{% endmacro %}"
        "{% macro frame() %}[{{ caller() }}]{% endmacro %}"
    ),
    "page.html": """{% from "macros.html" import card, frame %}
{{ text }} {{ markup }} {{ number }} {{ nothing }} {{ wrapped }} {{ plain }} {{ missing }}
{{ text|e }} {{ text|safe }} {{ text ~ markup }} {{ "%s|%s"|format(text, markup) }}
{{ card(text) }} {{ card(markup) }} {{ card(text)|upper }} {{ card(text)|length }}
{% call frame() %}{{ text }}{% endcall %}
{% set block %}{{ text }}{{ markup }}{% endset %}{{ block }} {{ block|length }}
{% set joined = text ~ "!" %}{{ joined }} {{ [text, markup]|join(", ") }}
{% for item in items %}{{ loop.index }}:{{ item }}{% if not loop.last %}, {% endif %}{% endfor %}
{% autoescape false %}{{ text }} {{ markup }}{% endautoescape %}
{% autoescape true %}{{ text }}{% endautoescape %}
{% include "part.html" %}
""",
    "part.html": "{{ text }}|{{ items|first }}|{{ 'x<y'|replace('<', '&') }}",
}


def render(template_class) -> str:
    env = jinja2.Environment(loader=jinja2.DictLoader(TEMPLATES), autoescape=True)
    env.template_class = template_class
    return env.get_template("page.html").render(
        text="<script>\"x\" & 'y'</script>",
        markup=Markup("<em>kept</em> &amp;"),
        number=3.5,
        nothing=None,
        wrapped=Wrapped(),
        plain=Plain(),
        items=["<a>", Markup("<b>"), 7],
    )


def test_pages_are_the_same_as_with_markupsafe_escape():
    quick = render(QuickEscapeTemplate)
    assert quick == render(jinja2.Template)
    assert "&lt;script&gt;&#34;x&#34; &amp; &#39;y&#39;&lt;/script&gt;" in quick
    assert "<em>kept</em> &amp;" in quick and "<i>own html</i>" in quick
    assert "a &lt;plain&gt; &#34;object&#34; &amp; more" in quick


def test_templates_use_the_quick_escape_and_it_returns_plain_strings():
    env = jinja2.Environment(loader=jinja2.DictLoader(TEMPLATES), autoescape=True)
    env.template_class = QuickEscapeTemplate
    template = env.get_template("part.html")
    assert template.root_render_func.__globals__["escape"] is quick_escape
    assert type(quick_escape("<")) is str and quick_escape("<") == "&lt;"
    assert quick_escape(Markup("<b>")) == "<b>" and quick_escape(7) == "7"


@pytest.mark.parametrize("value", ["", "plain", "<&>\"'", Markup("<i>"), None, 0, Wrapped()])
def test_quick_escape_matches_markupsafe(value):
    from markupsafe import escape

    assert quick_escape(value) == str(escape(value))
