package webadmin

import (
	"context"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// Webhook bounds: bodies read at once, requests waiting for a turn, how
// long one waits, and the largest body.
const (
	webhookConcurrency = 32
	webhookBacklog     = 256
	webhookBacklogWait = 10 * time.Second
	webhookMaxBody     = 1 << 20
)

// limitBody makes reading a request body beyond n bytes fail.
func limitBody(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Body = http.MaxBytesReader(w, r.Body, n)
			next.ServeHTTP(w, r)
		})
	}
}

// forwardedFor takes the client's address from the last hop of
// X-Forwarded-For, the one the proxy in front added.
func forwardedFor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			hops := strings.Split(xff, ",")
			if ip := net.ParseIP(strings.TrimSpace(hops[len(hops)-1])); ip != nil {
				r.RemoteAddr = net.JoinHostPort(ip.String(), "0")
			}
		}
		next.ServeHTTP(w, r)
	})
}

// pageTimeout gives each admin request a deadline: PageTimeout, ten times
// that for uploads.
func (s *server) pageTimeout(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := s.deps.PageTimeout
		if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
			d *= 10
		}
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// routes is the whole route table.
func (s *server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	if s.deps.TrustProxy {
		r.Use(forwardedFor)
	}
	r.Get("/healthz", s.healthz)
	r.Route("/webhooks", func(r chi.Router) {
		// Receipts are small and come in bursts: bound how many bodies are
		// read at once and how large each may be, so slow or huge posts
		// cannot hold the server's memory.
		r.Use(middleware.ThrottleBacklog(webhookConcurrency, webhookBacklog, webhookBacklogWait))
		r.Use(limitBody(webhookMaxBody))
		for name, h := range s.deps.Webhooks {
			r.Handle("/"+name, h)
		}
	})
	if s.deps.Media != nil {
		r.Handle("/media/*", s.deps.Media)
	}
	if s.deps.Metrics != nil {
		r.Handle("/metrics", s.deps.Metrics)
	}
	if s.ops == nil {
		return r
	}

	static, _ := fs.Sub(assets, "static")
	r.Handle("/admin/static/*", http.StripPrefix("/admin/static/", staticFiles(static)))

	// Every state change under /admin/ must come from the page itself:
	// a cross-origin form or fetch is refused with 403 (Go's
	// CrossOriginProtection reads Sec-Fetch-Site and Origin; clients
	// that send neither, such as curl, pass).
	r.Route("/admin", func(r chi.Router) {
		r.Use(http.NewCrossOriginProtection().Handler)
		r.Use(secureHeaders)
		r.Use(s.pageTimeout)

		r.Get("/login", s.loginPage)
		r.Post("/login", s.login)
		r.Get("/setup", s.setupPage)
		r.Post("/setup", s.setup)

		r.Group(func(r chi.Router) {
			r.Use(s.requireAdmin)
			r.Post("/logout", s.logout)

			r.Get("/", s.dashboard)
			r.Post("/queue/{id}/retry", s.queueRetry)
			r.Post("/queue/{id}/cancel", s.queueCancel)
			r.Post("/queue/{id}/phone", s.queuePhone)
			r.Post("/campaigns/{id}/{action}", s.campaignAction)

			r.Get("/gateways", s.gatewaysPage)
			r.Post("/gateways/active", s.gatewayUse)
			r.Post("/gateways/{name}/credentials", s.gatewayCredentials)
			r.Post("/gateways/{name}/test", s.gatewayTest)

			r.Get("/whatsapp", s.whatsappPage)
			r.Get("/whatsapp/qr.png", s.whatsappQR)
			r.Post("/whatsapp/pair", s.whatsappPair)
			r.Post("/whatsapp/cancel", s.whatsappCancel)
			r.Post("/whatsapp/logout", s.whatsappLogout)

			r.Get("/settings", s.settingsPage)
			r.Post("/settings", s.settingsSave)

			r.Get("/messages", s.messagesPage)
			r.Post("/messages", s.messageCreate)
			r.Post("/messages/ticket", s.messageTicket)
			r.Post("/messages/staged", s.messageStaged)
			r.Get("/messages/preview", s.messagePreview)
			r.Post("/messages/state", s.messageState)
			r.Post("/messages/replace", s.messageReplace)

			r.Get("/catalog", s.catalogPage)
			r.Post("/catalog", s.catalogSave)
			r.Post("/catalog/remove", s.catalogRemove)
			r.Post("/catalog/sync", s.catalogSync)

			r.Get("/operators", s.operatorsPage)
			r.Post("/operators", s.operatorSave)
			r.Post("/operators/remove", s.operatorRemove)

			r.Get("/accounts", s.accountsPage)
			r.Post("/accounts", s.accountCreate)
			r.Post("/accounts/password", s.accountPassword)
			r.Post("/accounts/remove", s.accountRemove)

			r.Get("/audit", s.auditPage)
		})
	})
	return r
}
