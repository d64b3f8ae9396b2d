"""Start and stop a local Isso comment server next to the preview site.

    proc = start_isso()                       # localhost:8080, isso/isso.cfg, isso/data/
    ...
    stop_isso(proc)

`start_isso` runs `isso -c <config> run` (the `isso` console script of this Python
environment) and returns once Isso answers HTTP. Host, port, database and the sites
allowed to embed comments can be overridden; the overrides go into a derived copy of
isso/isso.cfg, so the file in git stays the single source of the settings.

Run `python -m sitetools.isso` to start it by hand (Ctrl-C stops it).
"""

from __future__ import annotations

import argparse
import configparser
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = ROOT / "isso" / "isso.cfg"


class IssoError(RuntimeError):
    """Isso could not be started (missing, port taken, exited, or never answered)."""


def isso_executable() -> str:
    """The `isso` console script installed next to this Python, else the one on PATH."""
    here = Path(sys.executable).parent / "isso"
    if here.exists():
        return str(here)
    found = shutil.which("isso")
    if not found:
        raise IssoError("isso is not installed: run `make build` (it is in the site group)")
    return found


def _answers(url: str, timeout: float = 0.5) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (local URL)
            return resp.status < 500
    except urllib.error.HTTPError as e:
        return e.code < 500
    except (urllib.error.URLError, OSError):
        return False


def write_config(
    path: Path,
    *,
    base: Path = DEFAULT_CONFIG,
    host: str,
    port: int,
    db_path: Path,
    site_origins: list[str] | None = None,
    overrides: dict[str, dict[str, str]] | None = None,
) -> Path:
    """Write a copy of `base` with the server address, database and sites filled in."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(base, encoding="utf-8")
    for section in ("general", "server"):
        if not parser.has_section(section):
            parser.add_section(section)
    parser["general"]["dbpath"] = str(db_path)
    if site_origins:
        parser["general"]["host"] = "\n" + "\n".join(site_origins)
    parser["server"]["listen"] = f"http://{host}:{port}/"
    for section, values in (overrides or {}).items():
        if not parser.has_section(section):
            parser.add_section(section)
        for key, value in values.items():
            parser[section][key] = str(value)
    with path.open("w", encoding="utf-8") as fh:
        parser.write(fh)
    return path


def _resolve_db(base: Path, db_path: str | os.PathLike | None) -> Path:
    if db_path is None:
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(base, encoding="utf-8")
        db_path = parser.get("general", "dbpath", fallback="isso/data/comments.db")
    path = Path(db_path)
    return path if path.is_absolute() else ROOT / path


def start_isso(
    host: str = "localhost",
    port: int = 8080,
    *,
    config: str | os.PathLike = DEFAULT_CONFIG,
    db_path: str | os.PathLike | None = None,
    site_origins: list[str] | None = None,
    overrides: dict[str, dict[str, str]] | None = None,
    log_path: str | os.PathLike | None = None,
    timeout: float = 20.0,
) -> subprocess.Popen:
    """Start Isso and wait until it answers; return the process (see `stop_isso`).

    `site_origins` replaces the config's `host` list (the sites allowed to embed
    comments, e.g. ["http://localhost:8000"]). `db_path` defaults to the config's
    dbpath, resolved from the repository root. Output goes to `log_path` (default:
    a file next to the derived config; "-" keeps it on this terminal).
    """
    base = Path(config)
    if not base.is_absolute():
        base = ROOT / base
    if not base.exists():
        raise IssoError(f"Isso config not found: {base}")
    url = f"http://{host}:{port}/"
    if _answers(url + "config"):
        raise IssoError(f"something already answers on {url}; stop it or pick another port")
    db = _resolve_db(base, db_path)
    db.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="isso-"))
    cfg = write_config(
        workdir / "isso.cfg",
        base=base,
        host=host,
        port=port,
        db_path=db,
        site_origins=site_origins,
        overrides=overrides,
    )
    log_file = None if log_path == "-" else Path(log_path or workdir / "isso.log")
    env = {k: v for k, v in os.environ.items() if k != "ISSO_SETTINGS"}
    command = [isso_executable(), "-c", str(cfg), "run"]
    if log_file is None:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL)
    else:
        with log_file.open("ab") as log:
            proc = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
    proc.isso_url = url
    proc.isso_config = cfg
    proc.isso_log = log_file
    proc.isso_workdir = workdir
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (
                log_file.read_text(encoding="utf-8", errors="replace")[-2000:] if log_file else ""
            )
            shutil.rmtree(workdir, ignore_errors=True)
            raise IssoError(f"Isso exited with code {proc.returncode}:\n{tail}")
        if _answers(url + "config"):
            return proc
        time.sleep(0.1)
    stop_isso(proc)
    raise IssoError(f"Isso did not answer on {url} within {timeout:.0f} s (log: {log_file})")


def stop_isso(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    """Stop an Isso started by `start_isso` and remove its derived config."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    workdir = getattr(proc, "isso_workdir", None)
    if workdir:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Run Isso in the foreground until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--config", default=str(DEFAULT_CONFIG))
    args = parser.parse_args(argv)
    proc = start_isso(args.host, args.port, config=args.config, log_path="-")
    print(f"Isso answers on {proc.isso_url} (Ctrl-C to stop)")
    try:
        proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop_isso(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
