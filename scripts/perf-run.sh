#!/usr/bin/env bash
# The load runs behind the figures in docs/PERFORMANCE.md, in one command:
#
#   scripts/perf-run.sh [sqlite|postgres|crash|big|big-pg|all]   (default: sqlite postgres)
#
# Builds the release binaries, seeds fresh databases under $PERF_DIR (default
# /tmp/medimeet-perf) and in the local PostgreSQL (databases perf_*; dropped
# at the end), and runs medimeet-load. Every run ends with the tool's own
# database check and fails the script on a double booking or a lost
# confirmation. Needs the machine to itself: other work on the same cores
# changes every throughput figure.
set -euo pipefail
cd "$(dirname "$0")/.."

PERF_DIR=${PERF_DIR:-/tmp/medimeet-perf}
PG=${PG_URL:-postgres://postgres@127.0.0.1:5432}
DURATION=${DURATION:-10}
L=target/release/medimeet-load
S=target/release/medimeet
what=("$@")
[ ${#what[@]} -eq 0 ] && what=(sqlite postgres)
[ "${what[0]}" = all ] && what=(sqlite postgres crash big big-pg)

cargo build --release --locked --bins
mkdir -p "$PERF_DIR"

pg_fresh() { # name -> a fresh empty PostgreSQL database
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
}
pg_drop() { psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $1"; }
clinic() { # url: 200 doctors, 1,000 patients, 20,000 appointments
    "$L" seed --database-url "$1" --doctors 200 --patients 1000 --appointments 20000
}
sqlite_fresh() { rm -f "$PERF_DIR/$1".db*; echo "sqlite:$PERF_DIR/$1.db"; }
banner() { printf '\n===== %s =====\n' "$*"; }

run_backend() { # backend url-maker
    local b=$1 db
    banner "$b: free-slots reads, 64 clients"
    db=$($2 reads); clinic "$db"
    "$L" reads --spawn "$S" --database-url "$db" --clients 64 --duration "$DURATION" --no-baseline
    banner "$b: floors (HTTP only; one query)"
    "$L" reads --kind health --spawn "$S" --database-url "$db" --clients 64 --duration 5 --no-baseline
    "$L" reads --kind doctor --spawn "$S" --database-url "$db" --clients 64 --duration 5 --no-baseline
    banner "$b: my appointments, 64 seeded patients"
    "$L" reads --kind mine --seeded --spawn "$S" --database-url "$db" --clients 64 --duration "$DURATION" --no-baseline
    banner "$b: booking throughput with the raw commit baseline"
    db=$($2 book); clinic "$db"
    "$L" flow --mix book --spawn "$S" --database-url "$db" --clients 64 --duration "$DURATION" \
        --baseline-connections 1,16
    banner "$b: mixed flow"
    db=$($2 flow); clinic "$db"
    "$L" flow --spawn "$S" --database-url "$db" --clients 64 --duration "$DURATION" --no-baseline
    banner "$b: storm"
    db=$($2 storm); clinic "$db"
    "$L" storm --spawn "$S" --database-url "$db" --clients 64 --duration "$DURATION" --no-baseline
}

sqlite_url() { sqlite_fresh "$1"; }
pg_url() { pg_fresh "perf_$1"; echo "$PG/perf_$1"; }

for w in "${what[@]}"; do
    case $w in
    sqlite) run_backend sqlite sqlite_url ;;
    postgres)
        run_backend postgres pg_url
        banner "postgres: two instances on one database"
        db=$(pg_url two); clinic "$db"
        "$L" flow --mix book --spawn "$S" --instances 2 --database-url "$db" --clients 64 \
            --duration "$DURATION" --baseline-connections 1,16
        db=$(pg_url two); clinic "$db"
        "$L" storm --spawn "$S" --instances 2 --database-url "$db" --clients 64 \
            --duration "$DURATION" --no-baseline
        for n in reads book flow storm two; do pg_drop "perf_$n"; done
        ;;
    crash)
        banner "sqlite: kill -9 during a storm, 20 times"
        "$L" crash --binary "$S" --database-url "$(sqlite_fresh crash)" --iterations 20 --clients 32
        banner "postgres: kill -9 during a storm, 20 times"
        pg_fresh perf_crash
        "$L" crash --binary "$S" --database-url "$PG/perf_crash" --iterations 20 --clients 32
        pg_drop perf_crash
        ;;
    big | big-pg)
        for size in big small; do
            if [ $size = big ]; then args=(--doctors 10000 --patients 1000000 --appointments 10000000)
            else args=(--doctors 100 --patients 10000 --appointments 100000); fi
            banner "$w $size: ${args[*]}"
            if [ "$w" = big ]; then db=$(sqlite_fresh "$size"); else db=$(pg_url "$size"); fi
            "$L" seed --database-url "$db" "${args[@]}"
            "$L" explain --database-url "$db"
            "$L" reads --kind slots --spawn "$S" --database-url "$db" --clients 16 --duration "$DURATION" --no-baseline
            "$L" reads --kind mine --seeded --spawn "$S" --database-url "$db" --clients 16 --duration "$DURATION" --no-baseline
            if [ "$w" = big-pg ]; then pg_drop "perf_$size"; fi
        done
        ;;
    *) echo "unknown run: $w (sqlite, postgres, crash, big, big-pg or all)" >&2; exit 2 ;;
    esac
done
