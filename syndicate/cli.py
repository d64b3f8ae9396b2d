"""`invoke syndicate` / `python -m syndicate`: send what is new, exactly once.

Exit codes: 0 all done, 1 something failed or was refused (the next run retries),
2 nothing was attempted (bad settings, missing manifest, a channel failed pre-flight).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from syndicate import config as config_mod
from syndicate.console import add_settings_option, consoles, print_error
from syndicate.errors import ConfigError, SyndicateError
from syndicate.ledger import Ledger, now_iso
from syndicate.runner import FAILED, NOT_STARTED, OK, Outcome, Report, Runner, skip_reason


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="syndicate",
        description="Send each new post to the email list and social accounts, exactly once.",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--dry-run", action="store_true", help="send nothing; write what would be sent to outbox/"
    )
    mode.add_argument("--status", action="store_true", help="per post and channel: the state")
    mode.add_argument("--check", action="store_true", help="pre-flight check of every channel")
    mode.add_argument(
        "--baseline", action="store_true", help="mark every published post as sent, send nothing"
    )
    mode.add_argument(
        "--test-email", metavar="ADDR", default="", help="send the email channel's test email"
    )
    p.add_argument("--post", metavar="SLUG", default="", help="only this post")
    p.add_argument("--channel", metavar="NAME", default="", help="only this channel")
    p.add_argument(
        "--resend", action="store_true", help="with --post and --channel: send again, on purpose"
    )
    add_settings_option(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    out, err = consoles()
    if args.resend and not (args.post and args.channel):
        err.print("--resend needs both --post SLUG and --channel NAME")
        return NOT_STARTED
    config = None
    try:
        config = config_mod.load(args.settings)
        if args.status:
            return status(config, args, out)
        if args.check:
            return check(config, args, out)
        if args.baseline:
            return baseline(config, args, out)
        if args.test_email:
            return test_email(config, args, out)
        if args.resend:
            return resend(config, args, out, err)
        return run(config, args, out, err)
    except SyndicateError as e:
        print_error(err, e, config)
        return NOT_STARTED


# -- sending -------------------------------------------------------------------------------------
def run(config, args, out: Console, err: Console) -> int:
    runner = Runner(config, say=lambda t: err.print(t, markup=False))
    classes = runner.select(args.channel)
    configured = runner.configured(classes)
    if args.post:
        runner.manifest.by_slug(args.post)  # an unknown slug is an error, not "nothing new"
    if args.dry_run or not configured:
        return _dry_run(runner, args, out, err, automatic=not args.dry_run)
    for name, cls in classes.items():
        if name not in configured:
            missing = ", ".join(runner.missing_env(cls))
            err.print(f"{name}: not configured (set {missing}); skipped", markup=False)
    for name, why in runner.unavailable.items():
        err.print(f"{name}: {why}; skipped", markup=False)
    problem = runner.siteurl_problem()
    if problem:
        raise ConfigError(problem)
    with Ledger(config.ledger_path).locked():
        runner.ledger = config.open_ledger()
        the_plan = runner.plan(configured, only_post=args.post)
        report = Report()
        for name, why in the_plan.refused.items():
            err.print(f"refused: {why}", markup=False)
            report.outcomes.append(Outcome("*", name, "refused", why))
        if the_plan.count() == 0:
            out.print("Nothing new to send.")
            return FAILED if the_plan.refused else OK
        channels = runner.instantiate(configured)
        if not _print_checks(runner, channels, out):
            out.print("Pre-flight failed: nothing was sent.")
            return NOT_STARTED
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=False,
        ) as progress:
            runner.progress = progress
            runner.send_all(channels, the_plan, report)
        runner.progress = None
    summary(report, out, config)
    return FAILED if report.failed else OK


def _dry_run(runner: Runner, args, out: Console, err: Console, *, automatic: bool) -> int:
    from syndicate.outbox import write_outbox

    if automatic:
        err.print(
            "No channel has credentials in the environment: this is a dry run, nothing is "
            "sent. Set the variables listed in README.md (or a .env file) to send.",
            markup=False,
        )
    problem = runner.siteurl_problem()
    if problem:
        err.print(f"warning: {problem}", markup=False)
    report = write_outbox(runner, only_post=args.post, only_channel=args.channel)
    for message in report.messages:
        err.print(message, markup=False)
    summary(report, out, runner.config)
    out.print(f"Dry run: nothing was sent. Outbox: {report.outbox / 'index.html'}", markup=False)
    return report.exit_code


def _print_checks(runner: Runner, channels, out: Console) -> bool:
    ok = True
    for name, passed, detail in runner.preflight(channels):
        mark = "ok  " if passed else "FAIL"
        out.print(f"{mark} {name}: {detail}", markup=False)
        ok = ok and passed
    return ok


def resend(config, args, out: Console, err: Console) -> int:
    runner = Runner(config, say=lambda t: err.print(t, markup=False))
    classes = runner.select(args.channel)
    if not runner.configured(classes):
        missing = ", ".join(runner.missing_env(classes[args.channel]))
        raise ConfigError(f"{args.channel} is not configured", hint=f"set {missing}")
    problem = runner.siteurl_problem()
    if problem:
        raise ConfigError(problem)
    entry = runner.manifest.by_slug(args.post)
    with Ledger(config.ledger_path).locked():
        runner.ledger = config.open_ledger()
        channels = runner.instantiate(classes)
        if not _print_checks(runner, channels, out):
            out.print("Pre-flight failed: nothing was sent.")
            return NOT_STARTED
        outcome = runner.deliver(entry, args.channel, channels[args.channel], resend=True)
    report = Report(outcomes=[outcome])
    summary(report, out, config)
    return FAILED if report.failed else OK


def test_email(config, args, out: Console) -> int:
    runner = Runner(config)
    classes = runner.select(args.channel)
    from syndicate.channels import is_email

    emails = {n: c for n, c in runner.configured(classes).items() if is_email(c)}
    if not emails:
        raise ConfigError("no email channel is configured", hint="set MAILCHIMP_API_KEY etc.")
    name, cls = next(iter(emails.items()))
    if args.post:
        entry = runner.manifest.by_slug(args.post)
    else:
        candidates = [e for e in runner.entries() if not skip_reason(e, name, True)]
        if not candidates:
            raise ConfigError("no post to send a test email of")
        entry = candidates[-1]
    with Ledger(config.ledger_path).locked():
        runner.ledger = config.open_ledger()
        channels = runner.instantiate({name: cls})
        if not _print_checks(runner, channels, out):
            return NOT_STARTED
        channel = channels[name]
        item = runner.ledger.get(entry.id, name)
        post = runner.post_for(entry, item)
        draft = channel.render(post)
        if "intent" not in item:
            item = runner.ledger.update(
                entry.id,
                name,
                state=item.get("state", "pending"),
                slug=entry.slug,
                intent=channel.prepare(post, draft) or {},
                content_hash=post.content_hash,
                attempts=item.get("attempts", 0),
            )
        channel.send_test(post, draft, item, [args.test_email])
    out.print(f"Test email of {entry.slug!r} sent to {args.test_email} through {name}.")
    return OK


# -- bookkeeping ------------------------------------------------------------------------------
def baseline(config, args, out: Console) -> int:
    runner = Runner(config)
    classes = runner.select(args.channel)
    marked = 0
    with Ledger(config.ledger_path).locked():
        ledger = runner.ledger = config.open_ledger()
        stamp = now_iso()
        for entry in runner.entries():
            if args.post and entry.slug != args.post:
                continue
            for name, cls in classes.items():
                from syndicate.channels import is_email

                if skip_reason(entry, name, is_email(cls)) or ledger.is_sent(entry.id, name):
                    continue
                # kept small: a 10,000-post archive × 5 channels stays a quick load
                ledger.update(entry.id, name, save=False, state="sent", baseline=stamp)
                marked += 1
        ledger.save()
    out.print(
        f"Baseline: {marked} item(s) marked as sent without sending "
        f"({', '.join(classes) or 'no channels'}). Commit {config.ledger_path.name}.",
        markup=False,
    )
    return OK


def status(config, args, out: Console) -> int:
    runner = Runner(config)
    classes = runner.select(args.channel)
    from syndicate.channels import is_email

    table = Table(title="Syndication status", show_lines=False)
    for column in ("post", "date", "channel", "state", "remote", "attempts", "last attempt"):
        table.add_column(column, overflow="fold")
    baselined = 0
    rows = 0
    failed = False
    for entry in reversed(runner.entries()):
        if args.post and entry.slug != args.post:
            continue
        for name, cls in classes.items():
            item = runner.ledger.get(entry.id, name)
            if item.get("baseline") and not args.post:
                baselined += 1
                continue
            state = item.get("state") or "pending"
            reason = skip_reason(entry, name, is_email(cls))
            if reason and state != "sent":
                state = f"skipped ({reason})"
            if state == "pending" and not item:
                state = "pending (new)"
            failed = failed or state == "failed"
            remote = item.get("remote_url") or item.get("remote_id") or ""
            if item.get("baseline"):
                remote = "(baseline: never sent by syndicate)"
            if state == "failed" and item.get("error"):
                remote = item["error"]
            table.add_row(
                entry.slug,
                entry.date.strftime("%Y-%m-%d"),
                name,
                state,
                config.redact(remote),
                str(item.get("attempts", "")),
                item.get("last_attempt", ""),
            )
            rows += 1
    if rows:
        out.print(table)
    else:
        out.print("No posts to show.")
    if baselined:
        out.print(f"{baselined} item(s) marked sent by --baseline are not listed.")
    for why in runner.plan(classes, only_post=args.post).refused.values():
        out.print(f"A run would refuse: {why}", markup=False)
    for name, why in runner.unavailable.items():
        out.print(f"{name}: {why}", markup=False)
    return FAILED if failed else OK


def check(config, args, out: Console) -> int:
    runner = Runner(config)
    classes = runner.select(args.channel)
    configured = runner.configured(classes)
    for name, cls in classes.items():
        if name not in configured:
            missing = ", ".join(runner.missing_env(cls))
            out.print(f"-    {name}: not configured (set {missing})", markup=False)
    for name, why in runner.unavailable.items():
        out.print(f"-    {name}: {why}", markup=False)
    if not configured:
        out.print("No channel is configured: a run would be a dry run.")
        return OK
    ok = _print_checks(runner, runner.instantiate(configured), out)
    return OK if ok else NOT_STARTED


def summary(report: Report, out: Console, config) -> None:
    if not report.outcomes:
        return
    table = Table(title="Dry run" if report.dry_run else "Syndication summary")
    for column in ("post", "channel", "result", "where / why"):
        table.add_column(column, overflow="fold")
    for o in report.outcomes:
        where = o.remote_url or o.remote_id or o.detail
        table.add_row(o.slug, o.channel, o.state, config.redact(where))
    out.print(table)
    counts: dict[str, int] = {}
    for o in report.outcomes:
        counts[o.state] = counts.get(o.state, 0) + 1
    out.print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())), markup=False)


if __name__ == "__main__":
    sys.exit(main())
