"""Deploy the built site: `DEPLOY = "github-pages" | "rsync" | "dir" | "none"`.

- ``github-pages``: the workflow uploads ``output/`` with the official Pages actions;
  here the folder is only checked and marked ``.nojekyll``.
- ``rsync``: ``rsync --delete`` over ssh to ``DEPLOY_RSYNC_TARGET`` (``user@host:/path/``).
- ``dir``: an atomic release into a web root on this machine (the git hook uses it).
  Each deploy copies the site into a new release folder, then points the web root — a
  symlink — at it with one ``rename()``: a reader sees the old site or the new one,
  never a half-written one. The last ``DEPLOY_KEEP_RELEASES`` releases are kept.
- ``none``: build only.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

TARGETS = ("github-pages", "rsync", "dir", "none")

DEFAULTS: dict[str, Any] = {
    "DEPLOY": "none",
    "DEPLOY_RSYNC_TARGET": "",
    "DEPLOY_RSYNC_SSH": "ssh",
    "DEPLOY_DIR": "",
    "DEPLOY_DIR_RELEASES": "",
    "DEPLOY_KEEP_RELEASES": 5,
}


class DeployError(Exception):
    """The site could not be deployed; whatever was live before is still live."""


def get_settings(pelican_settings: Mapping[str, Any]) -> dict[str, Any]:
    """The deploy settings, defaults filled in and checked."""
    settings = {key: pelican_settings.get(key, default) for key, default in DEFAULTS.items()}
    target = str(settings["DEPLOY"] or "none").strip().lower()
    if target not in TARGETS:
        raise ValueError(
            f"deploy: DEPLOY = {settings['DEPLOY']!r} is not one of {', '.join(TARGETS)}"
        )
    settings["DEPLOY"] = target
    try:
        keep = int(settings["DEPLOY_KEEP_RELEASES"])
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"deploy: DEPLOY_KEEP_RELEASES must be a whole number ≥ 1, "
            f"not {settings['DEPLOY_KEEP_RELEASES']!r}"
        ) from e
    if keep < 1:
        raise ValueError(f"deploy: DEPLOY_KEEP_RELEASES must be ≥ 1, not {keep}")
    settings["DEPLOY_KEEP_RELEASES"] = keep
    if target == "rsync" and not settings["DEPLOY_RSYNC_TARGET"]:
        raise ValueError("deploy: DEPLOY = 'rsync' needs DEPLOY_RSYNC_TARGET (user@host:/path/)")
    if target == "dir" and not settings["DEPLOY_DIR"]:
        raise ValueError("deploy: DEPLOY = 'dir' needs DEPLOY_DIR (the web root to publish into)")
    return settings


def deploy(
    pelican_settings: Mapping[str, Any], output_path: str | os.PathLike | None = None
) -> str:
    """Deploy the built site by the `DEPLOY` setting; return a one-line description."""
    settings = get_settings(pelican_settings)
    output = Path(output_path or pelican_settings.get("OUTPUT_PATH", "output"))
    target = settings["DEPLOY"]
    if target == "none":
        return "deploy: DEPLOY = 'none': built only, nothing deployed"
    if not (output / "index.html").is_file():
        raise DeployError(
            f"deploy: {output}/index.html is missing: refusing to deploy a broken site"
        )
    if target == "github-pages":
        return deploy_github_pages(output)
    if target == "rsync":
        return deploy_rsync(output, settings["DEPLOY_RSYNC_TARGET"], settings["DEPLOY_RSYNC_SSH"])
    release = deploy_dir(
        output,
        settings["DEPLOY_DIR"],
        releases=settings["DEPLOY_DIR_RELEASES"] or None,
        keep=settings["DEPLOY_KEEP_RELEASES"],
    )
    return f"deploy: {settings['DEPLOY_DIR']} now serves release {release.name}"


# --- github-pages --------------------------------------------------------------------


def deploy_github_pages(output: Path) -> str:
    """Ready output/ for actions/upload-pages-artifact (the workflow deploys it)."""
    (output / ".nojekyll").touch()
    if os.environ.get("GITHUB_ACTIONS") == "true":
        return f"deploy: {output} is ready for the Pages upload step"
    return (
        f"deploy: DEPLOY = 'github-pages': {output} is ready; GitHub Actions uploads and "
        "deploys it (.github/workflows/publish.yml)"
    )


# --- rsync ---------------------------------------------------------------------------


def rsync_command(output: Path, target: str, ssh: str = "ssh") -> list[str]:
    """The rsync command line: mirror output/ (its contents) onto target, deleting extras."""
    return [
        "rsync",
        "--recursive",
        "--links",
        "--times",
        "--compress",
        "--delete",
        "--delay-updates",  # put changed files in place together at the end
        "--rsh",
        ssh,
        f"{output}/",
        target,
    ]


def deploy_rsync(output: Path, target: str, ssh: str = "ssh") -> str:
    if shutil.which("rsync") is None:
        raise DeployError("deploy: rsync is not installed (apt-get install rsync)")
    command = rsync_command(output, target, ssh)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise DeployError(
            f"deploy: rsync to {target} failed (exit {done.returncode}): "
            f"{done.stderr.strip() or done.stdout.strip()}"
        )
    return f"deploy: mirrored {output} to {target} ({shlex.join(command[:-2])})"


# --- dir: atomic releases ------------------------------------------------------------


def releases_dir(web_root: str | os.PathLike, releases: str | os.PathLike | None = None) -> Path:
    """Where releases live: DEPLOY_DIR_RELEASES, or '<web root>.releases' beside it."""
    root = Path(web_root)
    return Path(releases) if releases else root.with_name(root.name + ".releases")


def current_release(web_root: str | os.PathLike) -> Path | None:
    """The release the web root points at, or None before the first deploy."""
    root = Path(web_root)
    if not root.is_symlink():
        return None
    return (root.parent / os.readlink(root)).resolve()


def deploy_dir(
    output: str | os.PathLike,
    web_root: str | os.PathLike,
    *,
    releases: str | os.PathLike | None = None,
    keep: int = 5,
    now: datetime | None = None,
) -> Path:
    """Copy output into a new release, then switch the web-root symlink to it atomically.

    Returns the new release folder. The web root must be a symlink this function made,
    or not exist yet; a real directory there is refused rather than replaced, because
    swapping a directory for a symlink cannot be done in one step.
    """
    output, root = Path(output), Path(web_root)
    store = releases_dir(root, releases)
    if root.exists() and not root.is_symlink():
        raise DeployError(
            f"deploy: {root} is a real directory; move it away (e.g. to {root}.old) so "
            "deploys can manage it as a symlink to the current release"
        )
    store.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    release = store / stamp
    partial = store / f".partial-{stamp}-{os.getpid()}"
    try:
        shutil.copytree(output, partial, symlinks=True)
        os.sync()  # the files are on disk before the release goes live
        os.rename(partial, release)
    except OSError as e:
        shutil.rmtree(partial, ignore_errors=True)
        raise DeployError(f"deploy: could not write the release into {store}: {e}") from e
    switch_to(root, release)
    prune(store, keep=keep, current=release)
    return release


def switch_to(web_root: str | os.PathLike, release: str | os.PathLike) -> None:
    """Point the web root at release with a single rename (readers never see a gap)."""
    root, release = Path(web_root), Path(release)
    root.parent.mkdir(parents=True, exist_ok=True)
    link = root.with_name(f".{root.name}.switch-{os.getpid()}")
    if link.is_symlink() or link.exists():
        link.unlink()
    target = os.path.relpath(release.resolve(), root.parent.resolve())
    try:
        os.symlink(target, link, target_is_directory=True)
        os.replace(link, root)
    except OSError as e:
        if link.is_symlink():
            link.unlink()
        raise DeployError(f"deploy: could not switch {root} to {release}: {e}") from e
    _fsync_dir(root.parent)


def rollback(web_root: str | os.PathLike, releases: str | os.PathLike | None = None) -> Path:
    """Point the web root back at the release before the current one; return it."""
    store = releases_dir(web_root, releases)
    current = current_release(web_root)
    older = [r for r in list_releases(store) if current is None or r.name < current.name]
    if not older:
        raise DeployError(f"deploy: no release older than {current} in {store}")
    switch_to(web_root, older[-1])
    return older[-1]


def list_releases(store: Path) -> list[Path]:
    """Finished releases, oldest first (their names sort by time)."""
    if not store.is_dir():
        return []
    return sorted(p for p in store.iterdir() if p.is_dir() and not p.name.startswith("."))


def prune(store: Path, *, keep: int, current: Path) -> list[Path]:
    """Delete all but the newest `keep` releases (never the current one); return them."""
    removed = []
    for old in list_releases(store)[:-keep] if keep else []:
        if old.resolve() == current.resolve():
            continue
        shutil.rmtree(old, ignore_errors=True)
        removed.append(old)
    stale = time.time() - 3600
    for partial in store.glob(".partial-*"):  # left behind by a deploy that was killed
        if partial.stat().st_mtime < stale:
            shutil.rmtree(partial, ignore_errors=True)
    return removed


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
