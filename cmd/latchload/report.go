package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// maxErrorRate is the failed share of requests above which the run fails.
const maxErrorRate = 0.01

// workerStats is what one worker measured; only that worker writes it.
type workerStats struct {
	ops           map[string]*opStats
	relogins      int
	reloginErrors int
	transportErr  string // the first, as an example
}

type opStats struct {
	samples  []time.Duration // latency of every request, in order
	errors   int
	statuses map[string]int
}

func newWorkerStats() *workerStats {
	return &workerStats{ops: make(map[string]*opStats)}
}

func (w *workerStats) record(op, key string, ok bool, lat time.Duration) {
	s := w.ops[op]
	if s == nil {
		s = &opStats{statuses: make(map[string]int)}
		w.ops[op] = s
	}
	s.samples = append(s.samples, lat)
	s.statuses[key]++
	if !ok {
		s.errors++
	}
}

// Latency holds latency percentiles in milliseconds.
type Latency struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// OpReport is the result for one operation (or all of them).
type OpReport struct {
	Requests   int            `json:"requests"`
	Errors     int            `json:"errors"`
	ErrorRate  float64        `json:"error_rate"`
	Throughput float64        `json:"throughput_rps"` // requests (ok or not) per second
	Goodput    float64        `json:"goodput_rps"`    // successful requests per second
	Statuses   map[string]int `json:"statuses"`       // status code, "transport" or "bad_response" -> count
	LatencyMS  Latency        `json:"latency_ms"`
}

// Report is the result of a run.
type Report struct {
	URL             string               `json:"url"`
	Scenario        string               `json:"scenario"`
	Concurrency     int                  `json:"concurrency"`
	DurationSeconds float64              `json:"duration_seconds"` // requested
	RequestLimit    int                  `json:"request_limit,omitempty"`
	ElapsedSeconds  float64              `json:"elapsed_seconds"` // measured window, until the last response
	Total           OpReport             `json:"total"`
	Ops             map[string]*OpReport `json:"ops"`
	Relogins        int                  `json:"relogins"` // unmeasured logins after a refused refresh
	ReloginErrors   int                  `json:"relogin_errors"`
	// TransportError is one of the errors counted as "transport", as an
	// example.
	TransportError string `json:"transport_error,omitempty"`
	// ClientCPUSeconds is the CPU time latchload itself used in the
	// measured window (user + system; 0 where unknown): on a shared
	// machine, that much was not available to the server.
	ClientCPUSeconds float64 `json:"client_cpu_seconds"`
	// Server is the server's CPU use in the measured window, with -pid.
	Server *ServerCPU `json:"server_cpu,omitempty"`
}

// ServerCPU is the server process's CPU use during the measured window.
type ServerCPU struct {
	Seconds float64 `json:"seconds"` // user + system
	Cores   float64 `json:"cores"`   // Seconds / elapsed
	// PerRequestMS is Seconds per measured request: the server's CPU
	// cost of one request, whatever else the machine is running.
	PerRequestMS float64 `json:"per_request_ms"`
	// PerCoreRPS is requests per server CPU second: the throughput one
	// dedicated core would sustain at this cost, if nothing else (locks,
	// I/O) limits it.
	PerCoreRPS float64 `json:"per_core_rps"`
}

func (r *Report) setServerCPU(d time.Duration) {
	s := &ServerCPU{Seconds: d.Seconds()}
	if r.ElapsedSeconds > 0 {
		s.Cores = s.Seconds / r.ElapsedSeconds
	}
	if n := r.Total.Requests; n > 0 && s.Seconds > 0 {
		s.PerRequestMS = 1000 * s.Seconds / float64(n)
		s.PerCoreRPS = float64(n) / s.Seconds
	}
	r.Server = s
}

func newReport(cfg Config, elapsed, cpu time.Duration, workers []*workerStats) *Report {
	rep := &Report{
		URL:              cfg.URL.String(),
		Scenario:         cfg.Scenario,
		Concurrency:      cfg.Concurrency,
		DurationSeconds:  cfg.Duration.Seconds(),
		RequestLimit:     cfg.Requests,
		ElapsedSeconds:   elapsed.Seconds(),
		Ops:              make(map[string]*OpReport),
		ClientCPUSeconds: cpu.Seconds(),
	}
	total := &opStats{statuses: make(map[string]int)}
	merged := make(map[string]*opStats)
	for _, w := range workers {
		rep.Relogins += w.relogins
		rep.ReloginErrors += w.reloginErrors
		if rep.TransportError == "" {
			rep.TransportError = w.transportErr
		}
		for op, s := range w.ops {
			m := merged[op]
			if m == nil {
				m = &opStats{statuses: make(map[string]int)}
				merged[op] = m
			}
			for _, into := range []*opStats{m, total} {
				into.samples = append(into.samples, s.samples...)
				into.errors += s.errors
				for k, n := range s.statuses {
					into.statuses[k] += n
				}
			}
		}
	}
	for op, m := range merged {
		rep.Ops[op] = summarize(m, elapsed)
	}
	rep.Total = *summarize(total, elapsed)
	return rep
}

