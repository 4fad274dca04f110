#!/bin/sh
# bench.sh runs the interop benchmarks (bench_test.go) and prints median
# ns/op, B/op, allocs/op and the latch-vs-peer and latch-vs-stdlib time
# ratios as markdown (cmd/benchtable), ready for BENCHMARKS.md, and the
# paired latch/stdlib verify ratios (BenchmarkVerifyPaired), which are the
# ones to quote for latch's overhead over the primitive: separate
# benchmarks a few seconds apart differ by more than that overhead here.
#
#	./bench.sh                       # -count 5 -benchtime 1s
#	COUNT=3 ./bench.sh               # fewer runs
#	BENCH='Verify/(HS|ES)256' ./bench.sh
#
# The session-lookup comparison (store_bench_test.go) needs Redis and
# PostgreSQL and is run on its own:
#
#	go test -run '^$' -bench SessionCheck -benchmem -count 5
#
# The raw `go test` output is kept in $OUT (bench.txt by default) so it
# can be fed to benchstat as well.
set -eu
cd "$(dirname "$0")"
COUNT=${COUNT:-5}
BENCHTIME=${BENCHTIME:-1s}
BENCH=${BENCH:-'^(BenchmarkVerify|BenchmarkSign|BenchmarkVerifyPaired)$'}
OUT=${OUT:-bench.txt}
go test -run '^$' -bench "$BENCH" -benchmem -count "$COUNT" -benchtime "$BENCHTIME" | tee "$OUT"
echo
go run ./cmd/benchtable < "$OUT"
