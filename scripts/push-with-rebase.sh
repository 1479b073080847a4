#!/usr/bin/env bash
# Pushes HEAD to origin/<branch>, rebasing on commits that landed meanwhile (promote.yml and deploy-canary.yml).
#
# dist/<env>/<chart>/manifest.yaml holds every service of an environment, and git merges it as text: a rebase can
# succeed and leave a dist/ that no synth makes of the rebased tree. So after each rebase, dist/ is re-synthesized and,
# when that changed it, committed before the next push. A rebase that conflicts is aborted and fails the run, naming
# the conflicting files; nothing is pushed, and the next run starts from the branch as it is then.
#
#   bash scripts/push-with-rebase.sh <branch>
set -uo pipefail

branch="${1:?usage: scripts/push-with-rebase.sh <branch>}"
for attempt in 1 2 3 4 5; do
  if git push --quiet origin "HEAD:$branch"; then exit 0; fi
  sleep $((attempt * 5))
  if ! git pull --rebase --quiet origin "$branch"; then
    conflicts="$(git diff --name-only --diff-filter=U | tr '\n' ' ')"
    git rebase --abort 2> /dev/null || true
    if [ -n "$conflicts" ]; then
      echo "::error::the commits do not rebase onto $branch: ${conflicts% }: changed there too; nothing was pushed"
    else
      echo "::error::git pull --rebase origin $branch failed (see above); nothing was pushed"
    fi
    exit 1
  fi
  if ! npm run -s synth; then
    echo "::error::synth failed after rebasing onto $branch; nothing was pushed"
    exit 1
  fi
  if [ -n "$(git status --porcelain -- dist)" ]; then
    git add --all -- dist
    git commit --quiet --message "dist: re-synthesize after rebasing onto $branch" -- dist
  fi
done
echo "::error::could not push to $branch in 5 attempts; nothing was pushed"
exit 1
