#!/usr/bin/env bash
# A client generated from the served OpenAPI document must work: on SQLite and
# PostgreSQL, start the binary on a fresh database, fetch /api/v1/openapi.json,
# generate a Python client from it with openapi-python-client (pinned, from
# PyPI; any generator warning fails), and drive the booking flow through that
# client only (tests/client/booking_flow.py): register, log in, doctors, free
# slots, book, read back, list, a second patient's 409 slot_taken, reschedule,
# cancel.
# Usage: scripts/client-test.sh [path/to/medimeet]   (default target/debug/medimeet)
# The generator's venv is kept in target/client-test/venv (ignored by git) and
# rebuilt when the pinned version changes; python3 needs the venv module
# (Debian: python3-venv; .ci/run installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-target/debug/medimeet}"
pg="${MEDIMEET_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

# The generator and what its client needs at run time (httpx, attrs come with it).
generator='openapi-python-client==0.29.1'
venv="$PWD/target/client-test/venv"
if [ "$(cat "$venv/.pinned" 2>/dev/null)" != "$generator" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet "$generator"
    echo "$generator" >"$venv/.pinned"
fi
# The generator runs `ruff` on what it writes.
export PATH="$venv/bin:$PATH"

name=client
# shellcheck source=scripts/lib/demo-server.sh
source scripts/lib/demo-server.sh

run() {
    start_demo_server "$1"
    echo "== generated client on $2"
    curl -sSf "$base/api/v1/openapi.json" -o "$work/openapi.json"
    rm -rf "$work/client"
    mkdir "$work/client"
    if ! openapi-python-client generate --path "$work/openapi.json" \
        --output-path "$work/client/medimeet_client" --meta none --fail-on-warning \
        >"$work/generate.log" 2>&1; then
        cat "$work/generate.log"
        echo "error: openapi-python-client could not generate a client from $base/api/v1/openapi.json" >&2
        exit 1
    fi
    PYTHONPATH="$work/client" "$venv/bin/python" tests/client/booking_flow.py "$base"
    stop_demo_server
}

on_both_backends run
