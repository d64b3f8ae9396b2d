#!/usr/bin/env bash
# post-receive: publish every push to @BRANCH@. Installed by `invoke install-hook`;
# re-run that task to change the values below rather than editing them here.
#
# Scheduled posts: run `hooks/post-receive --scheduled` from cron (hourly, say).
#
# For a push to @BRANCH@: take a lock (two pushes never publish at once), bring the
# server's work tree to the pushed commit, `invoke publish` there (build with
# publishconf.py, deploy atomically into the web root, syndicate what is new), then
# commit the syndication ledger and push that commit back into this repository, so the
# writer gets it with `git pull`. Everything printed here reaches the pusher as
# "remote: ..." lines. A failure leaves the previous site live and says why.
set -uo pipefail

WORK_TREE=@WORK_TREE@
WEB_ROOT=@WEB_ROOT@
PYTHON=@PYTHON@  # empty: the work tree's own .venv, set up like `make build`
BRANCH=@BRANCH@
KEEP_RELEASES=@KEEP@
PUBLISH_ARGS=(@PUBLISH_ARGS@)  # --no-syndicate: deploy only
LEDGER_PATHS=(data/ledger.json data/post-ids.json data/replies)
ZERO=0000000000000000000000000000000000000000

# The hook pushes the ledger commit back into this repository: that push is not a publish.
if [ -n "${PUBLISH_HOOK_ACTIVE:-}" ]; then
  cat >/dev/null
  exit 0
fi

SCHEDULED=no
if [ "${1:-}" = "--scheduled" ]; then
  SCHEDULED=yes
  # Run from cron to publish posts whose date has now passed: same lock, same path.
  REPO=$(cd "${GIT_DIR:-$(dirname "$0")/..}" && pwd -P)
else
  pushed=no
  while read -r _old new ref; do
    if [ "$ref" = "refs/heads/$BRANCH" ] && [ "$new" != "$ZERO" ]; then
      pushed=yes
    fi
  done
  if [ "$pushed" = no ]; then
    echo "publish: no push to $BRANCH; nothing to publish"
    exit 0
  fi
  REPO=$(cd "${GIT_DIR:-.}" && pwd -P)
fi
# Git sets these for the bare repository; the work tree is a repository of its own.
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_PREFIX GIT_QUARANTINE_PATH
export PYTHONUNBUFFERED=1

say() { printf 'publish: %s\n' "$*"; }
fail() {
  printf 'publish: FAILED: %s\n' "$*" >&2
  exit 1
}
live() { basename "$(readlink "$WEB_ROOT" 2>/dev/null || echo none)"; }

exec 9>"$REPO/publish.lock"
if ! flock -n 9; then
  say "another push is publishing; waiting for it to finish"
  flock 9
fi

git_id=()
if [ -z "$(git config user.email || true)" ]; then
  git_id=(-c "user.name=publish hook" -c "user.email=publish@$(hostname -f 2>/dev/null || hostname)")
fi

# Move the work tree to the tip of $BRANCH, replaying only the ledger commits an
# earlier run could not push back (so nothing it recorded is ever lost, and a
# force-pushed branch is taken as it is).
sync_work_tree() {
  local base
  base=$(git rev-parse -q --verify "refs/remotes/origin/$BRANCH") || base=""
  git fetch -q origin "$BRANCH" || return 1
  if [ -z "$base" ]; then
    git reset -q --hard FETCH_HEAD
    return
  fi
  if ! git rebase -q --onto FETCH_HEAD "$base" >/dev/null; then
    git rebase --abort >/dev/null 2>&1
    printf 'publish: the ledger in %s conflicts with the pushed one; resolve it there\n' \
      "$WORK_TREE" >&2
    return 1
  fi
}

commit_ledger() {
  local present=() path
  for path in "${LEDGER_PATHS[@]}"; do
    [ -e "$path" ] && present+=("$path")
  done
  [ ${#present[@]} -eq 0 ] && return 0
  git add -- "${present[@]}" || return 1
  git diff --cached --quiet -- "${present[@]}" && return 0
  git "${git_id[@]}" commit -q -m "Record syndication ledger [skip ci]" -- "${present[@]}" \
    || return 1
  say "committed the ledger: $(git log -1 --format='%h %s')"
}

push_back() {
  local attempt
  [ -z "$(git log --oneline "origin/$BRANCH..HEAD" 2>/dev/null)" ] && return 0
  for attempt in 1 2 3; do
    if PUBLISH_HOOK_ACTIVE=1 git push -q origin "HEAD:$BRANCH" 2>/dev/null; then
      say "pushed the ledger commit to $BRANCH: run 'git pull' before your next push"
      return 0
    fi
    sync_work_tree || break
  done
  say "could not push the ledger commit back; it stays in $WORK_TREE for the next push"
  return 1
}

if [ ! -d "$WORK_TREE/.git" ]; then
  say "cloning into $WORK_TREE"
  git clone -q --branch "$BRANCH" "$REPO" "$WORK_TREE" || fail "cannot clone into $WORK_TREE"
fi
cd "$WORK_TREE" || fail "cannot enter $WORK_TREE"
# A ledger an interrupted run left uncommitted is committed before anything else.
commit_ledger || fail "cannot commit the ledger left in $WORK_TREE"
git reset -q --hard HEAD  # anything else a build changed is derived: drop it
sync_work_tree || fail "cannot bring $WORK_TREE up to $BRANCH"

if [ -z "$PYTHON" ]; then
  say "installing dependencies into $WORK_TREE/.venv"
  make -s .venv/.installed-site || fail "installing the dependencies failed (see above)"
  PYTHON="$WORK_TREE/.venv/bin/python"
fi

# Scheduled runs first bring readers' replies home, so the build shows them.
if [ "$SCHEDULED" = yes ] && "$PYTHON" -m invoke --list 2>/dev/null | grep -qw "fetch-replies"; then
  "$PYTHON" -m invoke fetch-replies || say "fetch-replies failed; publishing anyway"
fi

before=$(live)
say "publishing $(git log -1 --format='%h %s') into $WEB_ROOT"
DEPLOY=dir DEPLOY_DIR="$WEB_ROOT" DEPLOY_KEEP_RELEASES="$KEEP_RELEASES" \
  "$PYTHON" -m invoke publish "${PUBLISH_ARGS[@]}"
status=$?

# Whatever happened, what the run recorded goes into git (the build may have
# registered new post IDs; syndication may have sent some items before failing).
commit_ledger || say "could not commit the ledger; it stays in $WORK_TREE"
push_back

if [ "$status" -ne 0 ]; then
  if [ "$(live)" = "$before" ]; then
    say "$WEB_ROOT still serves the previous site (release $before)" >&2
  else
    say "the new site is live (release $(live)), but syndication did not finish" >&2
  fi
  fail "invoke publish exited with $status (see above); fix it and push again"
fi
say "done: $WEB_ROOT serves release $(live)"
