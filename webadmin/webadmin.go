// Package webadmin serves MessageBridge's HTTP surface: the admin page, the
// providers' webhooks, health and metrics. New returns one http.Handler with
// every route listed in routes().
package webadmin

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// Pinger reports whether the database answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps are what the HTTP surface needs from the rest of the program.
type Deps struct {
	DB     Pinger
	Logger *slog.Logger
	// HealthTimeout bounds the database check of /healthz (default 2s).
	HealthTimeout time.Duration
	// Webhooks are the providers' delivery-receipt endpoints by gateway
	// name, served at /webhooks/{name}.
	Webhooks map[string]http.Handler
	// Media serves the signed, expiring links of the local media folder
	// at /media/<token>; nil when media are kept elsewhere (S3).
	Media http.Handler
}

type server struct {
	deps Deps
	log  *slog.Logger
}

// New returns the HTTP handler.
func New(deps Deps) http.Handler {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.HealthTimeout <= 0 {
		deps.HealthTimeout = 2 * time.Second
	}
	s := &server{deps: deps, log: deps.Logger.With("component", "webadmin")}
	return s.routes()
}

func (s *server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Get("/healthz", s.healthz)
	r.Route("/webhooks", func(r chi.Router) {
		for name, h := range s.deps.Webhooks {
			r.Handle("/"+name, h)
		}
	})
	if s.deps.Media != nil {
		r.Handle("/media/*", s.deps.Media)
	}
	return r
}

// healthz answers 200 while the database answers and 503 otherwise. The
// body says which; the cause goes to the log, not to the caller.
func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.deps.HealthTimeout)
	defer cancel()
	status, code := map[string]string{"status": "ok", "database": "ok"}, http.StatusOK
	if err := s.deps.DB.Ping(ctx); err != nil {
		s.log.Warn("health check: database does not answer", "err", err)
		status, code = map[string]string{"status": "unavailable", "database": "unreachable"}, http.StatusServiceUnavailable
	}
	writeJSON(w, code, status)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
