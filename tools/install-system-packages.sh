#!/usr/bin/env bash
# Debian packages the conformance tests run for real (servers and Prometheus tools).
# Installs only what is missing; needs root (or sudo) the first time.
set -euo pipefail

declare -A needs=(
  [redis-server]=redis-server
  [prometheus-redis-exporter]=prometheus-redis-exporter
  [promtool]=prometheus
  [amtool]=prometheus-alertmanager
  [pg_ctlcluster]=postgresql
)
missing=()
for binary in "${!needs[@]}"; do
  command -v "$binary" >/dev/null 2>&1 || missing+=("${needs[$binary]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing Debian packages: ${missing[*]}"
$sudo apt-get update -qq
# Installing must not start the packaged daemons: the tests start their own on loopback. A policy the
# machine already has is put back afterwards.
policy=/usr/sbin/policy-rc.d
[ -e "$policy" ] && $sudo mv "$policy" "$policy.ai-platform-saved"
printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
$sudo chmod +x "$policy"
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
$sudo rm -f "$policy"
[ -e "$policy.ai-platform-saved" ] && $sudo mv "$policy.ai-platform-saved" "$policy"
exit 0
