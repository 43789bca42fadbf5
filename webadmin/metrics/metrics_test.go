package metrics_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/webadmin/metrics"
)

// source is a metrics.Source with fixed answers; depthErr makes
// QueueDepth fail.
type source struct {
	depth    map[string]int
	depthErr error
	paces    []queue.GatewayPace
	calls    atomic.Int32
}

func (s *source) QueueDepth(ctx context.Context) (map[string]int, error) {
	s.calls.Add(1)
	if _, ok := ctx.Deadline(); !ok {
		return nil, errors.New("QueueDepth called without a deadline")
	}
	return s.depth, s.depthErr
}

func (s *source) Paces() []queue.GatewayPace { return s.paces }

func healthySource() *source {
	return &source{
		depth: map[string]int{"queued": 7, "processing": 2, "sent": 40},
		paces: []queue.GatewayPace{
			{Gateway: "meta", Rate: 37.5, Target: 50},
			{Gateway: "whapi", Rate: 0, Target: 0}, // unlimited: not a rate of 0
		},
	}
}

// scrape asks h for the metrics from remote with the Authorization header
// auth ("" for none) and returns the status and body.
func scrape(t *testing.T, h http.Handler, remote, auth string) (*http.Response, string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	r.RemoteAddr = remote
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	res := w.Result()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

func noToken() string { return "" }

func wantLines(t *testing.T, body string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(body, l) {
			t.Errorf("scrape lacks %q", l)
		}
	}
}

// After observations every family is in the scrape with the values
// observed, alongside the Go and process collectors.
func TestScrapeHasEveryFamily(t *testing.T) {
	t.Parallel()
	m := metrics.New(healthySource(), nil)
	m.ObserveSend("meta", queue.OutcomeSent, 300*time.Millisecond)
	m.ObserveSend("meta", queue.OutcomeSent, 2*time.Second)
	m.ObserveSend("meta", queue.OutcomeRateLimited, 40*time.Millisecond)
	m.ObserveWebhook("meta", http.StatusOK)
	m.ObserveWebhook("meta", http.StatusUnauthorized)
	m.ObserveImport(120)
	m.ObserveImport(5)

	res, body := scrape(t, m.Handler(noToken), "127.0.0.1:51234", "")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("content type %q, want Prometheus text", ct)
	}
	wantLines(t, body,
		`messagebridge_queue_items{status="queued"} 7`,
		`messagebridge_queue_items{status="processing"} 2`,
		`messagebridge_queue_items{status="sent"} 40`,
		`messagebridge_sends_total{gateway="meta",outcome="sent"} 2`,
		`messagebridge_sends_total{gateway="meta",outcome="rate_limited"} 1`,
		`messagebridge_send_duration_seconds_count{gateway="meta"} 3`,
		`messagebridge_send_duration_seconds_bucket{gateway="meta",le="0.5"} 2`,
		`messagebridge_send_duration_seconds_sum{gateway="meta"} 2.34`,
		`messagebridge_gateway_rate_per_second{gateway="meta"} 37.5`,
		`messagebridge_webhook_events_total{provider="meta",status="2xx"} 1`,
		`messagebridge_webhook_events_total{provider="meta",status="4xx"} 1`,
		`messagebridge_imported_rows_total 125`,
		`messagebridge_scrape_errors_total{source="queue_depth"} 0`,
		"go_goroutines ",
		"process_start_time_seconds ",
	)
	if strings.Contains(body, `gateway="whapi"`) {
		t.Errorf("an unlimited gateway was reported with a rate:\n%s", body)
	}
}

// Each instance has its own registry: two of them neither clash nor share
// counts.
func TestInstancesAreIndependent(t *testing.T) {
	t.Parallel()
	a, b := metrics.New(healthySource(), nil), metrics.New(healthySource(), nil)
	a.ObserveImport(3)
	_, body := scrape(t, b.Handler(noToken), "127.0.0.1:1", "")
	wantLines(t, body, "messagebridge_imported_rows_total 0")
}

