"""FASTBUILD_QUICK_TEMPLATES: output escaped into plain strings, and dict keys looked up
without a failed attribute lookup first, give the same pages."""

from __future__ import annotations

import sys

import jinja2
import pytest
from markupsafe import Markup

from tests.sitebuild import ROOT

sys.path.insert(0, str(ROOT / "plugins"))

from fastbuild.quick_templates import QuickTemplate, install, quick_escape, quick_getattr


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
    if template_class is QuickTemplate:
        install(env)
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
    quick = render(QuickTemplate)
    assert quick == render(jinja2.Template)
    assert "&lt;script&gt;&#34;x&#34; &amp; &#39;y&#39;&lt;/script&gt;" in quick
    assert "<em>kept</em> &amp;" in quick and "<i>own html</i>" in quick
    assert "a &lt;plain&gt; &#34;object&#34; &amp; more" in quick


def test_templates_use_the_quick_escape_and_it_returns_plain_strings():
    env = jinja2.Environment(loader=jinja2.DictLoader(TEMPLATES), autoescape=True)
    env.template_class = QuickTemplate
    template = env.get_template("part.html")
    assert template.root_render_func.__globals__["escape"] is quick_escape
    assert type(quick_escape("<")) is str and quick_escape("<") == "&lt;"
    assert quick_escape(Markup("<b>")) == "<b>" and quick_escape(7) == "7"


@pytest.mark.parametrize("value", ["", "plain", "<&>\"'", Markup("<i>"), None, 0, Wrapped()])
def test_quick_escape_matches_markupsafe(value):
    from markupsafe import escape

    assert quick_escape(value) == str(escape(value))


class Attrs(dict):
    """A dict subclass with an attribute of its own: Jinja finds the attribute first."""

    url = "attribute wins"


LOOKUPS = (
    "{{ d.url }}|{{ d.items is callable }}|{{ d.get is callable }}|{{ d.missing is defined }}"
    "|{{ d.keys()|list }}|{{ s.url }}|{{ s.get('x') }}|{{ o.real }}|{{ o.missing is defined }}"
    "|{{ n.url is defined }}|{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}"
)


@pytest.mark.parametrize("d", [{"url": "/a", "items": "shadowed", "get": "g"}, {}])
def test_dict_lookups_find_what_jinja_finds(d):
    values = {"d": d, "s": Attrs(url="key", x="y"), "o": 3, "n": None}
    plain = jinja2.Environment(autoescape=True)
    quick = jinja2.Environment(autoescape=True)
    install(quick)
    assert quick.getattr.__func__ is quick_getattr
    want = plain.from_string(LOOKUPS).render(values)
    assert quick.from_string(LOOKUPS).render(values) == want
    assert "attribute wins" in want  # the subclass's attribute, not its key


def test_a_plain_dicts_key_is_found_without_an_attribute_lookup(monkeypatch):
    env = jinja2.Environment(autoescape=True)
    install(env)
    monkeypatch.setattr(jinja2.Environment, "getattr", lambda *a: pytest.fail("fell back"))
    assert env.getattr({"url": "/a"}, "url") == "/a"


def test_loaded_templates_are_kept_in_a_plain_dict():
    env = jinja2.Environment(loader=jinja2.DictLoader(TEMPLATES), autoescape=True)
    first = env.get_template("part.html")
    install(env)
    assert type(env.cache) is dict and first in env.cache.values()
    assert env.get_template("part.html") is first
    assert env.get_template("macros.html") is env.get_template("macros.html")
