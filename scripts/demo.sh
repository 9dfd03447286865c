#!/usr/bin/env bash
# `npm run demo`: the working demo on a fresh machine. Installs what is missing
# (npm packages; Debian packages when run as root, otherwise prints the exact
# apt-get line and exits 2), then starts the lab, seeds it, writes
# demo/mailbridge.yaml, runs `mailbridge check` and `mailbridge serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-debs
if [ ! -d node_modules/tsx ] || [ ! -d node_modules/better-sqlite3/build ]; then
  echo "npm packages: installing"
  npm ci --no-audit --no-fund
fi
exec node --import tsx scripts/demo.ts "$@"
