#!/usr/bin/env bash
# Runs each argument as a command, all at once, and fails if any failed (after all have finished): the static checks
# and the browser tests are each mostly single-threaded, so on two cores they take about the time of the slower one.
#
#   bash scripts/parallel.sh 'npm run -s checks' 'npm run -s test:smoke'
set -uo pipefail
pids=()
# stopped (Ctrl-C, a CI timeout): stop the commands too, rather than leave them running
trap 'kill "${pids[@]}" 2>/dev/null; exit 143' INT TERM
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