// Who may scrape: loopback clients by their connection's address, others
// only with the configured bearer token.
func TestHandlerAccess(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-metrics-token"
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m := metrics.New(healthySource(), log)
	open := m.Handler(noToken)
	guarded := m.Handler(func() string { return secret })

	for _, tc := range []struct {
		name    string
		h       http.Handler
		remote  string
		auth    string
		forward string
		want    int
	}{
		{"loopback v4", open, "127.0.0.1:40000", "", "", http.StatusOK},
		{"loopback elsewhere in 127/8", open, "127.3.4.5:40000", "", "", http.StatusOK},
		{"loopback v6", open, "[::1]:40000", "", "", http.StatusOK},
		{"loopback v4-mapped", open, "[::ffff:127.0.0.1]:40000", "", "", http.StatusOK},
		{"remote, no token configured", open, "203.0.113.9:40000", "", "", http.StatusForbidden},
		{"remote claiming loopback by header", open, "203.0.113.9:40000", "", "127.0.0.1", http.StatusForbidden},
		{"remote, bearer sent but none configured", open, "203.0.113.9:40000", "Bearer " + secret, "", http.StatusForbidden},
		{"private address is not loopback", open, "10.0.0.5:40000", "", "", http.StatusForbidden},
		{"unparsable address", open, "localhost", "", "", http.StatusForbidden},
		{"loopback with a token configured", guarded, "127.0.0.1:40000", "", "", http.StatusOK},
		{"remote with the right bearer", guarded, "203.0.113.9:40000", "Bearer " + secret, "", http.StatusOK},
		{"remote with the scheme in lower case", guarded, "203.0.113.9:40000", "bearer " + secret, "", http.StatusOK},
		{"remote with a wrong bearer", guarded, "203.0.113.9:40000", "Bearer nope", "", http.StatusUnauthorized},
		{"remote with a prefix of the bearer", guarded, "203.0.113.9:40000", "Bearer " + secret[:5], "", http.StatusUnauthorized},
		{"remote with basic auth", guarded, "203.0.113.9:40000", "Basic " + secret, "", http.StatusUnauthorized},
		{"remote without credentials", guarded, "[2001:db8::1]:40000", "", "127.0.0.1", http.StatusUnauthorized},
	} {
		r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		r.RemoteAddr = tc.remote
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		if tc.forward != "" {
			r.Header.Set("X-Forwarded-For", tc.forward)
			r.Header.Set("X-Real-IP", tc.forward)
		}
		w := httptest.NewRecorder()
		tc.h.ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, w.Code, tc.want)
			continue
		}
		body := w.Body.String()
		if ok := strings.Contains(body, "messagebridge_queue_items"); ok != (tc.want == http.StatusOK) {
			t.Errorf("%s: metrics in the body = %v with status %d", tc.name, ok, w.Code)
		}
		challenge := w.Header().Get("WWW-Authenticate")
		if (tc.want == http.StatusUnauthorized) != strings.HasPrefix(challenge, "Bearer ") {
			t.Errorf("%s: WWW-Authenticate %q with status %d", tc.name, challenge, w.Code)
		}
	}
	if strings.Contains(logs.String(), secret) || strings.Contains(logs.String(), secret[:5]) {
		t.Errorf("the token reached the log:\n%s", logs.String())
	}
}

// A QueueDepth that fails leaves the queue gauge out and counts the
// error; everything else is still served.
func TestFailingQueueDepthKeepsTheScrape(t *testing.T) {
	t.Parallel()
	src := healthySource()
	src.depthErr = errors.New("database is away")
	m := metrics.New(src, nil)
	m.ObserveSend("meta", queue.OutcomeSent, time.Second)

	for i := 1; i <= 2; i++ {
		res, body := scrape(t, m.Handler(noToken), "127.0.0.1:1", "")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("scrape %d: status %d: %s", i, res.StatusCode, body)
		}
		if strings.Contains(body, "messagebridge_queue_items{") {
			t.Errorf("scrape %d reported queue items from a failed read", i)
		}
		wantLines(t, body,
			`messagebridge_scrape_errors_total{source="queue_depth"} `+strconv.Itoa(i),
			`messagebridge_sends_total{gateway="meta",outcome="sent"} 1`,
			`messagebridge_gateway_rate_per_second{gateway="meta"} 37.5`,
			"go_goroutines ",
		)
	}
	if n := src.calls.Load(); n != 2 {
		t.Errorf("QueueDepth called %d times for 2 scrapes", n)
	}
}

// WrapWebhook counts each answer by status class, including a handler
// that writes without a status (200) and one that panics (500).
func TestWrapWebhookCountsStatuses(t *testing.T) {
	t.Parallel()
	m := metrics.New(healthySource(), nil)
	mux := http.NewServeMux()
	mux.Handle("/ok", m.WrapWebhook("meta", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	})))
	mux.Handle("/silent", m.WrapWebhook("meta", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	mux.Handle("/bad", m.WrapWebhook("whapi", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad signature", http.StatusUnauthorized)
	})))
	mux.Handle("/boom", m.WrapWebhook("whapi", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	})))
	call := func(path string) int {
		w := httptest.NewRecorder()
		func() {
			defer func() { _ = recover() }()
			mux.ServeHTTP(w, httptest.NewRequest(http.MethodPost, path, strings.NewReader("{}")))
		}()
		return w.Code
	}
	for _, p := range []string{"/ok", "/ok", "/silent", "/bad", "/boom"} {
		call(p)
	}
	if code := call("/bad"); code != http.StatusUnauthorized {
		t.Fatalf("the wrapped handler's status was changed to %d", code)
	}
	_, body := scrape(t, m.Handler(noToken), "127.0.0.1:1", "")
	wantLines(t, body,
		`messagebridge_webhook_events_total{provider="meta",status="2xx"} 3`,
		`messagebridge_webhook_events_total{provider="whapi",status="4xx"} 2`,
		`messagebridge_webhook_events_total{provider="whapi",status="5xx"} 1`,
	)
}
