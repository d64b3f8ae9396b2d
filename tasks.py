"""Invoke tasks for building, previewing and publishing the site."""

import os
import shlex
import shutil
import sys

from invoke import task
from pelican import main as pelican_main
from pelican.settings import DEFAULT_CONFIG, get_settings_from_file

SETTINGS_FILE_BASE = "pelicanconf.py"
SETTINGS = {}
SETTINGS.update(DEFAULT_CONFIG)
SETTINGS.update(get_settings_from_file(SETTINGS_FILE_BASE))

CONFIG = {
    "settings_base": SETTINGS_FILE_BASE,
    "settings_publish": "publishconf.py",
    "deploy_path": SETTINGS["OUTPUT_PATH"],
    "host": "localhost",
    "port": 8000,
}


def pelican_run(cmd):
    """Run Pelican in-process with the given command-line arguments."""
    cmd += " " + os.environ.get("PELICAN_OPTS", "")
    pelican_main(shlex.split(cmd))


@task
def clean(c):
    """Remove generated files."""
    if os.path.isdir(CONFIG["deploy_path"]):
        shutil.rmtree(CONFIG["deploy_path"])
        os.makedirs(CONFIG["deploy_path"])


@task
def build(c):
    """Build the site with development settings."""
    pelican_run("-s {settings_base}".format(**CONFIG))


@task
def rebuild(c):
    """Build from scratch: `build` with -d to delete output/ first."""
    pelican_run("-d -s {settings_base}".format(**CONFIG))


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt


