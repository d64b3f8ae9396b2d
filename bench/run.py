"""Benchmark the build against bare Pelican and Hugo; write docs/benchmarks.md.

    .venv/bin/python bench/run.py --sizes 1000,5000,10000 --repeat 3

For each N, a generated corpus (bench/gen_corpus.py) is built by, in alternation:
  a  bare Pelican: default theme, default settings, no plugins
  b  our full build from nothing (no output, no cache)
  bw our full build into an empty output folder with the cache of an earlier build
  bs the same with the pages rendered in one process (FASTBUILD_PARALLEL_WRITE = False)
  bc the same in a fresh clone: every source file has a new modification time (CI with
     the cache of the last run restored)
  d  our rebuild with nothing changed
  c  our rebuild after editing one post (a paragraph appended)
  e  `python -m syndicate --dry-run` (what `invoke syndicate --dry-run` runs) with 3 new posts
  f  Hugo (Debian's `hugo`) with a minimal layout and full-content RSS
Each run is a child process: wall time, CPU time (user+sys of the whole process tree)
and the largest resident set of any one process (getrusage). Medians of --repeat runs
are reported. The peak of the summed proportional set size of the process tree (memory
shared between forked processes counts once) comes from one more round of every
scenario, sampled from /proc every 50 ms. It is a round of its own because the sampling
costs the measured build: reading a process's smaps_rollup walks its memory map under
the map's lock, and a build that keeps both cores busy (and forks) then waits for it,
while single-process bare Pelican leaves the sampler a core of its own.
Corpora and outputs live under bench/corpus-N and bench/results (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import gen_corpus  # noqa: E402

PY = sys.executable
WORK = ROOT / "bench" / "results"
# Output trees and caches: on a tmpfs when there is one. On ext4, creating thousands of
# files right after the previous output tree was deleted spends seconds in the kernel's
# inode allocator (13.7 s of system time in one 5,000-post build here), and that would
# be timed as if it were the generator's work.
_SHM = Path("/dev/shm")  # noqa: S108 (a benchmark scratch folder, nothing secret)
BUILD_DIR = _SHM / "porch-bench" if _SHM.is_dir() and os.access(_SHM, os.W_OK) else WORK
SCENARIOS = {
    "a": "bare Pelican (default theme, no plugins)",
    "b": "our full build, cold (no output, no cache)",
    "bw": "our full build, warm cache (empty output folder)",
    "bs": "(bw) with pages rendered in one process (`FASTBUILD_PARALLEL_WRITE = False`)",
    "bc": "our full build in a fresh clone, warm cache (every source's time new)",
    "c": "our rebuild after editing one post",
    "d": "our rebuild, nothing changed",
    "e": "`invoke syndicate --dry-run`, 3 new posts",
    "f": "Hugo 0.111, minimal layout, full-content RSS",
}


# --- measuring one child process ------------------------------------------------


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return pids


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(
    cmd: list[str],
    cwd: Path,
    env: dict | None = None,
    log: Path | None = None,
    sample: bool = True,
) -> dict:
    """Run cmd; return wall/cpu seconds, max RSS of one process and, when `sample`,
    peak tree PSS (MB; else None)."""
    out = open(log, "ab") if log else subprocess.DEVNULL
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    peak = [0]
    done = threading.Event()

    def sampling():
        while not done.is_set():
            peak[0] = max(peak[0], sum(_pss_kb(p) for p in _tree(proc.pid)))
            done.wait(0.05)

    sampler = threading.Thread(target=sampling, daemon=True)
    if sample:
        sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    if sample:
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if log:
        out.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}); see {log}")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
        "pss_mb": peak[0] / 1024 if sample else None,
    }


# --- the scenarios --------------------------------------------------------------

BARE_SETTINGS = 'TIMEZONE = "UTC"\n'
OURS_SETTINGS = """\
import sys
sys.path.insert(0, {root!r})
from pelicanconf import *  # noqa: F403
PATH = {content!r}
THEME = {root!r} + "/theme"
PLUGIN_PATHS = [{root!r} + "/plugins"]
DATA_PATH = {data!r}
CACHE_PATH = {cache!r}
MANIFEST_PATH = {manifest!r}
SYNDICATE_OUTBOX = {outbox!r}
"""
HUGO_CONFIG = """\
baseURL = "http://localhost:8000/"
title = "Front Porch Notes"
disableKinds = ["sitemap", "robotsTXT", "404"]
[pagination]
  pagerSize = 5
