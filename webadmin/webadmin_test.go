package webadmin_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
