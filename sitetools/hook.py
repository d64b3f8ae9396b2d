"""Install the self-hosted publishing hook: `invoke install-hook --repo PATH --web-root DIR`.

The hook itself is the shell script deploy/post-receive.sh; installing fills in its
settings (work tree, web root, interpreter, branch, releases kept) and writes it to
<repo>/hooks/post-receive. A missing bare repository is created.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "deploy" / "post-receive.sh"


class HookError(Exception):
    """The hook could not be installed."""


def default_work_tree(repo: str | os.PathLike) -> Path:
    """'<repo>.work' beside the bare repository (for /srv/git/blog.git: /srv/git/blog.work)."""
    repo = Path(repo).absolute()
    name = repo.name[: -len(".git")] if repo.name.endswith(".git") else repo.name
    return repo.with_name(name + ".work")


def render(
    *,
    work_tree: Path,
    web_root: Path,
    python: str,
    branch: str,
    keep: int,
    syndicate: bool = True,
) -> str:
    """The hook script with its settings filled in (each value shell-quoted)."""
    values = {
        "@WORK_TREE@": shlex.quote(str(work_tree)),
        "@WEB_ROOT@": shlex.quote(str(web_root)),
        "@PYTHON@": shlex.quote(python) if python else '""',
        "@BRANCH@": shlex.quote(branch),
        "@KEEP@": str(int(keep)),
        "@PUBLISH_ARGS@": "" if syndicate else "--no-syndicate",
    }
    text = TEMPLATE.read_text(encoding="utf-8")
    for marker, value in values.items():
        text = text.replace(marker, value)
    return text


def install(
    repo: str | os.PathLike,
    web_root: str | os.PathLike,
    *,
    work_tree: str | os.PathLike = "",
    python: str = "",
    branch: str = "main",
    keep: int = 5,
    syndicate: bool = True,
) -> Path:
    """Write <repo>/hooks/post-receive; return its path."""
    if shutil.which("flock") is None:
        raise HookError("install-hook: flock (util-linux) is needed on the server")
    if keep < 1:
        raise HookError(f"install-hook: --keep must be ≥ 1, not {keep}")
    repo = Path(repo).absolute()
    if not repo.exists():
        subprocess.run(
            ["git", "init", "--quiet", "--bare", f"--initial-branch={branch}", str(repo)],
            check=True,
        )
    done = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--is-bare-repository"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or done.stdout.strip() != "true":
        raise HookError(f"install-hook: {repo} is not a bare git repository")
    if python:
        python = os.path.abspath(python)  # keep a venv's symlink: do not resolve it
        if not os.access(python, os.X_OK):
            raise HookError(f"install-hook: {python} is not an executable interpreter")
    hook = repo / "hooks" / "post-receive"
    hook.parent.mkdir(exist_ok=True)
    text = render(
        work_tree=Path(work_tree).absolute() if work_tree else default_work_tree(repo),
        web_root=Path(web_root).absolute(),
        python=python,
        branch=branch,
        keep=keep,
        syndicate=syndicate,
    )
    partial = hook.with_name(".post-receive.new")
    partial.write_text(text, encoding="utf-8")
    partial.chmod(0o755)
    os.replace(partial, hook)
    return hook


def instructions(hook_path: str | os.PathLike) -> str:
    """What to do next, printed by `invoke install-hook`."""
    hook_path = Path(hook_path)
    repo = hook_path.parent.parent
    return "\n".join(
        [
            f"installed {hook_path}",
            f"push to it:        git remote add live ssh://HOST{repo} && git push live main",
            "after each push:   git pull --rebase live main   (brings back the ledger commit)",
            f"scheduled posts:   crontab line  7 * * * *  {hook_path} --scheduled",
            "secrets:           put them in the work tree's .env (git-ignored)",
        ]
    )
