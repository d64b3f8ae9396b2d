"""Markdown list of what `invoke syndicate --dry-run` would send, from the files in outbox/.

    python -m sitetools.outbox_summary outbox [--log dry-run.log] >> "$GITHUB_STEP_SUMMARY"

The pull-request workflow uses it as the job summary. It reads the dry run's
outbox/<post>/<channel>.json (subject, length, limit, link card) and .txt (the exact text).
With --log, the dry run's own output (refusals, skipped channels) is added, folded.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def read_items(outbox: Path) -> list[dict[str, Any]]:
    """Every item of the outbox with its text, ordered by post folder then channel."""
    items = []
    for meta_path in sorted(outbox.glob("*/*.json")):
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(meta, dict) or "channel" not in meta:
            continue
        text_path = meta_path.with_suffix(".txt")
        meta["text"] = text_path.read_text(encoding="utf-8") if text_path.is_file() else ""
        meta["email"] = meta_path.with_suffix(".html").is_file()
        meta["folder"] = meta_path.parent.name
        items.append(meta)
    return items


def fence(text: str) -> str:
    """A fenced block that the text itself cannot close."""
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}text\n{text.rstrip()}\n{ticks}"


def one_line(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def log_block(log: Path | None) -> list[str]:
    if log is None or not log.is_file():
        return []
    text = log.read_text(encoding="utf-8", errors="replace").strip()
    if not text:
        return []
    label = "Output of <code>invoke syndicate --dry-run</code>"
    return ["", f"<details><summary>{label}</summary>", "", fence(text), "", "</details>"]


def summary(outbox: Path, log: Path | None = None) -> str:
    items = read_items(outbox)
    lines = ["## What merging would send", ""]
    if not items:
        lines.append(
            "Nothing new would be sent (no post is new for any channel)."
            if outbox.is_dir()
            else f"No outbox at `{outbox}`: the dry run did not write one."
        )
        return "\n".join(lines + log_block(log)) + "\n"
    posts: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        posts.setdefault(item["folder"], []).append(item)
    over = [i for i in items if i.get("limit") and i.get("length", 0) > i["limit"]]
    lines.append(
        f"{len(items)} item(s) for {len(posts)} post(s); nothing is sent from a pull request. "
        "The `outbox` artifact has each email as HTML (open `index.html`)."
    )
    if over:
        lines.append(f"\n**{len(over)} item(s) over the network's limit.**")
    for folder, group in posts.items():
        first = group[0]
        lines += ["", f"### {one_line(first.get('slug') or folder)}", ""]
        if first.get("url"):
            lines += [f"<{first['url']}>", ""]
        lines += ["| channel | what | length |", "| --- | --- | --- |"]
        for item in group:
            what = (
                f"email: “{one_line(item.get('subject', ''))}”"
                if item["email"]
                else one_line(item["text"])[:120]
                + ("…" if len(one_line(item["text"])) > 120 else "")
            )
            length = item.get("length") or len(item["text"])
            limit = item.get("limit") or 0
            size = f"{length} / {limit}" if limit else str(length)
            if limit and length > limit:
                size += " ⚠ over"
            lines.append(f"| {item['channel']} | {what} | {size} |")
        for item in group:
            if not item["email"]:
                label = f"{item['channel']}: exact text"
            else:
                label = f"{item['channel']}: plain-text part"
            lines += ["", f"<details><summary>{label}</summary>", "", fence(item["text"])]
            lines += ["", "</details>"]
    return "\n".join(lines + log_block(log)) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outbox", nargs="?", default="outbox", type=Path)
    parser.add_argument("--log", type=Path, help="the dry run's console output")
    args = parser.parse_args(argv)
    sys.stdout.write(summary(args.outbox, args.log))
    return 0


if __name__ == "__main__":
    sys.exit(main())
