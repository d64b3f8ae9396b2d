"""The dry run: write every email and social post a real run would send into the outbox.

    outbox/index.html                     every item, to look at in a browser
    outbox/<post>/<channel>.txt           the exact social text, or the email's plain text
    outbox/<post>/<channel>.html          the email's HTML (email channels)
    outbox/<post>/<channel>.json          subject, length against the limit, link card

Nothing is sent and the ledger is not touched. Channels render without the network, so
the dry run works without credentials.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from syndicate import channels as registry
from syndicate.errors import ConfigError

TEMPLATES = Path(__file__).parent / "templates"
MARKER = ".syndicate-outbox"


@dataclass
class OutboxItem:
    channel: str
    email: bool
    files: dict[str, str] = field(default_factory=dict)  # kind → path relative to outbox
    subject: str = ""
    text: str = ""
    length: int = 0
    limit: int = 0
    card: dict[str, str] = field(default_factory=dict)
    error: str = ""

    @property
    def over(self) -> bool:
        return bool(self.limit) and self.length > self.limit


def prepare_folder(folder: Path) -> None:
    """Empty the outbox (only if it is ours: marked, or empty) and mark it."""
    if folder.exists():
        if not (folder / MARKER).exists() and any(folder.iterdir()):
            raise ConfigError(
                f"{folder} exists and was not written by `syndicate --dry-run`",
                hint="move it away or set SYNDICATE_OUTBOX to another folder",
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / MARKER).write_text("written by `invoke syndicate --dry-run`\n", encoding="utf-8")


def _json_default(value: Any) -> str:
    return str(value)


def write_outbox(runner, *, only_post: str = "", only_channel: str = ""):
    """Render what is new for every listed channel into the outbox; return a Report."""
    from syndicate.manifest import Entry
    from syndicate.runner import Outcome, Report, _digest_mode

    config = runner.config
    folder = config.outbox_path
    report = Report(dry_run=True, outbox=folder)
    classes = runner.select(only_channel)
    the_plan = runner.plan(classes, only_post=only_post)
    channels = runner.instantiate(classes)
    prepare_folder(folder)
    posts: dict[str, dict[str, Any]] = {}
    for name, channel in channels.items():
        if name in the_plan.refused:
            report.messages.append(the_plan.refused[name])
            report.outcomes.append(Outcome("*", name, "refused", the_plan.refused[name]))
            continue
        email = registry.is_email(type(channel))
        work = []
        if _digest_mode(channel) and the_plan.new.get(name):
            entries = the_plan.new[name]
            try:
                dpost, ddraft = channel.digest([runner.post(e) for e in entries])
                dentry = Entry(dpost.id, dpost.slug, dpost.date, dpost.slug, "yes", None, "")
                work.append((dentry, dpost, ddraft))
            except Exception as e:
                report.outcomes.append(Outcome("digest", name, "failed", f"{e}"))
        else:
            for entry in the_plan.new.get(name, []):
                item = runner.ledger.get(entry.id, name)
                work.append((entry, runner.post_for(entry, item), None))
        for entry, post, ready in work:
            slot = posts.setdefault(
                entry.id,
                {"post": post, "entry": entry, "folder": Path(entry.file).stem, "items": []},
            )
            item = OutboxItem(channel=name, email=email)
            try:
                draft = ready if ready is not None else channel.render(post)
            except Exception as e:  # show it in the outbox, go on with the others
                item.error = config.redact(f"{type(e).__name__}: {e}")
                slot["items"].append(item)
                report.outcomes.append(Outcome(entry.slug, name, "failed", item.error))
                continue
            base = f"{slot['folder']}/{name}"
            item.subject, item.text = draft.subject, draft.text
            item.length, item.limit, item.card = draft.length, draft.limit, dict(draft.card)
            _write(folder / f"{base}.txt", config.redact(draft.text))
            item.files["text"] = f"{base}.txt"
            if draft.html:
                _write(folder / f"{base}.html", config.redact(draft.html))
                item.files["html"] = f"{base}.html"
            meta = {
                "post": post.id,
                "slug": post.slug,
                "url": post.url,
                "channel": name,
                "subject": draft.subject,
                "length": draft.length,
                "limit": draft.limit,
                "card": dict(draft.card),
                "extra": dict(draft.extra),
            }
            text = json.dumps(meta, indent=1, ensure_ascii=False, default=_json_default)
            _write(folder / f"{base}.json", config.redact(text))
            item.files["json"] = f"{base}.json"
            slot["items"].append(item)
            state = "dry-run" if not item.over else "failed"
            detail = "" if not item.over else f"{draft.length} > limit {draft.limit}"
            report.outcomes.append(Outcome(entry.slug, name, state, detail))
    for name, why in runner.unavailable.items():
        report.messages.append(f"{name}: not available ({why})")
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    ordered = sorted(posts.values(), key=lambda p: (p["entry"].date, p["entry"].slug))
    html = env.get_template("outbox.html").render(
        sitename=runner.manifest.sitename or config.settings.get("SITENAME", ""),
        posts=ordered,
        refused=the_plan.refused,
        unavailable=runner.unavailable,
        skipped={n: len(v) for n, v in the_plan.skipped.items()},
        channels=list(channels),
    )
    _write(folder / "index.html", config.redact(html))
    if any(o.state == "failed" for o in report.outcomes) or the_plan.refused:
        report.exit_code = 1
    return report


def _write(path: Path, text: str) -> None:
    """A preview, not a record: a plain write (no fsync) keeps the dry run fast."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
