#!/usr/bin/env bash
# Retakes the README's screenshots (docs/screenshots/*.png) with
# scripts/screenshots.mjs: the real binary on a fresh demo clinic, Debian's
# headless Chromium (apt-get install -y chromium). A separate command, never
# part of scripts/test.sh: a test run leaves the work tree as it was.
# MEDIMEET_BIN picks the binary (default: target/debug/medimeet, built here).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ]; then
    npm ci --no-audit --no-fund
fi
if [ -z "${MEDIMEET_BIN:-}" ]; then
    cargo build --locked --bin medimeet
fi
node scripts/screenshots.mjs
