package webadmin_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/webadmin"
)

type pingFunc func(ctx context.Context) error

func (f pingFunc) Ping(ctx context.Context) error { return f(ctx) }

func TestHealthz(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		ping     error
		wantCode int
		wantDB   string
	}{
		{"database answers", nil, http.StatusOK, "ok"},
		{"database down", errors.New("dial tcp 10.0.0.9:3306: secret-host refused"), http.StatusServiceUnavailable, "unreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := webadmin.New(webadmin.Deps{DB: pingFunc(func(context.Context) error { return tc.ping })})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
			if rec.Code != tc.wantCode {
				t.Fatalf("code = %d, want %d", rec.Code, tc.wantCode)
			}
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if body["database"] != tc.wantDB {
				t.Fatalf("body = %v, want database=%s", body, tc.wantDB)
			}
			if strings.Contains(rec.Body.String(), "secret-host") || strings.Contains(rec.Body.String(), "10.0.0.9") {
				t.Fatalf("health body leaks the error: %s", rec.Body)
			}
		})
	}
}

// Each provider's webhook handler is reachable at /webhooks/{name}.
func TestWebhooksAreMounted(t *testing.T) {
	t.Parallel()
	hit := map[string]string{}
	mk := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit[name] = r.Method })
	}
	h := webadmin.New(webadmin.Deps{DB: pingFunc(func(context.Context) error { return nil }),
		Webhooks: map[string]http.Handler{"meta": mk("meta"), "whapi": mk("whapi")}})
	for _, tc := range []struct{ method, path, want string }{
		{http.MethodGet, "/webhooks/meta", "meta"}, {http.MethodPost, "/webhooks/whapi", "whapi"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if hit[tc.want] != tc.method {
			t.Errorf("%s %s did not reach the %s handler", tc.method, tc.path, tc.want)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/webhooks/unknown", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("unknown webhook: %d", rec.Code)
	}
}

// The media handler, when given, serves /media/<token>; without one the
// path is not found.
func TestMediaLinksAreMounted(t *testing.T) {
	t.Parallel()
	ok := pingFunc(func(context.Context) error { return nil })
	media := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("token " + r.URL.Path)) })
	for _, tc := range []struct {
		deps webadmin.Deps
		code int
		body string
	}{
		{webadmin.Deps{DB: ok, Media: media}, http.StatusOK, "token /media/abc"},
		{webadmin.Deps{DB: ok}, http.StatusNotFound, ""},
	} {
		rec := httptest.NewRecorder()
		webadmin.New(tc.deps).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/media/abc", nil))
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.body) {
			t.Fatalf("GET /media/abc: %d %q, want %d %q", rec.Code, rec.Body, tc.code, tc.body)
		}
	}
}

// Webhook bodies are bounded in size and in how many are read at once.
func TestWebhookBodiesAreBounded(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var inside atomic.Int64
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("block") != "" {
			inside.Add(1)
			<-release
		}
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	h := webadmin.New(webadmin.Deps{DB: pingFunc(func(context.Context) error { return nil }), Webhooks: map[string]http.Handler{"meta": slow}})
	srv := httptest.NewServer(h)
	defer srv.Close()

	res, err := http.Post(srv.URL+"/webhooks/meta", "application/json", strings.NewReader(strings.Repeat("x", 2<<20)))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("a 2 MB webhook body: %d, want it cut off (413)", res.StatusCode)
	}

	// Hold every slot and the whole backlog, then one more is turned away
	// at once instead of waiting in memory.
	var wg sync.WaitGroup
	for i := 0; i < 32+256; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := http.Post(srv.URL+"/webhooks/meta?block=1", "application/json", strings.NewReader("{}"))
			if err == nil {
				res.Body.Close()
			}
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for inside.Load() < 32 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d webhooks got in", inside.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the rest queue up in the backlog
	if n := inside.Load(); n != 32 {
		t.Fatalf("%d webhook bodies read at once, want at most 32", n)
	}
	res, err = http.Post(srv.URL+"/webhooks/meta?block=1", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests && res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a webhook beyond the backlog: %d, want 429 or 503", res.StatusCode)
	}
	close(release)
	wg.Wait()
}
