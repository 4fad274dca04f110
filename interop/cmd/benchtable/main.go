// Command benchtable turns `go test -bench` output into markdown tables
// for BENCHMARKS.md, without benchstat.
//
//	go test -run '^$' -bench . -benchmem -count 5 | go run ./cmd/benchtable
//
// Benchmarks must be named Benchmark<Op>/<alg>/<lib> (a -N GOMAXPROCS
// suffix is ignored). For each op it prints the median ns/op, B/op and
// allocs/op of every alg and lib, then the time ratios: each peer's time
// over the reference library's (above 1 means the reference is faster),
// and the reference's time over the floor's (its overhead over the bare
// primitive).
//
// Paired benchmarks, named Benchmark<Op>Paired/<alg> and reporting the
// custom metrics <ref>-ns/op, <floor>-ns/op and <ref>/<floor> (see
// interop's BenchmarkVerifyPaired), get a table of their own: the median
// ratio with its range over the runs, and the median times.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

func main() {
	ref := flag.String("ref", "latch", "the library the others are compared with")
	floor := flag.String("floor", "stdlib", "the bare-primitive baseline")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: go test -bench . -benchmem | benchtable [-ref latch] [-floor stdlib]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	res, err := parse(os.Stdin)
	if err == nil && len(res.ops) == 0 && len(res.pairedOps) == 0 {
		err = fmt.Errorf("no Benchmark<Op>/<alg>/<lib> or Benchmark<Op>Paired/<alg> lines on stdin")
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchtable: error: %v\n", err)
		os.Exit(1)
	}
	res.write(os.Stdout, *ref, *floor)
}

// sample is one benchmark's measurements across runs.
type sample struct {
	ns, bytes, allocs []float64
}

// pairedSample is one paired benchmark's measurements across runs: the
// ratio, and each side's time by library name.
type pairedSample struct {
	ratio []float64
	ns    map[string][]float64
}

// results keeps names in order of first appearance.
type results struct {
	ops, algs, libs []string
	runs            map[[3]string]*sample
	// pairedOps and pairedAlgs name the paired benchmarks, paired holds
	// their metrics by [op, alg].
	pairedOps, pairedAlgs []string
	paired                map[[2]string]*pairedSample
}

// parse reads benchmark lines such as
//
//	BenchmarkVerify/HS256/latch-2  70273  3356 ns/op  336 B/op  3 allocs/op
func parse(r io.Reader) (*results, error) {
	res := &results{runs: make(map[[3]string]*sample), paired: make(map[[2]string]*pairedSample)}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		parts := strings.Split(strings.TrimPrefix(name, "Benchmark"), "/")
		if len(parts) == 2 && strings.HasSuffix(parts[0], "Paired") {
			if err := res.addPaired(parts[0], parts[1], f); err != nil {
				return nil, err
			}
			continue
		}
		if len(parts) != 3 {
			continue
		}
		key := [3]string{parts[0], parts[1], parts[2]}
		s := res.runs[key]
		if s == nil {
			s = &sample{}
			res.runs[key] = s
			for i, list := range []*[]string{&res.ops, &res.algs, &res.libs} {
				if !slices.Contains(*list, key[i]) {
					*list = append(*list, key[i])
				}
			}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: value %q: %v", f[0], f[i], err)
			}
			switch f[i+1] {
			case "ns/op":
				s.ns = append(s.ns, v)
			case "B/op":
				s.bytes = append(s.bytes, v)
			case "allocs/op":
				s.allocs = append(s.allocs, v)
			}
		}
	}
	return res, sc.Err()
}

