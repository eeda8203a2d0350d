#!/usr/bin/env bash
# A USER's `logs` query (newest 21 entries) among 300,000 entries of another user's project, as
# listLogs ran it before migration 0006 (the visibility rule as joins) and as it runs now
# (logs.owner_id through its index). Needs the local PostgreSQL (trust auth); creates and drops a
# scratch database. Usage: bench/logs-query/run.sh [entries]
set -euo pipefail
cd "$(dirname "$0")/../.."
ENTRIES=${1:-300000}
DB=ai_code_bench_logs_query
PSQL=(psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -q -X)
"${PSQL[@]}" -d postgres -c "drop database if exists $DB" -c "create database $DB"
trap '"${PSQL[@]}" -d postgres -c "drop database if exists $DB"' EXIT
DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB" npx tsx scripts/migrate.ts >/dev/null
"${PSQL[@]}" -d "$DB" -v entries="$ENTRIES" -f bench/logs-query/setup.sql
for query in before after; do
  for run in 1 2 3 4 5; do
    printf '%s run %s: ' "$query" "$run"
    "${PSQL[@]}" -d "$DB" -At -f "bench/logs-query/$query.sql" | grep 'Execution Time'
  done
done
