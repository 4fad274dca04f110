package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/latch-auth/latch/internal/feed"
	"github.com/latch-auth/latch/internal/issuer"
	"github.com/latch-auth/latch/internal/oauth"
)

// Metrics are the server's Prometheus metrics, on a registry of their own
// (no global state).
type Metrics struct {
	reg       *prometheus.Registry
	logins    *prometheus.CounterVec
	refreshes *prometheus.CounterVec
	reuse     prometheus.Counter
	issued    prometheus.Counter
	revoked   *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	tokenSize *prometheus.HistogramVec
}

// NewMetrics registers latch's metrics and the Go runtime collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_logins_total", Help: "Password logins by outcome.",
		}, []string{"outcome"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_refreshes_total", Help: "Refresh-token exchanges by outcome.",
		}, []string{"outcome"}),
		reuse: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "latch_refresh_reuse_detected_total", Help: "Rotated refresh tokens used again; each revoked its session.",
		}),
		issued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "latch_access_tokens_issued_total", Help: "Access tokens signed.",
		}),
		revoked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_sessions_revoked_total", Help: "Sessions ended, by reason.",
		}, []string{"reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "latch_http_request_duration_seconds",
			Help:    "HTTP request latency by route and status code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "code"}),
		tokenSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "latch_token_size_bytes",
			Help: "Size of issued tokens in bytes, by kind: access, id. Browsers drop cookies over 4096 bytes; " +
				"issuing fails over --max-token-size.",
			Buckets: []float64{256, 512, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 12288, 16384},
		}, []string{"kind"}),
	}
	m.reg.MustRegister(m.logins, m.refreshes, m.reuse, m.issued, m.revoked, m.latency, m.tokenSize,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observeTokens records the sizes of the tokens a grant issued.
func (m *Metrics) observeTokens(t oauth.Tokens) {
	if t.AccessToken != "" {
		m.tokenSize.WithLabelValues(issuer.KindAccess).Observe(float64(len(t.AccessToken)))
	}
	if t.IDToken != "" {
		m.tokenSize.WithLabelValues(issuer.KindID).Observe(float64(len(t.IDToken)))
	}
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// registerFeed adds the revocation feed's metrics, read from the hub's
// Stats at each scrape.
func (m *Metrics) registerFeed(h *feed.Hub) error {
	return m.reg.Register(newFeedCollector(h))
}

// feedCollector exposes a feed.Hub's Stats.
type feedCollector struct {
	hub                                  *feed.Hub
	subscribers, sent, disconnects, head *prometheus.Desc
}

func newFeedCollector(h *feed.Hub) *feedCollector {
	return &feedCollector{
		hub: h,
		subscribers: prometheus.NewDesc("latch_feed_subscribers",
			"Open revocation feed streams.", nil, nil),
		sent: prometheus.NewDesc("latch_feed_events_sent_total",
			"Revocation events written to feed streams.", nil, nil),
		disconnects: prometheus.NewDesc("latch_feed_disconnects_total",
			"Feed streams ended, by reason: slow (cut off, its queue full), timeout (a write timed out), "+
				"client (the client went away), shutdown, error (a store failure).", []string{"reason"}, nil),
		head: prometheus.NewDesc("latch_feed_head_seq",
			"The highest revocation sequence number the feed has read from the store.", nil, nil),
	}
}

func (c *feedCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.subscribers
	ch <- c.sent
	ch <- c.disconnects
	ch <- c.head
}

func (c *feedCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.hub.Stats()
	ch <- prometheus.MustNewConstMetric(c.subscribers, prometheus.GaugeValue, float64(st.Subscribers))
	ch <- prometheus.MustNewConstMetric(c.sent, prometheus.CounterValue, float64(st.EventsSent))
	for reason, n := range st.Disconnects {
		ch <- prometheus.MustNewConstMetric(c.disconnects, prometheus.CounterValue, float64(n), reason)
	}
	ch <- prometheus.MustNewConstMetric(c.head, prometheus.GaugeValue, float64(st.Head))
}

// instrument records each request's latency under its route pattern (not
// its raw path, so IDs do not explode the label set).
func (m *Metrics) instrument(mux *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		_, route := mux.Handler(r)
		if route == "" {
			route = "unmatched"
		}
		if longLived[route] && sw.code == http.StatusOK {
			// A stream or a long poll lasts by design: its duration is no
			// latency (the feed metrics describe streams).
			return
		}
		m.latency.WithLabelValues(route, strconv.Itoa(sw.code)).Observe(time.Since(start).Seconds())
	})
}

// longLived are the routes whose successful requests last as long as the
// client or the wait wants, kept out of the latency histogram.
var longLived = map[string]bool{
	"GET /v1/revocations/stream": true,
	"POST /v1/revocations/poll":  true,
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	code    int
	written bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.written {
		w.code, w.written = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.written = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
