#!/usr/bin/env bash
# bench.sh: build latch and latchload, start a throw-away latch server on a
# free loopback port, and measure it:
#
#   refresh rotations at c=8, 32, 64        (15 s each)
#   password logins   at c=2, 4, 8          (15 s each)
#   memory: 1,000 concurrent logins (-c 1000 -n 1000), the server's
#           VmRSS/VmHWM sampled every 100 ms
#
# Usage: bash cmd/latchload/bench.sh   (from anywhere in the repository)
# Environment: DURATION (default 15s), USERS (default 64).
#
# Everything runs on this machine against 127.0.0.1; the server's data
# directory is a fresh temporary directory, removed at the end. The server
# is killed on exit, however the script ends.
set -euo pipefail

cd "$(dirname "$0")/../.."
DURATION=${DURATION:-15s}
USERS=${USERS:-64}
WORK=$(mktemp -d)
DATA=$(mktemp -d)
SERVER_PID=
SAMPLER_PID=

cleanup() {
	if [[ -n $SAMPLER_PID ]]; then kill "$SAMPLER_PID" 2>/dev/null || true; fi
	if [[ -n $SERVER_PID ]]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK" "$DATA"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1,000 client and 1,000 server sockets in the memory test.
if (( $(ulimit -n) < 4096 )); then ulimit -n 4096 2>/dev/null || true; fi

echo "== build"
go build -o "$WORK/latch" ./cmd/latch
go build -o "$WORK/latchload" ./cmd/latchload

# A free port: the first one nothing answers on.
PORT=
for _ in $(seq 50); do
	p=$((20000 + RANDOM % 20000))
	if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then PORT=$p; break; fi
done
[[ -n $PORT ]] || { echo "bench.sh: no free port found" >&2; exit 1; }
URL=http://127.0.0.1:$PORT

echo "== machine"
echo "nproc:      $(nproc)"
echo "cpu:        $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "go:         $(go version)"
echo "load avg:   $(cut -d' ' -f1-3 /proc/loadavg)   (before)"

"$WORK/latch" serve --allow-signup --signup-limit 1000000 --data "$DATA" --addr "127.0.0.1:$PORT" --log-level warn \
	2>"$WORK/server.log" &
SERVER_PID=$!
for i in $(seq 100); do
	if curl -fsS -o /dev/null "$URL/readyz" 2>/dev/null; then break; fi
	if ! kill -0 "$SERVER_PID" 2>/dev/null || (( i == 100 )); then
		echo "bench.sh: server did not become ready:" >&2
		cat "$WORK/server.log" >&2
		exit 1
	fi
	sleep 0.1
done
echo "server:     pid $SERVER_PID at $URL (data in a temporary directory)"

STATUS=0
# load ARGS...: one latchload run; -pid adds the server's CPU time in the
# measured window to the report. A failed run (set-up, or over 1% errors)
# makes the script's status 1 but does not stop it.
load() {
	echo
	echo "\$ latchload -url $URL -pid \$SERVER_PID $*"
	"$WORK/latchload" -url "$URL" -pid "$SERVER_PID" "$@" || STATUS=1
	echo "load avg: $(cut -d' ' -f1-3 /proc/loadavg)"
}

echo
echo "== refresh rotations (the first run signs up the $USERS accounts)"
first=(-signup)
for c in 8 32 64; do
	load -scenario refresh -c "$c" -d "$DURATION" -users "$USERS" "${first[@]}"
	first=()
done

echo
echo "== argon2id"
# The parameters of the hashes the server just stored (the PHC prefix
# only, never a hash), and its hash concurrency.
if command -v sqlite3 >/dev/null; then
	phc=$(sqlite3 -readonly "$DATA/latch.db" 'SELECT password_hash FROM users LIMIT 1' | cut -d'$' -f2-4)
	echo "stored hashes: \$$phc   (m in KiB)"
else
	echo "stored hashes: (sqlite3 not installed) defaults of internal/password: m=19456 KiB, t=2, p=1"
fi
echo "hash workers:  $(nproc)   (--hash-workers default 0 = runtime.NumCPU)"

# hash_time: the median of three runs of the password package's one-core
# benchmark, in ms; the login ceiling is nproc hashes per hash time.
hash_time() {
	echo "\$ go test ./internal/password -run '^\$' -bench BenchmarkHash -benchtime 20x -count 3"
	go test ./internal/password -run '^$' -bench BenchmarkHash -benchtime 20x -count 3 >"$WORK/hash.txt"
	grep '^BenchmarkHash' "$WORK/hash.txt"
	awk '/^BenchmarkHash/ {print $3}' "$WORK/hash.txt" | sort -n | awk -v n="$(nproc)" '
		{ v[NR] = $1 } END { ms = v[int((NR + 1) / 2)] / 1e6
		printf "hash time (median): %.2f ms  ->  login ceiling = %d / %.2f ms = %.1f logins/s\n", ms, n, ms, n * 1000 / ms }'
}
hash_time

echo
echo "== password logins"
for c in 2 4 8; do
	load -scenario login -c "$c" -d "$DURATION" -users "$USERS"
done
echo
echo "(hash time again, after the login runs)"
hash_time

echo
echo "== memory: 1,000 concurrent logins"
rss_kib() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$SERVER_PID/status"; }
echo "server VmRSS before: $(rss_kib VmRSS) KiB (VmHWM since start: $(rss_kib VmHWM) KiB)"
# Reset the peak-RSS counter (Linux >= 4.0) so VmHWM covers this test only.
if echo 5 >"/proc/$SERVER_PID/clear_refs" 2>/dev/null; then hwm_reset=yes; else hwm_reset=no; fi
(
	while kill -0 "$SERVER_PID" 2>/dev/null; do
		awk '$1 == "VmRSS:" || $1 == "VmHWM:" {printf "%s %s ", $1, $2} END {print ""}' "/proc/$SERVER_PID/status"
		sleep 0.1
	done
) >"$WORK/rss.samples" &
SAMPLER_PID=$!
# The burst is more than two hashing slots clear in latch's 10 s wait
# limit: the logins that wait longer are shed with 503 and Retry-After,
# which is the behaviour under test here, not a failure (-shed-ok).
load -scenario login -c 1000 -n 1000 -d 300s -timeout 300s -users "$USERS" -shed-ok
sleep 0.3
kill "$SAMPLER_PID" 2>/dev/null || true
wait "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=
awk -v reset="$hwm_reset" '
	{ for (i = 1; i < NF; i += 2) { if ($i == "VmRSS:" && $(i+1) > rss) rss = $(i+1); if ($i == "VmHWM:" && $(i+1) > hwm) hwm = $(i+1) } n++ }
	END {
		printf "server peak VmRSS (sampled every 100 ms, %d samples): %d KiB = %.1f MiB\n", n, rss, rss / 1024
		printf "server VmHWM (kernel peak, %s): %d KiB = %.1f MiB\n", reset == "yes" ? "reset before the test" : "since start, reset failed", hwm, hwm / 1024
	}' "$WORK/rss.samples"
echo "server VmRSS after: $(rss_kib VmRSS) KiB"

echo
echo "load avg:   $(cut -d' ' -f1-3 /proc/loadavg)   (after)"
if [[ -s $WORK/server.log ]]; then
	echo
	echo "== server warnings and errors"
	grep -v 'created master key' "$WORK/server.log" | head -20 || true
fi
exit "$STATUS"