// addPaired records the metrics of a paired benchmark line f: a unit
// "<lib>-ns/op" is one side's time, "<a>/<b>" (other than a per-op unit
// such as B/op) the ratio.
func (res *results) addPaired(op, alg string, f []string) error {
	key := [2]string{op, alg}
	p := res.paired[key]
	if p == nil {
		p = &pairedSample{ns: make(map[string][]float64)}
		res.paired[key] = p
		if !slices.Contains(res.pairedOps, op) {
			res.pairedOps = append(res.pairedOps, op)
		}
		if !slices.Contains(res.pairedAlgs, alg) {
			res.pairedAlgs = append(res.pairedAlgs, alg)
		}
	}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return fmt.Errorf("%s: value %q: %v", f[0], f[i], err)
		}
		switch unit := f[i+1]; {
		case unit == "ns/op":
		case strings.HasSuffix(unit, "-ns/op"):
			lib := strings.TrimSuffix(unit, "-ns/op")
			p.ns[lib] = append(p.ns[lib], v)
		case strings.Contains(unit, "/") && !strings.HasSuffix(unit, "/op"):
			p.ratio = append(p.ratio, v)
		}
	}
	return nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// duration prints nanoseconds with three significant digits.
func duration(ns float64) string {
	// Thresholds where three significant digits round up to the next
	// unit: 999.6 µs prints as 1 ms, not 1e+03 µs.
	switch {
	case ns >= 999.5e3:
		return fmt.Sprintf("%.3g ms", ns/1e6)
	case ns >= 999.5:
		return fmt.Sprintf("%.3g µs", ns/1e3)
	}
	return fmt.Sprintf("%.3g ns", ns)
}

func (res *results) write(w io.Writer, ref, floor string) {
	for _, op := range res.ops {
		runs := 0
		for k, s := range res.runs {
			if k[0] == op {
				runs = max(runs, len(s.ns))
			}
		}
		fmt.Fprintf(w, "### %s (median of %d runs)\n\n", op, runs)
		fmt.Fprintf(w, "| alg | lib | time/op | B/op | allocs/op |\n|---|---|--:|--:|--:|\n")
		for _, alg := range res.algs {
			for _, lib := range res.libs {
				s := res.runs[[3]string{op, alg, lib}]
				if s == nil {
					continue
				}
				fmt.Fprintf(w, "| %s | %s | %s | %.0f | %.0f |\n", alg, lib, duration(median(s.ns)), median(s.bytes), median(s.allocs))
			}
		}

		var peers []string
		for _, lib := range res.libs {
			if lib != ref && lib != floor {
				peers = append(peers, lib)
			}
		}
		fmt.Fprintf(w, "\n%s time ratios: peer / %s (above 1: %s is faster); %s / %s (%s's cost over the bare primitive).\n\n", op, ref, ref, ref, floor, ref)
		fmt.Fprintf(w, "| alg |")
		for _, p := range peers {
			fmt.Fprintf(w, " %s / %s |", p, ref)
		}
		fmt.Fprintf(w, " %s / %s |\n|---|", ref, floor)
		fmt.Fprint(w, strings.Repeat("--:|", len(peers)+1), "\n")
		for _, alg := range res.algs {
			r := res.runs[[3]string{op, alg, ref}]
			if r == nil {
				continue
			}
			refNs := median(r.ns)
			fmt.Fprintf(w, "| %s |", alg)
			for _, lib := range append(peers, floor) {
				s := res.runs[[3]string{op, alg, lib}]
				switch {
				case s == nil || refNs == 0 || median(s.ns) == 0:
					fmt.Fprint(w, " – |")
				case lib == floor:
					fmt.Fprintf(w, " %.2f× |", refNs/median(s.ns))
				default:
					fmt.Fprintf(w, " %.2f× |", median(s.ns)/refNs)
				}
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w)
	}
	for _, op := range res.pairedOps {
		fmt.Fprintf(w, "### %s: %s / %s timed in one loop\n\n", op, ref, floor)
		fmt.Fprintf(w, "| alg | %s / %s, median | min – max | runs | %s time | %s time |\n|---|--:|--:|--:|--:|--:|\n", ref, floor, ref, floor)
		for _, alg := range res.pairedAlgs {
			p := res.paired[[2]string{op, alg}]
			if p == nil || len(p.ratio) == 0 {
				continue
			}
			fmt.Fprintf(w, "| %s | %.3f× | %.3f – %.3f | %d | %s | %s |\n", alg, median(p.ratio),
				slices.Min(p.ratio), slices.Max(p.ratio), len(p.ratio),
				duration(median(p.ns[ref])), duration(median(p.ns[floor])))
		}
		fmt.Fprintln(w)
	}
}
