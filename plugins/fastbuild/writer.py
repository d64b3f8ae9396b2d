"""FastWriter: queues every page, finds the stale ones in forked processes, renders only
those (many of them with short-lived forked renderers, `forked.relay_map`), and writes only bytes
that changed; FlushPoint renders the queue at the right moment."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from pelican import signals, utils
from pelican.contents import Content
from pelican.paginator import Paginator
from pelican.utils import path_to_url, sanitised_join
from pelican.writers import FileOverwriteFailedError, Writer

from .config import _MIN_PARALLEL, VERSION, get_settings
from .files import read_json, write_atomic
from .fingerprints import _FULL_NAMES, Fingerprints, _site_fingerprint, _Unstable
from .forked import RELAY_CHUNK, relay_map, split_map

log = logging.getLogger(__name__)


class _Paging:
    """Page `number` of a paginated listing. Its variables (the Page objects for this,
    the previous and the next page) are made each time they are asked for: a queue of
    thousands of listing pages would otherwise hold three Page objects for each."""

    __slots__ = ("number", "paginators")

    def __init__(self, paginators: dict, number: int):
        self.paginators = paginators
        self.number = number

    def variables(self, kwargs: dict) -> dict:
        number = self.number
        out = dict(kwargs)
        for key, paginator in self.paginators.items():
            out[f"{key}_paginator"] = paginator
            out[f"{key}_page"] = paginator.page(number)
            out[f"{key}_previous_page"] = paginator.page(number - 1) if number > 1 else None
            out[f"{key}_next_page"] = (
                paginator.page(number + 1) if number < paginator.num_pages else None
            )
        return out


class _Job:
    __slots__ = ("base_kwargs", "context", "fingerprint", "local_siteurl", "name", "override",
                 "paging", "path", "relative_urls", "siteurl", "template")  # fmt: skip

    def __init__(self, **values):
        for key, value in values.items():
            setattr(self, key, value)

    @property
    def kwargs(self) -> dict:
        """The page's own template variables (made anew for a listing page)."""
        if self.paging is None:
            return self.base_kwargs
        return self.paging.variables(self.base_kwargs)

    def localcontext(self, kwargs: dict | None = None) -> dict:
        local = self.context.copy()
        local["localsiteurl"] = self.local_siteurl
        if self.relative_urls:
            local["SITEURL"] = self.local_siteurl
        local["output_file"] = self.name
        local.update(self.kwargs if kwargs is None else kwargs)
        return local


