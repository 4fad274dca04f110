#!/bin/sh
# bench_dpop.sh runs the benchmarks of dpop_bench_test.go: nested
# JWT verification and DPoP proof checks, latch against go-jose v4 and
# jwx v3 in the same run, and the cost of each token option next to a
# plain ES256 token. It prints markdown for BENCHMARKS.md: the median
# time, B/op and allocs/op of each benchmark (cmd/benchtable), and the
# time ratios of the paired benchmarks (cmd/pairedtable), which run the
# sides in one loop and are the ones to quote on a noisy machine.
#
#	./bench_dpop.sh                  # -count 5 -benchtime 1s
#	COUNT=3 ./bench_dpop.sh
#
# The raw `go test` output is kept in $OUT (bench_dpop.txt by default).
set -eu
cd "$(dirname "$0")"
COUNT=${COUNT:-5}
BENCHTIME=${BENCHTIME:-1s}
OUT=${OUT:-bench_dpop.txt}
go test -run '^$' -bench '^Benchmark(Nested|DPoPProof|TokenOptions)(Paired)?$' -benchmem -count "$COUNT" -benchtime "$BENCHTIME" | tee "$OUT"
echo
grep -v 'Paired/' "$OUT" | go run ./cmd/benchtable
grep 'wire-B' "$OUT" | awk '{ for (i = 3; i < NF; i++) if ($(i+1) == "wire-B") print $1, $i, "bytes" }' | sed 's/-[0-9]* / /' | sort -u
echo
go run ./cmd/pairedtable < "$OUT"
