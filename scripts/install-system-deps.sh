#!/usr/bin/env bash
# Installs the Debian packages the tests run for real: Prometheus 2.x (promtool and a server for the SLO gate tests),
# Alertmanager (amtool and a server for the alerting tests) and Chromium (the Playwright browser project). Skips what is already there; needs root or sudo otherwise.
set -euo pipefail
need=()
# each package by every program of it the tests run
{ command -v prometheus && command -v promtool; } >/dev/null 2>&1 || need+=(prometheus)
{ command -v prometheus-alertmanager && command -v amtool; } >/dev/null 2>&1 || need+=(prometheus-alertmanager)
# CHROMIUM_PATH names another browser binary (Ubuntu ships Chromium as a snap, which containers cannot run)
if [ -n "${CHROMIUM_PATH:-}" ]; then
  [ -x "$CHROMIUM_PATH" ] || { echo "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable file" >&2; exit 1; }
else
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
fi
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# without the recommended ones (prometheus recommends prometheus-node-exporter, a daemon the tests do not use)
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# the packages enable and start their services where systemd runs; the tests start their own on free ports
if [ -d /run/systemd/system ]; then
  for unit in prometheus prometheus-alertmanager; do
    $sudo systemctl disable --now "$unit" >/dev/null 2>&1 || true
  done
fi
