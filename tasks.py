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
    from sitetools.hook import install

    hook = install(
        repo,
        web_root,
        work_tree=work_tree,
        python=python,
        branch=branch,
        keep=int(keep),
        syndicate=syndicate,
    )
    print(f"installed {hook}")


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
    for flag, value in (("--post", post), ("--channel", channel), ("--test-email", test_email)):
        if value:
            argv += [flag, value]
    sys.exit(syndicate_main(argv))


if __name__ == "__main__":
    sys.exit("run with `invoke`")
