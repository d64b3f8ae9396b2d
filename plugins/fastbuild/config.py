"""fastbuild's settings, read in one place, and digests of the configuration."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import markdown
import pelican
import pygments

VERSION = "3"  # bump when a change here changes what is cached or written

DEFAULTS = {
    "FASTBUILD_ENABLED": True,  # master switch: False turns every lever below off
    "FASTBUILD_PARALLEL_MARKDOWN": True,  # convert Markdown in worker processes
    "FASTBUILD_MARKDOWN_CACHE": True,  # keep converted Markdown across builds
    "FASTBUILD_PARALLEL_WRITE": True,  # render stale pages in short-lived forked renderers
    "FASTBUILD_PARALLEL_CHECK": True,  # fingerprint pages in several processes
    "FASTBUILD_INCREMENTAL": True,  # skip rendering pages whose inputs did not change
    "FASTBUILD_SKIP_UNCHANGED": True,  # do not rewrite files with identical bytes
    "FASTBUILD_JINJA_AUTO_RELOAD": False,  # Jinja's stat() of templates on every use
    "FASTBUILD_TEMPLATE_CACHE": True,  # keep compiled templates across builds
    "FASTBUILD_MEMOISE": True,  # remember pure Pelican helpers' results (speedups.py)
    "FASTBUILD_ARTICLE_CACHE": True,  # keep articles as Pelican made them (articles.py)
    "FASTBUILD_PARALLEL_ARTICLES": True,  # make articles not stored yet in worker processes
    "FASTBUILD_GC_FREEZE": True,  # while and after a build, the collector leaves the site alone
    "FASTBUILD_QUICK_INLINE": True,  # Markdown's inline passes skip hopeless patterns
    "FASTBUILD_QUICK_BLOCKS": True,  # Markdown's block parser skips hopeless processors
    "FASTBUILD_QUICK_TOC": True,  # Markdown's toc pass looks for its marker only if present
    "FASTBUILD_PACK_CONTENT": True,  # keep post bodies compressed in memory (packed.py)
    "FASTBUILD_QUICK_TEMPLATES": True,  # rendering without throwaway objects
    "FASTBUILD_WORKERS": 0,  # processes to use; 0 = os.cpu_count()
    "FASTBUILD_CACHE_PATH": "",  # "" = CACHE_PATH/fastbuild
}

_BOOL_KEYS = [k for k, v in DEFAULTS.items() if isinstance(v, bool)]
# Below this many pages (or Markdown files) a second process costs more than it saves.
_MIN_PARALLEL = 48


def get_settings(pelican_settings) -> dict:
    """This plugin's settings: DEFAULTS overridden by the Pelican settings."""
    conf = {key: pelican_settings.get(key, default) for key, default in DEFAULTS.items()}
    for key in _BOOL_KEYS:
        if not isinstance(conf[key], bool):
            raise ValueError(f"fastbuild: {key} must be True or False, not {conf[key]!r}")
    workers = conf["FASTBUILD_WORKERS"]
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 0:
        raise ValueError(f"fastbuild: FASTBUILD_WORKERS must be an int >= 0, not {workers!r}")
    conf["FASTBUILD_WORKERS"] = workers or os.cpu_count() or 1
    if not conf["FASTBUILD_ENABLED"]:
        for key in _BOOL_KEYS:
            if key != "FASTBUILD_JINJA_AUTO_RELOAD":
                conf[key] = False
    if not conf["FASTBUILD_CACHE_PATH"]:
        conf["FASTBUILD_CACHE_PATH"] = os.path.join(
            pelican_settings.get("CACHE_PATH", "cache"), "fastbuild"
        )
    return conf


def _stable(value):
    """A repr that does not depend on memory addresses (for cache keys)."""
    if isinstance(value, dict):
        return {str(k): _stable(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_stable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    return f"{type(value).__module__}.{type(value).__qualname__}:{_object_state(value)}"


def _object_state(value):
    if hasattr(value, "getConfigs"):  # a markdown.Extension instance
        return json.dumps(_stable(value.getConfigs()), sort_keys=True)
    return "?"


def _config_digest(settings) -> str:
    """Plugin code, Pelican's and Markdown's versions and the settings (except this
    plugin's own, which change how the site is built, never what it contains)."""
    h = hashlib.sha1(VERSION.encode())  # noqa: S324
    h.update(f"{pelican.__version__} {markdown.__version__} {pygments.__version__}".encode())
    plugin_dirs = [os.path.abspath(p) for p in settings.get("PLUGIN_PATHS", [])]
    for mod in sorted(list(sys.modules.values()), key=lambda m: m.__name__):
        path = getattr(mod, "__file__", None)
        if path and any(os.path.abspath(path).startswith(d + os.sep) for d in plugin_dirs):
            try:
                h.update(Path(path).read_bytes())
            except OSError:
                h.update(path.encode())
    relevant = {k: v for k, v in settings.items() if not k.startswith("FASTBUILD_")}
    h.update(json.dumps(_stable(relevant), sort_keys=True, default=str).encode())
    return h.hexdigest()
