#!/usr/bin/env bash
# The one test command (README, CI): every test, on SQLite and PostgreSQL.
# PostgreSQL must be reachable at MEDIMEET_TEST_PG_URL
# (default postgres://postgres@127.0.0.1:5432/postgres): its tests fail, never skip.
set -euo pipefail
cd "$(dirname "$0")/.."

# First, in a second: docs, configs, scripts and comments name only files
# that exist (a moved or renamed file leaves no dangling reference behind).
scripts/check-refs.sh

# Unit, property, integration (both backends), CLI and benchmark-smoke tests.
cargo test --all-targets --locked

# The API against its own OpenAPI document, fuzzed, on both backends.
scripts/api-fuzz.sh target/debug/medimeet

# A client generated from that document (openapi-python-client, pinned) drives
# the booking flow through its typed functions and models, on both backends.
scripts/client-test.sh target/debug/medimeet

# The test databases are dropped by the tests themselves; prove it (here,
# and again after the browser tests).
no_test_databases_left() {
    if command -v psql >/dev/null 2>&1; then
        local url left
        url="${MEDIMEET_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
        left=$(psql "$url" -Atc "SELECT count(*) FROM pg_database WHERE datname LIKE 'medimeet_test_%'")
        if [ "$left" != "0" ]; then
            echo "error: $left test databases were left behind" >&2
            exit 1
        fi
    fi
}
no_test_databases_left

# The web pages in a real browser: the debug binary, Debian's headless
# Chromium driven by playwright-core, axe-core for accessibility
# (tests/browser/*.test.mjs; .ci/run installs chromium). One file at a time:
# each starts its own server and browser on this two-core machine. The video
# visit's files also need PostgreSQL at MEDIMEET_TEST_PG_URL (visit-multi: two
# instances on a database of its own, dropped at the end and checked after) and
# Debian's coturn (visit-turn starts `turnserver` on loopback; .ci/run installs it).
# The binary is the test build: `--features test-clock` lets the doctor's
# test move the server's clock (docs/decisions/0010-test-clock.md). Same
# target directory, so only this crate compiles again, not its dependencies;
# the `cargo build --bins` below puts the ordinary binary back.
if [ ! -d node_modules ]; then
    npm ci --no-audit --no-fund
fi
cargo build --locked --features test-clock --bin medimeet
node --test --test-concurrency=1 tests/browser/
no_test_databases_left

# Load, storm and crash smoke (issue 4, docs/PERFORMANCE.md): seconds-long runs
# of medimeet-load on both backends that assert correctness only (0 double
# bookings, 0 lost confirmations after kill -9), never speed. Each run exits
# non-zero on a violation; PostgreSQL being unreachable fails here too.
# The ordinary build (without the test clock) from here on.
cargo build --locked --bins
smoke_dir=$(mktemp -d)
smoke_admin_url="${MEDIMEET_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
smoke_db="medimeet_smoke_$$"
smoke_cleanup() {
    psql "$smoke_admin_url" -qc "DROP DATABASE IF EXISTS $smoke_db WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$smoke_dir"
}
trap smoke_cleanup EXIT
psql "$smoke_admin_url" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $smoke_db"
for db in "sqlite:$smoke_dir/smoke.db" "${smoke_admin_url%/*}/$smoke_db"; do
    echo "== load smoke on ${db%%:*}"
    target/debug/medimeet-load seed --database-url "$db" --doctors 6 --patients 50 --appointments 300
    target/debug/medimeet-load flow --spawn target/debug/medimeet --database-url "$db" \
        --clients 8 --duration 3 --requests 20000 --no-baseline
    target/debug/medimeet-load storm --spawn target/debug/medimeet --database-url "$db" \
        --clients 16 --duration 3 --requests 20000 --no-baseline
    target/debug/medimeet-load crash --binary target/debug/medimeet --database-url "$db" \
        --iterations 3 --clients 8
done
