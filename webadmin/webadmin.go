// Package webadmin serves MessageBridge's HTTP surface: the admin page
// under /admin/, the providers' webhooks, health and metrics. New returns
// one http.Handler whose whole route table is in routes.go. Each page is a
// thin form over the operations layer (package ops), which holds the
// rules the chat uses too.
package webadmin

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/httprate"

	"github.com/messagebridge/messagebridge/commands/ops"
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
	// Metrics serves /metrics; nil answers 404.
	Metrics http.Handler
	// Ops are the rules behind the admin page; nil serves no admin page.
	Ops *ops.Service
	// WhatsApp pairs and unlinks the WhatsApp session; nil when this
	// process has none.
	WhatsApp WhatsApp
	// SessionIdle logs an admin out after this long without a request
	// (default 30 minutes).
	SessionIdle time.Duration
	// LoginFailures is how many failed logins per minute an address or a
	// username may make before the next attempt gets 429 (default 5).
	LoginFailures int
	// TrustProxy takes the client's address from the last hop of
	// X-Forwarded-For, for a reverse proxy in front that sets it. Without
	// it every proxied request comes from the proxy's address.
	TrustProxy bool
	// PageTimeout bounds an admin page's request (default 30s; uploads
	// get ten times as long), so a hung database cannot hold requests.
	PageTimeout time.Duration
}

// loginWindow is the sliding window failed sign-ins are counted over.
const loginWindow = time.Minute

type server struct {
	deps Deps
	ops  *ops.Service
	log  *slog.Logger
	tmpl *templates
	// failures counts failed logins per client address and per username
	// over a sliding minute.
	failures *httprate.RateLimiter
}

// New returns the HTTP handler.
func New(deps Deps) http.Handler {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.HealthTimeout <= 0 {
		deps.HealthTimeout = 2 * time.Second
	}
	if deps.SessionIdle <= 0 {
		deps.SessionIdle = 30 * time.Minute
	}
	if deps.PageTimeout <= 0 {
		deps.PageTimeout = 30 * time.Second
	}
	if deps.LoginFailures <= 0 {
		deps.LoginFailures = 5
	}
	s := &server{
		deps:     deps,
		ops:      deps.Ops,
		log:      deps.Logger.With("component", "webadmin"),
		tmpl:     mustParseTemplates(),
		failures: newFailureLimiter(deps.LoginFailures, loginWindow),
	}
	return s.routes()
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
