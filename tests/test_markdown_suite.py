"""Python-Markdown's own test suite passes with fastbuild's Markdown shortcuts on.

FASTBUILD_QUICK_INLINE, FASTBUILD_QUICK_BLOCKS and FASTBUILD_QUICK_TOC stand in for parts
of Markdown's inline and block loops and of its toc extension. Our other tests compare
their HTML with Markdown's on our posts and on hand-made tricky text; this one runs the
more than thousand cases Markdown's authors wrote for every syntax rule and extension,
from the source release of the pinned version (`make test` fetches it into
.venv/markdown-suite, without its copy of the package, so the installed Markdown is the
one tested).
"""

from __future__ import annotations

import json
import subprocess
import sys

import markdown
import pytest

from tests.sitebuild import ROOT

SUITE = ROOT / ".venv" / "markdown-suite"

# Run in a fresh interpreter: the shortcuts are switched on before Markdown's tests make
# their first Markdown object, and nothing of this test session leaks in.
RUNNER = """
import json, sys, unittest
suite_dir, plugins = sys.argv[1], sys.argv[2]
sys.path[:0] = [suite_dir, plugins]
from markdown import blockprocessors, treeprocessors
from markdown.extensions import toc
from fastbuild import block_quick, inline_quick, toc_quick
inline_quick.activate(True)
block_quick.activate(True)
toc_quick.activate(True)
tests = unittest.defaultTestLoader.discover(suite_dir + "/tests", top_level_dir=suite_dir)
result = unittest.TextTestRunner(stream=sys.stderr, verbosity=0).run(tests)
print(json.dumps({
    "run": result.testsRun,
    "failed": [str(t) for t, _ in result.failures + result.errors],
    "inline": treeprocessors.InlineProcessor.__name__,
    "blocks": blockprocessors.BlockParser.__name__,
    "toc": toc.TocExtension.TreeProcessorClass.__name__,
    "markdown_file": __import__("markdown").__file__,
}))
"""


def run_suite_with_the_shortcuts() -> dict:
    if not (SUITE / ".fetched").exists():
        pytest.fail(f"Python-Markdown's test suite is missing from {SUITE}: run `make test`")
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, str(SUITE), str(ROOT / "plugins")],
        capture_output=True,
        text=True,
        cwd=SUITE,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_markdowns_own_suite_passes_with_the_shortcuts_on():
    result = run_suite_with_the_shortcuts()
    assert result["inline"] == "QuickInlineProcessor"
    assert result["blocks"] == "QuickBlockParser"
    assert result["toc"] == "QuickTocTreeprocessor"
    assert result["markdown_file"] == markdown.__file__  # the installed package
    assert result["run"] > 1000
    assert result["failed"] == []


def test_the_suite_is_the_pinned_versions():
    info = (SUITE / "PKG-INFO").read_text(encoding="utf-8")
    assert f"\nVersion: {markdown.__version__}\n" in info