paginate = 5
[outputs]
  home = ["HTML", "RSS"]
  section = ["HTML"]
  taxonomy = ["HTML"]
  term = ["HTML"]
[markup.goldmark.renderer]
  unsafe = true
[markup.highlight]
  noClasses = false
  guessSyntax = false
[services.rss]
  limit = 20
"""
HUGO_LAYOUTS = {
    "_default/baseof.html": (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>{{ .Title }} · {{ .Site.Title }}</title></head><body>"
        '<header><a href="{{ .Site.Home.RelPermalink }}">{{ .Site.Title }}</a></header>'
        '<main>{{ block "main" . }}{{ end }}</main></body></html>\n'
    ),
    "_default/single.html": (
        '{{ define "main" }}<article><h1>{{ .Title }}</h1>'
        '<time datetime="{{ .Date.Format "2006-01-02" }}">'
        '{{ .Date.Format "2 January 2006" }}</time>'
        '{{ .Content }}<p>{{ range .Params.tags }}<a href="{{ (printf "/tags/%s/" '
        '(urlize .)) | relURL }}">{{ . }}</a> {{ end }}</p></article>{{ end }}\n'
    ),
    "_default/list.html": (
        '{{ define "main" }}<h1>{{ .Title }}</h1>{{ range .Paginator.Pages }}'
        '<article><h2><a href="{{ .RelPermalink }}">{{ .Title }}</a></h2>'
        "<p>{{ .Summary }}</p></article>{{ end }}"
        '{{ with .Paginator.Next }}<a href="{{ .URL }}">Older</a>{{ end }}{{ end }}\n'
    ),
    "index.html": (
        '{{ define "main" }}{{ $p := .Paginate (where .Site.RegularPages "Type" "posts") }}'
        '{{ range $p.Pages }}<article><h2><a href="{{ .RelPermalink }}">{{ .Title }}</a></h2>'
        "<p>{{ .Summary }}</p></article>{{ end }}{{ end }}\n"
    ),
    "_default/rss.xml": (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>{{ .Site.Title }}</title><link>{{ .Permalink }}</link>"
        '{{ range first 20 (where .Site.RegularPages "Type" "posts") }}<item>'
        "<title>{{ .Title }}</title><link>{{ .Permalink }}</link><guid>{{ .Permalink }}</guid>"
        '<pubDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" }}</pubDate>'
        "<description>{{ .Content | html }}</description></item>{{ end }}</channel></rss>\n"
    ),
}


class Bench:
    def __init__(self, n: int, log: Path, build_dir: Path = WORK):
        self.n = n
        self.base = build_dir / f"n{n}"
        self.content = ROOT / "bench" / f"corpus-{n}"
        self.log = log
        self.env = dict(os.environ, PYTHONHASHSEED="0")
        self.sample = True  # sample memory while a scenario runs (run_all: one round only)

    # preparation (not timed)
    def prepare(self) -> None:
        stamp = self.content / ".stamp"
        want = f"{self.n} {gen_corpus.__name__} v1"
        if not stamp.exists() or stamp.read_text() != want:
            gen_corpus.generate(self.n, self.content)
            stamp.write_text(want)
        if self.base.exists():
            shutil.rmtree(self.base)
        self.base.mkdir(parents=True)
        (self.base / "bare.py").write_text(BARE_SETTINGS)
        data = self.base / "data"
        shutil.copytree(ROOT / "data", data, ignore=shutil.ignore_patterns("ledger.json"))
        (self.base / "ours.py").write_text(
            OURS_SETTINGS.format(
                root=str(ROOT),
                content=str(self.content),
                data=str(data),
                cache=str(self.base / "cache"),
                manifest=str(self.base / "var" / "manifest.json"),
                outbox=str(self.base / "outbox"),
            )
        )
        self._hugo_site()

    def _hugo_site(self) -> None:
        site = self.base / "hugo"
        (site / "content" / "posts").mkdir(parents=True)
        (site / "hugo.toml").write_text(HUGO_CONFIG)
        for rel, text in HUGO_LAYOUTS.items():
            path = site / "layouts" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        (site / "static" / "images").mkdir(parents=True)
        shutil.copy(self.content / "images" / "porch.svg", site / "static" / "images")
        for src in sorted((self.content / "posts").glob("*.md")):
            head, _, body = src.read_text(encoding="utf-8").partition("\n\n")
            meta = dict(line.split(": ", 1) for line in head.splitlines())
            tags = ", ".join(json.dumps(t.strip()) for t in meta["Tags"].split(","))
            date = meta["Date"].replace(" ", "T")
            front = (
                f"---\ntitle: {json.dumps(meta['Title'])}\ndate: {date}:00Z\n"
                f"slug: {meta['Slug']}\ncategories: [{json.dumps(meta['Category'])}]\n"
                f"tags: [{tags}]\nsummary: {json.dumps(meta['Summary'])}\n---\n\n"
            )
            body = body.replace("{static}/images/", "/images/")
            (site / "content" / "posts" / src.name).write_text(front + body, encoding="utf-8")

    def _pelican(self, settings: str, out: str, *extra: str) -> list[str]:
        return [PY, "-m", "pelican", str(self.content), "-o", str(self.base / out),
                "-s", str(self.base / settings), "-q", *extra]  # fmt: skip

    def _run(self, cmd) -> dict:
        return measure(cmd, ROOT, self.env, self.log, sample=self.sample)

    # timed scenarios
    def run_a(self) -> dict:
        shutil.rmtree(self.base / "out-a", ignore_errors=True)
        return self._run(self._pelican("bare.py", "out-a"))

    def run_b(self) -> dict:
        for d in ("out", "cache", "var"):
            shutil.rmtree(self.base / d, ignore_errors=True)
        return self._run(self._pelican("ours.py", "out"))

    def run_bw(self) -> dict:
        shutil.rmtree(self.base / "out", ignore_errors=True)
        return self._run(self._pelican("ours.py", "out"))

    def run_bs(self) -> dict:
        shutil.rmtree(self.base / "out", ignore_errors=True)
        return self._run(self._pelican("ours.py", "out", "-e", "FASTBUILD_PARALLEL_WRITE=false"))

    def run_bc(self) -> dict:
        shutil.rmtree(self.base / "out", ignore_errors=True)
        for path in self.content.rglob("*"):
            if path.is_file():
                os.utime(path)  # what a checkout does to every file
        return self._run(self._pelican("ours.py", "out"))

    def run_d(self) -> dict:
        return self._run(self._pelican("ours.py", "out"))

    def run_c(self, round_no: int) -> dict:
        post = self.content / "posts" / f"post-{(self.n // 2) + round_no:05d}.md"
        original = post.read_bytes()
        post.write_bytes(original + f"\nAn added paragraph, edit {round_no}.\n".encode())
        try:
            return self._run(self._pelican("ours.py", "out"))
        finally:
            post.write_bytes(original)
            # the next timed build must not be an incremental one after this edit
            os.utime(post)

    def run_e(self) -> dict:
        syn = [PY, "-m", "syndicate", "--settings", str(self.base / "ours.py")]
        ledger = self.base / "data" / "ledger.json"
        ledger.unlink(missing_ok=True)
        shutil.rmtree(self.base / "outbox", ignore_errors=True)
        new = [self.content / "posts" / f"zz-new-{i}.md" for i in range(3)]
        try:
            self._run(self._pelican("ours.py", "out"))
            self._run([*syn, "--baseline"])
            for i, path in enumerate(new):
                path.write_text(
                    f"Title: A new post {i}\nDate: 2025-06-0{i + 1} 09:00\nCategory: Email\n"
                    f"Tags: email-tips\nSlug: zz-new-{i}\nSummary: Something new, number {i}.\n\n"
                    + "A few words for the subscribers. " * 40
                    + "\n",
                    encoding="utf-8",
                )
            self._run(self._pelican("ours.py", "out"))
            return self._run([*syn, "--dry-run"])
        finally:
            for path in new:
                path.unlink(missing_ok=True)

    def run_f(self) -> dict:
        out = self.base / "out-hugo"
        shutil.rmtree(out, ignore_errors=True)
        return self._run(["hugo", "--quiet", "-s", str(self.base / "hugo"), "-d", str(out)])


def _median(runs: list[dict]) -> dict:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0] if runs[0][k] is not None}


def run_all(sizes, repeat, skip, log, build_dir: Path = WORK) -> dict:
    results = {}
    for n in sizes:
        bench = Bench(n, log, build_dir)
        print(f"N={n}: preparing", flush=True)
        bench.prepare()
        runs = {k: [] for k in SCENARIOS if k not in skip}
        sampled = {}  # the memory round: the same scenarios, with the PSS sampler
        for round_no in range(repeat + 1):
            bench.sample = round_no == repeat
            order = ["a", "b", "bw", "bs", "bc", "d", "c", "f", "e"]
            for key in order:
                if key not in runs:
                    continue
                if key == "f" and not shutil.which("hugo"):
                    continue
                fn = getattr(bench, f"run_{key}")
                try:
                    r = fn(round_no) if key == "c" else fn()
                except RuntimeError as e:
                    print(f"  {key}: FAILED {e}", flush=True)
                    continue
                if bench.sample:
                    sampled[key] = r
                    print(f"  N={n} memory round {key}: {r['wall']:.2f} s wall, "
                          f"{r['pss_mb']:.0f} MB", flush=True)  # fmt: skip
                    continue
                runs[key].append(r)
                print(f"  N={n} round {round_no + 1} {key}: {r['wall']:.2f} s wall, "
                      f"{r['cpu']:.2f} s cpu, {r['rss_mb']:.0f} MB RSS", flush=True)  # fmt: skip
        results[str(n)] = {}
        for key, timed in runs.items():
            if timed and key in sampled:
                results[str(n)][key] = _median(timed) | {
                    "pss_mb": sampled[key]["pss_mb"],
                    "sampled_wall": sampled[key]["wall"],
                    "runs": len(timed),
                }
    return results


# --- profile of (b) -------------------------------------------------------------


def profile(n: int, log: Path, build_dir: Path = WORK, top: int = 25) -> dict:
    """cProfile of a cold full build with every lever that forks off (one process)."""
    bench = Bench(n, log, build_dir)
    bench.prepare()
    prof = bench.base / "b.prof"
    cmd = [PY, "-m", "cProfile", "-o", str(prof), "-m", "pelican", str(bench.content),
           "-o", str(bench.base / "out"), "-s", str(bench.base / "ours.py"), "-q",
           "-e", "FASTBUILD_PARALLEL_MARKDOWN=false", "FASTBUILD_PARALLEL_WRITE=false",
           "FASTBUILD_PARALLEL_CHECK=false", "FASTBUILD_PARALLEL_ARTICLES=false"]  # fmt: skip
    measure(cmd, ROOT, bench.env, log)
    return summarise(prof, n, top)


def summarise(prof: Path, n: int, top: int = 25) -> dict:
    """Own time by package, time inside each package and the top functions of `prof`."""
    import pstats

    stats = pstats.Stats(str(prof))
    total = stats.total_tt
    groups: dict[str, float] = {}
    inclusive: dict[str, float] = {}
    rows = []
    for (path, line, func), (_cc, nc, tt, ct, callers) in stats.stats.items():
        group = _group(path)
        groups[group] = groups.get(group, 0.0) + tt
        rows.append((ct, tt, nc, f"{_short(path)}:{line}({func})"))
        # time spent inside a package, including what it calls (the standard
        # library, lxml, ...): the calls into it from outside it. Code that runs as
        # part of a package (compiled templates, fastbuild's Markdown and Jinja loops)
        # counts as inside it, so a call back into the package is not counted twice.
        home = _inclusive_group(path)
        if home.startswith("plugin ") or home in ("markdown", "jinja2", "feedgen"):
            for caller, (_c, _n, _t, edge_ct) in callers.items():
                if _inclusive_group(caller[0]) != home:
                    inclusive[home] = inclusive.get(home, 0.0) + edge_ct
    rows.sort(reverse=True)
    return {
        "n": n,
        "total": total,
        "groups": sorted(groups.items(), key=lambda kv: -kv[1])[:12],
        "inclusive": sorted(inclusive.items(), key=lambda kv: -kv[1]),
        "top": [r for r in rows if not r[3].startswith("~")][:top],
    }


def _group(path: str) -> str:
    m = re.search(r"/plugins/([^/]+)/", path)
    if m and "site-packages" not in path:
        return f"plugin {m.group(1)}"
    m = re.search(r"site-packages/([^/]+)/", path)
    if m:
        return m.group(1)
    if path.startswith("~") or "/lib/python" in path:
        return "python stdlib / builtins"
    if "/theme/templates/" in path:
        return "jinja2 (compiled templates)"
    return "other"


# fastbuild modules that stand in for parts of Markdown's or Jinja's own loops
_PART_OF = {"inline_quick.py": "markdown", "block_quick.py": "markdown",
            "quick_templates.py": "jinja2"}  # fmt: skip


def _inclusive_group(path: str) -> str:
    group = _group(path)
    if group == "jinja2 (compiled templates)":
        return "jinja2"
    if group == "plugin fastbuild":
        return _PART_OF.get(os.path.basename(path), group)
    return group


def _short(path: str) -> str:
    return re.sub(r".*/(site-packages|work/main)/", "", path)


# --- report ---------------------------------------------------------------------


def _filesystem(path: Path) -> str:
    """The type of the file system `path` is on (the longest matching mount point)."""
    best, kind = "", "unknown"
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return kind
    target = str(path.resolve())
    for line in mounts:
        fields = line.split()
        point = fields[1]
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) > len(best):
            best, kind = point, fields[2]
    return kind


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        mem_gb = f"{int(mem) / 1024 / 1024:.0f} GB"
    except OSError:
        mem_gb = "?"
    hugo = subprocess.run(["hugo", "version"], capture_output=True, text=True).stdout.strip()
    import markdown
    import pelican

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": mem_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "pelican": pelican.__version__,
        "markdown": markdown.__version__,
        "hugo": hugo.split(" ")[1] if hugo else "not installed",
        "load": os.getloadavg(),
    }


def chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(int(n) for n in results)
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    for key, style in (("a", "o-"), ("b", "s-"), ("bw", "s--"), ("bs", "s-."), ("bc", "s:"),
                       ("c", "^-"), ("d", "v-"), ("f", "D-"), ("e", "x:")):  # fmt: skip
        xs = [n for n in sizes if key in results[str(n)]]
        if xs:
            ys = [results[str(n)][key]["wall"] for n in xs]
            ax.plot(xs, ys, style, label=f"({key}) {SCENARIOS[key]}")
    ax.set_xlabel("posts (N)")
    ax.set_ylabel("wall time, seconds (median)")
    ax.set_title("Build time against number of posts (2 cores)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _ratio(r: dict, x: str, y: str, key: str = "wall") -> str:
    if x in r and y in r and r[y][key]:
        return f"{r[x][key] / r[y][key]:.2f}"
    return "–"


def _table(header: list[str], rows: list[list[str]], left: tuple[int, ...] = ()) -> list[str]:
    """A Markdown table; the columns numbered in `left` are left-aligned, the rest right."""
    align = ["---" if i in left else "---:" for i in range(len(header))]
    return [f"| {' | '.join(cells)} |" for cells in (header, align, *rows)]


def render(data: dict) -> str:
    m, results, prof = data["machine"], data["results"], data.get("profile")
    lines = [
        "# Benchmarks",
        "",
        "Made by `bench/run.py` (see the README's Benchmarks section); the numbers below are",
        "the medians of alternating runs on this machine. Regenerate with the command shown.",
        "",
        f"- Date: {data['date']}",
        "- Command: " + "; then ".join(f"`{c}`" for c in data.get("commands", [data["command"]])),
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory']} RAM; {m['os']}",
        f"- Python {m['python']}, Pelican {m['pelican']}, Markdown {m['markdown']}, "
        f"Hugo {m['hugo']}",
        f"- Output trees and caches in {m.get('build_dir', 'bench/results')} "
        f"({m.get('build_fs', 'disk')})",
        f"- Load average when the run ended: {', '.join(f'{x:.2f}' for x in m['load'])}"
        f" on {m['cores']} cores",
        "  (a load above the benchmark's own means other work shared the machine: absolute",
        "  times are then noisy; the ratios still come from the same alternating runs)",
        "",
        "Scenarios:",
        "",
    ]
    lines += [f"- **({k})** {v}" for k, v in SCENARIOS.items()]
    lines += [
        "",
        "Time is wall-clock seconds; CPU is user+system seconds of the whole process tree;",
        "RSS is the largest resident set of any one process; PSS is the peak of the summed",
        "proportional set size of the process tree (shared pages of forked workers count once).",
        "PSS comes from one more round of every scenario with the memory sampler on; its",
        "wall time is in the last column. The sampler reads each process's smaps_rollup",
        "every 50 ms, which costs a build that keeps both cores busy (it waits for the",
        "reads and shares its cores), so times and CPU come from rounds without it.",
        "",
    ]
    sizes = sorted(results, key=int)
    scenario_rows = []
    for n in sizes:
        for key in SCENARIOS:
            if r := results[n].get(key):
                scenario_rows.append([
                    f"{int(n):,}", f"({key})", f"{r['wall']:.2f}", f"{r['cpu']:.2f}",
                    f"{r['rss_mb']:.0f}", f"{r['pss_mb']:.0f}", str(r["runs"]),
                    f"{r['sampled_wall']:.2f}" if "sampled_wall" in r else "–",
                ])  # fmt: skip
    header = ["N", "scenario", "wall s", "CPU s", "max RSS MB", "peak PSS MB", "runs"]
    header += ["wall s, sampled"]
    lines += _table(header, scenario_rows, left=(1,))
    lines += [
        "",
        "Ratios of wall time, with the ratio of CPU time after the slash (CPU time is",
        "less disturbed by other load, but does not show what the second core gives);",
        "targets from issue 6 in brackets:",
        "",
    ]
    pairs = (("b", "a"), ("bw", "a"), ("bs", "a"), ("bc", "a"), ("c", "a"), ("d", "a"))
    pairs += (("b", "f"), ("bw", "f"))
    ratio_rows = []
    for n in sizes:
        r = results[n]
        both = [f"{_ratio(r, x, y)} / {_ratio(r, x, y, 'cpu')}" for x, y in pairs]
        per = [f"{r[k]['wall'] * 1000 / int(n):.1f}" if k in r else "–" for k in ("b", "bw")]
        ratio_rows.append([f"{int(n):,}", *both, *per])
    header = ["N", "(b)/(a) [≤ 0.60]", "(bw)/(a) [≤ 0.60]", "(bs)/(a)", "(bc)/(a)"]
    header += ["(c)/(a) [≤ 0.15]"]
    header += ["(d)/(a)"]
    header += ["(b)/(f)", "(bw)/(f)", "ms per post (b)", "ms per post (bw)"]
    lines += _table(header, ratio_rows)
    lines += [
        "",
        "Memory against bare Pelican's (a) at the same N; target from issue 6 in brackets:",
        "",
    ]
    memory_rows = [
        [f"{int(n):,}"]
        + [
            _ratio(results[n], x, "a", key)
            for key in ("pss_mb", "rss_mb")
            for x in ("b", "bw", "bs", "c")
        ]
        for n in sizes
    ]
    header = ["N", "PSS (b)/(a) [≤ 1.5]", "PSS (bw)/(a) [≤ 1.5]", "PSS (bs)/(a)", "PSS (c)/(a)"]
    header += ["RSS (b)/(a)", "RSS (bw)/(a)", "RSS (bs)/(a)", "RSS (c)/(a)"]
    lines += _table(header, memory_rows)
    lines += ["", "![Build time against N](benchmarks.png)", ""]
    if prof:
        lines += [
            f"## Profile of (b) at N = {prof['n']:,}",
            "",
            "cProfile of one cold full build with every lever that forks switched off, so that",
            "all work happens in one profiled process (profiling makes everything slower; read",
            f"shares, not seconds). Total {prof['total']:.1f} s.",
            "",
            "Own time by package:",
            "",
        ]

        def share(seconds: float) -> str:
            return f"{100 * seconds / prof['total']:.1f} %"

        own = [[name, f"{tt:.2f}", share(tt)] for name, tt in prof["groups"]]
        lines += _table(["where", "own time s", "share"], own, left=(0,))
        if prof.get("inclusive"):
            lines += [
                "",
                "Time inside each plugin and library, including what it calls (the",
                "standard library's HTML parser, lxml, ...); nested calls between them",
                "are counted in both. Compiled templates count as Jinja, and fastbuild's",
                "stand-ins for Markdown's and Jinja's own loops as those libraries;",
                "fastbuild itself is left out (the Markdown conversion and the page",
                "rendering it schedules run inside it):",
                "",
            ]
            inside = [
                [name, f"{ct:.2f}", share(ct)]
                for name, ct in prof["inclusive"]
                # fastbuild calls Markdown and the templates: everything is inside it
                if name != "plugin fastbuild"
            ]
            lines += _table(["where", "inclusive s", "share"], inside, left=(0,))
        lines += [
            "",
            "Top functions by cumulative time:",
            "",
        ]
        top = [[f"{ct:.2f}", f"{tt:.2f}", str(nc), f"`{name}`"] for ct, tt, nc, name in prof["top"]]
        lines += _table(["cumulative s", "own s", "calls", "function"], top, left=(3,))
    notes = ROOT / "bench" / "notes.md"
    if notes.exists():  # hand-written reading of the numbers, kept across runs
        lines += ["", notes.read_text(encoding="utf-8").rstrip()]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1000,5000,10000", help="comma-separated post counts")
    p.add_argument("--repeat", type=int, default=5, help="alternating runs per scenario")
    p.add_argument("--skip", default="", help="scenarios to leave out, e.g. e,f")
    p.add_argument("--profile-size", type=int, default=1000, help="N for the profile; 0 = none")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    p.add_argument(
        "--build-dir",
        type=Path,
        default=BUILD_DIR,
        help="where output trees and caches go (default: a tmpfs when there is one)",
    )
    p.add_argument("--merge", action="store_true", help="keep earlier results for other sizes")
    p.add_argument("--render-only", action="store_true", help="rewrite the page from results.json")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    skip = {s for s in args.skip.split(",") if s}
    WORK.mkdir(parents=True, exist_ok=True)
    log = WORK / "run.log"
    log.write_text("")
    saved = WORK / "results.json"
    data = {"results": {}}
    if (args.merge or args.render_only) and saved.exists():
        data = json.loads(saved.read_text())
    if args.render_only:
        chart(data["results"], args.out.with_suffix(".png"))
        args.out.write_text(render(data))
        return 0
    build_dir = args.build_dir.resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    for n, scenarios in run_all(sizes, args.repeat, skip, log, build_dir).items():
        data["results"].setdefault(n, {}).update(scenarios)  # skipped ones stay
    if args.profile_size:
        print(f"profiling (b) at N={args.profile_size}", flush=True)
        data["profile"] = profile(args.profile_size, log, build_dir)
    data["machine"] = machine() | {
        "build_dir": str(build_dir),
        "build_fs": _filesystem(build_dir),
    }
    data["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    shown = shlex.join(argv if argv is not None else sys.argv[1:])
    data["command"] = f".venv/bin/python bench/run.py {shown}".strip()
    earlier = data.get("commands", []) if args.merge else []
    data["commands"] = [*earlier, data["command"]]
    saved.write_text(json.dumps(data, indent=1))
    chart(data["results"], args.out.with_suffix(".png"))
    args.out.write_text(render(data))
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
