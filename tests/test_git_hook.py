"""The self-hosted path end to end, with real git: push → hook → build → deploy → syndicate.

A bare repository gets the hook from `sitetools.hook.install` (with this checkout's
interpreter, to skip the .venv set-up); a clone of it holds a copy of the project with a
tiny content folder. Each `git push` runs the real hook, whose output comes back as
"remote:" lines. Syndication goes to the stand-ins under tests/standins/ that exist.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from lxml import html

from sitetools import deploy, hook
from tests.sitebuild import ROOT
from tests.standins.base import StandIn

SITEURL = "https://blog.test"
# Not copied into the site repository: the tests' content replaces the sample site's.
SKIP_PREFIXES = ("content/", "data/", "tests/", "bench/", "docs/", "isso/", "output/")
CHANNEL_MODULES = ("mailchimp", "mastodon", "bluesky", "x", "linkedin")

pytestmark = pytest.mark.skipif(shutil.which("flock") is None, reason="flock is not installed")


# --- helpers (test_scheduled.py uses them too) -----------------------------------------


def git_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_AUTHOR_NAME="Writer",
        GIT_AUTHOR_EMAIL="writer@blog.test",
        GIT_COMMITTER_NAME="Writer",
        GIT_COMMITTER_EMAIL="writer@blog.test",
        GIT_CONFIG_NOSYSTEM="1",
        SITEURL=SITEURL,
    )
    env.update(extra)
    return env


def git(*args: str, cwd: Path, env: dict[str, str] | None = None, check: bool = True):
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env or git_env(), capture_output=True, text=True
    )
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def project_files() -> list[str]:
    """The project's files (tracked and new), without content, data and test-only folders."""
    listed = git("ls-files", "-co", "--exclude-standard", cwd=ROOT).stdout.splitlines()
    return [p for p in listed if not p.startswith(SKIP_PREFIXES) and (ROOT / p).is_file()]


def post_text(title: str, date: datetime, body: str = "", **meta: str) -> str:
    lines = [f"Title: {title}", f"Date: {date.isoformat(timespec='seconds')}"]
    lines += ["Category: Notes", "Tags: customers", f"Summary: About {title.lower()}."]
    lines += [f"{k}: {v}" for k, v in meta.items()]
    return "\n".join(lines) + "\n\n" + (body or f"All about {title}.") + "\n"


def post_url(title: str, date: datetime) -> str:
    slug = "-".join(title.lower().split())
    local = date.astimezone(UTC)  # dates in tests are written in UTC
    return f"{SITEURL}/{local:%Y}/{local:%m}/{slug}/"


def syndicate_available() -> bool:
    return (ROOT / "syndicate" / "cli.py").is_file()


def standin_classes() -> list[type[StandIn]]:
    """The channel stand-ins written so far: each has .env() and .delivered(url)."""
    found = []
    for name in CHANNEL_MODULES:
        try:
            module = importlib.import_module(f"tests.standins.{name}")
        except ImportError:
            continue
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and issubclass(obj, StandIn)
                and obj.__module__ == module.__name__
                and hasattr(obj, "env")
                and hasattr(obj, "delivered")
            ):
                found.append(obj)
    return found


class HookSite:
    """A bare repository with the hook, its server work tree and web root, and a clone."""

    def __init__(self, tmp: Path, *, syndicate: bool, env: dict[str, str]):
        self.bare = tmp / "blog.git"
        self.work_tree = tmp / "blog.work"
        self.web_root = tmp / "www" / "blog"
        self.clone = tmp / "writer"
        self.env = git_env(**env)
        self.hook = hook.install(
            self.bare,
            self.web_root,
            work_tree=self.work_tree,
            python=sys.executable,
            syndicate=syndicate,
        )
        self.clone.mkdir()
        for rel in project_files():
            dest = self.clone / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dest)
        (self.clone / "content" / "posts").mkdir(parents=True)
        (self.clone / "data").mkdir()
        git("init", "-q", "-b", "main", cwd=self.clone)
        git("remote", "add", "origin", str(self.bare), cwd=self.clone)

    def write(self, name: str, text: str) -> None:
        path = self.clone / "content" / "posts" / name
        path.write_text(text, encoding="utf-8")

    def commit_and_push(self, message: str) -> subprocess.CompletedProcess:
        git("add", "-A", cwd=self.clone)
        git("commit", "-q", "--allow-empty", "-m", message, cwd=self.clone)
        return self.push()

    def push(self) -> subprocess.CompletedProcess:
        return git("push", "origin", "main", cwd=self.clone, env=self.env, check=False)

    def pull(self) -> None:
        git("pull", "-q", "--rebase", "origin", "main", cwd=self.clone, env=self.env)

    def run_scheduled(self) -> subprocess.CompletedProcess:
        """What cron runs on the server: the hook with --scheduled."""
        return subprocess.run(
            [str(self.hook), "--scheduled"],
            env=self.env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )

    def page(self, url: str) -> Path:
        return self.web_root / url.removeprefix(SITEURL + "/") / "index.html"


