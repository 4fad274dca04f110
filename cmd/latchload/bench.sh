#!/usr/bin/env bash
# bench.sh: build latch and latchload, start a throw-away latch server on a
# free loopback port, and measure it:
#
#   refresh               refresh rotations at c=1, 2, 4, 8, 16 (LEVELS)
#   me                    GET /v1/me with an access token at the same levels
#   login                 password logins at c=2, 4, 8
#   memory                1,000 concurrent logins (-c 1000 -n 1000), the
#                         server's VmRSS/VmHWM sampled every 100 ms; set
#                         LATCH_MEMORY_LIMIT (or GOMEMLIMIT) to measure the
#                         server under a memory limit (default: none)
#   client_credentials    OAuth 2.0 client credentials grants at c=1, 4, 8,
#                         for a client registered with `latch client add`
#
# Usage: bash cmd/latchload/bench.sh   (from anywhere in the repository)
# Environment:
#   SCENARIOS  which of the above to run, in that order
#              (default: "refresh me login memory client_credentials")
#   LEVELS     concurrencies of refresh and me (default "1 2 4 8 16")
#   DURATION   of each run (default 15s)
#   ROUNDS     runs per concurrency, interleaved: round 1 runs every c,
#              then round 2 ...; with more than one, a table of medians
#              over the rounds follows each scenario (default 1)
#   USERS      accounts of refresh, login and memory (default 64)
#   SCOPE      scope of the client, requested by every grant (default orders:read)
#   LATCH_BIN  a latch binary to measure instead of one built from this
#              tree, for before/after runs of two builds (the CLI steps of
#              client_credentials use it too)
# For example, the client credentials figures alone, 3 rounds of 10 s:
#   SCENARIOS=client_credentials ROUNDS=3 DURATION=10s bash cmd/latchload/bench.sh
#
# Everything runs on this machine against 127.0.0.1; the server's data
# directory is a fresh temporary directory, removed at the end. The server
# is killed on exit, however the script ends.
set -euo pipefail

cd "$(dirname "$0")/../.."
SCENARIOS_GIVEN=${SCENARIOS:+yes}
SCENARIOS=${SCENARIOS:-refresh me login memory client_credentials}
LEVELS=${LEVELS:-1 2 4 8 16}
DURATION=${DURATION:-15s}
ROUNDS=${ROUNDS:-1}
USERS=${USERS:-64}
SCOPE=${SCOPE:-orders:read}
for s in $SCENARIOS; do
	case $s in
	refresh | me | login | memory | client_credentials) ;;
	*) echo "bench.sh: unknown scenario $s in SCENARIOS" >&2; exit 2 ;;
	esac
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "bench.sh: ROUNDS must be a positive integer" >&2; exit 2; }
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
if [[ -n ${LATCH_BIN:-} ]]; then
	[[ -x $LATCH_BIN ]] || { echo "bench.sh: LATCH_BIN=$LATCH_BIN is not an executable" >&2; exit 2; }
	cp "$LATCH_BIN" "$WORK/latch"
	echo "latch:      $LATCH_BIN (LATCH_BIN)"
else
	go build -o "$WORK/latch" ./cmd/latch