def _serve_output(host, port):
    """Serve output/ over HTTP until Ctrl-C (or SIGTERM)."""
    import functools
    import http.server
    import signal

    signal.signal(signal.SIGTERM, _stop_on_sigterm)  # stop cleanly, Isso included
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=CONFIG["deploy_path"]
    )
    with http.server.ThreadingHTTPServer((host, port), handler) as server:
        print(f"Serving {CONFIG['deploy_path']}/ on http://{host}:{port}/ (Ctrl-C stops)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("\nStopped.")


@task(help={"comments": "also run the Isso comment server (--no-comments: site only)"})
def serve(c, comments=True):
    """Build, start Isso for comments, and serve output/ on http://localhost:8000."""
    build(c)
    isso = None
    if comments:
        try:
            from sitetools.isso import start_isso, stop_isso
        except ImportError:
            print("Isso support is not available; serving the site without comments.")
        else:
            try:
                isso = start_isso(site_origins=[f"http://{CONFIG['host']}:{CONFIG['port']}"])
                print("Comments: Isso is running on http://localhost:8080/")
            except Exception as e:  # the site is still worth previewing without comments
                print(f"Comments are off: Isso did not start ({e})")
    try:
        _serve_output(CONFIG["host"], CONFIG["port"])
    finally:
        if isso is not None:
            stop_isso(isso)


@task
def livereload(c):
    """Build, then rebuild on every change and reload the browser (port 8000)."""
    from livereload import Server

    build(c)
    server = Server()
    # Folders are watched recursively.
    for path in (CONFIG["settings_base"], SETTINGS["PATH"], SETTINGS["THEME"], "plugins", "data"):
        server.watch(path, lambda: build(c))
    server.serve(host=CONFIG["host"], port=CONFIG["port"], root=CONFIG["deploy_path"])


@task
def preview(c):
    """Build with production settings (publishconf.py), as `publish` would."""
    pelican_run("-s {settings_publish}".format(**CONFIG))


@task(
    help={
        "title": "the post's title (quote it)",
        "category": "category (default: the one most posts use)",
        "tags": "comma-separated tags",
    }
)
def new_post(c, title, category="", tags=""):
    """Start a draft in content/posts/ with the metadata filled in and a unique slug."""
    from pathlib import Path

    from sitetools.newpost import create_post

    path = create_post(
        title,
        Path(SETTINGS["PATH"]) / SETTINGS["ARTICLE_PATHS"][0],
        category=category,
        tags=[t.strip() for t in tags.split(",") if t.strip()],
        regex_subs=SETTINGS.get("SLUG_REGEX_SUBSTITUTIONS"),
    )
    print(f"Created {path} (Status: draft)")


@task
def check(c):
    """Build everything with warnings as errors; exit 1 and list them if there are any."""
    from sitetools.check import run_check

    sys.exit(run_check(CONFIG["settings_base"]))


# --- tasks that delegate to the project's own packages ---------------------------
# Each of these is a thin wrapper; the logic lives in sitetools/ or syndicate/.


@task(
    help={
        "deploy": "deploy by the DEPLOY setting (--no-deploy: build only)",
        "syndicate": "send what is new afterwards (--no-syndicate: stop after deploying)",
        "dry_run": "build, deploy nothing, and run `syndicate --dry-run` (outbox/ only)",
    }
)
def publish(c, deploy=True, syndicate=True, dry_run=False):
    """Build with production settings, deploy, then syndicate what is new."""
    from sitetools.publish import publish as run_publish

    sys.exit(run_publish(CONFIG, deploy=deploy, syndicate=syndicate, dry_run=dry_run))


@task(
    name="install-hook",
    help={
        "repo": "bare repository to install post-receive into (created if missing)",
        "web_root": "path the web server serves; becomes a symlink to the current release",
        "work_tree": "server-side checkout that builds (default: <repo>.work beside it)",
        "python": "interpreter with the dependencies (default: the work tree's .venv)",
        "branch": "branch that publishes (default: main)",
        "keep": "releases to keep in <web-root>.releases (default: 5)",
        "syndicate": "syndicate after deploying (--no-syndicate: deploy only)",
    },
)
def install_hook(c, repo, web_root, work_tree="", python="", branch="main", keep=5, syndicate=True):
    """Install the post-receive hook that publishes every push to main."""
    from sitetools.hook import install, instructions

    hook = install(
        repo,
        web_root,
        work_tree=work_tree,
        python=python,
        branch=branch,
        keep=int(keep),
        syndicate=syndicate,
    )
    print(instructions(hook))


@task(
    help={
        "web_root": "the web root `DEPLOY = 'dir'` manages (DEPLOY_DIR)",
        "releases": "its releases folder, if not <web-root>.releases",
    }
)
def rollback(c, web_root, releases=""):
    """Point the web root back at the release before the current one."""
    from sitetools.deploy import rollback as switch_back

    print(f"{web_root} now serves release {switch_back(web_root, releases or None).name}")


@task(
    help={
        "dry_run": "send nothing; write every email and social post into outbox/",
        "status": "show per post and channel what was sent, pending, failed or skipped",
        "check": "pre-flight only: credentials, lists, limits",
        "baseline": "mark every published post as sent without sending",
        "post": "slug of one post (with --channel and --resend)",
        "channel": "one channel name",
        "resend": "deliberately send this post to this channel again",
        "test_email": "send Mailchimp's test email to this address instead",
        "settings": "Pelican settings file (default: publishconf.py)",
    }
)
def syndicate(
    c,
    dry_run=False,
    status=False,
    check=False,
    baseline=False,
    post="",
    channel="",
    resend=False,
    test_email="",
    settings="",
):
    """Send each new post to the email list and social accounts, exactly once."""
    from syndicate.cli import main as syndicate_main

    argv = []
    for flag, on in (
        ("--dry-run", dry_run),
        ("--status", status),
        ("--check", check),
        ("--baseline", baseline),
        ("--resend", resend),
    ):
        if on:
            argv.append(flag)
    for flag, value in (
        ("--post", post),
        ("--channel", channel),
        ("--test-email", test_email),
        ("--settings", settings),
    ):
        if value:
            argv += [flag, value]
    sys.exit(syndicate_main(argv))


@task(
    help={
        "sizes": "comma-separated post counts (default 1000,5000,10000)",
        "repeat": "alternating runs per scenario; the median is reported",
        "skip": "scenarios to leave out, e.g. e,f",
    }
)
def bench(c, sizes="1000,5000,10000", repeat=5, skip=""):
    """Benchmark against bare Pelican and Hugo; writes docs/benchmarks.md (takes a while)."""
    cmd = [sys.executable, "bench/run.py", "--sizes", sizes, "--repeat", str(repeat)]
    if skip:
        cmd += ["--skip", skip]
    c.run(shlex.join(cmd), pty=False)


@task(
    name="fetch-replies",
    help={
        "post": "slug of one post (default: every syndicated post)",
        "settings": "Pelican settings file (default: publishconf.py)",
    },
)
def fetch_replies(c, post="", settings="publishconf.py"):
    """Store the public Mastodon/Bluesky replies to each post in data/replies/."""
    from syndicate.backfeed.cli import main as backfeed_main

    sys.exit(backfeed_main(["--settings", settings] + (["--post", post] if post else [])))


@task(help={"settings": "Pelican settings file (default: publishconf.py)"})
def report(c, settings="publishconf.py"):
    """Engagement per post (email, Mastodon, Bluesky, comments) into reports/."""
    from syndicate.report.cli import main as report_main

    sys.exit(report_main(["--settings", settings]))


if __name__ == "__main__":
    sys.exit("run with `invoke`")