def remote_lines(done: subprocess.CompletedProcess) -> str:
    """What the pusher saw from the hook (git prefixes it with 'remote: ')."""
    return "\n".join(
        line.removeprefix("remote: ").rstrip()
        for line in (done.stdout + done.stderr).splitlines()
        if line.startswith("remote: ")
    )


@pytest.fixture
def standins():
    running = []
    try:
        for cls in standin_classes() if syndicate_available() else []:
            running.append(cls())
            running[-1].start()
        yield running
    finally:
        for s in running:
            s.stop()


def standin_env(running: list[StandIn]) -> dict[str, str]:
    env: dict[str, str] = {}
    for s in running:
        env.update(s.env())
    return env


def serve(folder: Path):
    """Serve folder over HTTP (follows the web-root symlink on every request)."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# --- tests ---------------------------------------------------------------------------


def test_install_hook_renders_settings_and_refuses_non_bare(tmp_path):
    path = hook.install(tmp_path / "site.git", tmp_path / "my www", python=sys.executable)
    text = path.read_text()
    assert os.access(path, os.X_OK)
    assert f"WEB_ROOT='{tmp_path / 'my www'}'" in text
    assert f"WORK_TREE={tmp_path / 'site.work'}" in text
    assert "@" + "BRANCH@" not in text
    assert subprocess.run(["bash", "-n", str(path)]).returncode == 0
    plain = tmp_path / "plain"
    git("init", "-q", str(plain), cwd=tmp_path)
    with pytest.raises(hook.HookError, match="not a bare"):
        hook.install(plain, tmp_path / "www")


def test_install_hook_task_from_the_command_line(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "invoke",
            "install-hook",
            "--repo",
            str(tmp_path / "b.git"),
            "--web-root",
            str(tmp_path / "www"),
            "--keep",
            "3",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert f"{tmp_path / 'b.git' / 'hooks' / 'post-receive'} --scheduled" in done.stdout
    text = (tmp_path / "b.git" / "hooks" / "post-receive").read_text()
    assert "KEEP_RELEASES=3" in text and 'PYTHON=""' in text


def test_make_target_the_hook_uses_exists():
    """Without --python the hook runs `make .venv/.installed-site` in the work tree."""
    done = subprocess.run(
        ["make", "-n", "-f", str(ROOT / "Makefile"), ".venv/.installed-site"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert "No rule" not in done.stderr


@pytest.mark.slow
def test_push_publishes_atomically_syndicates_once_and_survives_a_bad_push(tmp_path, standins):
    syndicate = syndicate_available()
    assert standins or not syndicate, "syndicate/ is there but no channel stand-in is"
    site = HookSite(tmp_path, syndicate=syndicate, env=standin_env(standins))
    now = datetime.now(UTC).replace(microsecond=0)
    first_date, second_date = now - timedelta(days=2), now - timedelta(days=1)
    first_url = post_url("Porch light", first_date)
    second_url = post_url("Second cup", second_date)

    # 1. first push: the site appears, the post is syndicated
    site.write("porch-light.md", post_text("Porch light", first_date))
    started = time.monotonic()
    done = site.commit_and_push("First post")
    first_push_seconds = time.monotonic() - started
    out = remote_lines(done)
    assert done.returncode == 0, out
    assert "publish: done" in out, out
    assert site.web_root.is_symlink()
    tree = html.parse(str(site.page(first_url))).getroot()
    assert tree.findtext(".//h1").strip() == "Porch light"
    # the registry of post IDs came back as a commit the writer pulls
    log = git("log", "--format=%s", "main", cwd=site.bare).stdout
    assert "[skip ci]" in log.splitlines()[0]
    assert "git pull" in out
    site.pull()
    assert (site.clone / "data" / "post-ids.json").is_file()

    # 2. second push while a reader keeps reading the live index
    site.write("second-cup.md", post_text("Second cup", second_date))
    seen, problems, stop, ready = [], [], threading.Event(), threading.Event()

    def reader():
        while not stop.is_set():
            try:
                text = (site.web_root / "index.html").read_text(encoding="utf-8")
                older = site.page(first_url).read_text(encoding="utf-8")
            except OSError as e:
                problems.append(repr(e))
            else:
                if "</html>" not in text or "</html>" not in older:
                    problems.append("incomplete page")
                seen.append("Second cup" in text)
            ready.set()
            time.sleep(0.002)

    thread = threading.Thread(target=reader)
    thread.start()
    ready.wait(5)
    try:
        done = site.commit_and_push("Second post")
    finally:
        stop.set()
        thread.join()
    out = remote_lines(done)
    assert "publish: done" in out and "FAILED" not in out, out
    assert problems == []
    assert seen[0] is False and seen[-1] is True  # the old site, then the new one
    reads = len(seen)
    index = html.parse(str(site.web_root / "index.html")).getroot()
    assert "Second cup" in index.text_content()

    # the web root over HTTP serves the new post
    server = serve(site.web_root)
    try:
        port = server.server_address[1]
        path = second_url.removeprefix(SITEURL)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            served = html.fromstring(r.read())
        assert served.findtext(".//h1").strip() == "Second cup"
    finally:
        server.shutdown()
        server.server_close()

    if syndicate:
        for s in standins:
            assert s.delivered(first_url) == 1, s.name
            assert s.delivered(second_url) == 1, s.name
            assert s.violations == [], s.name

    # 3. a push without new posts sends nothing
    site.pull()
    (site.clone / "README-site.txt").write_text("notes\n")
    requests_before = {s.name: len(s.requests) for s in standins}
    done = site.commit_and_push("No new post")
    out = remote_lines(done)
    assert "publish: done" in out and "FAILED" not in out, out
    for s in standins:
        assert s.delivered(first_url) == 1 and s.delivered(second_url) == 1, s.name
        # no write at all, apart from logging in (Bluesky opens a session with a POST)
        writes = [
            f"{r.method} {r.path}"
            for r in s.requests[requests_before[s.name] :]
            if r.method in ("POST", "PUT", "PATCH", "DELETE")
            and not any(k in r.path for k in ("Session", "/oauth/"))
        ]
        assert writes == [], s.name

    # 4. a push whose build fails (a published post re-dated: its ID would change)
    live = deploy.current_release(site.web_root)
    site.pull()
    site.write("porch-light.md", post_text("Porch light", first_date - timedelta(days=30)))
    site.write("third.md", post_text("Third time", now - timedelta(hours=1)))
    done = site.commit_and_push("Re-date a post")
    out = remote_lines(done)
    assert "publish: FAILED: build" in out, out
    assert "still serves the previous site" in out, out
    assert deploy.current_release(site.web_root) == live
    assert site.page(first_url).is_file()
    assert not site.page(post_url("Third time", now - timedelta(hours=1))).exists()
    if syndicate:
        for s in standins:
            assert s.delivered(post_url("Third time", now - timedelta(hours=1))) == 0

    print(f"first push published in {first_push_seconds:.1f}s; {reads} reads during a push")


def test_a_second_push_waits_for_the_first(tmp_path):
    """Two pushes at once: the lock makes the second wait; both end up published."""
    site = HookSite(tmp_path, syndicate=False, env={})
    now = datetime.now(UTC).replace(microsecond=0)
    site.write("a.md", post_text("Alpha", now - timedelta(days=1)))
    assert site.commit_and_push("Alpha").returncode == 0
    site.pull()
    # hold the lock as a publishing push would (until we let go), then push
    lock = str(site.bare / "publish.lock")
    holder = subprocess.Popen(
        ["flock", lock, "cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    while subprocess.run(["flock", "-n", lock, "true"]).returncode == 0:
        time.sleep(0.05)  # not held yet
    release = threading.Timer(1.0, holder.stdin.close)
    site.write("b.md", post_text("Beta", now - timedelta(hours=2)))
    started = time.monotonic()
    release.start()
    done = site.commit_and_push("Beta")
    waited = time.monotonic() - started
    holder.wait()
    out = remote_lines(done)
    assert "another push is publishing; waiting" in out, out
    assert "publish: done" in out, out
    assert waited >= 1.0
    assert site.page(post_url("Beta", now - timedelta(hours=2))).is_file()


def test_hook_ignores_other_branches(tmp_path):
    site = HookSite(tmp_path, syndicate=False, env={})
    site.write("a.md", post_text("Alpha", datetime.now(UTC) - timedelta(days=1)))
    git("add", "-A", cwd=site.clone)
    git("commit", "-q", "-m", "draft work", cwd=site.clone)
    done = git("push", "origin", "main:drafts", cwd=site.clone, env=site.env, check=False)
    assert done.returncode == 0
    assert "no push to main; nothing to publish" in remote_lines(done)
    assert not site.web_root.exists()


def test_a_force_push_is_published_as_pushed(tmp_path):
    """History rewritten on the writer's side: the server takes it, never replays old commits."""
    site = HookSite(tmp_path, syndicate=False, env={})
    now = datetime.now(UTC).replace(microsecond=0)
    alpha, beta = now - timedelta(days=2), now - timedelta(days=1)
    site.write("a.md", post_text("Alpha", alpha))
    assert "publish: done" in remote_lines(site.commit_and_push("Alpha"))
    site.pull()
    site.write("b.md", post_text("Beta", beta))
    assert "publish: done" in remote_lines(site.commit_and_push("Beta"))
    assert site.page(post_url("Beta", beta)).is_file()
    # the writer drops the Beta commit and force-pushes
    site.pull()
    git("rebase", "-q", "--onto", "HEAD~2", "HEAD~1", cwd=site.clone)
    assert not (site.clone / "content" / "posts" / "b.md").exists()
    done = git("push", "-f", "origin", "main", cwd=site.clone, env=site.env, check=False)
    out = remote_lines(done)
    assert "publish: done" in out, out
    assert not site.page(post_url("Beta", beta)).exists()
    assert site.page(post_url("Alpha", alpha)).is_file()
    tracked = git("ls-files", "content/posts", cwd=site.work_tree).stdout.split()
    assert tracked == ["content/posts/a.md"]
