#!/usr/bin/env bash
# One tick of the SLO gate's loop in the cluster: the entry point of the canary-gate image (delivery/Dockerfile), which
# the canary-gate CronJob (lib/constructs/canary-gate.ts) runs every `delivery.intervalMinutes`.
#
#   1. clones REPO_URL at GIT_BRANCH into WORK_DIR (an emptyDir); git reads its credential from the mounted file, by a
#      credential helper (https) or ssh -i (ssh), so that it is never in a URL, an argument, the git config or the log;
#   2. links the image's node_modules into the checkout, if the checkout's package-lock.json is the image's;
#   3. runs `canary advance --all --env "$DEPLOY_ENV" --commit --push --json`, which decides for every canary in
#      flight and pushes the decisions.
#
# Exit status 0 when the gate decided (done 0, held 3, rolled back 4: the decision is in git and the log) or was
# superseded (2, the branch moved meanwhile: the next tick starts from it); 2 when services could not be gated (listed
# under "failed", beside a roll back too); any other failure of the CLI keeps its code (1 unexpected, 2 usage or
# configuration), and 1 for a failed clone or a lockfile the image was not built for.
#
# Environment: DEPLOY_ENV, REPO_URL, GIT_BRANCH; GIT_TOKEN_FILE (https), or GIT_SSH_KEY_FILE and GIT_KNOWN_HOSTS_FILE
# (ssh); WORK_DIR (default /work); GATE_IMAGE_DIR (default /opt/gate: the image's node_modules and lockfile);
# SIDECAR_READY_URL and SIDECAR_QUIT_URL, to wait for the pod's Istio sidecar and stop it when the tick ends. The
# PROMETHEUS_* variables, SMOKE_URLS, SMOKE_UNAVAILABLE and CANARY_WEBHOOK_URL are the CLI's. Sourced (as the tests do), it only defines functions.
set -euo pipefail

log() { printf 'gate-tick: %s\n' "$*" >&2; }
fail() {
  log "$*"
  exit 1
}

# Git's identity and how it authenticates to the repository at $1, in the global config ($HOME/.gitconfig), which
# holds no secret: the helper reads the token from GIT_TOKEN_FILE whenever git asks (cat's one argument is the path,
# printf is a shell builtin), and ssh reads the key itself.
configure_git() {
  local url="$1"
  git config --global user.name 'obs-canary gate'
  git config --global user.email 'canary-gate@obs-canary.invalid'
  case "$url" in
    https://*)
      [ -r "${GIT_TOKEN_FILE:-}" ] || fail "GIT_TOKEN_FILE must name a readable file with the token for $url (the Secret key of delivery.gitCredentials)"
      # shellcheck disable=SC2016 # expanded by the helper's shell when git runs it, not here
      git config --global credential.helper \
        '!f() { test "$1" = get || exit 0; echo username=x-access-token; printf "password=%s\n" "$(cat "$GIT_TOKEN_FILE")"; }; f'
      ;;
    ssh://* | *@*:*)
      [ -r "${GIT_SSH_KEY_FILE:-}" ] || fail "GIT_SSH_KEY_FILE must name a readable file with the private key for $url (the Secret key of delivery.gitCredentials)"
      [ -r "${GIT_KNOWN_HOSTS_FILE:-}" ] || fail "GIT_KNOWN_HOSTS_FILE must name a readable known_hosts file with the host keys of $url (host keys are never learnt on first use)"
      GIT_SSH_COMMAND="ssh -i $(printf %q "$GIT_SSH_KEY_FILE") -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$(printf %q "$GIT_KNOWN_HOSTS_FILE")"
      export GIT_SSH_COMMAND
      ;;
    *) fail "REPO_URL must be https://…, ssh://… or user@host:path, got $url" ;;
  esac
}

# Clones branch $2 of $1 into $3: every commit of the branch (the CLI compares and rebases on the remote's), the
# blobs of the checked-out tree only. The branch is checked out, so the CLI knows where to push.
clone_checkout() {
  local url="$1" branch="$2" dir="$3"
  rm -rf "$dir"
  git clone --quiet --filter=blob:none --single-branch --no-tags --branch "$branch" -- "$url" "$dir"
}