fi
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
mkdir "$WORK/runs"
# load TAG ARGS...: one latchload run; -pid adds the server's CPU time in
# the measured window to the report, which is also kept in
# $WORK/runs/TAG.N for medians. A failed run (set-up, or over 1% errors)
# makes the script's status 1 but does not stop it.
RUN=0
load() {
	local tag=$1
	shift
	RUN=$((RUN + 1))
	echo
	echo "\$ latchload -url $URL -pid \$SERVER_PID $*"
	"$WORK/latchload" -url "$URL" -pid "$SERVER_PID" "$@" | tee "$WORK/runs/$tag.$RUN" || STATUS=1
	echo "load avg: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# medians OP C...: with more than one round, the median over the rounds of
# each concurrency's throughput, latencies and server CPU per request,
# from the reports of the runs tagged OP-cC.
medians() {
	local op=$1
	shift
	(( ROUNDS > 1 )) || return 0
	echo
	echo "-- $op: median of $ROUNDS rounds (min..max req/s)"
	printf '%4s  %10s  %18s  %8s  %8s  %16s\n' c "req/s" "min..max" "p50 ms" "p99 ms" "server ms/req"
	local c
	for c in "$@"; do
		cat "$WORK/runs/$op-c$c".* 2>/dev/null | awk -v op="$op" -v c="$c" '
			function median(a, n,   i, j, t) {
				for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
				return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
			}
			$1 == op && $2 ~ /^[0-9]+$/ { n++; rps[n] = $4; p50[n] = $5; p99[n] = $7 }
			/^server cpu:/ && match($0, /[0-9.]+ ms per request/) { m++; cpu[m] = substr($0, RSTART) + 0 }
			END {
				if (n == 0) { printf "%4s  (no report)\n", c; exit }
				min = max = rps[1]; for (i = 2; i <= n; i++) { if (rps[i] < min) min = rps[i]; if (rps[i] > max) max = rps[i] }
				printf "%4s  %10.1f  %18s  %8.2f  %8.2f  %16s\n", c, median(rps, n), sprintf("%.1f..%.1f", min, max),
					median(p50, n), median(p99, n), m ? sprintf("%.3f", median(cpu, m)) : "-"
			}'
	done
}

want() { [[ " $SCENARIOS " == *" $1 "* ]]; }

round_banner() {
	if (( ROUNDS > 1 )); then
		echo
		echo "-- round $1 of $ROUNDS"
	fi
}

# The accounts of refresh, login and memory: signed up once, outside any
# measured window, by the first of them that runs.
SIGNED_UP=no
accounts() {
	[[ $SIGNED_UP == no ]] || return 0
	SIGNED_UP=yes
	echo
	echo "(signing up the $USERS accounts: latchload -scenario login -signup -users $USERS -n 1, report not shown)"
	"$WORK/latchload" -url "$URL" -scenario login -signup -users "$USERS" -c 8 -n 1 >/dev/null || STATUS=1
}

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

rss_kib() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$SERVER_PID/status"; }

if want refresh; then
	accounts
	echo
	echo "== refresh rotations"
	for round in $(seq "$ROUNDS"); do
		round_banner "$round"
		for c in $LEVELS; do
			load "refresh-c$c" -scenario refresh -c "$c" -d "$DURATION" -users "$USERS"
		done
	done
	medians refresh $LEVELS
fi

if want me; then
	accounts
	echo
	echo "== GET /v1/me (access-token validation + session-active check)"
	for round in $(seq "$ROUNDS"); do
		round_banner "$round"
		for c in $LEVELS; do
			load "me-c$c" -scenario me -c "$c" -d "$DURATION" -users "$USERS"
		done
	done
	medians me $LEVELS
fi

if want login; then
	accounts
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
	hash_time

	echo
	echo "== password logins"
	for round in $(seq "$ROUNDS"); do
		round_banner "$round"
		for c in 2 4 8; do
			load "login-c$c" -scenario login -c "$c" -d "$DURATION" -users "$USERS"
		done
	done
	medians login 2 4 8
	echo
	echo "(hash time again, after the login runs)"
	hash_time
fi

if want memory; then
	accounts
	echo
	echo "== memory: 1,000 concurrent logins"
	echo "server memory limit: ${LATCH_MEMORY_LIMIT:-${GOMEMLIMIT:-none (LATCH_MEMORY_LIMIT and GOMEMLIMIT unset)}}"
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
	load memory -scenario login -c 1000 -n 1000 -d 300s -timeout 300s -users "$USERS" -shed-ok
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
fi

# register_client: registers a client_credentials client in the server's
# data directory with the CLI (which may run beside the server), and sets
# CLIENT_ID and the file CLIENT_SECRET_FILE (mode 0600, in $WORK). The
# secret is never printed: latchload reads it from the file.
CLIENT_ID=
CLIENT_SECRET_FILE=$WORK/client_secret
# output_field NAME: the value of NAME in the output of latch client add
# on stdin, JSON ("NAME": "value") or lines (NAME: value).
output_field() {
	sed -n -E 's/^.*"?'"$1"'"?[[:space:]]*:[[:space:]]*"?([^",[:space:]}]+).*$/\1/p' | head -n 1
}
register_client() {
	local out
	echo "\$ latch client add --data \$DATA --name latchload --grant-type client_credentials --scope $SCOPE"
	if ! out=$("$WORK/latch" client add --data "$DATA" --name latchload --grant-type client_credentials \
		--scope "$SCOPE" 2>"$WORK/client.err"); then
		echo "bench.sh: registering the client failed:" >&2
		cat "$WORK/client.err" >&2
		return 1
	fi
	CLIENT_ID=$(printf '%s\n' "$out" | output_field client_id)
	(umask 077 && printf '%s\n' "$out" | output_field client_secret >"$CLIENT_SECRET_FILE")
	if [[ -z $CLIENT_ID || ! -s $CLIENT_SECRET_FILE ]]; then
		echo "bench.sh: no client_id and client_secret in the output of latch client add" >&2
		return 1
	fi
	echo "client:     $CLIENT_ID (secret in a 0600 file in a temporary directory, not shown)"
}

if want client_credentials; then
	echo
	echo "== client credentials grants (POST /oauth2/token, client_secret_basic, scope $SCOPE)"
	# An unauthenticated POST answers 400 or 401 where the endpoint exists.
	code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$URL/oauth2/token" || true)
	# Without one, the scenario is skipped: a failure only if SCENARIOS
	# asked for it.
	if [[ $code == 404 || $code == 000 ]]; then
		echo "bench.sh: POST $URL/oauth2/token answers HTTP $code: this server has no token endpoint; skipped" >&2
		if [[ $SCENARIOS_GIVEN == yes ]]; then STATUS=1; fi
	elif ! register_client; then
		STATUS=1
	else
		for round in $(seq "$ROUNDS"); do
			round_banner "$round"
			for c in 1 4 8; do
				load "client_credentials-c$c" -scenario client_credentials -c "$c" -d "$DURATION" \
					-client-id "$CLIENT_ID" -client-secret-file "$CLIENT_SECRET_FILE" -scope "$SCOPE"
			done
		done
		medians client_credentials 1 4 8
	fi
fi

echo
echo "load avg:   $(cut -d' ' -f1-3 /proc/loadavg)   (after)"
if [[ -s $WORK/server.log ]]; then
	echo
	echo "== server warnings and errors"
	grep -v 'created master key' "$WORK/server.log" | head -20 || true
fi
exit "$STATUS"
