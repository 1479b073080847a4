#!/usr/bin/env bash
# One-time set-up on a fresh machine: system packages for the tests, npm packages from the lockfile, then dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
npm ci
npm run synth
