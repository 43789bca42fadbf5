package webadmin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/httprate"

	"github.com/messagebridge/messagebridge/commands/ops"
)

// sessionCookie holds the web session's token; the database keeps only
// its hash.
const sessionCookie = "mb_session"

type ctxKey int

const accountKey ctxKey = 0

func accountFrom(ctx context.Context) (ops.AdminAccount, bool) {
	a, ok := ctx.Value(accountKey).(ops.AdminAccount)
	return a, ok
}

// actor is who a signed-in admin acts as in the operations layer.
func actor(r *http.Request) ops.Actor {
	a, _ := accountFrom(r.Context())
	return ops.WebActor(a.Username)
}

// requireAdmin lets signed-in admins through and sends everyone else to
// the login page, remembering where they were going.
func (s *server) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
			a, err := s.ops.WebSession(r.Context(), c.Value, s.deps.SessionIdle)
			if err == nil {
				next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), accountKey, a)))
				return
			}
			if ops.ErrorCode(err) == ops.EINTERNAL {
				s.log.ErrorContext(r.Context(), "check web session", "err", err)
				http.Error(w, "The admin page cannot reach its database right now; please try again in a minute.", http.StatusServiceUnavailable)
				return
			}
			clearSession(w, r)
		}
		to := "/admin/login"
		if r.Method == http.MethodGet && r.URL.Path != "/admin/" {
			to += "?next=" + url.QueryEscape(r.URL.RequestURI())
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
	})
}

func setSession(w http.ResponseWriter, r *http.Request, token string) {
	// No Max-Age: the cookie ends with the browser; the server ends the
	// session after the idle time.
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/admin/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: isTLS(r)})
}

func clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/admin/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: isTLS(r)})
}

type loginForm struct {
	Username, Password, Next string
}

func (f loginForm) Validate() []string {
	var errs []string
	if f.Username == "" {
		errs = append(errs, "Type your username.")
	}
	if f.Password == "" {
		errs = append(errs, "Type your password.")
	}
	return errs
}

func (s *server) loginPage(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if _, err := s.ops.WebSession(r.Context(), c.Value, s.deps.SessionIdle); err == nil {
			http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
			return
		}
	}
	s.render(w, r, http.StatusOK, "login", page{Title: "Sign in", Data: loginForm{Next: r.URL.Query().Get("next")}})
}

func (s *server) login(w http.ResponseWriter, r *http.Request) {
	f := loginForm{
		Username: strings.ToLower(strings.TrimSpace(r.PostFormValue("username"))),
		Password: r.PostFormValue("password"),
		Next:     r.PostFormValue("next"),
	}
	show := func(code int, msg ...string) {
		f.Password = ""
		s.render(w, r, code, "login", page{Title: "Sign in", Errors: msg, Data: f})
	}
	if errs := f.Validate(); len(errs) > 0 {
		show(http.StatusUnprocessableEntity, errs...)
		return
	}
	// The attempt counts before the password is checked, so parallel
	// guesses cannot all pass the check; a success gives it back.
	att, ok := s.beginAttempt("ip:"+s.clientIP(r), "user:"+f.Username)
	if !ok {
		w.Header().Set("Retry-After", "60")
		show(http.StatusTooManyRequests, "Too many failed sign-ins. Wait a minute and try again.")
		return
	}
	sess, err := s.ops.Login(r.Context(), f.Username, f.Password, s.deps.SessionIdle)
	if err != nil {
		if ops.ErrorCode(err) == ops.EINTERNAL {
			att.giveBack()
			s.log.ErrorContext(r.Context(), "login", "err", err)
			show(http.StatusServiceUnavailable, ops.ErrorMessage(err))
			return
		}
		// What was typed as the username may be a password typed in the
		// wrong field: the log gets a fingerprint to match attempts by.
		s.log.WarnContext(r.Context(), "failed admin sign-in", "username_sha256", fingerprint(f.Username), "ip", s.clientIP(r))
		show(http.StatusUnauthorized, ops.ErrorMessage(err))
		return
	}
	att.giveBack()
	setSession(w, r, sess.Token)
	http.Redirect(w, r, localPath(f.Next), http.StatusSeeOther)
}

func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.ops.Logout(r.Context(), c.Value); err != nil {
			s.log.ErrorContext(r.Context(), "logout", "err", err)
		}
	}
	clearSession(w, r)
	setFlash(w, r, "ok", "You are signed out.")
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}

