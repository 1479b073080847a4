#!/usr/bin/env bash
# One-time set-up on a fresh machine: system packages for the tests, the pinned Node.js, npm packages from the
# lockfile (installed by npm running on that Node.js), then dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
bash scripts/with-node.sh npm ci
bash scripts/with-node.sh npm run synth
