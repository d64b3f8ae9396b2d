"""A tiny site for the engagement plugins' tests (share links, cards, subscribe, related).

Titles are hostile on purpose: quotes, `&`, `#`, `<script>`, emoji, accents and
right-to-left text must survive every share URL, meta tag and JSON-LD block.
"""

from __future__ import annotations

from pathlib import Path

from lxml import html as lxml_html

from tests.sitebuild import build_site, write_post

HOSTILE_TITLE = "Say \"hi\" & 'bye' #1 <script>alert(1)</script> 🎉 café déjà vu שלום עולם"
PLAIN_TITLE = "Answering complaints in public"

POSTS = {
    "hostile.md": f"""
        Title: {HOSTILE_TITLE}
        Date: 2024-03-05 09:30
        Modified: 2024-03-06 12:00
        Tags: email, customers
        Summary: Quotes "inside" & <b>bold</b> summary.
        Image: images/hostile-card.png
        ImageAlt: A "card" & more

        Body of the hostile post.
        """,
    "complaints.md": f"""
        Title: {PLAIN_TITLE}
        Date: 2024-03-01 08:00
        Tags: social, complaints, customers
        Summary: Answer every complaint in public; the negative ones first.

        A complaint answered in public wins loyalty.
        """,
    "segments.md": """
        Title: Segmenting the email list
        Date: 2024-02-20 08:00
        Tags: email, segments
        Summary: Send each segment of the email list what is worth its time.

        Segments by interest.
        """,
}

PAGES = {
    "about.md": """
        Title: About this site
        Summary: Who writes here.

        About the author.
        """,
    "subscribe.md": """
        Title: Subscribe
        Template: subscribe

        Get each new post by email.
        """,
    "secret.md": """
        Title: Secret page
        Status: hidden

        Not listed anywhere.
        """,
}


def write_content(folder: Path, posts: dict | None = None, pages: dict | None = None) -> Path:
    """Write the test site's posts and pages under folder; return folder."""
    import textwrap

    for name, text in (POSTS if posts is None else posts).items():
        write_post(folder, name, text)
    for name, text in (PAGES if pages is None else pages).items():
        path = folder / "pages" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return folder


def build(tmp_path: Path, posts: dict | None = None, pages: dict | None = None, **overrides):
    """Build the test site into tmp_path/output; return the output folder."""
    content = write_content(tmp_path / "content", posts, pages)
    return build_site(tmp_path, content=content, **overrides)


def parse(path: Path):
    """lxml document of a written HTML file."""
    return lxml_html.fromstring(path.read_bytes())


def article_file(output: Path, slug_part: str) -> Path:
    """The written article whose folder name contains slug_part."""
    found = [p for p in output.glob("*/*/*/index.html") if slug_part in p.parent.name]
    assert len(found) == 1, f"expected one article matching {slug_part!r}, got {found}"
    return found[0]
