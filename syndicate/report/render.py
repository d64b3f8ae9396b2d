"""Charts (matplotlib) and the report page (templates/report.html) from the gathered data."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import matplotlib
from jinja2 import Environment, FileSystemLoader, select_autoescape
from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global figures

TEMPLATES = Path(__file__).parent / "templates"
CHANNEL_LABELS = {
    "email": "Email (opens + clicks)",
    "mastodon": "Mastodon",
    "bluesky": "Bluesky",
    "comments": "Site comments",
}
CHANNEL_COLOURS = {
    "email": "#c0504d",
    "mastodon": "#6364ff",
    "bluesky": "#1185fe",
    "comments": "#4a7c59",
}


def _save(fig, path: Path) -> None:
    fmt = path.suffix.lstrip(".")
    metadata = {"Date": None} if fmt == "svg" else {}
    with matplotlib.rc_context({"svg.hashsalt": "engagement-report", "svg.fonttype": "none"}):
        fig.savefig(path, format=fmt, metadata=metadata, bbox_inches="tight", dpi=110)


def _label(post: dict[str, Any], width: int = 28) -> str:
    title = post.get("title") or post.get("slug") or ""
    return title if len(title) <= width else title[: width - 1] + "…"


def chart_over_time(report: dict[str, Any], path: Path, top: int) -> Path:
    """Total interactions of the most engaging posts at each report run."""
    latest = sorted(report["posts"], key=lambda p: -p["totals"]["total"])[:top]
    fig = Figure(figsize=(8, 4))
    ax = fig.subplots()
    for post in latest:
        points = [
            (datetime.fromisoformat(snap["at"]), snap["totals"][post["id"]])
            for snap in report["history"]
            if post["id"] in snap["totals"]
        ]
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker="o", label=_label(post))
    ax.set_title("Engagement per post over time")
    ax.set_ylabel("interactions")
    ax.grid(alpha=0.3)
    if latest:
        ax.legend(fontsize="small", loc="upper left")
    fig.autofmt_xdate()
    _save(fig, path)
    return path


def chart_per_channel(report: dict[str, Any], path: Path) -> Path:
    """Stacked bars: each post's interactions, split by channel."""
    items = report["posts"]
    fig = Figure(figsize=(8, max(2.5, 0.45 * len(items) + 1)))
    ax = fig.subplots()
    labels = [_label(p) for p in items]
    left = [0] * len(items)
    for channel, label in CHANNEL_LABELS.items():
        values = [p["totals"][channel] for p in items]
        ax.barh(labels, values, left=left, label=label, color=CHANNEL_COLOURS[channel])
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.invert_yaxis()  # oldest post on top
    ax.set_title("Engagement per post and channel")
    ax.set_xlabel("interactions")
    ax.legend(fontsize="small", loc="lower right")
    _save(fig, path)
    return path


def chart_tags(report: dict[str, Any], path: Path) -> Path:
    """Which tags draw the most replies and clicks."""
    tags = list(report["tags"].items())[:15]
    fig = Figure(figsize=(8, max(2.5, 0.4 * len(tags) + 1)))
    ax = fig.subplots()
    names = [name for name, _ in tags]
    positions = range(len(tags))
    ax.barh(
        [y - 0.2 for y in positions],
        [t["replies"] for _, t in tags],
        height=0.4,
        label="replies (social + comments)",
        color="#4a7c59",
    )
    ax.barh(
        [y + 0.2 for y in positions],
        [t["clicks"] for _, t in tags],
        height=0.4,
        label="email clicks",
        color="#c0504d",
    )
    ax.set_yticks(list(positions), names)
    ax.invert_yaxis()
    ax.set_title("Replies and clicks per tag")
    ax.legend(fontsize="small", loc="lower right")
    _save(fig, path)
    return path


def write_charts(report: dict[str, Any], folder: Path, fmt: str, top: int) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    charts = {
        "over_time": chart_over_time(report, folder / f"engagement-over-time.{fmt}", top),
        "per_channel": chart_per_channel(report, folder / f"engagement-per-channel.{fmt}"),
        "tags": chart_tags(report, folder / f"tags.{fmt}"),
    }
    return {key: path.name for key, path in charts.items()}


def render_page(report: dict[str, Any], charts: dict[str, str]) -> str:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html").render(report=report, charts=charts)
