#!/usr/bin/env bash
# Runs each argument as a command, all at once, and fails if any failed (after all have finished): the static checks
# (tsc, eslint) are single-threaded, so on two cores they take the time of the slower one.
#
#   bash scripts/parallel.sh 'npm run -s typecheck' 'npm run -s lint'
set -uo pipefail
pids=()
for command in "$@"; do
  bash -c "$command" &
  pids+=("$!")
done
status=0
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then
    echo "failed: ${*:$((i + 1)):1}" >&2
    status=1
  fi
done
exit "$status"
