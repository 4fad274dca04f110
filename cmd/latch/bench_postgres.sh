#!/usr/bin/env bash
# bench_postgres.sh: refresh rotations per second, and CPU per refresh, of
# latch serve on SQLite, then on PostgreSQL with one node and with two
# nodes sharing one database (BENCHMARKS.md, "Several nodes on PostgreSQL").
#
# Usage: bash cmd/latch/bench_postgres.sh   (from anywhere in the repository)
# Environment:
#   LATCH_TEST_POSTGRES_DSN  the PostgreSQL database, a postgres:// URL with
#                            a query (default: .ci/run's); a schema of its
#                            own is created for each run and dropped after
#   DURATION                 of each measured run (default 15s)
#   CONCURRENCY              latchload workers per node (default 8)
#   LATCH_BIN                a latch binary to measure instead of one built
#                            from this tree, for before/after runs of two
#                            builds under the same latchload
#
# Each node gets 64 accounts (latchload -signup, outside the measured
# window) and its own latchload; with two nodes both run at once and their
# throughputs add up. latchload -pid reports each node's CPU; the CPU of
# the PostgreSQL backends serving the nodes (application_name latchbench)
# is read from /proc before and after the run. Everything runs on
# 127.0.0.1; the servers are stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE=${LATCH_TEST_POSTGRES_DSN:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
DURATION=${DURATION:-15s}
CONCURRENCY=${CONCURRENCY:-8}
W=$(mktemp -d)
PIDS=()
SCHEMA=
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	if [[ -n $SCHEMA ]]; then psql "$BASE" -qc "SET client_min_messages = warning; DROP SCHEMA IF EXISTS $SCHEMA CASCADE" || true; fi
	rm -rf "$W"
}
trap cleanup EXIT

if [[ -n ${LATCH_BIN:-} ]]; then
	cp "$LATCH_BIN" "$W/latch"
else
	go build -o "$W/latch" ./cmd/latch
fi
go build -o "$W/latchload" ./cmd/latchload
echo "nproc $(nproc); $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); $(psql "$BASE" -Atc 'SHOW server_version')"
echo "load avg before: $(cut -d' ' -f1-3 /proc/loadavg)"

# start PORT VAR=VALUE...: a node on 127.0.0.1:PORT; its pid in PID.
start() {
	local port=$1
	shift
	if curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null; then echo "port $port is in use" >&2; exit 1; fi
	env "$@" LATCH_LOG_LEVEL=warn LATCH_DRAIN_PERIOD=0s "$W/latch" serve --allow-signup --signup-limit 1000000 \
		--addr "127.0.0.1:$port" --issuer http://latch.bench 2>>"$W/server.log" &
	PID=$!
	PIDS+=("$PID")
	for _ in $(seq 100); do
		curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && return
		sleep 0.1
	done
	echo "the node on $port did not become ready:" >&2
	cat "$W/server.log" >&2
	exit 1
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }
accounts() { "$W/latchload" -url "http://127.0.0.1:$1" -scenario login -signup -users 64 -email-prefix "$2" -c 8 -n 1 >/dev/null 2>&1; }

# pgsnap: "pid ticks" of every backend of the nodes.
pgsnap() {
	local p
	for p in $(psql "$BASE" -Atc "SELECT pid FROM pg_stat_activity WHERE application_name = 'latchbench'"); do
		echo "$p $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)"
	done
}

# measure LABEL PORT PID PREFIX [PORT PID PREFIX]...: one latchload per node, at once.
measure() {
	local label=$1 i=0 loads=()
	shift
	pgsnap >"$W/pg0"
	while (($#)); do
		"$W/latchload" -url "http://127.0.0.1:$1" -pid "$2" -scenario refresh -c "$CONCURRENCY" -d "$DURATION" \
			-users 64 -email-prefix "$3" >"$W/out.$i" 2>/dev/null &
		loads+=($!)
		shift 3
		i=$((i + 1))
	done
	wait "${loads[@]}"
	pgsnap >"$W/pg1"
	echo
	echo "== $label"
	cat "$W"/out.*
	rm "$W"/out.*
	awk -v s="$(getconf CLK_TCK)" 'NR == FNR {b[$1] = $2; next} {t += $2 - b[$1]} END {printf "postgres backends cpu: %.1fs\n", t / s}' "$W/pg0" "$W/pg1"
}

DATA=$(mktemp -d -p "$W")
start 18101 LATCH_DATA="$DATA"
accounts 18101 s
measure "SQLite, 1 node" 18101 "$PID" s
stop "$PID"

for n in 1 2; do
	SCHEMA=latchbench_${n}_$RANDOM
	psql "$BASE" -qc "CREATE SCHEMA $SCHEMA"
	URL="$BASE&search_path=$SCHEMA&application_name=latchbench"
	KEY=$(openssl rand -hex 32)
	LATCH_DATABASE_URL=$URL "$W/latch" migrate >/dev/null
	nodes=()
	for i in $(seq "$n"); do
		start $((18200 + i)) LATCH_DATABASE_URL="$URL" LATCH_MASTER_KEY="$KEY"
		accounts $((18200 + i)) "n$i"
		nodes+=($((18200 + i)) "$PID" "n$i")
	done
	measure "PostgreSQL, $n node(s)" "${nodes[@]}"
	for ((i = 1; i < ${#nodes[@]}; i += 3)); do stop "${nodes[i]}"; done
	psql "$BASE" -qc "SET client_min_messages = warning; DROP SCHEMA $SCHEMA CASCADE"
	SCHEMA=
done
echo
echo "load avg after: $(cut -d' ' -f1-3 /proc/loadavg)"
