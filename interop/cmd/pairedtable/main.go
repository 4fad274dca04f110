// Command pairedtable turns the output of interop's paired benchmarks
// with several sides (BenchmarkNestedPaired, BenchmarkDPoPProofPaired,
// BenchmarkTokenOptionsPaired: see pairedLoop) into markdown tables for
// BENCHMARKS.md, without benchstat:
//
//	go test -run '^$' -bench 'Benchmark(Nested|DPoPProof|TokenOptions)Paired$' -count 5 | go run ./cmd/pairedtable
//
// For each benchmark it prints the median time of every side (the
// metrics <name>-ns/op) and the median of every ratio (<name>/<first>),
// with its range over the runs.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: go test -bench 'Paired$' | pairedtable")
		os.Exit(2)
	}
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "pairedtable: error: %v\n", err)
		os.Exit(1)
	}
}

// bench is one paired benchmark's metrics over the runs, by unit, in
// the order they first appear.
type bench struct {
	units  []string
	values map[string][]float64
}

func run(r io.Reader, w io.Writer) error {
	var names []string
	benches := map[string]*bench{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || !strings.Contains(f[0], "Paired/") {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		b := benches[name]
		if b == nil {
			b = &bench{values: map[string][]float64{}}
			benches[name] = b
			names = append(names, name)
		}
		for i := 2; i+1 < len(f); i += 2 {
			unit := f[i+1]
			if unit == "ns/op" || (!strings.HasSuffix(unit, "-ns/op") && strings.HasSuffix(unit, "/op")) {
				continue
			}
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return fmt.Errorf("%s: value %q: %v", f[0], f[i], err)
			}
			if _, ok := b.values[unit]; !ok {
				b.units = append(b.units, unit)
			}
			b.values[unit] = append(b.values[unit], v)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(names) == 0 {
		return fmt.Errorf("no Benchmark<Op>Paired/<case> lines on stdin")
	}
	for _, name := range names {
		write(w, strings.TrimPrefix(name, "Benchmark"), benches[name])
	}
	return nil
}

// write prints one benchmark: a row per side, with its median time and
// its median ratio to the reference side (the one no ratio is over).
func write(w io.Writer, name string, b *bench) {
	var sides []string
	ratios := map[string]string{} // side -> its ratio unit
	for _, u := range b.units {
		if side, ok := strings.CutSuffix(u, "-ns/op"); ok {
			sides = append(sides, side)
		} else if side, _, ok := strings.Cut(u, "/"); ok {
			ratios[side] = u
		}
	}
	ref := ""
	for _, s := range sides {
		if _, ok := ratios[s]; !ok {
			ref = s
		}
	}
	fmt.Fprintf(w, "### %s (median of %d runs)\n\n| side | time/op | / %s | range of / %s |\n|---|--:|--:|--:|\n", name, runs(b), ref, ref)
	if ref != "" {
		sides = append([]string{ref}, slices.DeleteFunc(sides, func(s string) bool { return s == ref })...)
	}
	for _, s := range sides {
		t := duration(median(b.values[s+"-ns/op"]))
		u, ok := ratios[s]
		if !ok {
			fmt.Fprintf(w, "| %s | %s | 1 | – |\n", s, t)
			continue
		}
		xs := b.values[u]
		fmt.Fprintf(w, "| %s | %s | %.2f× | %.2f – %.2f |\n", s, t, median(xs), slices.Min(xs), slices.Max(xs))
	}
	fmt.Fprintln(w)
}

func runs(b *bench) int {
	n := 0
	for _, xs := range b.values {
		n = max(n, len(xs))
	}
	return n
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func duration(ns float64) string {
	return time.Duration(ns).Round(100 * time.Nanosecond).String()
}
