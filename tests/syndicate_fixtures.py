"""Shared pieces of the syndication tests: a sample site, a settings file, an echo channel.

The echo channel is a small adapter kept outside the package (plugged in through
`SYNDICATE_EXTRA_CHANNELS`) that talks to `EchoStandIn` over real HTTP with `requests`.
Like X and LinkedIn it has no idempotency key: after a crash it can only look for the post
URL in the account's recent posts. That makes it the hardest case for exactly-once, and it
lets the runner's tests run even where a real adapter is missing.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests

from syndicate.channels.base import Channel, CheckResult, Draft, Remote
from syndicate.errors import AuthError, PermanentError, RateLimited, TransientError
from syndicate.post import Post
from tests.sitebuild import ROOT, build_site
from tests.standins.base import Invalid, Request, Response, StandIn

SITEURL = "https://blog.example"
STANDINS = ROOT / "tests" / "standins"

# Five ordinary posts, plus one email-only, one `Syndicate: no` and one subset post.
POSTS = {
    f"p{i}.md": f"""\
        Title: Post number {i}: talking with customers
        Date: 2024-0{i}-10 09:00
        Category: Conversation
        Tags: customers, email
        Summary: Summary of post {i}, about answering every comment.
        Image: images/card-{i}.png

        Body of post {i}. Read [the about page](/about/) and answer every comment.
        """
    for i in range(1, 6)
}
EXTRA_POSTS = {
    "only.md": """\
        Title: Subscribers only: the spring offer
        Date: 2024-06-01 09:00
        Tags: offers
        Newsletter: only

        Something exclusive for the list.
        """,
    "nosyn.md": """\
        Title: A quiet note
        Date: 2024-06-02 09:00
        Tags: notes
        Syndicate: no

        Not announced anywhere.
        """,
    "subset.md": """\
        Title: Only on the echo network
        Date: 2024-06-03 09:00
        Tags: notes
        Syndicate: echo
        Newsletter: no

        Announced on one network.
        """,
}


def write_content(folder: Path, posts: Mapping[str, str]) -> Path:
    for name, text in posts.items():
        path = folder / "posts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    (folder / "pages").mkdir(parents=True, exist_ok=True)
    return folder


def build_manifest(tmp: Path, posts: Mapping[str, str], *, full: bool = False) -> Path:
    """Build the site (only post_ids + manifest unless full) and return the manifest folder."""
    content = write_content(tmp / "content", posts)
    overrides: dict[str, Any] = {"SITEURL": SITEURL, "MANIFEST_PATH": str(tmp / "var/manifest")}
    if not full:
        overrides["PLUGINS"] = ["post_ids", "manifest"]
    build_site(tmp, content=content, **overrides)
    return tmp / "var" / "manifest"


def write_settings(tmp: Path, manifest: Path, **settings: Any) -> Path:
    """A settings file for `python -m syndicate --settings`: the project's, redirected."""
    values = {
        "SITEURL": SITEURL,
        "DATA_PATH": str(tmp / "data"),
        "MANIFEST_PATH": str(manifest),
        "SYNDICATE_OUTBOX": str(tmp / "outbox"),
        "SYNDICATE_RETRY_BASE": 0.01,
        "SYNDICATE_RETRY_CAP": 0.2,
        "SYNDICATE_MAX_SLEEP": 5.0,
        "SYNDICATE_TIMEOUT": 1.0,
        "SYNDICATE_FSYNC": False,
        "SYNDICATE_MASTODON_TIMEOUT": 1.0,
        "SYNDICATE_EXTRA_CHANNELS": {"echo": "tests.syndicate_fixtures:EchoChannel"},
    }
    values.update(settings)
    lines = [
        "import sys",
        f"sys.path.insert(0, {str(ROOT)!r})",
        "from pelicanconf import *  # noqa",
    ]
    lines += [f"{key} = {value!r}" for key, value in values.items()]
    path = tmp / "settings.py"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def clean_env(extra: Mapping[str, str] = ()) -> dict[str, str]:
    """The process environment without any channel credentials, plus `extra`."""
    prefixes = ("MAILCHIMP_", "MASTODON_", "BLUESKY_", "X_", "LINKEDIN_", "ECHO_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def run_cli(settings: Path, *args: str, env: Mapping[str, str], cwd: Path, timeout: float = 60):
    """`python -m syndicate --settings FILE ARGS` as a subprocess; CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "syndicate", "--settings", str(settings), *args],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def ledger(tmp: Path) -> dict[str, Any]:
    path = tmp / "data" / "ledger.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"posts": {}}


def manifest_urls(manifest: Path) -> dict[str, str]:
    """slug → absolute URL of every post in the manifest."""
    index = json.loads((manifest / "index.json").read_text(encoding="utf-8"))
    urls = {}
    for entry in index["posts"]:
        post = json.loads((manifest / "posts" / entry["file"]).read_text(encoding="utf-8"))
        urls[entry["slug"]] = post["url"]
    return urls


# -- stand-ins of every channel, found by file name ---------------------------------------
def standin_classes() -> dict[str, type[StandIn]]:
    """channel name → StandIn class: echo, plus every tests/standins/<channel>.py present."""
    from syndicate.channels import CHANNELS

    found: dict[str, type[StandIn]] = {"echo": EchoStandIn}
    for name in CHANNELS:
        if not (STANDINS / f"{name}.py").exists():
            continue
        try:
            importlib.import_module(f"syndicate.channels.{name}")
            module = importlib.import_module(f"tests.standins.{name}")
        except Exception as e:  # a channel still being written: test the others
            warnings.warn(f"stand-in or adapter for {name} unusable: {e!r}", stacklevel=2)
            continue
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, StandIn)
                and value is not StandIn
                and value.__module__ == module.__name__
                and hasattr(value, "env")
                and hasattr(value, "delivered")
            ):
                found[name] = value
                break
    return found


class Killer:
    """Hook for every stand-in: SIGKILL the client when the Nth request arrives.

    phase "before": the request is not served (the service never saw it);
    phase "after": the answer was sent, the client dies before recording it.
    With `at` = 0 it only counts requests.
    """

    class Abort(Exception):
        pass

    def __init__(self, at: int = 0, phase: str = "after"):
        self.at = at
        self.phase = phase
        self.count = 0
        self.pid: int | None = None
        self.fired = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, req: Request, phase: str) -> None:
        with self.lock:
            if phase == "before":
                self.count += 1
                number = self.count
            else:
                number = getattr(req, "_number", self.count)
            req._number = number
            fire = self.at and number == self.at and phase == self.phase
            if fire and self.pid and not self.fired.is_set():
                os.kill(self.pid, signal.SIGKILL)
                self.fired.set()
                if phase == "before":
                    raise Killer.Abort("client killed before this request was served")


def popen_cli(settings: Path, *args: str, env: Mapping[str, str], cwd: Path):
    return subprocess.Popen(
        [sys.executable, "-m", "syndicate", "--settings", str(settings), *args],
        env=dict(env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# -- the echo network ---------------------------------------------------------------------
class EchoStandIn(StandIn):
    """A tiny social network: bearer token, posts with text, a recent-posts listing."""

    name = "echo"
    token = "echo-secret-token-123"

    def __init__(self):
        super().__init__()
        self.posts: list[dict[str, Any]] = []

    def env(self) -> dict[str, str]:
        return {"ECHO_API_URL": self.url, "ECHO_TOKEN": self.token}

    def delivered(self, post_url: str) -> int:
        with self.lock:
            return sum(1 for p in self.posts if post_url in p["text"])

    def route(self, req: Request) -> Response:
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return Response(401, {"error": "invalid token"})
        if req.method == "GET" and req.path == "/v1/me":
            return Response(200, {"handle": "@porch", "max_characters": 300})
        if req.method == "GET" and req.path == "/v1/posts":
            return Response(200, list(reversed(self.posts))[:40])
        if req.method == "POST" and req.path == "/v1/posts":
            body = req.json()
            if not isinstance(body, dict) or not body.get("text"):
                raise Invalid("text is required", 422)
            if len(body["text"]) > 300:
                raise Invalid("text longer than 300 characters", 422)
            post = {"id": str(len(self.posts) + 1), "text": body["text"]}
            post["url"] = f"{self.url}/@porch/{post['id']}"
            self.posts.append(post)
            return Response(200, post)
        raise Invalid(f"no route {req.method} {req.path}", 404)


class EchoChannel(Channel):
    name = "echo"
    env_vars = ("ECHO_API_URL", "ECHO_TOKEN")
    limit = 300

    def _call(self, method: str, path: str, post: Post | None = None, **kwargs):
        where = {"post": post.slug if post else None, "channel": self.name}
        try:
            resp = requests.request(
                method,
                self.env["ECHO_API_URL"] + path,
                headers={"Authorization": f"Bearer {self.env['ECHO_TOKEN']}"},
                timeout=float(self.settings["SYNDICATE_TIMEOUT"]),
                **kwargs,
            )
        except requests.RequestException as e:
            raise TransientError(f"network error: {type(e).__name__}", **where) from e
        text = resp.text[:200]
        if resp.status_code == 429:
            reset = resp.headers.get("Retry-After")
            raise RateLimited("rate limited", retry_after=float(reset) if reset else None, **where)
        if resp.status_code >= 500:
            raise TransientError(f"server error {resp.status_code}", service_text=text, **where)
        if resp.status_code == 401:
            raise AuthError("token refused", service_text=text, hint="create a new token", **where)
        if resp.status_code >= 400:
            raise PermanentError(f"refused ({resp.status_code})", service_text=text, **where)
        return resp.json()

    def check(self) -> CheckResult:
        me = self._call("GET", "/v1/me")
        return CheckResult(self.name, True, f"{me['handle']}, {me['max_characters']} characters")

    def render(self, post: Post) -> Draft:
        text = post.social.get(self.name) or post.social.get("") or post.title
        room = self.limit - len(post.url) - 1
        if len(text) > room:
            text = text[: room - 1].rsplit(" ", 1)[0] + "…"
        text = f"{text} {post.url}"
        card = {"url": post.url, "title": post.title, "description": post.summary_text}
        return Draft(self.name, text=text, length=len(text), limit=self.limit, card=card)

    def find_existing(self, post: Post, item: Mapping[str, Any]) -> Remote | None:
        for found in self._call("GET", "/v1/posts", post):
            if post.url in found["text"]:
                return Remote(found["id"], found["url"])
        return None

    def send(self, post: Post, draft: Draft, item: Mapping[str, Any]) -> Remote:
        created = self._call("POST", "/v1/posts", post, json={"text": draft.text})
        return Remote(created["id"], created["url"])


def run_main(settings: Path, *args: str, env: Mapping[str, str], cwd: Path) -> tuple[int, str]:
    """syndicate.cli.main in this process, with exactly `env` as the environment."""
    import contextlib
    import io
    from unittest import mock

    from syndicate.cli import main

    out = io.StringIO()
    old = os.getcwd()
    try:
        os.chdir(cwd)
        with (
            mock.patch.dict(os.environ, dict(env), clear=True),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(out),
        ):
            code = main(["--settings", str(settings), *args])
    finally:
        os.chdir(old)
    return code, out.getvalue()
