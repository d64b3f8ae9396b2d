"""Converting Markdown with the site's settings, a fastbuild Markdown lever on or off."""

from __future__ import annotations

import markdown

from tests.sitebuild import site_settings


def site_markdown_settings(tmp_path) -> dict:
    """The site's Markdown settings with their extensions loaded, as Pelican's reader
    does (it adds every key of `extension_configs` to `extensions`)."""
    settings = dict(site_settings(tmp_path)["MARKDOWN"])
    settings["extensions"] = list(settings["extension_configs"])
    return settings


def convert_all(texts, md_settings: dict, lever, quick: bool) -> list[str]:
    """Each text converted by one Markdown object made while `lever` (a module with
    `activate(on)`) was on or off, reset between texts as Pelican's reader does."""
    lever.activate(quick)
    try:
        md = markdown.Markdown(**md_settings)
        out = []
        for text in texts:
            md.reset()
            out.append(md.convert(text))
        return out
    finally:
        lever.activate(False)
