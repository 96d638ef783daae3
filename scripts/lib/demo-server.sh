# Sourced by scripts that test the real binary over HTTP on both backends
# (scripts/api-fuzz.sh, scripts/client-test.sh). The caller sets `bin` (the
# medimeet binary), `pg` (the PostgreSQL admin URL) and `name` (a short tag for
# its scratch database); this file gives it a scratch directory `$work`, a
# server that is always stopped and a PostgreSQL database that is always
# dropped on exit.

work=$(mktemp -d)
pgdb="medimeet_test_${name}_$$"
server=""
base=""

demo_server_cleanup() {
    stop_demo_server
    psql "$pg" -qc "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap demo_server_cleanup EXIT

# start_demo_server DATABASE_URL: `medimeet serve --demo` on a random port;
# sets `base` to its http://127.0.0.1:PORT address.
start_demo_server() {
    # The clients here are all 127.0.0.1 and sign up and book far more than
    # one address may (README, "Abuse limits"; tests/api/limits.rs tests them).
    MEDIMEET_LIMIT_SIGNUPS_PER_ADDRESS=off MEDIMEET_LIMIT_BOOKINGS_PER_ACCOUNT=off \
    MEDIMEET_LIMIT_BOOKINGS_PER_ADDRESS=off MEDIMEET_LIMIT_CHAT_PER_ADDRESS=off \
    MEDIMEET_LIMIT_CODES_PER_ACCOUNT=off MEDIMEET_LIMIT_CODES_PER_ADDRESS=off \
    "$bin" serve --demo --listen 127.0.0.1:0 --database-url "$1" >"$work/out" 2>"$work/err" &
    server=$!
    base=""
    for _ in $(seq 1 100); do
        base=$(grep -o 'running at http://[0-9.:]*' "$work/out" 2>/dev/null | sed 's/running at //' || true)
        [ -n "$base" ] && break
        sleep 0.2
    done
    [ -n "$base" ] || { echo "server did not start"; cat "$work/err"; exit 1; }
}

stop_demo_server() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    server=""
}

# on_both_backends FUNCTION: runs FUNCTION DATABASE_URL BACKEND on a fresh
# SQLite file, then on a fresh PostgreSQL database.
on_both_backends() {
    "$1" "sqlite:$work/$name.db" sqlite
    psql "$pg" -qc "CREATE DATABASE $pgdb"
    "$1" "${pg%/*}/$pgdb" postgres
}