func summarize(s *opStats, elapsed time.Duration) *OpReport {
	slices.Sort(s.samples)
	r := &OpReport{
		Requests: len(s.samples),
		Errors:   s.errors,
		Statuses: s.statuses,
		LatencyMS: Latency{
			Mean: ms(mean(s.samples)),
			P50:  ms(percentile(s.samples, 50)),
			P90:  ms(percentile(s.samples, 90)),
			P99:  ms(percentile(s.samples, 99)),
			Max:  ms(percentile(s.samples, 100)),
		},
	}
	if r.Requests > 0 {
		r.ErrorRate = float64(r.Errors) / float64(r.Requests)
	}
	if sec := elapsed.Seconds(); sec > 0 {
		r.Throughput = float64(r.Requests) / sec
		r.Goodput = float64(r.Requests-r.Errors) / sec
	}
	return r
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest sample such that at least p% of the
// samples are less than or equal to it. It returns 0 for no samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// The epsilon keeps float error (99.9/100*1000 = 999.0000000000001)
	// from moving the rank up by one.
	rank := int(math.Ceil(p/100*float64(len(sorted)) - 1e-9))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func mean(samples []time.Duration) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range samples {
		sum += d
	}
	return sum / time.Duration(len(samples))
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// Failure says why the run counts as failed, or returns "".
func (r *Report) Failure() string {
	switch {
	case r.Total.Requests == 0:
		return "no request was sent"
	case r.Total.ErrorRate > maxErrorRate:
		return fmt.Sprintf("%d of %d requests failed (%.2f%% > %.0f%%)",
			r.Total.Errors, r.Total.Requests, 100*r.Total.ErrorRate, 100*maxErrorRate)
	}
	return ""
}

// WriteTable writes the report as a small table.
func (r *Report) WriteTable(w io.Writer) {
	limit := ""
	if r.RequestLimit > 0 {
		limit = fmt.Sprintf(", n=%d", r.RequestLimit)
	}
	fmt.Fprintf(w, "%s  scenario=%s  c=%d  d=%s%s  elapsed=%.2fs  client_cpu=%.1fs (%.2f cores)\n",
		r.URL, r.Scenario, r.Concurrency, time.Duration(r.DurationSeconds*1e9), limit,
		r.ElapsedSeconds, r.ClientCPUSeconds, r.ClientCPUSeconds/max(r.ElapsedSeconds, 1e-9))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\trequests\terrors\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\tstatuses\t")
	row := func(name string, o *OpReport) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t\n", name, o.Requests, o.Errors,
			o.Throughput, o.LatencyMS.P50, o.LatencyMS.P90, o.LatencyMS.P99, o.LatencyMS.Max, statusList(o.Statuses))
	}
	ops := slices.Sorted(maps.Keys(r.Ops))
	for _, op := range ops {
		row(op, r.Ops[op])
	}
	if len(ops) != 1 {
		row("total", &r.Total)
	}
	tw.Flush()
	if s := r.Server; s != nil {
		fmt.Fprintf(w, "server cpu: %.1fs (%.2f cores), %.3f ms per request = %.0f req/s per server core\n",
			s.Seconds, s.Cores, s.PerRequestMS, s.PerCoreRPS)
	}
	if r.Relogins > 0 {
		fmt.Fprintf(w, "relogins (unmeasured): %d, failed: %d\n", r.Relogins, r.ReloginErrors)
	}
	if r.TransportError != "" {
		fmt.Fprintf(w, "transport error, e.g.: %s\n", r.TransportError)
	}
}

// WriteSweep writes one row per report of a concurrency sweep: the
// throughput, the server's CPU per request and cores used (with -pid),
// and the p50 and p99 latencies, of all operations together.
func WriteSweep(w io.Writer, reps []*Report) {
	fmt.Fprintf(w, "sweep: scenario=%s\n", reps[0].Scenario)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "c\treq/s\terrors\tserver ms/req\tserver cores\tp50 ms\tp99 ms\t")
	for _, r := range reps {
		msPer, cores := "-", "-"
		if s := r.Server; s != nil {
			msPer, cores = fmt.Sprintf("%.3f", s.PerRequestMS), fmt.Sprintf("%.2f", s.Cores)
		}
		fmt.Fprintf(tw, "%d\t%.1f\t%d\t%s\t%s\t%.2f\t%.2f\t\n", r.Concurrency, r.Total.Throughput, r.Total.Errors,
			msPer, cores, r.Total.LatencyMS.P50, r.Total.LatencyMS.P99)
	}
	tw.Flush()
}

func statusList(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, ",")
}