# Links the image's node_modules ($2) into the checkout ($1), which must have the image's lockfile: the CLI bundles
# the checkout's TypeScript with them at run time, and other packages could bundle into something else.
link_dependencies() {
  local checkout="$1" image_dir="$2" cache
  if ! cmp -s "$checkout/package-lock.json" "$image_dir/package-lock.json"; then
    fail "the checkout's package-lock.json is not the one this image was built with: the images workflow must build a gate image for this lockfile (delivery/Dockerfile), and lib/images.ts pin it (BUILT_IMAGES.canaryGate); nothing was decided"
  fi
  ln -s "$image_dir/node_modules" "$checkout/node_modules"
  # tools/run-bundled.cjs caches its bundle in node_modules/.cache: in the image, a link to a writable place
  if cache="$(readlink "$image_dir/node_modules/.cache")"; then mkdir -p "$cache"; fi
}

# Stops the pod's Istio sidecar, if it has one (SIDECAR_QUIT_URL, set when the gate runs smoke checks through the
# mesh): a Job's pod ends only once all its containers have. A tick that ends before the agent listens tries for a few
# seconds. Never fails the tick.
quit_sidecar() {
  [ -n "${SIDECAR_QUIT_URL:-}" ] || return 0
  node -e '
    const until = Date.now() + 10000;
    const quit = () => fetch(process.argv[1], { method: "POST", signal: AbortSignal.timeout(2000) }).then(
      () => undefined,
      e => (Date.now() < until ? new Promise(r => setTimeout(r, 500)).then(quit) : console.error(`gate-tick: the sidecar did not quit: ${e.message}`)));
    quit();' "$SIDECAR_QUIT_URL" || true
}

# Waits up to $1 seconds (default 15) for the pod's Istio sidecar, if it has one (SIDECAR_READY_URL): the smoke checks
# go through it. Not ready in time, the checks are not run this tick (SMOKE_URLS unset, and SMOKE_UNAVAILABLE says why
# in the decision's reason: their services hold, the others are decided as usual), rather than sent to a port nothing
# forwards yet.
await_sidecar() {
  local budget="${1:-15}" deadline
  [ -n "${SIDECAR_READY_URL:-}" ] || return 0
  deadline=$((SECONDS + budget))
  until node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(1000) }).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))' \
    "$SIDECAR_READY_URL"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "the sidecar is not ready after ${budget}s: smoke checks are not run this tick (their services hold)"
      unset SMOKE_URLS
      export SMOKE_UNAVAILABLE="the gate's sidecar was not ready within ${budget}s"
      return 0
    fi
    sleep 1
  done
}

# The tick's exit status for the CLI's status $1 and its output in file $2 (see the header); says why on stderr.
exit_status_of() {
  case "$1" in
    0) log 'done: advanced, promoted, finished a canary, or nothing in flight' && echo 0 ;;
    3) log 'held (recorded and pushed)' && echo 0 ;;
    4)
      # a roll back outranks services that could not be gated in the CLI's code: those still fail the tick, so that a
      # failed Job (and CanaryGateStalled) tells someone
      if node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); process.exit(r.failed?.length ? 0 : 1)' "$2" 2>/dev/null; then
        log 'rolled back (recorded and pushed), but the services listed under "failed" were not gated' && echo 2
      else
        log 'rolled back (recorded and pushed)' && echo 0
      fi
      ;;
    2)
      if grep -q '"superseded"' "$2"; then
        log 'superseded: the branch moved while deciding; the next tick decides from it' && echo 0
      else
        log 'usage or configuration error (exit 2): with --all, the services listed under "failed" were not gated (the others were decided and pushed)' && echo 2
      fi
      ;;
    *) log "canary advance failed (exit $1): nothing was decided" && echo "$1" ;;
  esac
}

main() {
  trap quit_sidecar EXIT
  : "${DEPLOY_ENV:?DEPLOY_ENV must name the environment to gate}"
  : "${REPO_URL:?REPO_URL must name the repository to clone and push to}"
  : "${GIT_BRANCH:?GIT_BRANCH must name the branch to clone and push to}"
  local work="${WORK_DIR:-/work}" checkout output status=0
  checkout="$work/repo"
  output="$work/canary-advance.json"
  export GIT_TERMINAL_PROMPT=0
  configure_git "$REPO_URL"
  clone_checkout "$REPO_URL" "$GIT_BRANCH" "$checkout" || fail "cloning $REPO_URL at $GIT_BRANCH failed (see above); nothing was decided"
  link_dependencies "$checkout" "${GATE_IMAGE_DIR:-/opt/gate}"
  cd "$checkout"
  await_sidecar
  node bin/canary.cjs advance --all --env "$DEPLOY_ENV" --commit --push --json > "$output" || status=$?
  cat "$output"
  exit "$(exit_status_of "$status" "$output")"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then main "$@"; fi
