"""Deploy targets: atomic directory releases, rsync --delete, github-pages, and `publish()`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from lxml import html

from sitetools import deploy
from sitetools.publish import publish
from tests.sitebuild import ROOT, write_post


def make_site(folder: Path, marker: str, pages: int = 30) -> Path:
    """A complete site: index.html plus `pages` pages, every file carrying `marker`."""
    folder.mkdir(parents=True)
    (folder / "index.html").write_text(f"<html><body><h1>{marker}</h1></body></html>")
    for n in range(pages):
        page = folder / "posts" / f"p{n}" / "index.html"
        page.parent.mkdir(parents=True)
        page.write_text(f"<html><body><p>{marker} {n}</p></body></html>" + "x" * 2000)
    return folder


def heading(web_root: Path) -> str:
    return html.parse(str(web_root / "index.html")).getroot().findtext(".//h1")


def test_dir_deploy_switches_symlink_and_keeps_n_releases(tmp_path):
    web_root = tmp_path / "www" / "blog"
    releases = []
    for n in range(4):
        site = make_site(tmp_path / f"out{n}", f"site {n}", pages=2)
        releases.append(deploy.deploy_dir(site, web_root, keep=2))
        assert web_root.is_symlink()
        assert heading(web_root) == f"site {n}"
        assert deploy.current_release(web_root) == releases[-1].resolve()
    # the link is relative, so the whole tree can move
    assert not os.readlink(web_root).startswith("/")
    kept = deploy.list_releases(deploy.releases_dir(web_root))
    assert [p.name for p in kept] == [r.name for r in releases[-2:]]
    assert not releases[0].exists()

    back = deploy.rollback(web_root)
    assert back.name == releases[-2].name
    assert heading(web_root) == "site 2"


def test_dir_deploy_refuses_a_real_directory(tmp_path):
    web_root = tmp_path / "blog"
    web_root.mkdir()
    (web_root / "index.html").write_text("<h1>hand-made</h1>")
    with pytest.raises(deploy.DeployError, match="real directory"):
        deploy.deploy_dir(make_site(tmp_path / "out", "new", 1), web_root)
    assert (web_root / "index.html").read_text() == "<h1>hand-made</h1>"


def test_readers_never_see_a_half_written_site(tmp_path):
    """A reader hammering the web root during 8 deploys always finds a whole site."""
    web_root = tmp_path / "blog"
    sites = [make_site(tmp_path / f"out{n}", f"site {n}") for n in range(8)]
    deploy.deploy_dir(sites[0], web_root, keep=3)
    seen, problems, stop = set(), [], threading.Event()

    def reader():
        while not stop.is_set():
            try:
                top = heading(web_root)
                # every page of the site being read carries the same marker
                last = (web_root / "posts" / "p29" / "index.html").read_text()
            except OSError as e:
                problems.append(repr(e))
                continue
            seen.add(top)
            if not last.startswith("<html>"):
                problems.append(f"partial page under {top}")

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for site in sites[1:]:
            deploy.deploy_dir(site, web_root, keep=3)
    finally:
        stop.set()
        thread.join()
    assert problems == []
    assert heading(web_root) == "site 7"
    assert len(seen) >= 2  # the reader really ran across switches


@pytest.mark.skipif(shutil.which("rsync") is None, reason="rsync is not installed")
def test_rsync_mirrors_and_deletes(tmp_path):
    target = tmp_path / "remote"
    target.mkdir()
    (target / "stale.html").write_text("old page")
    site = make_site(tmp_path / "out", "rsynced", pages=3)
    settings = {"DEPLOY": "rsync", "DEPLOY_RSYNC_TARGET": f"{target}/"}
    message = deploy.deploy(settings, site)
    assert "mirrored" in message
    assert heading(target) == "rsynced"
    assert (target / "posts" / "p2" / "index.html").is_file()
    assert not (target / "stale.html").exists()  # --delete
    command = deploy.rsync_command(site, "u@h:/srv/www/", "ssh -p 2222")
    assert "--delete" in command and command[command.index("--rsh") + 1] == "ssh -p 2222"


@pytest.mark.skipif(shutil.which("rsync") is None, reason="rsync is not installed")
def test_rsync_failure_is_a_deploy_error(tmp_path):
    site = make_site(tmp_path / "out", "x", pages=1)
    settings = {"DEPLOY": "rsync", "DEPLOY_RSYNC_TARGET": str(tmp_path / "no" / "such" / "dir/")}
    with pytest.raises(deploy.DeployError, match=r"rsync to .* failed"):
        deploy.deploy(settings, site)


def test_github_pages_marks_nojekyll_and_none_does_nothing(tmp_path):
    site = make_site(tmp_path / "out", "pages", pages=1)
    assert "ready" in deploy.deploy({"DEPLOY": "github-pages"}, site)
    assert (site / ".nojekyll").is_file()
    assert "nothing deployed" in deploy.deploy({"DEPLOY": "none"}, site)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"DEPLOY": "ftp"}, "github-pages, rsync, dir, none"),
        ({"DEPLOY": "rsync"}, "DEPLOY_RSYNC_TARGET"),
        ({"DEPLOY": "dir"}, "DEPLOY_DIR"),
        ({"DEPLOY": "dir", "DEPLOY_DIR": "/x", "DEPLOY_KEEP_RELEASES": 0}, "≥ 1"),
    ],
)
def test_bad_settings_name_the_fix(settings, message):
    with pytest.raises(ValueError, match=message):
        deploy.get_settings(settings)


def test_deploy_refuses_an_empty_output(tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(deploy.DeployError, match=r"index\.html is missing"):
        deploy.deploy({"DEPLOY": "dir", "DEPLOY_DIR": str(tmp_path / "www")}, tmp_path / "out")
    assert not (tmp_path / "www").exists()


# --- publish(): the real build with publishconf.py, then deploy ------------------------


def publish_overrides(tmp_path: Path, content: Path, **extra) -> dict:
    settings = {
        "PATH": str(content),
        "OUTPUT_PATH": str(tmp_path / "output"),
        "THEME": str(ROOT / "theme"),
        "PLUGIN_PATHS": [str(ROOT / "plugins")],
        "CACHE_PATH": str(tmp_path / "cache"),
        "MANIFEST_PATH": str(tmp_path / "var" / "manifest.json"),
        "DATA_PATH": str(tmp_path / "data"),
        "SITEURL": "https://blog.test",
        "DEPLOY": "dir",
        "DEPLOY_DIR": str(tmp_path / "www"),
    }
    settings.update(extra)
    return settings


POST = """\
    Title: {title}
    Date: 2024-05-06 10:00
    Category: Notes
    Summary: A short summary.

    Body of {title}.
    """


def test_publish_builds_with_publishconf_and_deploys(tmp_path, capsys):
    content = tmp_path / "content"
    write_post(content, "first.md", POST.format(title="First light"))
    config = {"settings_publish": str(ROOT / "publishconf.py")}
    code = publish(config, syndicate=False, overrides=publish_overrides(tmp_path, content))
    out = capsys.readouterr().out
    assert code == 0, out
    web_root = tmp_path / "www"
    page = web_root / "2024" / "05" / "first-light" / "index.html"
    tree = html.parse(str(page)).getroot()
    assert tree.findtext(".//h1").strip() == "First light"
    # production settings: absolute links to the production SITEURL, clean URLs
    canonical = tree.xpath("//link[@rel='canonical']/@href")
    hrefs = tree.xpath("//a/@href")
    assert "https://blog.test/2024/05/first-light/" in hrefs + canonical
    assert "now serves release" in out


def test_publish_with_a_failing_build_keeps_the_live_site(tmp_path, capsys):
    content = tmp_path / "content"
    write_post(content, "first.md", POST.format(title="First light"))
    config = {"settings_publish": str(ROOT / "publishconf.py")}
    assert publish(config, syndicate=False, overrides=publish_overrides(tmp_path, content)) == 0
    before = deploy.current_release(tmp_path / "www")
    write_post(content, "second.md", POST.format(title="Second"))
    broken = publish_overrides(tmp_path, content, THEME=str(tmp_path / "no-such-theme"))
    capsys.readouterr()
    code = publish(config, syndicate=False, overrides=broken)
    err = capsys.readouterr().err
    assert code == 1
    assert "FAILED: build" in err and "no-such-theme" in err
    assert deploy.current_release(tmp_path / "www") == before
    assert not (tmp_path / "www" / "2024" / "05" / "second").exists()


def test_every_deploy_setting_is_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Publishing on git push", 1)[1].split("\n## ", 1)[0]
    missing = [key for key in deploy.DEFAULTS if f"`{key}`" not in section]
    assert missing == []
    for target in deploy.TARGETS:
        assert f"**`{target}`**" in section, target


def test_rollback_task_switches_back(tmp_path):
    web_root = tmp_path / "blog"
    first = deploy.deploy_dir(make_site(tmp_path / "a", "first", 1), web_root)
    deploy.deploy_dir(make_site(tmp_path / "b", "second", 1), web_root)
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "rollback", "--web-root", str(web_root)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert first.name in done.stdout
    assert heading(web_root) == "first"
    with pytest.raises(deploy.DeployError, match="no release older"):
        deploy.rollback(web_root)
