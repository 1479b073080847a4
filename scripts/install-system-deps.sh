#!/usr/bin/env bash
# Installs the Debian packages the tests run for real: Prometheus 2.x (promtool and a server for the SLO gate tests),
# Alertmanager (amtool and a server for the alerting tests) and Chromium (the Playwright browser project). Skips what is already there; needs root or sudo otherwise.
set -euo pipefail
need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v amtool >/dev/null 2>&1 || need+=(prometheus-alertmanager)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${need[@]}" >/dev/null
# the Debian package may start a Prometheus service on :9090; the tests never use that port, so leave it alone
