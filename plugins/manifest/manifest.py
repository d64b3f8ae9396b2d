"""manifest plugin: hand every published post to `invoke syndicate`, and hide email-only posts.

Two jobs, both pure (no network):

* At `article_generator_pretaxonomy`, posts with `Newsletter: only` are taken out of the
  generator's lists (so they are in no page, feed, archive, tag, category or prev/next link)
  and stashed on `generator.email_only_articles`.
* At `article_writer_finalized`, the manifest is written under `MANIFEST_PATH` (outside
  `output/`: it holds the email-only posts and must never be deployed):

      <MANIFEST_PATH>/index.json        one small entry per post, oldest first
      <MANIFEST_PATH>/posts/<file>.json  everything syndication needs for one post

  Finding what is new reads only the index; a post's file is opened only when it is sent
  or rendered. A post whose inputs did not change keeps its file untouched, so a rebuild of
  a 10,000-post site rewrites only what changed. Bodies are stored as Pelican made them;
  syndication parses only the posts it opens (`syndicate.markup`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from pelican import signals

log = logging.getLogger(__name__)

DEFAULTS = {
    # Folder of the manifest (index.json + posts/). Relative paths are relative to the
    # working directory. A trailing ".json" is dropped: "var/manifest.json" means var/manifest/.
    "MANIFEST_PATH": "var/manifest",
}

FORMAT_VERSION = 2  # 2: title, summary and body as Pelican made them (see post_record)
NEWSLETTER_VALUES = ("yes", "no", "only")


def get_settings(pelican_settings) -> dict:
    settings = {key: pelican_settings.get(key, value) for key, value in DEFAULTS.items()}
    settings["MANIFEST_PATH"] = str(manifest_dir(settings["MANIFEST_PATH"]))
    return settings


def manifest_dir(path) -> Path:
    """The manifest folder for a MANIFEST_PATH value (a trailing ".json" is dropped)."""
    text = os.fspath(path)
    if text.endswith(".json"):
        text = text[: -len(".json")]
    return Path(text).absolute()


# -- metadata ------------------------------------------------------------------------
def newsletter_mode(article) -> str:
    value = str(article.metadata.get("newsletter", "yes")).strip().lower()
    if value not in NEWSLETTER_VALUES:
        raise ValueError(
            f"manifest: {article.source_path}: Newsletter: {value!r} is not one of "
            f"{', '.join(NEWSLETTER_VALUES)}"
        )
    return value


def syndicate_channels(article) -> list[str] | None:
    """`Syndicate:` metadata: None = every channel, [] = none, else the named subset."""
    raw = article.metadata.get("syndicate")
    if raw is None:
        return None
    if isinstance(raw, (list, tuple)):
        names = [str(n) for n in raw]
    else:
        names = re.split(r"[,\s]+", str(raw))
    names = [n.strip().lower() for n in names if n.strip()]
    if names in (["no"], ["none"], ["false"], ["off"]):
        return []
    return names


def social_texts(article) -> dict[str, str]:
    """`Social:` (key "") and per-network `SocialMastodon:` etc. (key "mastodon")."""
    texts = {}
    for key, value in article.metadata.items():
        if key == "social":
            texts[""] = str(value).strip()
        elif key.startswith("social") and not key.startswith("social_") and len(key) > 6:
            texts[key[len("social") :].lower()] = str(value).strip()
    return texts


def post_id(article, settings) -> str:
    """The stable ID `post_ids` set; explicit `ID:` metadata; else a tag: URI."""
    found = getattr(article, "post_id", None) or article.metadata.get("id")
    if found:
        return str(found)
    authority = settings.get("POST_IDS_AUTHORITY") or urlsplit(settings["SITEURL"]).hostname
    return f"tag:{authority},{article.date:%Y-%m-%d}:{article.slug}"


# -- entries -------------------------------------------------------------------------
def _absolute_url(siteurl: str, value: str) -> str:
    if not value:
        return ""
    value = re.sub(r"^\{(static|attach|filename)\}", "", str(value))
    if urlsplit(value).scheme:
        return value
    return siteurl.rstrip("/") + "/" + value.lstrip("/")


def _fingerprint(article, siteurl: str, newsletter: str) -> str:
    """Cheap hash of a post's inputs: unchanged → its manifest file is reused as is."""
    h = hashlib.sha256(f"manifest-v{FORMAT_VERSION}".encode())
    meta = sorted((k, str(v)) for k, v in article.metadata.items())
    for part in (siteurl, article.url, newsletter, repr(meta)):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    # A body that fastbuild keeps compressed (`_content_packed`, zlib: the same text
    # always packs to the same bytes) is digested as it is held, without unpacking it.
    packed = getattr(article, "__dict__", {}).get("_content_packed")
    if packed is not None:
        h.update(b"z" + packed)
    else:
        h.update((article._content or "").encode("utf-8", "surrogatepass"))
    h.update(b"\0")
    h.update(str(getattr(article, "post_id", "")).encode())
    if _links_other_documents(article):
        # `{filename}other-post.md` resolves to that post's URL, which can change while
        # this body does not: the record follows the body as resolved
        h.update(b"\0" + article.get_content(siteurl).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _links_other_documents(article) -> bool:
    """Whether the body links another post or file in Pelican's `{filename}` way."""
    state = getattr(article, "__dict__", {})
    # fastbuild notes, when it packs a body, that it holds no such link at all
    if state.get("_content_static_links", None) == ():
        return False
    text = article._content or ""
    return article._get_intrasite_link_regex().search(text) is not None


def content_hash(record: dict) -> str:
    """Hash of what is sent: changes when the post is edited in a way readers would see."""
    keys = (
        "title_html",
        "url",
        "summary_html",
        "content_html",
        "tags",
        "category",
        "image",
        "image_alt",
        "social",
        "email_subject",
        "newsletter",
    )
    blob = json.dumps({k: record.get(k) for k in keys}, sort_keys=True, ensure_ascii=False)
    return "sha256:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()


def post_record(article, settings, newsletter: str) -> dict:
    """Everything syndication needs for one post (see syndicate.manifest.post_from_dict).

    The title, summary and body are kept as Pelican made them, with links to other posts
    and files already absolute (`get_content(siteurl)`). Making the writer's own relative
    links absolute and reading the plain text is left to `syndicate.markup`, when a post is
    opened to be sent or previewed: a build does not parse every body of the archive.
    """
    siteurl = settings["SITEURL"].rstrip("/")
    url = f"{siteurl}/{article.url}"
    author = getattr(article, "author", None)
    metadata = article.metadata
    record = {
        "id": post_id(article, settings),
        "slug": article.slug,
        "title_html": article.title,
        "url": url,
        "date": article.date.isoformat(),
        "modified": article.modified.isoformat() if getattr(article, "modified", None) else "",
        "summary_html": article.get_summary(siteurl),
        "content_html": article.get_content(siteurl),
        "category": str(getattr(article, "category", "") or ""),
        "tags": [str(t) for t in getattr(article, "tags", []) or []],
        "author": str(author) if author else "",
        "image": _absolute_url(siteurl, metadata.get("image", "")),
        "image_alt": str(metadata.get("imagealt", "") or ""),
        "comments_url": f"{url}#comments",
        "newsletter": newsletter,
        "channels": syndicate_channels(article),
        "social": social_texts(article),
        "email_subject": str(metadata.get("emailsubject", "") or ""),
        "source_path": os.path.relpath(article.source_path, settings.get("PATH", ".")),
        "public": newsletter != "only",
    }
    record["content_hash"] = content_hash(record)
    return record


def _file_name(article) -> str:
    digest = hashlib.sha1(article.url.encode("utf-8"), usedforsecurity=False).hexdigest()[:8]
    return f"{article.date:%Y-%m-%d}-{article.slug}-{digest}.json"


def _write_atomic(path: Path, data: str, *, fsync: bool = False) -> None:
    """Write via a temp file and rename, so a reader never sees half a file.

    Only index.json is fsynced: the post files are rebuilt by any later build (publishing
    always builds first), and an fsync per post cost a tenth of a 1,000-post build. The
    temp file is named after this process (one writer per process), and the folder is
    made only when opening it fails: a first build writes thousands of post files.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        try:
            fh = open(tmp, "w", encoding="utf-8")
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(tmp, "w", encoding="utf-8")
        with fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _read_index(folder: Path) -> dict:
    try:
        return json.loads((folder / "index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _record_file(record: dict, path: Path, fingerprint: str) -> dict:
    """Write one post's file; return its index entry."""
    _write_atomic(path, json.dumps(record, ensure_ascii=False, indent=1))
    return {
        "id": record["id"],
        "slug": record["slug"],
        "date": record["date"],
        "file": path.name,
        "newsletter": record["newsletter"],
        "channels": record["channels"],
        "content_hash": record["content_hash"],
        "fingerprint": fingerprint,
    }


def write_manifest(articles, settings, map_shares=None) -> Path:
    """Write index.json and the changed posts' files; remove files of vanished posts.

    `map_shares(work, items)`, when the writer offers one (fastbuild's does), makes and
    writes the changed posts' files: it may deal them out to other processes, so each
    one's index entry is what comes back (the entries are sorted afterwards)."""
    conf = get_settings(settings)
    folder = Path(conf["MANIFEST_PATH"])
    posts_dir = folder / "posts"
    posts_dir.mkdir(parents=True, exist_ok=True)
    siteurl = settings["SITEURL"].rstrip("/")
    previous = {e["file"]: e for e in _read_index(folder).get("posts", []) if "file" in e}
    entries, todo = [], []

    def identify(article, newsletter) -> tuple[str, str]:
        return _file_name(article), _fingerprint(article, siteurl, newsletter)

    if previous:
        for article, newsletter in articles:
            name, fingerprint = identify(article, newsletter)
            old = previous.get(name)
            if old and old.get("fingerprint") == fingerprint and (posts_dir / name).exists():
                entries.append(old)
                continue
            todo.append((article, newsletter, name, fingerprint))
    else:  # a first build writes every post: each is named and fingerprinted in its share
        todo = [(article, newsletter, None, None) for article, newsletter in articles]

    def records(share) -> list[dict]:
        made = []
        for article, newsletter, name, fingerprint in share:
            if name is None:
                name, fingerprint = identify(article, newsletter)
            record = post_record(article, settings, newsletter)
            made.append(_record_file(record, posts_dir / name, fingerprint))
        return made

    for made in map_shares(records, todo) if map_shares else [records(todo)]:
        entries += made
    written = len(todo)
    entries.sort(key=lambda e: (e["date"], e["slug"]))
    ids = {}
    for entry in entries:
        if entry["id"] in ids:
            raise ValueError(
                f"manifest: posts {ids[entry['id']]!r} and {entry['slug']!r} share the ID "
                f"{entry['id']!r}; give one of them its own `ID:`"
            )
        ids[entry["id"]] = entry["slug"]
    keep = {e["file"] for e in entries}
    for stale in posts_dir.glob("*.json"):
        if stale.name not in keep:
            stale.unlink()
    index = {
        "version": FORMAT_VERSION,
        "siteurl": siteurl,
        "sitename": settings.get("SITENAME", ""),
        "built": datetime.now().astimezone().isoformat(timespec="seconds"),
        "posts": entries,
    }
    _write_atomic(
        folder / "index.json", json.dumps(index, ensure_ascii=False, indent=0), fsync=True
    )
    log.debug("manifest: %d posts (%d rewritten) in %s", len(entries), written, folder)
    return folder


# -- signal receivers --------------------------------------------------------------------
def hide_email_only(generator) -> None:
    """Take `Newsletter: only` posts out of every list the site is built from."""
    hidden = []
    for attr in ("articles", "translations"):
        kept = []
        for article in getattr(generator, attr):
            if newsletter_mode(article) == "only":
                hidden.append(article)
            else:
                kept.append(article)
        setattr(generator, attr, kept)
    for article in generator.articles:
        article.translations = [
            t for t in getattr(article, "translations", []) if newsletter_mode(t) != "only"
        ]
    generator.email_only_articles = hidden


def write_after_articles(generator, writer=None) -> None:
    """Write the manifest once the articles are written (the build did not fail)."""
    articles = [(a, newsletter_mode(a)) for a in generator.articles]
    articles += [(a, "only") for a in getattr(generator, "email_only_articles", [])]
    write_manifest(articles, generator.settings, getattr(writer, "map_shares", None))


def register():
    signals.article_generator_pretaxonomy.connect(hide_email_only)
    signals.article_writer_finalized.connect(write_after_articles)