class FastWriter(Writer):
    """Queues pages, renders only the stale ones, and writes only changed bytes."""

    def __init__(self, output_path, settings=None):
        super().__init__(output_path, settings=settings)
        self.conf = get_settings(self.settings)
        self._jobs: list[_Job] = []
        self._shared = None  # the generators' shared context (Content objects read it)
        self._flushed = False
        self._fp = Fingerprints()
        self._site_fp = None
        self._state_path = Path(self.conf["FASTBUILD_CACHE_PATH"], "output-state.json")
        self._old = self._load_state()
        self._new: dict[str, list] = {}
        self.rendered = 0
        self.skipped = 0

    def map_shares(self, work, items: list, at_least: int = _MIN_PARALLEL) -> list:
        """[work(share) for each share of `items`]: the items dealt round-robin among
        FASTBUILD_WORKERS processes (this one and forked ones) when FASTBUILD_PARALLEL_WRITE
        is on and each share would have `at_least` items; else one share of them all, here.
        For plugins with work to do while the pages are queued (the manifest's records,
        the feeds): `work` is called once per process, so what it caches it shares across
        its items; it must return JSON-able data, and anything else it changes stays in
        the process that did it."""
        procs = min(self.conf["FASTBUILD_WORKERS"], len(items) // at_least or 1)
        if procs < 2 or not self.conf["FASTBUILD_PARALLEL_WRITE"]:
            return [work(items)]
        return split_map([items[i::procs] for i in range(procs)], procs, work)

    # state of the last build: relative path -> [fingerprint, size, mtime_ns, sha1]
    def _load_state(self) -> dict:
        if not (self.conf["FASTBUILD_INCREMENTAL"] or self.conf["FASTBUILD_SKIP_UNCHANGED"]):
            return {}
        data = read_json(self._state_path)
        if data is None or data.get("version") != VERSION:
            return {}
        self._fp.parsed = data.get("templates", {})  # valid for any output folder
        if data.get("output_path") != os.path.abspath(self.output_path):
            return {}
        return data.get("files", {})

    def _save_state(self) -> None:
        if not (self.conf["FASTBUILD_INCREMENTAL"] or self.conf["FASTBUILD_SKIP_UNCHANGED"]):
            return
        data = {
            "version": VERSION,
            "output_path": os.path.abspath(self.output_path),
            "last_build": {"rendered": self.rendered, "not_rendered": self.skipped},
            "files": self._new,
            "templates": self._fp.parsed_used,
        }
        write_atomic(self._state_path, json.dumps(data), "the build state")

    def _claim(self, path: str, override: bool) -> bool:
        """Pelican's overwrite rules; False when this write must be dropped."""
        if path in self._overridden_files:
            if override:
                raise FileOverwriteFailedError(
                    f'Failed to overwrite "{path}" a second time (was previously overwritten)'
                )
            log.info('Skipping "%s", not overwriting', path)
            return False
        if path in self._written_files:
            if not override:
                raise FileOverwriteFailedError(
                    f'Failed to overwrite "{path}" as Pelican has already written to it '
                    "previously (set `override=True` if intended)"
                )
            log.info('Overwriting "%s"', path)
        if override:
            self._overridden_files.add(path)
        self._written_files.add(path)
        return True

    def write_file(
        self,
        name,
        template,
        context,
        relative_urls=False,
        paginated=None,
        template_name=None,
        override_output=False,
        url=None,
        **kwargs,
    ):
        if not name:
            return
        if paginated is None:
            paginated = {k: v for k, v in kwargs.items() if k in ("articles", "dates")}
        pages = [(name, None)]
        if paginated and template_name in self.settings["PAGINATED_TEMPLATES"]:
            per_page = (
                self.settings["PAGINATED_TEMPLATES"][template_name]
                or self.settings["DEFAULT_PAGINATION"]
            )
            paginators = {
                key: Paginator(name, url, objects, self.settings, per_page)
                for key, objects in paginated.items()
            }
            first = next(iter(paginators.values()))
            pages = [
                (first.page(number).save_as, _Paging(paginators, number))
                for number in range(1, first.num_pages + 1)
            ]
        for save_as, paging in pages:
            self._queue(save_as, template, context, kwargs, paging, relative_urls, override_output)
        if self._flushed:  # written after the flush point: render right away
            self.flush()

    def _queue(self, name, template, context, kwargs, paging, relative_urls, override):
        path = sanitised_join(self.output_path, name)
        for key in ("article", "page"):
            if isinstance(kwargs.get(key), Content):
                self._shared = kwargs[key]._context
        if self._shared is None:
            self._shared = context
        # Pelican sets localsiteurl in the context before each render, and Content
        # objects read it from the shared context to make their links: remember the
        # values this page would have seen, to restore them when it is rendered.
        if relative_urls:
            local_siteurl = path_to_url(utils.get_relative_path(name))  # speedups' memo
        else:
            local_siteurl = context.get("localsiteurl", None)
        if local_siteurl:
            context["localsiteurl"] = local_siteurl
        job = _Job(
            name=name, template=template, context=context, base_kwargs=kwargs, paging=paging,
            relative_urls=relative_urls, override=override, path=path, fingerprint=None,
            local_siteurl=local_siteurl, siteurl=self._shared.get("localsiteurl"),
        )  # fmt: skip
        if not self._claim(path, override):
            self._signal(job)
            return
        self._jobs.append(job)

    def _fingerprint(self, job: _Job, kwargs: dict) -> str | None:
        names = self._fp.template_variables(job.template)
        if names is None:
            names = set(job.context) | set(kwargs)
        h = hashlib.sha1(self._site_fp.encode())  # noqa: S324
        h.update(
            repr(
                (job.template.name, job.name, job.relative_urls, job.siteurl, job.local_siteurl)
            ).encode()
        )
        try:
            for var in sorted(names):
                if var in ("output_file", "SITEURL", "localsiteurl"):
                    continue  # follow from the name and relative_urls above
                if var in kwargs:
                    value = kwargs[var]
                elif var in job.context:
                    value = job.context[var]
                else:
                    continue
                h.update(var.encode())
                h.update(self._fp.value(value, var in _FULL_NAMES).encode())
        except _Unstable as e:
            log.debug("fastbuild: %s always re-rendered (%s)", job.name, e)
            return None
        return h.hexdigest()

    def _signal(self, job: _Job) -> None:
        if bool(signals.content_written.receivers):
            signals.content_written.send(job.path, context=job.localcontext())

    def _check(self, job: _Job, kwargs: dict | None = None) -> list:
        """[relative path, fingerprint, whether the file on disk is up to date]."""
        rel = os.path.relpath(job.path, self.output_path)
        if not self.conf["FASTBUILD_INCREMENTAL"]:
            return [rel, None, False]
        old = self._old.get(rel)
        fingerprint = self._fingerprint(job, job.kwargs if kwargs is None else kwargs)
        fresh = bool(fingerprint and old and old[0] == fingerprint and _same_file(job.path, old))
        return [rel, fingerprint, fresh]

    def _render(self, job: _Job, shared_context, check: list, kwargs=None) -> list:
        """Render and write one page; [relative path, state entry, 1]."""
        rel, fingerprint, _ = check
        old = self._old.get(rel)
        shared_context["localsiteurl"] = job.siteurl
        data = job.template.render(job.localcontext(kwargs)).encode("utf-8")
        sha = hashlib.sha1(data).hexdigest()  # noqa: S324
        same = self.conf["FASTBUILD_SKIP_UNCHANGED"] and old and old[3] == sha
        if not (same and _same_file(job.path, old)):
            try:
                out = open(job.path, "wb")
            except FileNotFoundError:  # its folder is new (most pages have their own)
                os.makedirs(os.path.dirname(job.path), exist_ok=True)
                out = open(job.path, "wb")
            with out:
                out.write(data)
            log.info('Writing "%s"', job.path)
        st = os.stat(job.path)
        return [rel, [fingerprint, st.st_size, st.st_mtime_ns, sha], 1]

    def _settle(self, job: _Job, shared_context, check: list, kwargs=None) -> list:
        """[relative path, state entry, 1 if rendered else 0] for a checked page."""
        if check[2]:
            return [check[0], self._old[check[0]], 0]
        return self._render(job, shared_context, check, kwargs)

    def _process(self, job: _Job, shared_context) -> list:
        """Render one page unless its fingerprint says it is up to date."""
        kwargs = job.kwargs  # made once: a listing page's are made anew each time
        return self._settle(job, shared_context, self._check(job, kwargs), kwargs)

    def flush(self) -> None:
        """Render every queued page that is not up to date, and save the state.

        With FASTBUILD_PARALLEL_CHECK, the pages are checked (fingerprinted) in several
        processes first. The stale ones are then rendered here, and when there are many
        and FASTBUILD_PARALLEL_WRITE is on, by short-lived forked renderers too
        (`forked.relay_map`): a forked process copies every memory page it touches, and rendering
        touches nearly all of them, so no renderer lives long enough to copy much. A
        rebuild after an edit has few stale pages and renders them here."""
        jobs, self._jobs = self._jobs, []
        self._flushed = True
        if jobs:
            shared = self._shared if self._shared is not None else {}
            final_siteurl = shared.get("localsiteurl")
            incremental = self.conf["FASTBUILD_INCREMENTAL"]
            if incremental and self._site_fp is None:
                self._fp.listed_attrs = self._fp.theme_attributes(jobs[0].template.environment)
                # once, before forking, so every process shares it
                self._site_fp = _site_fingerprint(
                    self.settings, shared or jobs[0].context, jobs[0].template.environment
                )
            procs = min(self.conf["FASTBUILD_WORKERS"], len(jobs) // _MIN_PARALLEL or 1)
            render_apart = self.conf["FASTBUILD_PARALLEL_WRITE"]
            check_apart = incremental and self.conf["FASTBUILD_PARALLEL_CHECK"]
            if not (render_apart or check_apart):
                procs = 1
            if procs > 1 and incremental:
                # Digest the site-wide lists (all posts, tags, ...) once here, so the
                # forked processes inherit them instead of each computing them again;
                # each document's own digests are worked out in `procs` processes first.
                docs = [d for d in shared.get("generated_content", {}).values()
                        if isinstance(d, Content)]  # fmt: skip
                if len(docs) >= procs * _MIN_PARALLEL:
                    self._fp.prime(docs, split_map(docs, procs, self._fp.own_digests))
                warmed = set()
                for job in jobs:
                    if job.template.name not in warmed:
                        warmed.add(job.template.name)
                        self._fingerprint(job, job.kwargs)
            if procs == 1:
                results = [self._process(job, shared) for job in jobs]
            elif not check_apart:  # render_apart without fingerprints to check first
                results = relay_map(jobs, procs, lambda job: self._process(job, shared))
            else:
                checks = split_map(jobs, procs, self._check)
                results = [None] * len(jobs)
                stale = []
                for index, check in enumerate(checks):
                    if check[2]:
                        results[index] = self._settle(jobs[index], shared, check)
                    else:
                        stale.append(index)
                if render_apart and len(stale) >= 2 * RELAY_CHUNK:
                    done = relay_map(
                        stale, procs, lambda i: self._render(jobs[i], shared, checks[i])
                    )
                else:
                    done = [self._render(jobs[i], shared, checks[i]) for i in stale]
                for index, result in zip(stale, done, strict=True):
                    results[index] = result
            shared["localsiteurl"] = final_siteurl
            for rel, entry, rendered in results:
                self._new[rel] = entry
                self.rendered += rendered
                self.skipped += 1 - rendered
            for job in jobs:
                self._signal(job)
        log.info(
            "fastbuild: %d pages rendered, %d unchanged pages not rendered",
            self.rendered,
            self.skipped,
        )
        self._save_state()


def _same_file(path, entry) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return st.st_size == entry[1] and st.st_mtime_ns == entry[2]


class FlushPoint:
    """A do-nothing generator placed after the others: queued pages are rendered here,
    before the static files are copied and before `finalized` plugins run."""

    def __init__(self, *args, **kwargs):
        pass

    def generate_output(self, writer) -> None:
        if isinstance(writer, FastWriter):
            writer.flush()
