// Package metrics keeps MessageBridge's Prometheus metrics and serves them at /metrics.
package metrics

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/messagebridge/messagebridge/queue"
)

// queueDepthTimeout bounds the database read a scrape makes.
const queueDepthTimeout = 2 * time.Second

// depthSource labels scrape errors of the queue-depth read.
const depthSource = "queue_depth"

// Source is what the scrape reads live.
type Source interface {
	// QueueDepth counts queue items by status.
	QueueDepth(ctx context.Context) (map[string]int, error)
	// Paces is each gateway's send rate in force (queue.Loop.Paces).
	Paces() []queue.GatewayPace
}

// Metrics holds the program's metrics in a registry of its own.
type Metrics struct {
	log      *slog.Logger
	reg      *prometheus.Registry
	sends    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	webhooks *prometheus.CounterVec
	imported prometheus.Counter
	serve    http.Handler
}

// New returns the metrics, reading queue depth and gateway rates from src
// at each scrape.
func New(src Source, log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "metrics")
	m := &Metrics{
		log: log,
		reg: prometheus.NewRegistry(),
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "messagebridge_sends_total",
			Help: "Send attempts that reached a gateway, by gateway and outcome (" + sendOutcomes() + ").",
		}, []string{"gateway", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "messagebridge_send_duration_seconds",
			Help: "How long a gateway took to answer a send, by gateway.",
			// A provider's API answers within a second or two; a send
			// is cut off after 30s (queue.Config.SendTimeout).
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"gateway"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "messagebridge_webhook_events_total",
			Help: "Webhook requests from providers, by provider and HTTP status class of the answer.",
		}, []string{"provider", "status"}),
		imported: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "messagebridge_imported_rows_total",
			Help: "Contact rows added to campaigns by imports.",
		}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.sends, m.duration, m.webhooks, m.imported,
		newLiveCollector(src, log),
	)
	m.serve = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg,
	})
	return m
}

// ObserveSend counts one send attempt through gateway with its outcome and
// records how long the gateway took.
func (m *Metrics) ObserveSend(gateway string, outcome queue.Outcome, latency time.Duration) {
	m.sends.WithLabelValues(gateway, outcome.String()).Inc()
	m.duration.WithLabelValues(gateway).Observe(latency.Seconds())
}

// sendOutcomes lists the outcome label's values for the help text.
func sendOutcomes() string {
	var names []string
	for _, o := range queue.SendOutcomes() {
		names = append(names, o.String())
	}
	return strings.Join(names, ", ")
}

// ObserveWebhook counts one webhook request from provider by the class of
// the status it was answered with ("2xx", "4xx", …; "other" outside
// 100-599).
func (m *Metrics) ObserveWebhook(provider string, status int) {
	m.webhooks.WithLabelValues(provider, statusClass(status)).Inc()
}

// ObserveImport counts contact rows an import added.
func (m *Metrics) ObserveImport(rows int) {
	if rows > 0 {
		m.imported.Add(float64(rows))
	}
}

// WrapWebhook returns h counting each request's answer with ObserveWebhook
// under provider. A handler that panics counts as a 500 (the panic goes
// on up).
func (m *Metrics) WrapWebhook(provider string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				m.ObserveWebhook(provider, http.StatusInternalServerError)
				panic(p)
			}
			m.ObserveWebhook(provider, sw.code())
		}()
		h.ServeHTTP(sw, r)
	})
}

