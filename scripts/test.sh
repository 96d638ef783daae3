#!/usr/bin/env bash
# The one test command (README, CI): every test, on SQLite and PostgreSQL.
# PostgreSQL must be reachable at MEDIMEET_TEST_PG_URL
# (default postgres://postgres@127.0.0.1:5432/postgres): its tests fail, never skip.
set -euo pipefail
cd "$(dirname "$0")/.."

# Unit, property, integration (both backends), CLI and benchmark-smoke tests.
cargo test --all-targets --locked

# The API against its own OpenAPI document, fuzzed, on both backends.
scripts/api-fuzz.sh target/debug/medimeet

# The test databases are dropped by the tests themselves; prove it.
if command -v psql >/dev/null 2>&1; then
    url="${MEDIMEET_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
    left=$(psql "$url" -Atc "SELECT count(*) FROM pg_database WHERE datname LIKE 'medimeet_test_%'")
    if [ "$left" != "0" ]; then
        echo "error: $left test databases were left behind" >&2
        exit 1
    fi
fi

# The web pages in a real browser: the debug binary, Debian's headless
# Chromium driven by playwright-core, axe-core for accessibility
# (tests/browser/*.test.mjs; .ci/run installs chromium). One file at a time:
# each starts its own server and browser on this two-core machine.
if [ ! -d node_modules ]; then
    npm ci --no-audit --no-fund
fi
cargo build --locked --bin medimeet
node --test --test-concurrency=1 tests/browser/
