"""`make build` on a fresh clone: a .venv from nothing, a built site, and a second run
that installs nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import html

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    """The caller's environment without any active virtualenv."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    venv_bin = str(ROOT / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    return env


def _make_build(clone: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "build"],
        cwd=clone,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=840,
    )


def test_make_build_on_a_fresh_clone(tmp_path):
    for tool in ("git", "make"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    assert not (clone / ".venv").exists() and not (clone / "output").exists()

    first = _make_build(clone)
    assert first.returncode == 0, (first.stdout + first.stderr)[-4000:]
    assert (clone / ".venv" / "bin" / "invoke").is_file()
    index = clone / "output" / "index.html"
    assert index.is_file()
    doc = html.parse(str(index)).getroot()
    assert doc.xpath("string(//title)").strip() == "Front Porch Notes"
    assert len(doc.xpath("//article[@class='post-summary']")) == 5
    assert (clone / "output" / "page" / "2" / "index.html").is_file()

    # Idempotent: the second run only rebuilds.
    (index).unlink()
    second = _make_build(clone)
    assert second.returncode == 0, (second.stdout + second.stderr)[-4000:]
    assert "pip install" not in second.stdout and "-m venv" not in second.stdout, second.stdout
    assert "invoke build" in second.stdout
    assert index.is_file()