// Handler serves the metrics in Prometheus' text format to loopback
// clients, judged by the connection's address (never X-Forwarded-For),
// and, when token returns a non-empty token, to anyone presenting it as
// "Authorization: Bearer <token>". Others get 401 with WWW-Authenticate
// when a token is configured, 403 otherwise. token is read at each
// request, so a changed setting takes effect at once; nil means none.
func (m *Metrics) Handler(token func() string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isLoopback(r.RemoteAddr) {
			m.serve.ServeHTTP(w, r)
			return
		}
		want := ""
		if token != nil {
			want = token()
		}
		if want == "" {
			m.log.Debug("metrics refused: not a loopback client and no token is configured", "remote", r.RemoteAddr)
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		got, presented := bearer(r.Header.Get("Authorization"))
		if presented && sameSecret(got, want) {
			m.serve.ServeHTTP(w, r)
			return
		}
		challenge := `Bearer realm="messagebridge metrics"`
		if presented {
			challenge += `, error="invalid_token"`
		}
		m.log.Debug("metrics refused: missing or wrong bearer token", "remote", r.RemoteAddr, "presented", presented)
		w.Header().Set("WWW-Authenticate", challenge)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	})
}

// isLoopback reports whether a connection's remote address (host:port) is
// in 127.0.0.0/8 or ::1 (an IPv4-mapped IPv6 form counts).
func isLoopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return ip.Unmap().IsLoopback()
}

// bearer returns the token of an "Authorization: Bearer <token>" header
// (the scheme in any case) and whether there was one.
func bearer(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// sameSecret compares in constant time; hashing first keeps the length of
// the expected token from showing either.
func sameSecret(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// statusClass is "2xx" for 200-299 and so on; "other" outside 100-599.
func statusClass(status int) string {
	switch {
	case status >= 100 && status < 200:
		return "1xx"
	case status >= 200 && status < 300:
		return "2xx"
	case status >= 300 && status < 400:
		return "3xx"
	case status >= 400 && status < 500:
		return "4xx"
	case status >= 500 && status < 600:
		return "5xx"
	}
	return "other"
}

// statusWriter remembers the final status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets handlers that flush keep doing so through the wrapper.
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController the writer underneath.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// code is the status answered: 200 when the handler wrote nothing, as
// net/http then sends.
func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// liveCollector reads the queue depth and the gateways' rates at scrape
// time. A failed read is counted and logged, and its metric left out of
// that scrape; the rest of the scrape goes on.
type liveCollector struct {
	src    Source
	log    *slog.Logger
	items  *prometheus.Desc
	rate   *prometheus.Desc
	errors *prometheus.CounterVec
}

func newLiveCollector(src Source, log *slog.Logger) *liveCollector {
	c := &liveCollector{
		src: src,
		log: log,
		items: prometheus.NewDesc("messagebridge_queue_items",
			"Queue items by status, read from the database at scrape time.", []string{"status"}, nil),
		rate: prometheus.NewDesc("messagebridge_gateway_rate_per_second",
			"Each paced gateway's send rate in force: its configured rate, lowered while the provider answers with rate limits. A gateway without a limit is absent.",
			[]string{"gateway"}, nil),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "messagebridge_scrape_errors_total",
			Help: "Reads made at scrape time that failed, by what was read; the metric read is left out of that scrape.",
		}, []string{"source"}),
	}
	c.errors.WithLabelValues(depthSource) // present at 0 from the start
	return c
}

// Describe implements prometheus.Collector.
func (c *liveCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.items
	ch <- c.rate
	c.errors.Describe(ch)
}

// Collect implements prometheus.Collector.
func (c *liveCollector) Collect(ch chan<- prometheus.Metric) {
	if c.src != nil {
		c.collectDepth(ch)
		for _, p := range c.src.Paces() {
			if p.Rate > 0 { // 0: unlimited, not stopped
				ch <- prometheus.MustNewConstMetric(c.rate, prometheus.GaugeValue, p.Rate, p.Gateway)
			}
		}
	}
	c.errors.Collect(ch)
}

func (c *liveCollector) collectDepth(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), queueDepthTimeout)
	defer cancel()
	depth, err := c.src.QueueDepth(ctx)
	if err != nil {
		c.errors.WithLabelValues(depthSource).Inc()
		c.log.Warn("metrics: queue depth not read; left out of this scrape", "err", err)
		return
	}
	for status, n := range depth {
		ch <- prometheus.MustNewConstMetric(c.items, prometheus.GaugeValue, float64(n), status)
	}
}