type setupForm struct {
	Token, Username, Password, Confirm string
}

func (f setupForm) Validate() []string {
	var errs []string
	if f.Token == "" {
		errs = append(errs, "This page needs the one-time link from the server's log.")
	}
	if f.Username == "" {
		errs = append(errs, "Choose a username.")
	}
	if f.Password != f.Confirm {
		errs = append(errs, "The two passwords differ.")
	}
	return errs
}

// setupPage creates the first admin account from the one-time link the
// server logs while there is none.
func (s *server) setupPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	has, err := s.ops.HasAdminAccounts(r.Context())
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	if has || token == "" {
		http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "setup", page{Title: "Create the first admin", Data: setupForm{Token: token}})
}

func (s *server) setup(w http.ResponseWriter, r *http.Request) {
	f := setupForm{
		Token:    r.PostFormValue("token"),
		Username: strings.TrimSpace(r.PostFormValue("username")),
		Password: r.PostFormValue("password"),
		Confirm:  r.PostFormValue("confirm"),
	}
	has, err := s.ops.HasAdminAccounts(r.Context())
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	if has || f.Token == "" {
		http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
		return
	}
	show := func(code int, msg ...string) {
		f.Password, f.Confirm = "", ""
		s.render(w, r, code, "setup", page{Title: "Create the first admin", Errors: msg, Data: f})
	}
	if errs := f.Validate(); len(errs) > 0 {
		show(http.StatusUnprocessableEntity, errs...)
		return
	}
	att, ok := s.beginAttempt("setup:" + s.clientIP(r))
	if !ok {
		w.Header().Set("Retry-After", "60")
		show(http.StatusTooManyRequests, "Too many attempts. Wait a minute and try again.")
		return
	}
	sess, err := s.ops.SetupAdmin(r.Context(), f.Token, f.Username, f.Password, s.deps.SessionIdle)
	if err != nil {
		if ops.ErrorCode(err) == ops.EINTERNAL {
			s.log.ErrorContext(r.Context(), "admin setup", "err", err)
		}
		show(http.StatusUnprocessableEntity, ops.ErrorMessage(err))
		return
	}
	att.giveBack()
	setSession(w, r, sess.Token)
	s.done(w, r, "/admin/", "Welcome, %s. Your admin account is ready.", sess.Admin.Username)
}

// clientIP is the address failed logins are counted by: the peer, or the
// address a trusted proxy reports.
func (s *server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return httprate.CanonicalizeIP(host)
}

// newFailureLimiter counts sign-in attempts over a sliding window (an
// httprate counter aligned to the wall clock: one passed in gets no window
// offset).
func newFailureLimiter(limit int, window time.Duration) *httprate.RateLimiter {
	return httprate.NewRateLimiter(limit, window, httprate.WithLimitCounter(httprate.NewLocalLimitCounter(window)))
}

// attempt is a sign-in attempt counted against its keys until it succeeds.
type attempt struct {
	s      *server
	keys   []string
	window time.Time
}

// beginAttempt counts an attempt against each key and reports whether all
// of them are still within the limit. Counting first makes the check
// atomic with respect to other attempts: of parallel guesses beyond the
// limit, none gets through.
func (s *server) beginAttempt(keys ...string) (attempt, bool) {
	a := attempt{s: s, keys: keys, window: time.Now().UTC().Truncate(loginWindow)}
	for _, k := range keys {
		if err := s.failures.Counter().IncrementBy(k, a.window, 1); err != nil {
			s.log.Error("count sign-in attempt", "err", err)
		}
	}
	for _, k := range keys {
		_, rate, err := s.failures.Status(k)
		if err == nil && int(math.Round(rate)) > s.deps.LoginFailures {
			return a, false
		}
	}
	return a, true
}

// giveBack uncounts an attempt that did not fail.
func (a attempt) giveBack() {
	for _, k := range a.keys {
		if err := a.s.failures.Counter().IncrementBy(k, a.window, -1); err != nil {
			a.s.log.Error("uncount sign-in attempt", "err", err)
		}
	}
}

// fingerprint is a short hash of s for logs.
func fingerprint(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}

// auditEntry is an audit line for a page action the operations layer
// does not audit itself.
func auditEntry(r *http.Request, action, detail, outcome string) ops.AuditEntry {
	a := actor(r)
	return ops.AuditEntry{Actor: a.Identity, Role: a.Role, Transport: a.Transport, Action: action, Detail: detail, Outcome: outcome}
}
